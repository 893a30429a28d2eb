"""Following each shop's journal: pull a page, verify it, store it, and stop at the first entry
that does not verify (the shop goes red; nothing stored is touched).

Head office only pulls (``GET /pos-session/journal?afterSeq=``, docs/journal.md): a shop never
waits for it. Each request starts one entry back, at the last seq stored, so that every poll
first checks that the box still has that entry with the hash stored: a box restored from an
older backup, whose journal went back, is caught even before it grows again. A page is stored
in one transaction with the shop's new last seq and hash, so a follower killed at any moment
resumes exactly after the last page it stored.
"""

import http.client
import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError

from ..journal.entry import entry_hash, genesis
from ..journal.facts import FACTS
from ..models import utcnow
from .models import Entry, Shop

log = logging.getLogger(__name__)

PAGE = 1000  # the box's largest page (app/api/journal.py)
TIMEOUT_SECONDS = 10  # each read of the socket
# A whole answer, however slowly a box sends it: a box that drips its bytes would otherwise hold
# its follower thread, and the round every shop waits on, for ever.
ANSWER_SECONDS = 60
# A page of 1,000 entries is a few hundred KB; what is far larger is no page of the box's.
ANSWER_BYTES = 32 * 1024 * 1024
ENTRY_KEYS = frozenset(("seq", "storeId", "kind", "at", "sessionId", "data", "prevHash", "hash"))
TEXTS = ("storeId", "kind", "sessionId", "prevHash", "hash")
# What the columns hold (app/headoffice/models.py), checked before PostgreSQL would refuse it.
LONGEST = {"kind": 40, "sessionId": 24}
# The contract's timestamps, in ASCII digits (\d would take others).
AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
# An amount as the journal writes it (app.journal.entry.money); the pages sum them in SQL.
MONEY = re.compile(r"-?[0-9]+\.[0-9]{2}")
REASON_CHARS = 300  # of the box's own message, as the page shows it

_entries = Entry.__table__
_shops = Shop.__table__
# A page in one statement and one parameter, its entries' JSON, which PostgreSQL takes apart: a
# multi-row VALUES of a thousand entries, or arrays, cost psycopg more to build than PostgreSQL
# to insert (the bench, docs/chain.md).
STORE = text(
    """
    INSERT INTO ho_entry (store_id, seq, kind, at, session_id, data, imported, prev_hash, hash)
    SELECT "storeId", seq, kind, at, "sessionId", data, COALESCE(imported, false),
           "prevHash", hash
    FROM jsonb_to_recordset(CAST(:page AS jsonb)) AS e(
        seq bigint, "storeId" text, kind text, at timestamp, "sessionId" text, data jsonb,
        imported boolean, "prevHash" text, hash text)
    ON CONFLICT DO NOTHING
    RETURNING seq
    """
)
STORED_HASHES = select(_entries.c.seq, _entries.c.hash).where(
    _entries.c.store_id == bindparam("store_id"),
    _entries.c.seq.in_(bindparam("seqs", expanding=True)),
)


class FeedRefused(Exception):
    """The feed does not verify: the shop's follow stops, with this as its reason."""


class FeedUnavailable(Exception):
    """The box did not answer a page (down, unreachable, token refused): tried again later."""


_local = threading.local()


