"""The database layer: SQLite set up properly, and the unit of work every writer goes through.

pysqlite emits no BEGIN of its own, so SQLAlchemy's recipe is used: the driver is put in
autocommit mode and the ``begin`` event emits the BEGIN. Reads get a plain (deferred) BEGIN,
so they never wait for the write lock; a ``UnitOfWork`` asks for IMMEDIATE, so a
check-then-insert holds the write lock from its first read and cannot be raced. A view marked
``@single_statement`` (the token check and one SELECT) gets no BEGIN at all: each SELECT is
atomic on its own, and the BEGIN and ROLLBACK round trips were a tenth of a status poll's CPU.
"""

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .extensions import db

IMMEDIATE = "pos_begin_immediate"
NO_BEGIN = "pos_no_begin"


def single_statement(view):
    """Mark a read-only view whose data is one SELECT: its reads run without a transaction."""
    view.single_statement = True
    return view


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
        options = connection.get_execution_options()
        if options.get(NO_BEGIN):
            return  # the driver runs each statement in its own implicit transaction
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
    """

    session: Session

    def __enter__(self):
        self.session = Session(db.engine, expire_on_commit=False)
        self.session.connection(execution_options={IMMEDIATE: True})
        return self

    def commit(self) -> None:
        self.session.commit()

    def __exit__(self, *exc) -> None:
        self.session.close()  # rolls back what was not committed
