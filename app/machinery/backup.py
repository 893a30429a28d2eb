"""Backup and restore of the SQLite database file, through SQLite's online backup API.

SQLite only: on PostgreSQL use pg_dump and pg_restore. A backup copies every page in one step,
inside one read transaction, so it is a consistent snapshot even while gunicorn writes (in WAL
mode writers do not wait for it); it also carries the signing secret, so a restored box accepts
its own tokens. A restore never copies files over the live database, whose WAL the running
workers share: the checked backup is written into it by the same API, as one write transaction
that readers see all at once or not at all, and tokens revoked on the live box stay revoked.
"""

import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ..exceptions import DatabaseUnavailable
from . import dbfile, revisions
from .dbfile import SIDE_FILES
from .extensions import db

# Written into the backup copy only: what a restore needs to accept the box's own tokens.
SECRET_TABLE = "pos_backup_secret"
KEEP_SECRET = (
    "restore it with --keep-secret to keep this box's secret (tokens signed with the other "
    "one are then refused: issue new ones)"
)


class BackupError(Exception):
    pass


def sqlite_file(database_url) -> Path:
    url = make_url(database_url)
    path = dbfile.file_of(url)
    if path is None:
        raise BackupError(
            f"backup and restore work on a SQLite database file, not {url.get_backend_name()}; "
            "for PostgreSQL use pg_dump and pg_restore"
        )
    return path


COPY_CHUNK = 1 << 20


def size(path: Path) -> int:
    """Bytes of a database file and its -wal: what a copy of it roughly writes."""
    return sum(
        Path(f"{path}{suffix}").stat().st_size
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )


def backup(
    database: Path, target: Path, busy_timeout_s: float, secret: str, progress=lambda n: None
) -> Path:
    """Write a consistent copy of ``database``, with the signing ``secret``, to ``target`` or to
    a dated file in that folder.

    The copy goes into a new private file beside the target, renamed over it once complete:
    nothing is ever written through a file another process may have open. The live database
    (or one of its -wal, -shm, -journal files) is refused as a target before anything is written.
    ``progress(n)`` is told of the bytes written as the copy grows.
    """
    if target.is_dir():
        target = target / f"pos-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.sqlite3"
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist")
    _refuse_live_files(database, target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)  # mode 0600: the copy holds password hashes and the signing secret
    partial = Path(name)
    try:
        with (
            closing(
                sqlite3.connect(_existing(database), uri=True, timeout=busy_timeout_s)
            ) as source,
            closing(sqlite3.connect(partial)) as copy,
        ):
            _copy(source, copy, busy_timeout_s, [partial], progress)
            with copy:
                copy.execute(f"CREATE TABLE {SECRET_TABLE} (secret TEXT NOT NULL)")
                copy.execute(f"INSERT INTO {SECRET_TABLE} VALUES (?)", (secret,))
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            _check_integrity(copy, target)
        _fsync(partial)
        os.replace(partial, target)  # a half-written backup never carries the final name
        _fsync(target.parent)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _refuse_live_files(database: Path, target: Path) -> None:
    """By name (symlinks resolved) or by file (hard links: same device and inode)."""
    live = [database, *(Path(f"{database}{suffix}") for suffix in SIDE_FILES)]
    same_name = target.resolve() in {path.resolve() for path in live}
    same_file = dbfile.identity(target) in {dbfile.identity(path) for path in live} - {None}
    if same_name or same_file:
        raise BackupError(
            f"{target} is the live database (or one of its files): back up to another file"
        )


