"""SQLite done properly: per-connection pragmas and write transactions that BEGIN IMMEDIATE.

pysqlite emits no BEGIN of its own, so SQLAlchemy's recipe is used: the driver is put in
autocommit mode and the ``begin`` event emits the BEGIN. Reads get a plain (deferred) BEGIN,
so they never wait for the write lock; ``write_transaction`` asks for IMMEDIATE, so a
check-then-insert holds the write lock from its first read and cannot be raced.
"""

from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db
from .idempotency import current_claim

IMMEDIATE = "pos_begin_immediate"


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_transaction(bookkeeping: bool = False):
    """One unit of work that writes: commits on success, rolls back on any error.

    Under a request sent with an ``Idempotency-Key`` the key is looked up first, under the
    write lock, and the commit is left to the key's handler, which stores the answer with the
    effect (see ``app.idempotency``). ``bookkeeping`` transactions (the password lockout's
    count) are not the request's effect: they commit on their own, key or no key.
    """
    session = db.session
    claim = None if bookkeeping else current_claim()
    # End any read transaction first (auth checks run one), so the next BEGIN is IMMEDIATE.
    session.rollback()
    session.connection(execution_options={IMMEDIATE: True})
    try:
        if claim:
            claim.check(session)
        yield session
        if claim:
            claim.hold(session)
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
