"""A chain (issue 21): three shop boxes, each a real gunicorn on SQLite, followed by head office
on a real PostgreSQL (its own gunicorn and follower). Head office down for a while catches up
with every entry exactly once; a feed that does not verify stops its shop (red, with the
reason) and nothing stored changes."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from decimal import Decimal
from html import unescape
from pathlib import Path

import psycopg
import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import insert, select

from app import create_app
from app.api.auth import FOLLOWER, issue_token
from app.backoffice.views import CONTENT_SECURITY_POLICY
from app.headoffice import SQLITE_REFUSED, create_headoffice_app
from app.headoffice.follow import FeedRefused, store
from app.headoffice.models import Entry
from app.headoffice.models import Shop as Followed
from app.machinery.extensions import db
from app.models import PosProfile, Store
from app.people.passwords import hash_password
from tests.helpers import (
    CLOSE,
    CREATE,
    PASSWORD,
    ROOT,
    SECRET,
    LiveServer,
    PostgresUnavailable,
    free_port,
    hidden_fields,
    movements_url,
    throwaway_postgres,
)
from tests.test_headoffice_verify import chain

HEAD_OFFICE_USER, HEAD_OFFICE_PASSWORD = "Hana", "head-office-pw"
WAIT_SECONDS = 60


@pytest.fixture(scope="module")
def postgres():
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailable as err:
        pytest.skip(f"PostgreSQL could not be installed or started: {err}")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A box's database at the latest schema, migrated once and copied into each shop."""
    folder = tmp_path_factory.mktemp("shop-template")
    path = folder / "pos.sqlite3"
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": SECRET, "JOURNAL_DIR": str(folder)}
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


def copy_database(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


class Shop:
    """A shop's box: its own SQLite database and journal folder, a real gunicorn; replicated
    by Litestream to the folder ``replica`` when given."""

    def __init__(self, folder: Path, template: Path, name: str, replica: Path | None = None):
        folder.mkdir()
        self.folder, self.name = folder, name
        self.env = {"POS_FRONT": "none", "POS_JOURNAL_DIR": str(folder)}
        if replica:
            self.env["POS_REPLICA"] = str(replica)
        self.database = folder / "pos.sqlite3"
        copy_database(template, self.database)
        self.app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{self.database}",
                "SECRET_KEY": SECRET,
                "BCRYPT_ROUNDS": 4,
                "JOURNAL_DIR": str(folder),
            }
        )
        with self.app.app_context():
            store = Store(name=name)
            db.session.add(store)
            db.session.flush()
            self.store_id = store.id
            self.profiles = []
            for cashier in ("ana", "ben"):
                profile = PosProfile(
                    store_id=store.id, name=cashier, password_hash=hash_password(PASSWORD, 4)
                )
                db.session.add(profile)
                db.session.flush()
                self.profiles.append(profile.id)
            db.session.commit()
            self.terminal = issue_token([self.store_id], "till-1", 30)
            self.follower = issue_token([self.store_id], "headoffice", 30, FOLLOWER)
        added = self.app.test_cli_runner().invoke(
            args=["store", "tender", "add", self.store_id, "card", "Card terminal"]
        )
        assert added.exit_code == 0, added.output
        self.port = free_port()
        self.server = None
        self.start()

    def start(self):
        log = self.folder / f"gunicorn-{time.monotonic_ns()}.log"
        self.server = LiveServer(self.app, log, workers=2, port=self.port, env=self.env)

    def stop(self):
        if self.server:
            self.server, server = None, self.server
            server.stop()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def post(self, path, body):
        headers = {"Authorization": f"Bearer {self.terminal}", "x-store-id": self.store_id}
        response = requests.post(self.url + path, json=body, headers=headers, timeout=30)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def shift(self, profile, sales, close=True):
        """A session: opened with 100, the sales (cash, and one by card), closed 1 short."""
        body = {"profileId": profile, "openningCash": 100, "password": PASSWORD}
        session_id = self.post(CREATE, body)["data"][0]["id"]
        for amount in sales:
            self.post(movements_url(session_id), {"type": "sale", "amount": amount})
        self.post(movements_url(session_id), {"type": "sale", "amount": 20, "tender": "card"})
        self.post(movements_url(session_id), {"type": "refund", "amount": 2.5})
        if close:
            cash = 100 + sum(sales) - Decimal("2.5") - 1
            body = {"profileId": profile, "closingCash": float(cash), "password": PASSWORD}
            self.post(CLOSE, body)
        return session_id

    def journal(self, database: Path | None = None) -> list[tuple[int, str]]:
        """The store's journal in the box's database, or in a copy of it."""
        with closing(sqlite3.connect(database or self.database)) as connection:
            return connection.execute(
                "SELECT seq, hash FROM journal_entry WHERE store_id = ? ORDER BY seq",
                (self.store_id,),
            ).fetchall()