def _connection(url: str) -> http.client.HTTPConnection:
    """A kept-alive connection to the box, one per thread and box."""
    pool = _local.__dict__.setdefault("connections", {})
    if url not in pool:
        parts = urlsplit(url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        pool[url] = kind(parts.netloc, timeout=TIMEOUT_SECONDS)
    return pool[url]


def fetch(shop, after_seq: int) -> dict:
    """One page of the shop's journal after ``after_seq``, as the box answered it."""
    path = f"{urlsplit(shop.url).path.rstrip('/')}/pos-session/journal?"
    query = urlencode({"afterSeq": after_seq, "limit": PAGE})
    headers = {"Authorization": f"Bearer {shop.token}", "x-store-id": shop.store_id}
    connection = _connection(shop.url)
    try:
        connection.request("GET", path + query, headers=headers)
        response = connection.getresponse()
        body = _read(response, time.monotonic() + ANSWER_SECONDS)
    except (OSError, http.client.HTTPException) as err:
        connection.close()
        raise FeedUnavailable(f"the box did not answer: {err}") from None
    try:
        page = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: JSON nested past Python's stack
        raise FeedUnavailable(f"the box answered HTTP {response.status}, not JSON") from None
    if response.status != 200:
        message = page.get("message") if isinstance(page, dict) else None
        message = str(message)[:REASON_CHARS]
        raise FeedUnavailable(f"the box answered HTTP {response.status}: {message}")
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise FeedRefused("the box's answer is not a journal page")
    if len(page["data"]) > PAGE:
        raise FeedRefused(f"the box sent {len(page['data'])} entries, where a page has {PAGE}")
    return page


def _read(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The answer's body, read as it comes, until ``deadline`` and up to ANSWER_BYTES."""
    chunks, size = [], 0
    while chunk := response.read1(64 * 1024):
        size += len(chunk)
        if size > ANSWER_BYTES:
            raise http.client.HTTPException(f"its answer is over {ANSWER_BYTES} bytes")
        if time.monotonic() > deadline:
            raise http.client.HTTPException(f"its answer took over {ANSWER_SECONDS} s")
        chunks.append(chunk)
    # Read to its end, yet read1 leaves the response open: closed, it frees the kept-alive
    # connection for the next poll (http.client refuses a request while one is unclosed).
    response.close()
    return b"".join(chunks)


def verified(store_id: str, entries: list, last_seq: int, last_hash: str | None) -> list[dict]:
    """The entries after ``last_seq``, each checked: the page starts with the entry stored last
    (when there is one), then the seqs follow on without a gap, each entry links to the one
    before and its hash is recomputed (app.journal's own). Raises FeedRefused at the first
    that does not hold."""
    if last_seq:
        first = entries[0] if entries else None
        if not isinstance(first, dict) or first.get("seq") != last_seq:
            raise FeedRefused(
                f"the box's journal no longer has seq {last_seq}, which head office stored: "
                "it went back (a box restored from an older backup, or from a replica behind it?)"
            )
        if first.get("hash") != last_hash:
            raise FeedRefused(
                f"seq {last_seq}: the box's hash {first.get('hash')} differs from the one "
                f"stored, {last_hash}: its journal is not the one head office followed"
            )
        entries = entries[1:]
    prev, seq = last_hash or genesis(store_id), last_seq
    for entry in entries:
        where = f"seq {seq + 1}"
        if not _well_formed(entry):
            raise FeedRefused(f"{where}: the entry does not have the journal's fields")
        if entry["seq"] != seq + 1:
            raise FeedRefused(f"{where}: the box sent seq {entry['seq']} instead")
        if entry["storeId"] != store_id:
            raise FeedRefused(f"{where}: the entry is of store {entry['storeId']}")
        if entry["prevHash"] != prev:
            raise FeedRefused(f"{where}: prevHash does not link to seq {seq}'s hash")
        if entry_hash(entry) != entry["hash"]:
            raise FeedRefused(f"{where}: the entry's hash is not the hash of its content")
        prev, seq = entry["hash"], entry["seq"]
    return entries


def _well_formed(entry) -> bool:
    """The journal's fields, of their types and lengths, a real time, and the amounts of a kind
    the journal defines as amounts: what PostgreSQL is then given to store, and the pages to
    sum. A kind this release does not know (a newer box's) is stored as it is."""
    if not (
        isinstance(entry, dict)
        and set(entry) - {"imported"} == ENTRY_KEYS
        and entry.get("imported", True) is True
        and type(entry["seq"]) is int
        and all(isinstance(entry[key], str) for key in TEXTS)
        and all(len(entry[key]) <= longest for key, longest in LONGEST.items())
        and isinstance(entry["data"], dict)
        and isinstance(entry["at"], str)
        and AT.fullmatch(entry["at"]) is not None
    ):
        return False
    try:
        datetime.fromisoformat(entry["at"])  # in C: a thousand entries' cost nothing to notice
    except ValueError:  # 30 February
        return False
    fact, data = FACTS.get(entry["kind"]), entry["data"]
    money_keys = fact.money_keys if fact else {}
    return all(
        (data[key] is None and nullable)
        or (isinstance(data[key], str) and MONEY.fullmatch(data[key]) is not None)
        for key, nullable in money_keys.items()
        if key in data
    )


def store(connection: Connection, store_id: str, entries: list[dict], last_seq: int) -> bool:
    """Store a verified page, once: an entry already there (by store and seq) must have the same
    hash, else FeedRefused. Moves the shop's last seq on from ``last_seq``; False when another
    follower moved it first: the transaction is then rolled back, nothing of the page kept."""
    try:
        page = {"page": json.dumps(entries, ensure_ascii=False)}
        inserted = set(connection.scalars(STORE, page))
    except DataError as err:  # what the checks above let through, PostgreSQL refused
        raise FeedRefused(f"head office's database refused the page: {err.orig}") from None
    if len(inserted) < len(entries):
        sent = {e["seq"]: e["hash"] for e in entries if e["seq"] not in inserted}
        stored = connection.execute(STORED_HASHES, {"store_id": store_id, "seqs": list(sent)})
        for seq, hash_ in stored:
            if sent[seq] != hash_:
                raise FeedRefused(
                    f"seq {seq}: the box's hash {sent[seq]} differs from the one stored, {hash_}"
                )
    moved = connection.execute(
        update(_shops)
        .where(_shops.c.store_id == store_id, _shops.c.last_seq == last_seq)
        .values(last_seq=entries[-1]["seq"], last_hash=entries[-1]["hash"], error=None)
    )
    if moved.rowcount != 1:
        connection.rollback()
        return False
    return True


class Polled(NamedTuple):
    """How a shop's poll ended, noted with the round's others in one statement."""

    store_id: str
    at: datetime
    error: str | None  # None: caught up, head office has all the box has


def follow_shop(engine: Engine, shop) -> Polled | None:
    """Read the shop's journal until the box has no more. A feed that does not verify stops
    the shop at once (red, with the reason: None is returned); a box that does not answer is
    tried again at the next round."""
    last_seq, last_hash = shop.last_seq, shop.last_hash
    try:
        while True:
            page = fetch(shop, max(last_seq - 1, 0))
            entries = verified(shop.store_id, page["data"], last_seq, last_hash)
            if entries:
                with engine.begin() as connection:
                    if not store(connection, shop.store_id, entries, last_seq):
                        return None  # another follower has this shop
                last_seq, last_hash = entries[-1]["seq"], entries[-1]["hash"]
            if page.get("nextAfterSeq") is None:
                return Polled(shop.store_id, utcnow(), None)
            if not entries:  # "more follows", and nothing new: asked again, it would loop
                raise FeedUnavailable("the box said more entries follow but sent none")
    except FeedRefused as err:
        log.error("shop %s (%s) stopped: %s", shop.name, shop.store_id, err)
        with engine.begin() as connection:
            connection.execute(
                update(_shops)
                .where(_shops.c.store_id == shop.store_id)
                .values(polled_at=utcnow(), stopped_reason=str(err), stopped_at=utcnow())
            )
    except FeedUnavailable as err:
        return Polled(shop.store_id, utcnow(), str(err))
    except DBAPIError:  # head office's database: the round stops (follow)
        raise
    except Exception as err:  # a bug a box's answer found: this shop only, tried again
        log.exception("shop %s (%s) could not be followed", shop.name, shop.store_id)
        why = f"head office could not follow it: {err!r}"[:REASON_CHARS]
        return Polled(shop.store_id, utcnow(), why)
    return None


_polled = _shops.c.store_id == bindparam("shop")
CAUGHT_UP = (
    update(_shops)
    .where(_polled)
    .values(polled_at=bindparam("at"), caught_up_at=bindparam("at"), error=None)
)
UNAVAILABLE = (
    update(_shops).where(_polled).values(polled_at=bindparam("at"), error=bindparam("why"))
)


def note(engine: Engine, polls: list[Polled | None]) -> None:
    """The round's polls in two statements: a thousand shops' one each cost more than their
    pages (the bench)."""
    caught_up = [{"shop": p.store_id, "at": p.at} for p in polls if p and p.error is None]
    failed = [{"shop": p.store_id, "at": p.at, "why": p.error} for p in polls if p and p.error]
    with engine.begin() as connection:
        for statement, rows in ((CAUGHT_UP, caught_up), (UNAVAILABLE, failed)):
            if rows:
                connection.execute(statement, rows)


def followed(engine: Engine) -> list:
    """The shops to follow: every one not stopped."""
    with engine.connect() as connection:
        return connection.execute(select(_shops).where(_shops.c.stopped_reason.is_(None))).all()


def follow(engine: Engine, workers: int, interval: float, rounds: int | None = None) -> None:
    """Follow every shop, ``workers`` at a time, a round at least every ``interval`` seconds;
    forever, or ``rounds`` rounds."""
    with ThreadPoolExecutor(workers) as pool:
        done = 0
        while rounds is None or done < rounds:
            started = time.monotonic()
            try:
                note(
                    engine, list(pool.map(lambda shop: follow_shop(engine, shop), followed(engine)))
                )
            except DBAPIError as err:  # head office's database away: the next round resumes
                if rounds is not None:
                    raise
                log.error("head office's database: %s", err)
            done += 1
            if rounds is None or done < rounds:
                time.sleep(max(interval - (time.monotonic() - started), 0))
