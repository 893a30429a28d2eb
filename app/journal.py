"""The journal: every cash fact, chained per store with SHA-256, so no figure changes unseen.

docs/journal.md is the specification (entry, chain, export, threat model); this module
writes and checks what it says. An entry is appended in the same transaction as its fact
(``record_*``); ``verify`` recomputes the chains and cross-checks them against the tables both
ways; ``export`` writes a range signed with the box's Ed25519 key and ``verify_export`` checks
one with nothing but the file and the public key.
"""

import atexit
import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, has_app_context
from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .config import create_once
from .jsonio import DuplicateKeyError, reject_duplicate_keys
from .models import (
    CashMovement,
    ClosingApproval,
    JournalEntry,
    JournalHead,
    PosClosing,
    PosSession,
    Store,
    StoreTotals,
    utcnow,
)

SESSION_OPENED = "session_opened"
CASH_MOVEMENT = "cash_movement"
SESSION_CLOSED = "session_closed"
SESSION_FORCE_CLOSED = "session_force_closed"
CLOSING_APPROVED = "closing_approved"

KEY_FILE = "journal_ed25519.pem"
HEAD_FILE = "journal_head.json"
EXPORT_FORMAT = "pos-session-journal-export/1"

_entries = JournalEntry.__table__
_heads = JournalHead.__table__
_encode = json.encoder.encode_basestring  # a JSON string, as json.dumps(..., ensure_ascii=False)


# --- The entry and its hash -------------------------------------------------------------------


def canonical(value) -> str:
    """The one serialisation that is hashed and signed: sorted keys, no spaces, no escaping."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def genesis(store_id: str) -> str:
    """The ``prevHash`` of a store's first entry."""
    return sha256(store_id)


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


def chained_row(seq, prev_hash, store_id, kind, at, session_id, data, imported=False) -> dict:
    """The journal_entry row of a new entry, its hash computed."""
    row = dict(
        store_id=store_id,
        seq=seq,
        kind=kind,
        at=at if isinstance(at, str) else timestamp(at),
        session_id=session_id,
        imported=imported,
        data=canonical(data),
        prev_hash=prev_hash,
    )
    row["hash"] = entry_hash(wire_entry(row))
    return row


def wire_entry(row) -> dict:
    """An entry as the API and exports show it (``hash`` included once it has one)."""
    mapping = row if isinstance(row, dict) else row._mapping
    entry = {
        "seq": mapping["seq"],
        "storeId": mapping["store_id"],
        "kind": mapping["kind"],
        "at": mapping["at"],
        "sessionId": mapping["session_id"],
        "data": json.loads(mapping["data"]),
        "prevHash": mapping["prev_hash"],
    }
    if mapping["imported"]:
        entry["imported"] = True
    if mapping.get("hash"):
        entry["hash"] = mapping["hash"]
    return entry


def entry_hash(entry: dict) -> str:
    return sha256(canonical({k: v for k, v in entry.items() if k != "hash"}))


# --- What each fact records -------------------------------------------------------------------


def session_opened_data(session) -> dict:
    return {
        "profileId": session.pos_profile_id,
        "openingCash": money(session.opening_cash),
        "by": session.opened_by,
        "note": session.note,
    }


def movement_data(movement) -> dict:
    return {
        "movementId": movement.id,
        "type": movement.type,
        "amount": money(movement.amount),
        "by": movement.created_by,
        "note": movement.note,
    }


TOTALS = {"sales": "sales", "refunds": "refunds", "payIns": "pay_ins", "payOuts": "pay_outs"}


def closing_data(closing) -> dict:
    return {
        "closingId": closing.id,
        "profileId": closing.pos_profile_id,
        "closingCash": money(closing.closing_cash),
        "expectedCash": money(closing.expected_cash),
        "difference": money(closing.difference),
        "by": closing.closed_by,
        "note": closing.note,
        **({"reason": closing.reason} if closing.forced else {}),
        "zNumber": closing.z_number,
        **{name: money(getattr(closing, column)) for name, column in TOTALS.items()},
        "grandTotals": {
            name: money(getattr(closing, f"grand_{column}")) for name, column in TOTALS.items()
        },
        "approvalPending": bool(closing.needs_approval),
    }


def approval_data(approval) -> dict:
    return {"closingId": approval.closing_id, "by": approval.approved_by, "note": approval.note}


def closing_kind(closing) -> str:
    return SESSION_FORCE_CLOSED if closing.forced else SESSION_CLOSED


# --- Appending --------------------------------------------------------------------------------