@contextmanager
def running(command, env, log: Path):
    """A head-office process, in a session of its own, stopped (its whole group) at the end."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process, sig=signal.SIGTERM):
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class HeadOffice:
    def __init__(self, url: str, folder: Path):
        self.database, self.folder = url, folder
        self.env = {
            **os.environ,
            "HEADOFFICE_DATABASE_URL": url,
            "HEADOFFICE_SECRET_KEY": SECRET,
            "HEADOFFICE_BCRYPT_ROUNDS": "4",
        }
        self.flask = [sys.executable, "-m", "flask", "--app", "headoffice_wsgi", "headoffice"]

    def cli(self, *args):
        done = subprocess.run(
            [*self.flask, *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def follower(self):
        log = self.folder / f"follow-{time.monotonic_ns()}.log"
        command = [*self.flask, "follow", "--interval", "0.2", "--workers", "3"]
        return running(command, self.env, log)

    def stored(self, store_id) -> list[tuple[int, str]]:
        with psycopg.connect(self.database) as connection:
            return connection.execute(
                "SELECT seq, hash FROM ho_entry WHERE store_id = %s ORDER BY seq", (store_id,)
            ).fetchall()

    def shop(self, store_id):
        with psycopg.connect(self.database) as connection:
            connection.row_factory = psycopg.rows.dict_row
            return connection.execute(
                "SELECT * FROM ho_shop WHERE store_id = %s", (store_id,)
            ).fetchone()

    def wait_for(self, what, check):
        deadline = time.monotonic() + WAIT_SECONDS
        while not check():
            assert time.monotonic() < deadline, f"head office did not {what} in time"
            time.sleep(0.1)


@pytest.fixture
def shops(tmp_path, template):
    started = []
    try:
        for n in (1, 2, 3):
            started.append(Shop(tmp_path / f"shop{n}", template, f"Shop {n}"))
        yield started
    finally:
        for shop in started:
            shop.stop()


@pytest.fixture
def head_office(postgres, tmp_path, shops):
    """A new head office following ``shops``, in the module's database emptied first."""
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    office = HeadOffice(postgres, tmp_path)
    office.cli("init-db")
    office.cli("user", "create", HEAD_OFFICE_USER, "--password", HEAD_OFFICE_PASSWORD)
    for shop in shops:
        office.cli(
            "shop", "add", shop.store_id, "--name", shop.name, "--url", shop.url,
            "--token", shop.follower,
        )  # fmt: skip
    return office


@contextmanager
def pages(office: HeadOffice):
    """Head office's gunicorn, signed in."""
    port = free_port()
    # As docs/chain.md runs it; the box's gunicorn.conf.py (read without -c) would start nginx
    # on the box's port, a `make run` beside the tests had it taken.
    command = [sys.executable, "-m", "gunicorn", "-c", "headoffice_gunicorn.conf.py"]
    env = office.env | {"HEADOFFICE_BIND": f"127.0.0.1:{port}"}
    with running(command, env, office.folder / "headoffice-gunicorn.log"):
        url = f"http://127.0.0.1:{port}/headoffice"
        browser = requests.Session()
        office.wait_for("serve its pages", lambda: _answers(browser, url + "/login"))
        login = browser.get(url + "/login").text
        fields = hidden_fields(login, "/headoffice/login")
        fields |= {"name": HEAD_OFFICE_USER, "password": HEAD_OFFICE_PASSWORD}
        signed_in = browser.post(url + "/login", data=fields)
        assert signed_in.status_code == 200 and "Open now" in signed_in.text
        for linked in re.findall(r'<link [^>]*href="(/[^"]+)"', signed_in.text):  # style, icon
            assert browser.get(f"http://127.0.0.1:{port}{linked}").status_code == 200, linked
        yield browser, url


