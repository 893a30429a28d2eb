"""Backup and restore of the SQLite database file, through SQLite's online backup API.

SQLite only: on PostgreSQL use pg_dump and pg_restore. A backup copies every page in one step,
inside one read transaction, so it is a consistent snapshot even while gunicorn writes (in WAL
mode writers do not wait for it). A restore never copies files over the live database, whose
WAL the running workers share: the checked backup is written into it by the same API, as one
write transaction that readers see all at once or not at all.
"""

import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from . import revisions
from .extensions import db


class BackupError(Exception):
    pass


def sqlite_file(database_url) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        raise BackupError(
            f"backup and restore work on a SQLite database file, not {url.get_backend_name()}; "
            "for PostgreSQL use pg_dump and pg_restore"
        )
    return Path(url.database)


def backup(database: Path, target: Path, busy_timeout_s: float) -> Path:
    """Write a consistent copy of ``database`` to ``target``, or to a dated file in that folder."""
    if target.is_dir():
        target = target / f"pos-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.sqlite3"
    partial = target.with_name(f".{target.name}.partial")
    try:
        with (
            closing(sqlite3.connect(database, timeout=busy_timeout_s)) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            _copy(source, copy, busy_timeout_s)  # all pages in one step: one snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            _check_integrity(copy, target)
        _fsync(partial)
        os.replace(partial, target)  # a half-written backup never carries the final name
        _fsync(target.parent)
    finally:
        partial.unlink(missing_ok=True)
    return target


def restore(
    backup_file: Path,
    database: Path,
    busy_timeout_s: float,
    upgrade_to_head: Callable[[Path], None],
) -> str:
    """Check ``backup_file``, bring a copy of it to this release's schema, write it into
    ``database``; return the schema revision. The backup file itself is never modified."""
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such file")
    # The scratch copy sits beside the database, so it shares its disk and permissions.
    scratch = database.with_name(f".restore-{os.getpid()}.sqlite3")
    try:
        shutil.copyfile(backup_file, scratch)
        with closing(sqlite3.connect(scratch)) as copy:
            _check_integrity(copy, backup_file)
            _check_ours(copy, backup_file)
        upgrade_to_head(scratch)
        with closing(sqlite3.connect(scratch)) as copy:
            missing = set(db.metadata.tables) - _tables(copy)
        if missing:
            raise BackupError(f"{backup_file}: not a POS session database (no {sorted(missing)})")
        with (
            closing(sqlite3.connect(scratch)) as source,
            closing(sqlite3.connect(database, timeout=busy_timeout_s)) as live,
        ):
            _copy(source, live, busy_timeout_s)
    finally:
        for leftover in (scratch, Path(f"{scratch}-wal"), Path(f"{scratch}-shm")):
            leftover.unlink(missing_ok=True)
    return revisions.head()


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, timeout_s: float) -> None:
    """``source.backup(target)``, giving up once a lock has kept it waiting ``timeout_s``:
    on a busy database Python's backup would otherwise retry forever."""
    deadline = time.monotonic() + timeout_s

    def give_up_when_stuck(status, _remaining, _total):
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
            raise BackupError("the database stayed locked by another connection; try again")

    source.backup(target, progress=give_up_when_stuck)


def _check_integrity(connection: sqlite3.Connection, name: Path) -> None:
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as err:  # "file is not a database", "disk image is malformed"
        raise BackupError(f"{name}: not a readable SQLite database ({err})") from None
    if problems != ["ok"]:
        raise BackupError(f"{name}: fails PRAGMA integrity_check: {'; '.join(problems[:5])}")


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}


def _check_ours(connection: sqlite3.Connection, name: Path) -> None:
    if "alembic_version" not in _tables(connection):
        raise BackupError(f"{name}: not a POS session database (no alembic_version table)")
    found = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
    if len(found) != 1 or not revisions.is_known(found[0]):
        raise BackupError(
            f"{name}: schema revision {found} is not one this release knows; "
            "restore it with the release that made it"
        )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
