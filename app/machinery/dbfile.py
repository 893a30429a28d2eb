"""The SQLite file is the box's memory: workers open it, never create it, and stop using it when it
is gone or is no longer theirs.

- Connections open the file with ``mode=rw``: a missing file is an error, not a new empty
  database. Only the migrations (``init-db``) create it, private to the service's user (0600;
  SQLite gives its -wal and -shm files the database file's mode).
- Each connection remembers the file (device, inode) it opened. A connection whose path now names
  another file, or nothing, is dropped at checkout and before each commit, so no write is
  acknowledged into a deleted file; the pool reconnects to whatever the path holds now.
- SQLite errors that say the file cannot be used (missing, read-only, full, corrupt, without our
  tables) drop every pooled connection, so the workers recover on their own once the cause is
  gone, and are answered 503 ``Database unavailable`` instead of 500.
- A write that waited longer than the busy timeout for the lock is answered 503 ``Database
  busy`` with ``Retry-After``: a temporary condition, and retrying with the Idempotency-Key is
  safe.
"""

import os
import sqlite3
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DisconnectionError

from ..exceptions import DatabaseBusy, DatabaseUnavailable

SIDE_FILES = ("-wal", "-shm", "-journal")
_UNUSABLE = {
    "SQLITE_CANTOPEN",
    "SQLITE_READONLY",  # SQLITE_READONLY_DBMOVED too: the file was renamed or deleted
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
}


def file_of(url: URL) -> Path | None:
    """The SQLite database file behind ``url``; None for another database or in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return None if url.query.get("uri") else Path(url.database).absolute()


def identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def create_if_missing(path: Path) -> None:
    """Create an empty database file readable by its owner only (SQLite fills it on first use)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SIDE_FILES)):
        make_private(name, 0o600)


def make_private(path: Path, mode: int) -> None:
    """Narrow the mode of a file or folder this user owns (one an earlier release left 0644)."""
    if path.exists() and path.stat().st_uid == os.geteuid():
        path.chmod(mode)


def _primary_code(err: sqlite3.Error) -> str:
    """SQLITE_READONLY for SQLITE_READONLY_DBMOVED: the family, not the detail."""
    return "_".join((getattr(err, "sqlite_errorname", "") or "").split("_")[:2])


def unusable(err: BaseException) -> bool:
    """Whether a driver error means the file itself cannot serve, rather than a bad statement."""
    if not isinstance(err, sqlite3.Error):
        return False
    return _primary_code(err) in _UNUSABLE or str(err).startswith("no such table")


def still_current(connection: Connection) -> bool:
    """Whether ``connection`` still reads the file its path names (a connection held across
    requests is never checked out again, so its holder asks)."""
    info = connection.info
    return "path" not in info or info["file"] == identity(info["path"])


def guard(engine: Engine) -> None:
    """Wire the rules above into ``engine`` (a SQLite file only)."""
    path = file_of(engine.url)
    if path is None:
        return

    @event.listens_for(engine, "do_connect")
    def open_existing_only(_dialect, _record, cargs, cparams):
        cargs[0] = f"{path.as_uri()}?mode=rw"
        cparams["uri"] = True

    @event.listens_for(engine, "connect")
    def remember_file(_dbapi_connection, record):
        record.info["path"] = path
        record.info["file"] = identity(path)

    @event.listens_for(engine, "checkout")
    def same_file_at_checkout(_dbapi_connection, record, _proxy):
        if record.info.get("file") != identity(path):
            raise DisconnectionError(f"{path} was deleted or replaced")  # the pool reconnects

    @event.listens_for(engine, "commit")
    def same_file_at_commit(connection):
        if connection.info.get("file") != identity(path):
            raise DatabaseUnavailable(f"{path} was deleted or replaced: write refused")

    @event.listens_for(engine, "handle_error")
    def answer_file_errors(context):
        err = context.original_exception
        if isinstance(err, sqlite3.Error) and _primary_code(err) == "SQLITE_BUSY":
            return DatabaseBusy(str(err))
        if unusable(err):
            context.is_disconnect = True  # SQLAlchemy then invalidates the whole pool
            return DatabaseUnavailable(str(err))
        return None
