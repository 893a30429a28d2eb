"""Appending: an entry goes into its store's chain in the same transaction as its fact."""

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..models import JournalEntry, JournalHead, PosClosing
from .entry import chained_row, genesis, wire_entry
from .facts import Fact, closing_fact

_entries = JournalEntry.__table__
_heads = JournalHead.__table__
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


def _insert_ignoring_duplicate(connection: Connection, table, **values):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def locked_row(connection: Connection, query, table, store_id, **first):
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
    head = locked_row(connection, HEAD, _heads, store_id, seq=0, hash=genesis(store_id))
    row = chained_row(head.seq + 1, head.hash, store_id, kind, at, session_id, data, imported)
    connection.execute(INSERT_ENTRY, row)
    connection.execute(
        MOVE_HEAD, {"head_store": store_id, "head_seq": row["seq"], "head_hash": row["hash"]}
    )
    return wire_entry(row)


def _journaled(tx: Session, fact: Fact, row, session_id) -> dict:
    data = fact.data(row)
    session_id = session_id or getattr(row, fact.session_column.name)
    entry = append(tx.connection(), row.store_id, fact.kind, row.created_at, session_id, data)
    # Signed into the head file outside the database once the transaction commits.
    tx.info.setdefault(PENDING_HEADS, {})[row.store_id] = (entry["seq"], entry["hash"])
    if fact.anchor:
        tx.info[SIGN_NOW] = True
    return entry


def record(tx: Session, fact: Fact, row, session_id: str | None = None) -> dict:
    """Journal ``row`` as a ``fact``: one line in each write rule, after its row is added, in
    the same transaction. Flushes first: ids and timestamps are set at flush. ``session_id``:
    for a row whose table does not name its session (an approval's is its closing's)."""
    tx.flush()
    return _journaled(tx, fact, row, session_id)


def record_closing(tx: Session, closing: PosClosing) -> dict:
    """Journal the closing its rule built (numbered, its grand totals added) and keep its
    entry's hash in it: before the closing's row is written, as that row is never updated."""
    entry = _journaled(tx, closing_fact(closing), closing, None)
    closing.journal_hash = entry["hash"]
    return entry
