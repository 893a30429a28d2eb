"""A chain's shop whose box dies (issue 21): its box, a real gunicorn replicated by Litestream to
a folder, followed by head office on a real PostgreSQL, is killed -9 with its disk and restored
from its replica. Everything acknowledged up to the replica's last transaction is back and head
office follows on as if nothing happened, and it follows the shop next door, which sells on
meanwhile; a replica behind what head office stored turns the shop red with the reason, nothing
stored changed. The boxes are SQLite files whatever the suite's database, and head office is on
POS_TEST_DATABASE_URL's server when given."""

import os
import signal
from decimal import Decimal

import pytest

from app.machinery import replica
from tests import test_headoffice_chain as chain
from tests.helpers import CLOSE, PASSWORD, SECRET, processes
from tests.test_headoffice_chain import HeadOffice, Shop
from tests.test_replica import flask, kill_tree

# Head office's fixtures: its PostgreSQL, and a head office following this module's ``shops``.
head_office, postgres, template = chain.head_office, chain.postgres, chain.template


@pytest.fixture
def shops(tmp_path, template):
    """One shop, its box replicated to a folder (a NAS mount)."""
    nas = tmp_path / "nas"
    nas.mkdir()
    shop = Shop(tmp_path / "shop", template, "Shop 1", replica=nas)
    try:
        yield [shop]
    finally:
        shop.stop()


@pytest.fixture
def next_door(tmp_path, template, head_office):
    """Shop 2, not replicated, followed by the same head office."""
    shop = Shop(tmp_path / "shop2", template, "Shop 2")
    try:
        head_office.cli(
            "shop", "add", shop.store_id, "--name", shop.name, "--url", shop.url,
            "--token", shop.follower,
        )  # fmt: skip
        yield shop
    finally:
        shop.stop()


def replicated(shop: Shop) -> list[tuple[int, str]]:
    """The store's journal in the replica's last transaction, read back as a restore would."""
    scratch = shop.folder / "replica-check.sqlite3"
    try:
        url = replica.url_of(shop.env["POS_REPLICA"])
        return shop.journal(scratch) if replica.fetch_latest(url, scratch) else []
    finally:
        replica.remove(scratch)


def cli(shop: Shop, *args):
    """The box's `flask --app wsgi` with its settings, as its systemd unit runs it."""
    env = shop.env | {"POS_DATABASE_URL": f"sqlite:///{shop.database}", "POS_SECRET_KEY": SECRET}
    return flask(env, *args)


def replicated_and_followed(shop: Shop, office: HeadOffice) -> list[tuple[int, str]]:
    """Once the replica and head office both hold the box's whole journal: that journal."""
    office.wait_for("catch up", lambda: office.stored(shop.store_id) == shop.journal())
    office.wait_for("see it replicated", lambda: replicated(shop) == shop.journal())
    return shop.journal()


