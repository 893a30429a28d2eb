"""``init-db``, ``backup`` and ``restore``: the database itself (backups: app/machinery/backup.py).

Top-level commands, each with an app context under any runner (``with_appcontext``)."""

import os
import sqlite3
from pathlib import Path
from stat import S_ISVTX

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from .. import journal
from ..machinery import backup as backups
from ..machinery import dbfile, replica
from ..machinery.config import install_secret
from ..machinery.extensions import db
from .output import command_line, progress


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the schema; safe to run again. The only command that creates the
    database (the server refuses to): a SQLite file and its folder are made private to this
    user (not a shared folder such as /tmp, whose sticky bit says so)."""
    database = dbfile.file_of(db.engine.url)
    if database and database.parent.is_dir() and not database.parent.stat().st_mode & S_ISVTX:
        dbfile.make_private(database.parent, 0o700)
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo("database is at the latest schema", err=True)


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(path_type=Path))
def backup(path):
    """Copy the SQLite database and the signing secret to PATH, consistent even while the
    server writes.

    PATH is a file (replaced if it exists) or a folder, where a dated file is made; the
    live database and its -wal, -shm and -journal files are refused. Prints the file
    written (mode 0600: it holds the secret).
    """
    try:
        database = backups.sqlite_file(db.engine.url)
        secret = current_app.config["SECRET_KEY"]
        with progress(backups.size(database), "backing up (bytes)") as step:
            written = backups.backup(database, path, _busy_timeout_s(), secret, step)
        click.echo(written)
    except (backups.BackupError, OSError, sqlite3.Error) as err:
        raise click.ClickException(str(err)) from None


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--from-replica",
    is_flag=True,
    help="Restore the replica's last transaction (POS_REPLICA) instead of a backup file; "
    "this box's signing secret is kept. Stop the server first.",
)
@click.option(
    "--keep-secret",
    is_flag=True,
    help="Keep this box's signing secret, not the backup's (or restore a backup without one).",
)
@click.option(
    "--new-head",
    is_flag=True,
    help="Sign the backup's journal heads as a new signed head, the old one kept beside it "
    "(dated): for another box's backup, or one without stores this box signed.",
)
def restore(path, from_replica, keep_secret, new_head):
    """Replace the SQLite database with the backup at PATH, and the signing secret with the
    one it carries; or, with --from-replica, with the replica's last transaction.

    Refuses a file that fails PRAGMA integrity_check or is not this service's database, and
    one that would break the journal's signed head (a store it signed missing, or another
    journal at its seq) unless --new-head; an older backup is upgraded to this release's
    schema; tokens revoked on this box stay revoked. Restart the server afterwards.

    A replica behind the signed head (entries signed but not yet replicated when the box was
    lost) is restored all the same, and its heads are signed as the new head: the command
    names the entries lost, and the old head is kept beside it (docs/operations.md, Replica).
    """
    if (path is None) == (not from_replica):
        raise click.UsageError("give either a backup file PATH or --from-replica")
    folder = journal.folder()
    behind = []

    def check_journal(copy):
        try:
            broken, late = journal.restore_findings(
                copy, journal.read_signed_heads(folder, key.public_key()) or {}
            )
        except journal.JournalError as err:  # unreadable, or another key's
            broken, late = [str(err)], []
        if broken and not new_head:
            raise backups.BackupError(
                f"restoring {shown} would break the journal's signed head "
                f"({Path(folder) / journal.HEAD_FILE}): {'; '.join(broken)}. If this backup is "
                "to be the box's journal from now on (another box's backup, say), restore it "
                f"with --new-head: the signed head is then kept beside it as {journal.HEAD_FILE}"
                ".<UTC time> and the backup's heads are signed as a new one"
            )
        behind.extend(late)

    scratch, shown = None, path
    try:
        database = backups.sqlite_file(db.engine.url)
        if from_replica:
            shown = f"the replica {current_app.config['REPLICA']}"
            scratch = database.with_name(f".replica-restore-{os.getpid()}.sqlite3")
            path = _fetch_replica(database, scratch)
        key = journal.signing_key(folder)
        with progress(2 * backups.size(path), "restoring (bytes)") as step:
            revision, secret_installed = backups.restore(
                path,
                database,
                _busy_timeout_s(),
                _upgrade_copy,
                secret=current_app.config["SECRET_KEY"],
                install_secret=_secret_installer(),
                keep_secret=keep_secret or from_replica,
                progress=step,
                check_copy=check_journal,
            )
    except (backups.BackupError, replica.ReplicaError, OSError, sqlite3.Error) as err:
        raise click.ClickException(str(err)) from None
    finally:
        if scratch:
            replica.remove(scratch)
    if secret_installed:
        click.echo("signing secret restored from the backup", err=True)
    if from_replica:
        replica.forget_state(database)  # Litestream's record of shipping the lost file
    if new_head or (from_replica and behind):
        heads = journal.database_heads(db.session.connection())
        why = f"restore of {shown}"
        if from_replica and behind:
            why += f", behind the signed head: {'; '.join(behind)}"
        started = journal.start_new_head(folder, key, heads, command_line(), why)
        said = "the journal's signed head was started anew"
        if started["archived"]:
            said += f"; the old one is kept as {Path(folder) / started['archived']}"
        if behind and not new_head:
            said = (
                f"the replica is behind the journal's signed head: {'; '.join(behind)}: those "
                f"entries were not replicated and are lost; {said}"
            )
        click.echo(said, err=True)
    elif behind:
        click.echo(
            f"the backup is older than the journal's signed head: {'; '.join(behind)}; journal "
            "verify reports the entries missing until `flask --app wsgi journal sign-head` "
            "accepts the restore",
            err=True,
        )
    click.echo(f"restored {shown} (schema {revision}); restart the server", err=True)


def _fetch_replica(database: Path, scratch: Path) -> Path:
    """The replica's last transaction, in ``scratch``; refused before anything is written when
    no replica is configured, it is empty, or the server still replicates."""
    target = replica.configured(current_app)
    if target is None:
        raise replica.ReplicaError(
            "no replica is configured: set POS_REPLICA to the replica's folder or URL "
            "(docs/operations.md, Replica)"
        )
    running = replica.running(database)
    if running:
        raise replica.ReplicaError(
            f"the server still replicates {database} (litestream, pid {running}): stop it first"
        )
    if not replica.fetch_latest(target[1], scratch):
        raise replica.ReplicaError(f"the replica {target[1]} is empty: there is nothing to restore")
    return scratch


def _busy_timeout_s() -> float:
    return current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000


def _secret_installer():
    """Where the backup's secret goes: the instance file, unless POS_SECRET_KEY sets it."""
    path = Path(current_app.instance_path) / "secret_key"
    if not path.is_file() or path.read_text().strip() != current_app.config["SECRET_KEY"]:
        return None
    return lambda secret: install_secret(current_app.instance_path, secret)


def _upgrade_copy(path: Path) -> None:
    """Run this release's migrations on the database file at ``path`` (not the live one)."""
    from .. import create_app

    scratch = create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": current_app.config["SECRET_KEY"]}
    )
    with scratch.app_context():
        upgrade(directory=scratch.extensions["migrate"].directory)
        db.engine.dispose()