def _answers(browser, url) -> bool:
    try:
        return browser.get(url, timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # still starting, on a busy machine
        return False


def entries_in(office: HeadOffice, shops) -> int:
    return sum(len(office.stored(shop.store_id)) for shop in shops)


def caught_up(office: HeadOffice, shops) -> bool:
    return all(office.stored(shop.store_id) == shop.journal() for shop in shops)


def test_head_office_follows_three_shops_through_an_outage_and_refuses_a_bad_feed(
    shops, head_office
):
    for shop in shops:
        shop.shift(shop.profiles[0], [Decimal("12.50"), 30])
    with head_office.follower():
        head_office.wait_for("catch up", lambda: caught_up(head_office, shops))
        for shop in shops:
            shop.shift(shop.profiles[1], [5], close=False)  # left open
        head_office.wait_for("catch up", lambda: caught_up(head_office, shops))

    # Head office down: the shops sell on, and never wait for it.
    had = entries_in(head_office, shops)
    for shop in shops:
        shop.shift(shop.profiles[0], [Decimal("7.25")])
    assert not caught_up(head_office, shops)

    with head_office.follower() as follower:
        # Killed outright once it has stored a page of its catching up, then started again.
        head_office.wait_for("store a page", lambda: entries_in(head_office, shops) > had)
        stop(follower, signal.SIGKILL)
    with head_office.follower():
        head_office.wait_for("catch up", lambda: caught_up(head_office, shops))
    for shop in shops:
        stored = head_office.stored(shop.store_id)
        assert [seq for seq, _ in stored] == list(range(1, len(shop.journal()) + 1))
        assert head_office.shop(shop.store_id)["stopped_reason"] is None

    with pages(head_office) as (browser, url):
        day = browser.get(url + "/day.csv").text.splitlines()
        assert day[0].startswith("period,shop,store_id,tender,sales,refunds,net")
        rows = {tuple(line.split(",")[1:4]): line.split(",") for line in day[1:]}
        for shop in shops:
            cash = rows[(shop.name, shop.store_id, "cash")]
            assert cash[4:7] == ["54.75", "7.50", "47.25"]  # 12.50 + 30 + 5 + 7.25; 3 x 2.50
            assert rows[(shop.name, shop.store_id, "card")][4] == "60.00"
        assert rows[("All shops", "", "cash")][4:7] == ["164.25", "22.50", "141.75"]
        open_now = browser.get(url + "/open.csv").text.splitlines()[1:]
        assert sorted(line.split(",")[3] for line in open_now) == sorted(
            shop.profiles[1] for shop in shops
        )
        variances = browser.get(url + "/variances.csv").text.splitlines()[1:]
        assert {tuple(line.split(",")[3:7]) for line in variances} == {
            (shop.profiles[0], "2", "0", "-2.00") for shop in shops
        }

        # Shop 1: an entry tampered with on the box (its hash kept). Shop 2: the box restored
        # from a backup older than what head office stored.
        tampered, restored, fine = shops
        backup = restored.folder / "older.sqlite3"
        copy_database(restored.database, backup)
        for shop in shops:
            shop.shift(shop.profiles[0], [9])
        before = {tampered.store_id: head_office.stored(tampered.store_id)}
        bad_seq = len(before[tampered.store_id]) + 2  # the sale of 9
        with closing(sqlite3.connect(tampered.database)) as box:
            box.execute("DROP TRIGGER journal_entry_no_update")
            box.execute(
                "UPDATE journal_entry SET data = replace(data, '\"9.00\"', '\"0.90\"') "
                "WHERE store_id = ? AND seq = ?",
                (tampered.store_id, bad_seq),
            )
            box.commit()
        with head_office.follower():
            head_office.wait_for("catch up", lambda: caught_up(head_office, [restored, fine]))
            head_office.wait_for("stop", lambda: head_office.shop(tampered.store_id)["stopped_at"])
            before[restored.store_id] = head_office.stored(restored.store_id)
            restored.stop()
            copy_database(backup, restored.database)
            restored.start()
            head_office.wait_for("stop", lambda: head_office.shop(restored.store_id)["stopped_at"])
            # Resumed, the tampered feed is refused again: nothing is taken on trust.
            head_office.cli("shop", "resume", tampered.store_id)
            head_office.wait_for("stop", lambda: head_office.shop(tampered.store_id)["stopped_at"])

        assert head_office.stored(tampered.store_id) == before[tampered.store_id]
        assert head_office.stored(restored.store_id) == before[restored.store_id]
        reason = head_office.shop(tampered.store_id)["stopped_reason"]
        assert reason == f"seq {bad_seq}: the entry's hash is not the hash of its content"
        assert head_office.shop(restored.store_id)["stopped_reason"] == (
            f"the box's journal no longer has seq {len(before[restored.store_id])}, which head "
            "office stored: it went back (a box restored from an older backup, or from a replica "
            "behind it?)"
        )
        page = browser.get(url + "/").text
        for shop in (tampered, restored):
            row = re.search(
                rf'<tr class="(\w+)" data-store="{shop.store_id}">(.*?)</tr>', page, re.S
            )
            assert row.group(1) == "red"
            assert "Stopped" in row.group(2)
        assert reason in unescape(page)
        shops_csv = browser.get(url + "/shops.csv").text
        assert f"Shop 3,{fine.store_id},ok," in shops_csv

        # The back office's security: its headers, CSRF on the sign-in, every page signed in,
        # a disabled user signed out at once.
        headers = browser.get(url + "/").headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert (headers["Cache-Control"], headers["X-Content-Type-Options"]) == (
            "no-store",  # the chain's figures stay off a shared PC's disk after sign-out
            "nosniff",
        )
        logged = (head_office.folder / "headoffice-gunicorn.log").read_text().splitlines()
        assert any(json.loads(line).get("path") == "/headoffice/shops.csv" for line in logged), (
            "every line JSON, the requests' among them"
        )
        stranger = requests.get(url + "/day.csv", allow_redirects=False)
        assert stranger.status_code == 302 and "/headoffice/login" in stranger.headers["Location"]
        no_csrf = {"name": HEAD_OFFICE_USER, "password": HEAD_OFFICE_PASSWORD}
        assert requests.post(url + "/login", data=no_csrf).status_code == 400
        head_office.cli("user", "disable", HEAD_OFFICE_USER)
        assert browser.get(url + "/", allow_redirects=False).status_code == 302


def test_head_office_refuses_sqlite_with_the_reason():
    with pytest.raises(RuntimeError) as refused:
        create_headoffice_app({"DATABASE_URL": "sqlite:///headoffice.sqlite3"})
    assert str(refused.value) == SQLITE_REFUSED
    assert "PostgreSQL only" in SQLITE_REFUSED


def test_a_page_is_stored_once_and_never_over_an_entry_with_another_hash(postgres):
    office = create_headoffice_app({"DATABASE_URL": postgres, "SECRET_KEY": SECRET})
    assert office.test_cli_runner().invoke(args=["headoffice", "init-db"]).exit_code == 0
    store_id = "h" * 24
    page, forked = chain(3, store_id), chain(3, store_id, amount="9.99")
    with office.app_context():
        engine = db.engine
        with engine.begin() as connection:
            connection.execute(
                insert(Followed), [dict(store_id=store_id, name="H", url="", token="")]
            )
        with engine.begin() as connection:
            assert store(connection, store_id, page[:2], 0)
        # A second follower that read the shop at seq 0 stores nothing of its page, not even
        # the entry the first did not store: the shop moved on meanwhile...
        with engine.begin() as connection:
            assert not store(connection, store_id, page, 0)
        assert head_office_entries(engine, store_id) == [(e["seq"], e["hash"]) for e in page[:2]]
        with engine.begin() as connection:
            assert store(connection, store_id, page[2:], 2)  # the next poll, from seq 2
        # ...and an entry of another chain at a seq stored is refused, whatever the shop says.
        with pytest.raises(FeedRefused) as refused, engine.begin() as connection:
            store(connection, store_id, forked[1:], 1)
        assert str(refused.value) == (
            f"seq 2: the box's hash {forked[1]['hash']} differs from the one stored, "
            f"{page[1]['hash']}"
        )
        assert head_office_entries(engine, store_id) == [(e["seq"], e["hash"]) for e in page]
        engine.dispose()


def head_office_entries(engine, store_id):
    with engine.connect() as connection:
        return connection.execute(
            select(Entry.seq, Entry.hash).where(Entry.store_id == store_id).order_by(Entry.seq)
        ).all()
