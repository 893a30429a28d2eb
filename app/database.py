"""The database layer: SQLite set up properly, and the unit of work every writer goes through.

pysqlite emits no BEGIN of its own, so SQLAlchemy's recipe is used: the driver is put in
autocommit mode and the ``begin`` event emits the BEGIN. Reads get a plain (deferred) BEGIN,
so they never wait for the write lock; a ``UnitOfWork`` asks for IMMEDIATE, so a
check-then-insert holds the write lock from its first read and cannot be raced.

A view marked ``@single_statement`` (the token check and one SELECT: the terminals' polls) reads
on a connection its worker holds across requests, each statement its own transaction (atomic on
its own): taking a connection from the pool through the request's ORM session and giving it back
cost twice the two SELECTs themselves (docs/bench.md). The held connection is dropped, and
another opened, when it failed or when the database file is no longer the one it opened. Its
transaction is SQLAlchemy's bookkeeping only (the driver holds none), so it is never ended.
"""

import threading
from weakref import WeakKeyDictionary

from flask import current_app, g, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from . import dbfile
from .extensions import db

IMMEDIATE = "pos_begin_immediate"
NO_BEGIN = "pos_no_begin"
DURABLE = "pos_durable"
SYNCHRONOUS = "pos_synchronous"  # the SQLite connection's current setting
# Each statement its own transaction: SQLite's driver is in autocommit mode already (above), so
# only the BEGIN is left out; PostgreSQL's is put in it.
_ON_ITS_OWN = {"sqlite": {NO_BEGIN: True}}
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def single_statement(view):
    """Mark a read-only view whose data is one SELECT: its reads run without a transaction."""
    view.single_statement = True
    return view


# Per database (engine), as tests and tools run more than one app in a process; per thread, as a
# connection serves one request at a time.
_held: WeakKeyDictionary[Engine, threading.local] = WeakKeyDictionary()


def read_connection() -> Connection:
    """Where a request's reads run: the worker's held connection for a ``@single_statement``
    view, else the request's ORM session (one read transaction, rolled back at its end)."""
    connection = g.get("read_connection")
    if connection is None:
        connection = g.read_connection = _request_read_connection()
    return connection


def _request_read_connection() -> Connection:
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "single_statement", False):
        return db.session.connection()
    held = _held.setdefault(db.engine, threading.local())
    connection = getattr(held, "connection", None)
    if connection is not None and (connection.invalidated or not dbfile.still_current(connection)):
        connection.invalidate()  # never back to the pool: it failed, or reads another file
        connection.close()
        connection = held.connection = None
    if connection is None:
        options = _ON_ITS_OWN.get(db.engine.dialect.name, _AUTOCOMMIT)
        connection = held.connection = db.engine.connect().execution_options(**options)
    return connection


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
        _record.info[SYNCHRONOUS] = "FULL"

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        options = connection.get_execution_options()
        if options.get(NO_BEGIN):
            return  # the driver runs each statement in its own implicit transaction
        # Set between transactions, and only when it changes (a pooled connection keeps it).
        synchronous = "FULL" if options.get(DURABLE, True) else "NORMAL"
        if connection.info.get(SYNCHRONOUS) != synchronous:
            connection.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
            connection.info[SYNCHRONOUS] = synchronous
        immediate = options.get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class UnitOfWork:
    """One write transaction: ``with uow:`` begins it holding the write lock (BEGIN IMMEDIATE
    on SQLite; a plain BEGIN on PostgreSQL, where writers lock the rows they check), ``commit()``
    makes it durable, and leaving the block rolls back whatever was not committed.

    It writes through its own session and connection, never the request's ``db.session``: a
    read transaction the caller already holds (the token check runs one) is left alone, so
    nothing read before is expired or reloaded, and the first statement here, not an earlier
    read, is what takes the lock. Objects stay readable after the commit. One instance may be
    entered again for a further transaction.

    ``durable=False`` is for bookkeeping whose loss in a power cut harms nothing (a password
    check in flight): its commit is not flushed to disk by itself (SQLite's ``synchronous=
    NORMAL`` in WAL mode, PostgreSQL's ``synchronous_commit`` off) but with the next durable
    commit, saving the disk flush that was a third of a create-session besides bcrypt. A crash
    of the process loses nothing either way; only the machine's can.
    """

    session: Session
    durable = True

    def __init__(self, durable: bool = True):
        self.durable = durable

    def __enter__(self):
        self.session = Session(db.engine, expire_on_commit=False)
        options = {IMMEDIATE: True, DURABLE: self.durable}
        connection = self.session.connection(execution_options=options)
        if not self.durable and connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        return self

    def commit(self) -> None:
        self.session.commit()

    def __exit__(self, *exc) -> None:
        self.session.close()  # rolls back what was not committed