HEAD = (
    select(_heads.c.seq, _heads.c.hash)
    .where(_heads.c.store_id == bindparam("store_id"))
    .with_for_update()
)
# Built once: an append runs them on every cash fact.
INSERT_ENTRY = insert(_entries)
MOVE_HEAD = (
    update(_heads)
    .where(_heads.c.store_id == bindparam("head_store"))
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)
PENDING_HEADS = "pos_journal_heads"
SIGN_NOW = "pos_journal_sign_now"
_totals = StoreTotals.__table__
ZERO = dict.fromkeys(TOTALS.values(), 0)
TOTALS_ROW = select(_totals).where(_totals.c.store_id == bindparam("store_id")).with_for_update()
MOVE_TOTALS = (
    update(_totals)
    .where(_totals.c.store_id == bindparam("totals_store"))
    .values(
        z_number=bindparam("z_number"),
        **{column: bindparam(column) for column in TOTALS.values()},
    )
)


def _insert_ignoring_duplicate(connection: Connection, table, **values):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def _locked(connection: Connection, query, table, store_id, **first):
    """The store's row of ``table``, locked until the transaction ends; made from ``first``
    if the store has none yet (a concurrent first one waits on the key, then finds it)."""
    row = connection.execute(query, {"store_id": store_id}).first()
    if row is None:
        _insert_ignoring_duplicate(connection, table, store_id=store_id, **first)
        row = connection.execute(query, {"store_id": store_id}).first()
    return row


def append(
    connection: Connection, store_id, kind, at, session_id, data: dict, imported=False
) -> dict:
    """Append one entry to the store's chain, inside the caller's write transaction.

    Never commits. On SQLite the caller's BEGIN IMMEDIATE already serialises writers; on
    PostgreSQL the store's head row is locked FOR UPDATE until the caller commits, so seqs
    stay gap-free and chained however many workers append at once.
    """
    head = _locked(connection, HEAD, _heads, store_id, seq=0, hash=genesis(store_id))
    row = chained_row(head.seq + 1, head.hash, store_id, kind, at, session_id, data, imported)
    connection.execute(INSERT_ENTRY, row)
    connection.execute(
        MOVE_HEAD, {"head_store": store_id, "head_seq": row["seq"], "head_hash": row["hash"]}
    )
    return wire_entry(row)


def _record(tx: Session, store_id, kind, at, session_id, data) -> dict:
    entry = append(tx.connection(), store_id, kind, at, session_id, data)
    # Signed into the head file outside the database once the transaction commits.
    tx.info.setdefault(PENDING_HEADS, {})[store_id] = (entry["seq"], entry["hash"])
    return entry


# One line in each write rule, after its row is added, in the same transaction. Each flushes
# first: ids and timestamps are set at flush.


def record_session_opened(tx: Session, opened: PosSession) -> dict:
    tx.flush()
    data = session_opened_data(opened)
    return _record(tx, opened.store_id, SESSION_OPENED, opened.created_at, opened.id, data)


def record_movement(tx: Session, movement: CashMovement) -> dict:
    tx.flush()
    return _record(
        tx,
        movement.store_id,
        CASH_MOVEMENT,
        movement.created_at,
        movement.pos_session_id,
        movement_data(movement),
    )


def record_closing(tx: Session, closing: PosClosing) -> dict:
    """Number the closing (its session's totals already set), add it to the store's grand
    totals, journal it, and keep its entry's hash in it. Before the closing's row is written:
    the row is never updated."""
    connection = tx.connection()
    totals = _locked(connection, TOTALS_ROW, _totals, closing.store_id, z_number=0, **ZERO)
    closing.z_number = totals.z_number + 1
    for column in TOTALS.values():
        setattr(closing, f"grand_{column}", getattr(totals, column) + getattr(closing, column))
    connection.execute(
        MOVE_TOTALS,
        {
            "totals_store": closing.store_id,
            "z_number": closing.z_number,
            **{column: getattr(closing, f"grand_{column}") for column in TOTALS.values()},
        },
    )
    entry = _record(
        tx,
        closing.store_id,
        closing_kind(closing),
        closing.created_at,
        closing.pos_session_id,
        closing_data(closing),
    )
    closing.journal_hash = entry["hash"]
    tx.info[SIGN_NOW] = True  # a Z is an anchor: its head is signed at once
    return entry


def record_approval(tx: Session, approval: ClosingApproval, closing: PosClosing) -> dict:
    """A manager's approval of a closing's difference: a new fact; the closing is never edited."""
    tx.flush()
    data = approval_data(approval)
    entry = _record(
        tx, approval.store_id, CLOSING_APPROVED, approval.created_at, closing.pos_session_id, data
    )
    tx.info[SIGN_NOW] = True
    return entry


# --- The box's key and the signed head kept outside the database -------------------------------


