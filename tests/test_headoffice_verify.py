"""Head office's check of a journal page before storing it (app/headoffice/follow.py): every
way a feed can be wrong is refused with its reason, and a good page passes whole; a hostile
box's answer (nested past the stack, dripped, huge, a "more follows" that never ends) costs
that shop a poll, never the follower."""

import copy
import http.server
import json
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from app.headoffice import follow
from app.headoffice.follow import FeedRefused, FeedUnavailable, verified
from app.journal.entry import chained_row, entry_hash, genesis, wire_entry

STORE = "s" * 24


def chain(count: int, store=STORE, amount=None) -> list[dict]:
    """A valid journal of ``count`` sales, of ``amount`` each from seq 2 if given."""
    entries, prev = [], genesis(store)
    for seq in range(1, count + 1):
        money = amount if amount and seq > 1 else f"{seq}.00"
        data = {"amount": money, "by": "till-1", "movementId": f"m{seq:023d}"}
        at = datetime(2026, 12, 1) + timedelta(seconds=seq)
        row = chained_row(seq, prev, store, "cash_movement", at, "x" * 24, data | {"note": None})
        entries.append(wire_entry(row))
        prev = row["hash"]
    return entries


def refused(entries, last_seq=0, last_hash=None) -> str:
    with pytest.raises(FeedRefused) as refusal:
        verified(STORE, entries, last_seq, last_hash)
    return str(refusal.value)


def test_a_good_page_passes_whole_and_after_its_overlap():
    entries = chain(5)
    assert verified(STORE, entries, 0, None) == entries
    assert verified(STORE, entries[2:], 3, entries[2]["hash"]) == entries[3:]
    assert verified(STORE, entries[4:], 5, entries[4]["hash"]) == []  # nothing new


def test_a_journal_that_went_back_or_forked_is_refused():
    entries = chain(5)
    assert refused(entries[:3], 5, entries[4]["hash"]) == (
        "the box's journal no longer has seq 5, which head office stored: it went back "
        "(a box restored from an older backup, or from a replica behind it?)"
    )
    assert refused([], 5, entries[4]["hash"]).startswith("the box's journal no longer has seq 5")
    other = chain(5, store=STORE)[2:]
    other[0] = other[0] | {"hash": "f" * 64}
    assert refused(other, 3, entries[2]["hash"]) == (
        f"seq 3: the box's hash {'f' * 64} differs from the one stored, {entries[2]['hash']}: "
        "its journal is not the one head office followed"
    )


def test_gaps_repeats_links_content_and_store_are_checked():
    entries = chain(5)
    assert refused(entries[:2] + entries[3:]) == "seq 3: the box sent seq 4 instead"
    assert refused(entries[:3] + entries[1:]) == "seq 4: the box sent seq 2 instead"
    relinked = copy.deepcopy(entries)
    relinked[3]["prevHash"] = relinked[1]["hash"]
    assert refused(relinked) == "seq 4: prevHash does not link to seq 3's hash"
    tampered = copy.deepcopy(entries)
    tampered[1]["data"]["amount"] = "0.20"
    assert refused(tampered) == "seq 2: the entry's hash is not the hash of its content"
    assert refused(chain(2, store="t" * 24)) == f"seq 1: the entry is of store {'t' * 24}"


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"imported": False},
        {"seq": 1.0},
        {"seq": True},
        {"at": "2026-12-01 00:00:01"},
        {"at": 5},
        {"data": "{}"},
        {"kind": None},
    ],
)
def test_an_entry_not_of_the_journal_s_shape_is_refused(change):
    entries = chain(2)
    assert refused([entries[0] | change, entries[1]]) == (
        "seq 1: the entry does not have the journal's fields"
    )


def rehashed(entry: dict, **change) -> dict:
    """The entry changed, its hash made again: a box that chains what it should not."""
    changed = entry | change
    return changed | {"hash": entry_hash(changed)}


@pytest.mark.parametrize(
    "change",
    [
        {"sessionId": "x" * 25},  # longer than head office's column
        {"kind": "k" * 41},
        {"at": "2026-02-30T00:00:01.000Z"},  # no such day
        {"at": "\u0662\u0660\u0662\u0666-12-01T00:00:01.000Z"},  # Arabic-Indic digits
        {"data": {"amount": "abc", "by": "till-1", "movementId": "m" * 24, "note": None}},
        {"data": {"amount": 5, "by": "till-1", "movementId": "m" * 24, "note": None}},
        {"data": {"amount": None, "by": "till-1", "movementId": "m" * 24, "note": None}},
        {"data": {"amount": "1.5", "by": "till-1", "movementId": "m" * 24, "note": None}},
    ],
)
def test_an_entry_chained_right_but_not_storable_or_summable_is_refused(change):
    # Stored, "abc" as an amount broke the day and month pages of every shop, for ever; a long
    # id or a 30 February made PostgreSQL refuse the page and stopped every shop's round.
    [entry] = chain(1)
    assert refused([rehashed(entry, **change)]) == (
        "seq 1: the entry does not have the journal's fields"
    )