def die_and_come_back(shop: Shop, office: HeadOffice, meanwhile=lambda: None) -> str:
    """A power cut that takes the disk: the whole box killed -9 (head office, following it,
    finds it not answering), ``meanwhile`` done while it is dead, its database lost (the
    journal folder, kept off the box, is not), then restored from the replica and started
    again. The restore's stderr."""
    kill_tree(shop.server)
    shop.stop()
    office.wait_for("find the box down", lambda: office.shop(shop.store_id)["error"])
    meanwhile()
    for name in ("", "-wal", "-shm"):
        os.unlink(f"{shop.database}{name}")
    replica.forget_state(shop.database)
    restored = cli(shop, "restore", "--from-replica")
    assert restored.returncode == 0, restored.stderr
    verified = cli(shop, "journal", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    shop.start()
    return restored.stderr


def followed(office: HeadOffice, shop: Shop) -> bool:
    return office.stored(shop.store_id) == shop.journal()


def test_a_shop_restored_from_its_replica_loses_nothing_and_head_office_follows_on(
    shops, head_office, next_door
):
    [shop] = shops
    with head_office.follower():
        shop.shift(shop.profiles[0], [Decimal("12.50"), 30])
        shop.shift(shop.profiles[1], [5], close=False)
        next_door.shift(next_door.profiles[0], [4], close=False)
        acknowledged = replicated_and_followed(shop, head_office)

        def next_door_sells_on():
            """While Shop 1 is dead, Shop 2 sells and head office follows it."""
            next_door.shift(next_door.profiles[1], [Decimal("8.40")])
            head_office.wait_for("follow Shop 2", lambda: followed(head_office, next_door))
            assert head_office.shop(shop.store_id)["error"]  # Shop 1 still down

        said = die_and_come_back(shop, head_office, meanwhile=next_door_sells_on)
        assert "not replicated and are lost" not in said
        assert shop.journal() == acknowledged
        close = {"profileId": shop.profiles[1], "closingCash": 101.5, "password": PASSWORD}
        shop.post(CLOSE, close)  # the session opened before the box died
        shop.shift(shop.profiles[0], [Decimal("7.25")])
        close = {"profileId": next_door.profiles[0], "closingCash": 104, "password": PASSWORD}
        next_door.post(CLOSE, close)
        replicated_and_followed(shop, head_office)
        head_office.wait_for("follow Shop 2", lambda: followed(head_office, next_door))

    for either in (shop, next_door):  # every entry of each box, once, and neither red
        stored = head_office.stored(either.store_id)
        assert stored == either.journal()
        assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))
        assert head_office.shop(either.store_id)["stopped_reason"] is None
        assert head_office.shop(either.store_id)["error"] is None  # Shop 1 answering again
    stored = head_office.stored(shop.store_id)
    assert stored[: len(acknowledged)] == acknowledged and len(stored) > len(acknowledged)
    verified = cli(shop, "journal", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_replica_behind_head_office_turns_the_shop_red_with_the_reason(shops, head_office):
    [shop] = shops
    with head_office.follower():
        shop.shift(shop.profiles[0], [30])
        replicated_journal = replicated_and_followed(shop, head_office)

        # The NAS stops taking writes; head office follows a shift the replica never gets
        # (its closing signs the journal's head at once).
        [shipper] = [
            p.pid
            for p in processes()
            if p.session == shop.server.process.pid and p.command.startswith(replica.binary())
        ]
        os.kill(shipper, signal.SIGSTOP)
        shop.shift(shop.profiles[1], [5])
        head_office.wait_for(
            "catch up", lambda: head_office.stored(shop.store_id) == shop.journal()
        )
        followed = head_office.stored(shop.store_id)

        said = die_and_come_back(shop, head_office)
        assert "not replicated and are lost" in said
        assert f"at seq {len(replicated_journal)} in it, at seq {len(followed)} in the head" in said
        assert shop.journal() == replicated_journal
        head_office.wait_for("stop", lambda: head_office.shop(shop.store_id)["stopped_at"])
        assert head_office.shop(shop.store_id)["stopped_reason"] == (
            f"the box's journal no longer has seq {len(followed)}, which head office stored: it "
            "went back (a box restored from an older backup, or from a replica behind it?)"
        )
        # The box sells on; its journal is another one from the lost seqs on, which resuming
        # its follow shows, and head office keeps what it stored.
        shop.shift(shop.profiles[0], [9])
        head_office.cli("shop", "resume", shop.store_id)
        head_office.wait_for("stop", lambda: head_office.shop(shop.store_id)["stopped_at"])
        last = len(followed)
        assert head_office.shop(shop.store_id)["stopped_reason"] == (
            f"seq {last}: the box's hash {dict(shop.journal())[last]} differs from the one "
            f"stored, {dict(followed)[last]}: its journal is not the one head office followed"
        )
    assert head_office.stored(shop.store_id) == followed