def signing_key(instance_path: str) -> Ed25519PrivateKey:
    """The box's Ed25519 key, created once in the instance folder (mode 0600)."""
    path = Path(instance_path) / KEY_FILE
    create_once(
        path,
        lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_key_hex(key: Ed25519PrivateKey) -> str:
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    return key.public_key().public_bytes(*raw).hex()


def folder(app=None) -> str:
    """Where the box's key and the signed head live: ``JOURNAL_DIR``, else the instance folder."""
    app = app or current_app
    return app.config["JOURNAL_DIR"] or app.instance_path


def _box_key() -> Ed25519PrivateKey:
    # Loaded once per worker: every commit that journals signs the head with it.
    extensions = current_app.extensions
    if "pos_journal_key" not in extensions:
        extensions["pos_journal_key"] = signing_key(folder())
    return extensions["pos_journal_key"]


def read_signed_heads(instance_path: str, key: Ed25519PublicKey) -> dict | None:
    """``{store_id: (seq, hash)}`` from the head file; None if there is none yet.
    Raises JournalError when the file is not one this key signed."""
    path = Path(instance_path) / HEAD_FILE
    try:
        signed = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as err:
        raise JournalError(f"{path} is not JSON ({err})") from None
    try:
        key.verify(bytes.fromhex(signed["signature"]), canonical(signed["heads"]).encode())
        return {store: (head["seq"], head["hash"]) for store, head in signed["heads"].items()}
    except (InvalidSignature, KeyError, TypeError, ValueError, AttributeError):
        raise JournalError(f"{path} is not signed by this box's key") from None


def sign_heads(instance_path: str, key: Ed25519PrivateKey, heads: dict, replace=False) -> None:
    """Merge ``{store_id: (seq, hash)}`` into the signed head file; a head only moves forward,
    unless ``replace`` (after a restore) says the database's heads are the truth now."""
    folder = Path(instance_path)
    with open(folder / f".{HEAD_FILE}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # workers commit at once; no head may go backwards
        try:
            merged = {} if replace else read_signed_heads(instance_path, key.public_key()) or {}
        except JournalError:
            merged = {}
        for store, (seq, digest) in heads.items():
            if replace or seq > merged.get(store, (0, ""))[0]:
                merged[store] = (seq, digest)
        body = {store: {"seq": seq, "hash": digest} for store, (seq, digest) in merged.items()}
        signature = key.sign(canonical(body).encode()).hex()
        tmp = folder / f".{HEAD_FILE}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(canonical({"heads": body, "signature": signature}))
        # Atomic, but not fsynced: that would cost every cash fact a few ms. After a power cut
        # the head may be an older one (harmless: heads only have to be reached) or, rarely,
        # unreadable, which verify reports; `journal sign-head` then re-signs (docs/journal.md).
        os.replace(tmp, folder / HEAD_FILE)


HEAD_LOG = "journal_head.log"


def start_new_head(instance_path: str, key: Ed25519PrivateKey, heads: dict, by, reason) -> dict:
    """Sign ``heads`` (``{store_id: (seq, hash)}``) as the head in place of the old one, which
    is kept beside it under a dated name, and append what was done to the head log (one JSON
    line each; the back office's journal page shows it). For what the old head would rightly
    fail: another box's backup restored, or an older one of this box accepted."""
    folder, now = Path(instance_path), utcnow()
    try:
        previous = read_signed_heads(instance_path, key.public_key())
    except JournalError:
        previous = None  # unreadable, or another key's: kept all the same
    archived = None
    if (folder / HEAD_FILE).exists():
        archived = f"{HEAD_FILE}.{now:%Y%m%dT%H%M%S.%fZ}"
        os.link(folder / HEAD_FILE, folder / archived)  # the new head then replaces the name
    sign_heads(instance_path, key, heads, replace=True)
    event = {
        "at": timestamp(now),
        "by": by,
        "reason": reason,
        "archived": archived,
        "previous": previous and {store: seq for store, (seq, _hash) in previous.items()},
        "heads": {store: seq for store, (seq, _hash) in heads.items()},
    }
    with open(folder / HEAD_LOG, "a", encoding="utf-8") as log:
        log.write(canonical(event) + "\n")
    return event


def head_log(instance_path: str) -> list[dict]:
    """Every signed head started anew, oldest first; empty if none was."""
    try:
        with open(Path(instance_path) / HEAD_LOG, encoding="utf-8") as log:
            return [json.loads(line) for line in log]
    except FileNotFoundError:
        return []


def restore_findings(copy: sqlite3.Connection, signed: dict) -> tuple[list[str], list[str]]:
    """What putting the database ``copy`` in place does to the signed head ``{store_id: (seq,
    hash)}``: what it breaks (a store the head signed that the copy lacks, or whose entry at
    the signed seq is another one: another box's journal) and what it rolls back (a store the
    copy has at an earlier seq: an older backup of this box, which verify reports until
    ``journal sign-head``)."""
    heads = dict(copy.execute("SELECT store_id, seq FROM journal_head"))
    broken, behind = [], []
    for store, (seq, digest) in sorted(signed.items()):
        if store not in heads:
            broken.append(f"store {store} (signed at seq {seq}) is not in it")
        elif heads[store] < seq:
            behind.append(
                f"store {store} ends at seq {heads[store]} in it, at seq {seq} in the head"
            )
        elif copy.execute(
            "SELECT hash FROM journal_entry WHERE store_id = ? AND seq = ?", (store, seq)
        ).fetchone() != (digest,):
            broken.append(f"store {store}'s entry {seq} in it is not the one signed")
    return broken, behind


class HeadSigner:
    """A worker's committed heads, signed into the head file at most once per ``interval``
    seconds (a timer signs the last ones if no commit follows), and at once on a closing or
    an approval. Signing costs a few ms (read, verify, sign, rename): on every commit it would
    cost each cash movement more than the whole journal is allowed (docs/journal.md)."""

    def __init__(self, folder: str, key: Ed25519PrivateKey, interval: float):
        self.folder, self.key, self.interval = folder, key, interval
        self.pending: dict = {}
        self.signed_at = 0.0
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        atexit.register(self.sign)  # a worker that stops signs what it has

    def committed(self, heads: dict, now: bool) -> None:
        with self.lock:
            for store, head in heads.items():
                if head[0] > self.pending.get(store, (0, ""))[0]:
                    self.pending[store] = head
            wait = self.signed_at + self.interval - time.monotonic()
            if not now and wait > 0:
                if self.timer is None:
                    self.timer = threading.Timer(wait, self.sign)
                    self.timer.daemon = True
                    self.timer.start()
                return
        self.sign()

    def sign(self) -> None:
        with self.lock:
            heads, self.pending = self.pending, {}
            self.signed_at = time.monotonic()
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
        if heads:
            sign_heads(self.folder, self.key, heads)


def _signer() -> HeadSigner:
    extensions = current_app.extensions
    if "pos_journal_signer" not in extensions:
        interval = current_app.config["JOURNAL_SIGN_INTERVAL_SECONDS"]
        extensions["pos_journal_signer"] = HeadSigner(folder(), _box_key(), interval)
    return extensions["pos_journal_signer"]


@event.listens_for(Session, "after_commit")
def _sign_committed_heads(tx: Session) -> None:
    heads = tx.info.pop(PENDING_HEADS, None)
    now = tx.info.pop(SIGN_NOW, False)
    if heads and has_app_context():
        _signer().committed(heads, now)


@event.listens_for(Session, "after_rollback")
def _forget_heads(tx: Session) -> None:
    tx.info.pop(PENDING_HEADS, None)
    tx.info.pop(SIGN_NOW, None)


def database_heads(connection: Connection) -> dict:
    return {row.store_id: (row.seq, row.hash) for row in connection.execute(select(_heads))}


# --- Verification -----------------------------------------------------------------------------


class JournalError(Exception):
    pass


class Problem(NamedTuple):
    store_id: str
    seq: int | None  # None: a row with no entry, which has no seq
    message: str

    def __str__(self) -> str:
        where = f"seq {self.seq}: " if self.seq is not None else ""
        return f"store {self.store_id}: {where}{self.message}"

    def order(self):
        return (self.seq is None, self.seq or 0)


class Verification(NamedTuple):
    stores: int
    entries: int
    signed: int  # stores checked against the signed head
    problems: list[Problem]  # the first per store

    def summary(self) -> str:
        if self.problems:
            return "\n".join(map(str, self.problems))
        return (
            f"journal verified: {self.stores} store(s), {self.entries} entries, every chain "
            f"intact, every session, movement and closing journaled; "
            f"{self.signed} store(s) checked against the signed head"
        )


_stores = Store.__table__
_sessions = PosSession.__table__
_movements = CashMovement.__table__
_closings = PosClosing.__table__
_approvals = ClosingApproval.__table__
STREAM = {"stream_results": True, "yield_per": 10_000}
CHAIN = (
    select(
        _entries.c.seq,
        _entries.c.kind,
        _entries.c.at,
        _entries.c.session_id,
        _entries.c.imported,
        _entries.c.data,
        _entries.c.prev_hash,
        _entries.c.hash,
    )
    .where(_entries.c.store_id == bindparam("store_id"))
    .order_by(_entries.c.seq)
)


def _text(value: str | None) -> str:
    return "null" if value is None else _encode(value)


def cents(value: int) -> str:
    """money(Decimal(value) / 100): an amount as the database keeps it (MoneyColumn)."""
    whole, part = divmod(abs(value), 100)
    return f"{'-' if value < 0 else ''}{whole}.{part:02d}"


def stored_timestamp(value) -> str:
    """timestamp() of a datetime column as its DBAPI driver gives it: PostgreSQL's a datetime,
    SQLite's SQLAlchemy's text, "YYYY-MM-DD HH:MM:SS[.ffffff]"."""
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:19]}.{value[20:23]:0<3}Z"
    return timestamp(value)