def test_a_kind_this_release_does_not_know_is_stored_as_it_is():
    [entry] = chain(1)
    newer = rehashed(entry, kind="loyalty_points", data={"amount": "lots"})
    assert verified(STORE, [newer], 0, None) == [newer]


class Box(http.server.BaseHTTPRequestHandler):
    """A shop's box that answers every request with the server's ``answer(handler)``."""

    def do_GET(self):
        self.server.requests += 1
        self.server.peers.add(self.client_address)
        self.server.answer(self)

    def log_message(self, *args):
        pass


class KeptAliveBox(Box):
    protocol_version = "HTTP/1.1"  # the connection stays open for the next request, as nginx's


@contextmanager
def box(answer, handler=Box):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.answer, server.requests, server.daemon_threads = answer, 0, True
    server.peers = set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield server, SimpleNamespace(
            name="Shop", store_id=STORE, url=f"http://127.0.0.1:{port}", token="t",
            last_seq=0, last_hash=None,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
        follow._local.__dict__.pop("connections", None)  # the kept-alive ones, to it


def send(body: bytes, status=200):
    def answer(handler):
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def page(entries, next_after=None) -> bytes:
    return json.dumps({"data": entries, "nextAfterSeq": next_after}).encode()


def test_json_nested_past_the_stack_is_no_page_and_no_crash():
    with box(send(b"[" * 100_000 + b"]" * 100_000)) as (_, shop):
        with pytest.raises(FeedUnavailable, match="not JSON"):
            follow.fetch(shop, 0)


def test_an_answer_dripped_or_too_large_is_given_up(monkeypatch):
    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)

    monkeypatch.setattr(follow, "ANSWER_SECONDS", 1)
    with box(drip) as (_, shop):
        started = time.monotonic()
        with pytest.raises(FeedUnavailable, match="took over 1 s"):
            follow.fetch(shop, 0)
        assert time.monotonic() - started < 5  # not the 200 s it would drip for
    monkeypatch.setattr(follow, "ANSWER_BYTES", 100_000)
    with box(send(page(chain(1)) + b" " * 200_000)) as (_, shop):
        with pytest.raises(FeedUnavailable, match="over 100000 bytes"):
            follow.fetch(shop, 0)


def test_more_entries_than_a_page_are_refused():
    with box(send(page(chain(3)))) as (_, shop):
        assert follow.fetch(shop, 0)["data"] == chain(3)
    with box(send(page(chain(1) * (follow.PAGE + 1)))) as (_, shop):
        with pytest.raises(FeedRefused, match="sent 1001 entries, where a page has 1000"):
            follow.fetch(shop, 0)


def test_a_kept_alive_connection_carries_poll_after_poll():
    """A box that keeps the connection open (nginx in front does) answers the next poll on it:
    each answer is read to its end, so the connection is free again. Every other poll was
    "the box did not answer: Request-sent", and head office's bench followed half the shops."""
    with box(send(page(chain(3))), KeptAliveBox) as (server, shop):
        for _ in range(3):
            assert follow.fetch(shop, 0)["data"] == chain(3)
    assert (server.requests, len(server.peers)) == (3, 1)


def test_more_follows_with_nothing_new_ends_the_poll_not_a_loop():
    with box(send(page([], next_after=5))) as (server, shop):
        polled = follow.follow_shop(None, shop)  # nothing to store: no database needed
    assert polled.error == "the box said more entries follow but sent none"
    assert server.requests == 1


def test_a_box_s_long_message_is_cut_for_the_page():
    body = json.dumps({"message": "Bearer " + "x" * 5000}).encode()
    with box(send(body, status=401)) as (_, shop):
        polled = follow.follow_shop(None, shop)
    assert polled.error.startswith("the box answered HTTP 401: Bearer xxx")
    assert len(polled.error) < 350


def test_whatever_else_goes_wrong_with_one_shop_is_that_shop_s_poll(monkeypatch):
    def broken(*args):
        raise KeyError("a bug a box's answer found")

    monkeypatch.setattr(follow, "verified", broken)
    with box(send(page(chain(1)))) as (_, shop):
        polled = follow.follow_shop(None, shop)
    assert polled.error.startswith("head office could not follow it: KeyError(")