def restore(
    backup_file: Path,
    database: Path,
    busy_timeout_s: float,
    upgrade_to_head: Callable[[Path], None],
    secret: str,
    install_secret: Callable[[str], None] | None,
    keep_secret: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    check_copy: Callable[[sqlite3.Connection], None] = lambda copy: None,
) -> tuple[str, bool]:
    """Check ``backup_file``, bring a copy of it to this release's schema, keep every token
    revoked in ``database`` revoked, write it into ``database`` (created if missing).
    ``check_copy`` sees the copy at this schema before it is written, and may refuse it
    (BackupError): the journal's signed head, kept outside the database, is checked there.

    The backup's signing secret, when it differs from ``secret``, is handed to
    ``install_secret``; with None (the secret is set by configuration) the restore is refused
    unless ``keep_secret``, as is a backup without a secret (made by an earlier release).
    Returns the schema revision and whether the secret was installed. The backup file itself
    is never modified. ``progress(n)`` is told of the bytes copied, twice the backup's size in
    all (into a scratch copy, then into the database)."""
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such file")
    # The scratch copy sits beside the database, so it shares its disk and permissions.
    scratch = database.with_name(f".restore-{os.getpid()}.sqlite3")
    try:
        with open(backup_file, "rb") as read, open(scratch, "wb") as write:
            while chunk := read.read(COPY_CHUNK):
                write.write(chunk)
                progress(len(chunk))
        with closing(sqlite3.connect(scratch)) as copy:
            _check_integrity(copy, backup_file)
            _check_ours(copy, backup_file)
            saved_secret = _take_secret(copy)
        try:
            upgrade_to_head(scratch)
        except (SQLAlchemyError, DatabaseUnavailable) as err:
            reason = getattr(err, "orig", None) or err
            raise BackupError(f"{backup_file}: not a POS session database ({reason})") from None
        with closing(sqlite3.connect(scratch)) as copy:
            missing = set(db.metadata.tables) - _tables(copy)
            if missing:
                raise BackupError(
                    f"{backup_file}: not a POS session database (no {sorted(missing)})"
                )
            check_copy(copy)
            new_secret = _secret_to_install(
                backup_file, saved_secret, secret, install_secret, keep_secret
            )
            dbfile.create_if_missing(database)
            _keep_revoked(database, copy, busy_timeout_s)
        with (
            closing(sqlite3.connect(scratch)) as source,
            closing(sqlite3.connect(_existing(database), uri=True, timeout=busy_timeout_s)) as live,
        ):
            live_files = [database, Path(f"{database}-wal")]
            _copy(source, live, busy_timeout_s, live_files, progress)
    finally:
        for leftover in (scratch, Path(f"{scratch}-wal"), Path(f"{scratch}-shm")):
            leftover.unlink(missing_ok=True)
    if new_secret:
        install_secret(new_secret)
    return revisions.head(), bool(new_secret)


def _secret_to_install(backup_file, saved, current, install_secret, keep_secret) -> str | None:
    """The backup's secret when the box must take it; refuses what would lock tokens out."""
    if keep_secret or saved == current:
        return None
    if saved is None:
        raise BackupError(
            f"{backup_file} does not carry the signing secret (an earlier release made it): "
            + KEEP_SECRET
        )
    if install_secret is None:
        raise BackupError(
            f"{backup_file} was made with another signing secret than POS_SECRET_KEY: set "
            f"that one again (the backup's {SECRET_TABLE} table holds it), or {KEEP_SECRET}"
        )
    return saved


def _existing(database: Path) -> str:
    """The live database as a URI that SQLite opens but never creates."""
    return f"{database.absolute().as_uri()}?mode=rw"


def _take_secret(copy: sqlite3.Connection) -> str | None:
    """The secret a backup carries, removed from the scratch copy so it never reaches the live
    database."""
    if SECRET_TABLE not in _tables(copy):
        return None
    [(secret,)] = copy.execute(f"SELECT secret FROM {SECRET_TABLE}").fetchall()
    with copy:
        copy.execute(f"DROP TABLE {SECRET_TABLE}")
    return secret


def _keep_revoked(database: Path, copy: sqlite3.Connection, busy_timeout_s: float) -> None:
    """A token revoked on the live box (perhaps because it was stolen) stays revoked."""
    with closing(sqlite3.connect(_existing(database), uri=True, timeout=busy_timeout_s)) as live:
        if "api_token" not in _tables(live):
            return
        revoked = live.execute(
            "SELECT revoked_at, jti FROM api_token WHERE revoked_at IS NOT NULL"
        ).fetchall()
    with copy:
        copy.executemany(
            "UPDATE api_token SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL", revoked
        )


def _copy(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    timeout_s: float,
    written: list[Path],
    progress: Callable[[int], None],
) -> None:
    """``source.backup(target)``, giving up once a lock has kept it waiting ``timeout_s``:
    on a busy database Python's backup would otherwise retry forever.

    All pages in one step, so the copy is one snapshot even while the server writes; SQLite
    runs that step without Python's lock, so a thread tells ``progress`` how the ``written``
    files grow meanwhile."""
    deadline = time.monotonic() + timeout_s

    def give_up_when_stuck(status, _remaining, _total):
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
            raise BackupError("the database stayed locked by another connection; try again")

    def grown() -> int:
        return sum(path.stat().st_size for path in written if path.exists())

    done, start, told = threading.Event(), grown(), [0]

    def tell():
        now = grown() - start
        if now > told[0]:
            progress(now - told[0])
            told[0] = now

    def watch():
        while not done.wait(0.2):
            tell()

    watcher = threading.Thread(target=watch, name="backup-progress", daemon=True)
    watcher.start()
    try:
        source.backup(target, progress=give_up_when_stuck)
    finally:
        done.set()
        watcher.join()
    tell()


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