def movement_text(movement_id, amount_cents, by, note, kind) -> str:
    """canonical(movement_data(m)) from the stored columns, spliced in sorted key order: verify
    builds one for nearly every entry, several times faster than json.dumps (the test of
    verify holds the two equal)."""
    return (
        f'{{"amount":"{cents(amount_cents)}","by":{_text(by)},"movementId":{_encode(movement_id)},'
        f'"note":{_text(note)},"type":{_encode(kind)}}}'
    )


def raw_batches(connection: Connection, query):
    """The rows of ``query`` straight from a DBAPI cursor, as plain tuples of stored values, a
    batch at a time: SQLAlchemy's per-row work was most of verify's time."""
    sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(10_000):
            yield batch
    finally:
        cursor.close()


MOVEMENT_FACTS = select(
    _movements.c.id,
    _movements.c.pos_session_id,
    _movements.c.created_at,
    _movements.c.amount,
    _movements.c.created_by,
    _movements.c.note,
    _movements.c.type,
)


def _movement_facts(connection, store_id, name):
    facts = {}
    query = MOVEMENT_FACTS.where(_movements.c.store_id == store_id)
    for batch in raw_batches(connection, query):
        for movement_id, session_id, at, amount, by, note, kind in batch:
            text = movement_text(movement_id, amount, by, note, kind)
            facts[(session_id, CASH_MOVEMENT, stored_timestamp(at), text)] = (name, movement_id)
    return facts


