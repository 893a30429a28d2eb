"""The database layer: SQLite set up properly, and the unit of work every writer goes through.

pysqlite emits no BEGIN of its own, so SQLAlchemy's recipe is used: the driver is put in
autocommit mode and the ``begin`` event emits the BEGIN. Reads get a plain (deferred) BEGIN,
so they never wait for the write lock; a ``UnitOfWork``'s write begins IMMEDIATE, so a
check-then-insert holds the write lock from its first read and cannot be raced.

A view marked ``@single_statement`` (the token check and one SELECT: the terminals' polls) reads
on a connection its worker holds across requests, each statement its own transaction (atomic on
its own): taking a connection from the pool through the request's ORM session and giving it back
cost twice the two SELECTs themselves (docs/bench.md). The held connection is dropped, and
another opened, when it failed or when the database file is no longer the one it opened. Its
transaction is SQLAlchemy's bookkeeping only (the driver holds none), so it is never ended.
"""

import threading
from contextlib import ExitStack
from weakref import WeakKeyDictionary

from flask import current_app, g, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from . import dbfile
from .extensions import db

NO_BEGIN = "pos_no_begin"
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


def read_anew() -> None:
    """End the request's read transaction (its reads so far stay as they are), so that its
    next read sees what a unit of work committed since."""
    db.session.rollback()
    g.pop("read_connection", None)


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
        if connection.get_execution_options().get(NO_BEGIN):
            return  # the driver runs each statement in its own implicit transaction
        _begin_sqlite(connection, immediate=False, durable=True)


def _begin_sqlite(connection: Connection, *, immediate: bool, durable: bool) -> None:
    # Set between transactions, and only when it changes (a pooled connection keeps it).
    synchronous = "FULL" if durable else "NORMAL"
    if connection.info.get(SYNCHRONOUS) != synchronous:
        connection.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
        connection.info[SYNCHRONOUS] = synchronous
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class UnitOfWork:
    """One use case, read and written through one session, ``session``. ``with uow:`` is its
    write: it begins holding the write lock (BEGIN IMMEDIATE on SQLite; on PostgreSQL, where
    writers lock the rows they check, the transaction simply goes on), ``done()`` says the use
    case's writes are all made (a plain unit of work commits them), and leaving the block ends
    the unit of work, rolling back whatever was not committed. ``commit()`` always commits.

    Reads before the write, for a use case that must check a password first (bcrypt is slow
    on purpose and must not hold the lock; see ``reading_first``), take no lock: on SQLite each
    statement is its own transaction, as a ``@single_statement`` view's. They run on the
    connection the write then takes, so what they loaded is in the session the write goes
    through; under the lock the use case checks again what another writer may have changed.

    The session is its own, never the request's ``db.session``: a read transaction the caller
    already holds (the token check runs one) is left alone, so nothing read before is expired
    or reloaded, and the write's first statement, not an earlier read, is what takes the lock.
    Objects stay readable after the commit. One instance may be entered again for a further
    use case, in a new session.

    ``durable=False`` is for bookkeeping whose loss in a power cut harms nothing (a password
    check in flight): its commit is not flushed to disk by itself (SQLite's ``synchronous=
    NORMAL`` in WAL mode, PostgreSQL's ``synchronous_commit`` off) but with the next durable
    commit, saving the disk flush that was a third of a create-session besides bcrypt. A crash
    of the process loses nothing either way; only the machine's can.
    """

    _session: Session | None = None
    durable = True

    def __init__(self, durable: bool = True):
        self.durable = durable

    @property
    def session(self) -> Session:
        if self._session is None:
            # One connection for the whole use case. On SQLite, each statement on its own until
            # the write, which ``__enter__`` begins.
            options = _ON_ITS_OWN.get(db.engine.dialect.name, {})
            self._connection = db.engine.connect().execution_options(**options)
            self._session = Session(self._connection, expire_on_commit=False)
        return self._session

    def __enter__(self):
        connection = self.session.connection()
        try:
            if connection.dialect.name == "sqlite":
                _begin_sqlite(connection, immediate=True, durable=self.durable)
            elif not self.durable:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        except BaseException:
            self.close()  # the lock waited for too long (DatabaseBusy): no ``__exit__`` follows
            raise
        return self

    def reading_first(self):
        """Hold a use case that reads before its write (``with uow:`` inside): whether it
        ends written or refused, before its write or in it, the unit of work ends with it."""
        ends = ExitStack()
        ends.push(self.__exit__)
        return ends

    def done(self) -> None:
        """The use case's writes are all made: commit them."""
        self.commit()

    def commit(self) -> None:
        self.session.commit()

    def close(self) -> None:
        """End the unit of work: roll back what was not committed and give back the connection."""
        if self._session is None:
            return
        self._session.close()
        connection, self._session = self._connection, None
        # Back to the pool durable, so that the next transaction on it pays no PRAGMA.
        if not connection.invalidated and connection.info.get(SYNCHRONOUS) == "NORMAL":
            connection.exec_driver_sql("PRAGMA synchronous=FULL")
            connection.info[SYNCHRONOUS] = "FULL"
        connection.close()

    def __exit__(self, *exc) -> None:
        self.close()