def _facts(query, fact):
    """The facts of the rows of ``query`` in a store, each made by ``fact(row)``."""

    def facts(connection, store_id, name):
        rows = connection.execute(
            query.where(query.selected_columns.store_id == store_id).execution_options(**STREAM)
        )
        return {
            key: (name, row_id) for batch in rows.partitions() for row_id, key in map(fact, batch)
        }

    return facts


class Family(NamedTuple):
    """The rows of one kind of fact, and what each row's entry must hold."""

    table: str  # as messages name it
    rows: object  # a select of a row (with its session id), to narrow with .where()
    key: object  # the row id's column
    subject: str | None  # the data field naming the row; None: the row is the session itself
    data: Callable  # the entry's data, from a row of ``rows``
    # facts(connection, store_id, name): {(sessionId, kind, at, canonical data): (name, row id)}
    facts: Callable


APPROVALS = select(_approvals, _closings.c.pos_session_id).join_from(_approvals, _closings)
FAMILIES = {
    SESSION_OPENED: Family(
        "pos_session",
        select(_sessions),
        _sessions.c.id,
        None,
        session_opened_data,
        _facts(
            select(_sessions),
            lambda s: (
                s.id,
                (
                    s.id,
                    SESSION_OPENED,
                    timestamp(s.created_at),
                    canonical(session_opened_data(s)),
                ),
            ),
        ),
    ),
    CASH_MOVEMENT: Family(
        "cash_movement",
        select(_movements),
        _movements.c.id,
        "movementId",
        movement_data,
        _movement_facts,
    ),
    SESSION_CLOSED: Family(
        "pos_closing",
        select(_closings),
        _closings.c.id,
        "closingId",
        closing_data,
        _facts(
            select(_closings),
            lambda c: (
                c.id,
                (
                    c.pos_session_id,
                    closing_kind(c),
                    timestamp(c.created_at),
                    canonical(closing_data(c)),
                ),
            ),
        ),
    ),
    CLOSING_APPROVED: Family(
        "closing_approval",
        APPROVALS,
        _approvals.c.closing_id,
        "closingId",
        approval_data,
        _facts(
            APPROVALS,
            lambda a: (
                a.closing_id,
                (
                    a.pos_session_id,
                    CLOSING_APPROVED,
                    timestamp(a.created_at),
                    canonical(approval_data(a)),
                ),
            ),
        ),
    ),
}
FAMILY = {kind: kind for kind in FAMILIES} | {SESSION_FORCE_CLOSED: SESSION_CLOSED}


def count_entries(connection: Connection, store_id: str | None = None) -> int:
    query = select(func.count()).select_from(_entries)
    if store_id is not None:
        query = query.where(_entries.c.store_id == store_id)
    return connection.scalar(query)


def verify(
    connection: Connection,
    store_ids: Iterable[str] | None,
    signed_heads: dict | None,
    progress: Callable[[int], None] = lambda n: None,
    verified: Callable[[str, Verification], None] = lambda store_id, result: None,
) -> Verification:
    """Recompute each store's chain and cross-check it against the tables both ways, in one
    pass over its entries; ``progress`` is told of them as they are read, ``verified`` of each
    store's result. ``store_ids`` None: every store, the database's and the signed head's."""
    present = set(connection.scalars(select(_stores.c.id)))
    if store_ids is None:
        store_ids = sorted(present | set(signed_heads or {}))
    results = []
    for store_id in store_ids:
        head = (signed_heads or {}).get(store_id)
        if store_id in present:
            count, found = _check_store(connection, store_id, head, progress)
        else:  # deleted whole, or a restore without it: only the head outside remembers it
            count, found = 0, [_not_in_the_database(store_id, head)]
        first = [min(found, key=Problem.order)] if found else []
        result = Verification(1, count, int(head is not None), first)
        verified(store_id, result)
        results.append(result)
    return Verification(
        len(results),
        sum(r.entries for r in results),
        sum(r.signed for r in results),
        [problem for r in results for problem in r.problems],
    )


def _not_in_the_database(store_id, signed) -> Problem:
    message = "not in the database"
    if signed:
        message += f", but the signed head kept outside it says its journal reached seq {signed[0]}"
    return Problem(store_id, None, message)


def _expected(connection, store_id) -> tuple[dict, set, list[Problem]]:
    """What the store's rows say their entries hold: ``{(sessionId, kind, at, data): (family,
    row id)}``, the store's session ids, and the first problem of its Z closings."""
    expected = {}
    for name, family in FAMILIES.items():
        found = family.facts(connection, store_id, name)
        if name == SESSION_OPENED:
            sessions = {row_id for _name, row_id in found.values()}
        expected.update(found)
    return expected, sessions, _z_problems(connection, store_id)


def _z_problems(connection, store_id) -> list[Problem]:
    """The Z closings in order: numbered 1, 2, 3... and each one's grand totals the previous
    one's (none for Z 1) plus its own, every figure; then store_totals, which the next Z adds
    to, equal to the last Z. A Z and its entry agree (the cross-check), so a total lowered
    in store_totals is caught at the next Z, and before it here."""
    closings = connection.execute(
        select(_closings).where(_closings.c.store_id == store_id).order_by(_closings.c.z_number)
    )
    last = None
    for z in closings:
        number = last.z_number if last else 0
        if z.z_number != number + 1:
            return [Problem(store_id, None, f"Z numbers jump from {number} to {z.z_number}")]
        wrong = []
        for name, column in TOTALS.items():
            own, grand = getattr(z, column), getattr(z, f"grand_{column}")
            before = getattr(last, f"grand_{column}") if last else 0
            if grand != before + own:
                made_of = f"Z {number}'s {money(before)} plus" if last else "the first Z:"
                wrong.append(
                    f"grand total {name} is {money(grand)}, not {money(before + own)} "
                    f"({made_of} this closing's {money(own)})"
                )
        if wrong:
            return [Problem(store_id, None, f"Z {z.z_number} (closing {z.id}): {'; '.join(wrong)}")]
        last = z
    if last is None:
        return []
    totals = connection.execute(select(_totals).where(_totals.c.store_id == store_id)).first()
    if totals is None:
        return [Problem(store_id, None, f"store_totals has no row, but Z {last.z_number} exists")]
    wrong = [f"Z number is {totals.z_number} there"] if totals.z_number != last.z_number else []
    wrong += [
        f"{name} is {money(getattr(totals, column))} there, "
        f"{money(getattr(last, f'grand_{column}'))} in the Z"
        for name, column in TOTALS.items()
        if getattr(totals, column) != getattr(last, f"grand_{column}")
    ]
    if wrong:
        return [
            Problem(
                store_id, None, f"store_totals differs from Z {last.z_number}: {'; '.join(wrong)}"
            )
        ]
    return []


def _check_store(connection, store_id, signed, progress) -> tuple[int, list[Problem]]:
    """The chain (seqs, prevHash, hash, stored and signed heads), then the rows against it; the
    entry problems found first by seq, a row without its entry after them."""
    expected, sessions, z_problems = _expected(connection, store_id)
    chain_problem = cross_problem = None
    last, prev, at_signed = 0, genesis(store_id), None
    store_tail = f'"storeId":{_encode(store_id)}}}'
    # Per entry, what a million entries make worth it: locals, the kinds' JSON looked up.
    encode, sha256, pop, kinds = _encode, hashlib.sha256, expected.pop, KINDS_JSON
    for batch in raw_batches(connection, CHAIN.params(store_id=store_id)):
        progress(len(batch))
        for seq, kind, at, session_id, imported, data, prev_hash, digest in batch:
            if chain_problem is None:
                if seq != last + 1 or prev_hash != prev:
                    chain_problem = _chain_link(store_id, last + 1, seq, prev, prev_hash)
                text = (
                    f'{{"at":{encode(at)},"data":{data},{IMPORTED[imported]}'
                    f'"kind":{kinds.get(kind) or encode(kind)},"prevHash":"{prev}","seq":{seq},'
                    f'"sessionId":{encode(session_id)},{store_tail}'
                )
                if chain_problem is None and sha256(text.encode()).hexdigest() != digest:
                    chain_problem = Problem(
                        store_id, seq, "hash does not match the entry's content"
                    )
                if chain_problem is None:
                    last, prev = seq, digest
                    if signed and seq == signed[0]:
                        at_signed = digest
            if cross_problem is None and pop((session_id, kind, at, data), None) is None:
                entry = (session_id, kind, at, data)
                cross_problem = Problem(
                    store_id, seq, _unmatched(connection, entry, expected, sessions)
                )
            if chain_problem and cross_problem:
                break
        else:
            continue
        break
    chain_problem = chain_problem or _check_heads(
        connection, store_id, last, prev, signed, at_signed
    )
    found = [p for p in (chain_problem, cross_problem) if p]
    if not cross_problem and expected:
        name, row_id = next(iter(expected.values()))
        session_id = next(iter(expected))[0]
        table = FAMILIES[name].table
        found.append(
            Problem(store_id, None, f"{table} row {row_id} (session {session_id}) has no entry")
        )
    return last, found + z_problems


IMPORTED = {True: '"imported":true,', False: ""}  # also 1 and 0, as SQLite gives them
KINDS_JSON = {kind: _encode(kind) for kind in (*FAMILY, SESSION_FORCE_CLOSED)}


def _chain_link(store_id, expected, seq, prev, prev_hash) -> Problem | None:
    if seq != expected:
        return Problem(store_id, expected, f"entry {expected} is missing (the next one is {seq})")
    if prev_hash != prev:
        before = "the store id's hash" if expected == 1 else f"entry {expected - 1}'s hash"
        return Problem(store_id, expected, f"prevHash is not {before}")
    return None


def _check_heads(connection, store_id, last, prev, signed, at_signed) -> Problem | None:
    """The journal reaches the head stored with it, and the one signed outside the database."""
    head = connection.execute(select(_heads).where(_heads.c.store_id == store_id)).first()
    recorded = (head.seq, head.hash) if head else (0, genesis(store_id))
    if recorded != (last, prev):
        message = f"the journal ends at seq {last} but its head says {recorded[0]}"
        return Problem(store_id, last + 1, message)
    if signed and last < signed[0]:
        return Problem(
            store_id,
            last + 1,
            f"entries {last + 1} to {signed[0]} are missing: the signed head kept outside the "
            f"database says the journal reached seq {signed[0]}",
        )
    if signed and at_signed != signed[1]:
        return Problem(store_id, signed[0], "hash differs from the one in the signed head")
    return None


def _unmatched(connection, entry, expected: dict, sessions: set) -> str:
    """What is wrong with an entry no row accounts for exactly (at most once per store: the
    first such entry is the store's finding, so the scans here stay off the hot path)."""
    session_id, kind, at, data_text = entry
    if session_id not in sessions:
        return f"no pos_session row {session_id} in this store"
    if kind not in FAMILY:
        return f"unknown kind {kind!r}"
    name = FAMILY[kind]
    family = FAMILIES[name]
    try:
        data = json.loads(data_text)
        if not isinstance(data, dict):
            raise TypeError
        row_id = session_id if family.subject is None else data[family.subject]
    except (ValueError, KeyError, TypeError):
        return "data is not a JSON object naming its row"
    pending = [fact for fact, found in expected.items() if found == (name, row_id)]
    if not pending:
        return f"no {family.table} row {row_id}, or a second entry for it"
    row = connection.execute(family.rows.where(family.key == row_id)).first()
    row_data = family.data(row)
    differences = [
        f"{field} is {have!r} in the entry, {want!r} in the row"
        for field, have, want in [
            *zip(("sessionId", "kind", "at"), entry[:3], pending[0][:3], strict=True),
            *((f"data.{k}", data.get(k), v) for k, v in row_data.items()),
        ]
        if have != want
    ]
    return f"{family.table} row {row_id} differs: " + (
        "; ".join(differences) or "data has other fields"
    )


VERIFIED_FILE = "journal_verified.json"


def record_verification(folder: str, store_id: str, by: str, result: Verification) -> dict:
    """Keep a store's last verification (when, by whom, its finding) in the journal folder,
    written atomically: the back office shows it."""
    [problem] = result.problems or [None]
    last = {
        "at": timestamp(utcnow()),
        "by": by,
        "entries": result.entries,
        "ok": problem is None,
        "seq": problem and problem.seq,
        "problem": problem and str(problem),
    }
    path = Path(folder) / VERIFIED_FILE
    with open(Path(folder) / f".{VERIFIED_FILE}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two stores verified at once: both are kept
        kept = last_verifications(folder)
        tmp = path.with_name(f".{VERIFIED_FILE}.{os.getpid()}")
        tmp.write_text(canonical(kept | {store_id: last}), encoding="utf-8")
        os.replace(tmp, path)
    return last


def last_verifications(folder: str) -> dict:
    """``{store_id: last verification}``; empty before the first (or if the file is unreadable)."""
    try:
        return json.loads((Path(folder) / VERIFIED_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


# --- Signed export, verified offline ----------------------------------------------------------


def export(
    connection: Connection,
    store_id: str,
    out: Path,
    key: Ed25519PrivateKey,
    since: str | None = None,
    until: str | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> dict:
    """Write the store's entries with ``since <= at < until`` (ISO texts) to ``out``: one JSON
    entry a line, then the signed manifest. The range is the seqs from the first such entry to
    the last, without a gap even where concurrent writers left ``at`` out of order."""
    bounds = select(func.min(_entries.c.seq), func.max(_entries.c.seq)).where(
        _entries.c.store_id == store_id
    )
    if since:
        bounds = bounds.where(_entries.c.at >= since)
    if until:
        bounds = bounds.where(_entries.c.at < until)
    first, last = connection.execute(bounds).one()
    if first is None:
        raise JournalError(f"store {store_id} has no journal entry in that range")
    rows = connection.execute(
        select(_entries)
        .where(_entries.c.store_id == store_id, _entries.c.seq.between(first, last))
        .order_by(_entries.c.seq)
        .execution_options(**STREAM)
    )
    partial = out.with_name(f".{out.name}.partial")
    count, start, last_hash = 0, None, None
    with open(partial, "w", encoding="utf-8") as f:
        for row in rows:
            start = start or row.prev_hash
            last_hash = row.hash
            count += 1
            f.write(canonical(wire_entry(row)) + "\n")
            progress(1)
        manifest = {
            "format": EXPORT_FORMAT,
            "storeId": store_id,
            "firstSeq": first,
            "lastSeq": last,
            "startPrevHash": start,
            "lastHash": last_hash,
            "count": count,
            "exportedAt": timestamp(utcnow()),
        }
        signature = key.sign(canonical(manifest).encode()).hex()
        f.write(canonical({"manifest": manifest, "signature": signature}) + "\n")
    os.replace(partial, out)
    return manifest


def verify_export(path: Path, public_key: str, progress=lambda n: None) -> dict:
    """Check an export with its file and the box's public key alone; returns its manifest.
    Raises JournalError naming the first thing wrong."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
    except ValueError:
        raise JournalError("the public key is not 64 hex digits of an Ed25519 key") from None
    first = previous = None
    count = 0
    with open(path, "rb") as f:  # bytes: each line must be exactly what was hashed and signed
        pending = f.readline()
        for line in f:
            entry = _parse(pending, count + 1)
            seq = entry.get("seq")
            if not isinstance(seq, int):
                raise JournalError(f"line {count + 1}: no seq")
            if previous is None:
                first = entry
            elif seq != previous["seq"] + 1:
                raise JournalError(f"seq {seq}: follows seq {previous['seq']}")
            elif entry.get("prevHash") != previous["hash"]:
                raise JournalError(f"seq {seq}: prevHash is not the previous entry's hash")
            if entry.get("storeId") != first.get("storeId"):
                raise JournalError(f"seq {seq}: another store's entry")
            if entry.get("hash") != entry_hash(entry):
                raise JournalError(f"seq {seq}: hash does not match the entry's content")
            previous, pending = entry, line
            count += 1
            progress(1)
    signed = _parse(pending, count + 1)
    try:
        manifest = signed["manifest"]
        key.verify(bytes.fromhex(signed["signature"]), canonical(manifest).encode())
    except (InvalidSignature, KeyError, TypeError, ValueError):
        raise JournalError("the manifest's signature is not this key's") from None
    if previous is None:
        raise JournalError("the export holds no entry")
    found = {
        "storeId": first["storeId"],
        "firstSeq": first["seq"],
        "lastSeq": previous["seq"],
        "startPrevHash": first["prevHash"],
        "lastHash": previous["hash"],
        "count": count,
    }
    wrong = [name for name, value in found.items() if manifest.get(name) != value]
    if wrong:
        raise JournalError(f"the entries do not match the manifest's {', '.join(wrong)}")
    if first["seq"] == 1 and first["prevHash"] != genesis(first["storeId"]):
        raise JournalError("seq 1: prevHash is not the store id's hash")
    return manifest


def _parse(line: bytes, number: int) -> dict:
    """An export's line as the object it holds, refused unless its bytes are that object's
    canonical JSON and a newline: a duplicate key (of which a reader keeps the last), a space or
    an escape would make the line say other than what its hash or signature covers."""
    try:
        value = json.loads(line, object_pairs_hook=reject_duplicate_keys)
    except DuplicateKeyError as err:
        raise JournalError(f"line {number}: {err}") from None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise JournalError(f"line {number} is not a JSON object")
    if line != f"{canonical(value)}\n".encode():
        raise JournalError(f"line {number} is not in canonical form (sorted keys, no spaces)")
    return value
