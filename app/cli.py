"""Administration: each command prints only the new id or token on stdout, for scripts."""

import sqlite3
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select

from . import backup as backups
from . import dbfile, management
from .auth import issue_token, revoke_tokens
from .config import install_secret
from .database import UnitOfWork
from .errors import ANSWERS
from .exceptions import DomainError, InvalidInput, SessionNotFound
from .extensions import db
from .models import ApiToken, PosSession, Store
from .pos_session.service import approve_closing, force_close


@contextmanager
def progress(length: int, label: str):
    """A progress bar on stderr, with a count and an estimate, when stderr is a terminal;
    silence in scripts. Yields ``step(n)``: n more done."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    with click.progressbar(
        length=length, label=label, file=sys.stderr, show_pos=True, show_eta=True
    ) as bar:
        yield bar.update


def register_cli(app) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create or upgrade the schema; safe to run again. The only command that creates the
        database (the server refuses to): its folder and files are made private to this user."""
        dbfile.make_private(Path(current_app.instance_path), 0o700)
        upgrade(directory=current_app.extensions["migrate"].directory)
        click.echo("database is at the latest schema", err=True)

    @app.cli.command("backup")
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

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option(
        "--keep-secret",
        is_flag=True,
        help="Keep this box's signing secret, not the backup's (or restore a backup without one).",
    )
    def restore(path, keep_secret):
        """Replace the SQLite database with the backup at PATH, and the signing secret with the
        one it carries.

        Refuses a file that fails PRAGMA integrity_check or is not this service's database;
        an older backup is upgraded to this release's schema; tokens revoked on this box stay
        revoked. Restart the server afterwards.
        """
        try:
            database = backups.sqlite_file(db.engine.url)
            with progress(2 * backups.size(path), "restoring (bytes)") as step:
                revision, secret_installed = backups.restore(
                    path,
                    database,
                    _busy_timeout_s(),
                    _upgrade_copy,
                    secret=current_app.config["SECRET_KEY"],
                    install_secret=_secret_installer(),
                    keep_secret=keep_secret,
                    progress=step,
                )
        except (backups.BackupError, OSError, sqlite3.Error) as err:
            raise click.ClickException(str(err)) from None
        if secret_installed:
            click.echo("signing secret restored from the backup", err=True)
        click.echo(f"restored {path} (schema {revision}); restart the server", err=True)

    # AppGroup, not click.Group: its commands get an app context under any runner.
    store = AppGroup("store", help="Stores.")
    profile = AppGroup("profile", help="POS profiles (cashiers).")
    token = AppGroup("token", help="API tokens for terminals.")
    manager = AppGroup("manager", help="Managers, who use the back-office page.")
    for group in (store, profile, token, manager):
        app.cli.add_command(group)

    def password_or_prompt(password: str | None) -> str:
        # On stderr, so `ID=$(flask ... create ...)` still shows the prompt.
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        return password

    store_settings = [
        click.option("--timezone", help="IANA time zone, e.g. Europe/Paris (default UTC)."),
        click.option("--day-start", help="When the business day starts, HH:MM (default 00:00)."),
        click.option(
            "--stale-hours",
            "stale_after_hours",
            type=int,
            help="Hours after which an open session is stale (16).",
        ),
        click.option("--currency", help="Currency code shown with amounts (default EUR)."),
    ]

    def with_store_settings(command):
        for option in reversed(store_settings):
            command = option(command)
        return command

    @store.command("create")
    @click.argument("name")
    @with_store_settings
    def store_create(name, **settings):
        with _refusals():
            click.echo(management.create_store(UnitOfWork(), name=name, **_given(**settings)))

    @store.command("set")
    @click.argument("store_id")
    @click.option("--name", help="Display name.")
    @with_store_settings
    def store_set(store_id, **settings):
        """Change the settings given; the others keep their value."""
        with _refusals():
            management.update_store(UnitOfWork(), store_id, **settings)
        click.echo(f"store {store_id} updated", err=True)

    @profile.command("create")
    @click.option("--store", "store_id", required=True, help="Store id.")
    @click.option("--password", help="Prompted for (hidden, confirmed) when not given.")
    @click.argument("name")
    def profile_create(store_id, password, name):
        with _refusals():
            management.get_store(store_id)
            click.echo(
                management.create_profile(
                    UnitOfWork(), store_id, name, password_or_prompt(password)
                )
            )

    @profile.command("list")
    @click.option("--store", "store_id", required=True, help="Store id.")
    def profile_list(store_id):
        """Every profile of the store, by name: id, name, enabled, open session (UTC)."""
        with _refusals():
            listed = management.list_profiles(store_id)
        rows = [("ID", "NAME", "ENABLED", "LOCKED", "OPEN SESSION", "OPEN SINCE")]
        for row in listed:
            open_ = row.open_session
            rows.append(
                (
                    row.profile.id,
                    row.profile.name,
                    _yes(row.profile.enabled),
                    _yes(row.locked),
                    open_.id if open_ else "-",
                    _when(open_.created_at if open_ else None),
                )
            )
        _table(rows)

    @profile.command("rename")
    @click.argument("profile_id")
    @click.argument("name")
    def profile_rename(profile_id, name):
        with _refusals():
            management.rename_profile(UnitOfWork(), profile_id, name)
        click.echo(f"profile {profile_id} renamed", err=True)

    @profile.command("password")
    @click.argument("profile_id")
    @click.option("--password", help="Prompted for (hidden, confirmed) when not given.")
    def profile_password(profile_id, password):
        """Set a new password: the old one stops working at once."""
        with _refusals():
            management.get_profile(profile_id)
            management.set_profile_password(UnitOfWork(), profile_id, password_or_prompt(password))
        click.echo(f"profile {profile_id}: password changed", err=True)

    @profile.command("disable")
    @click.argument("profile_id")
    def profile_disable(profile_id):
        """It can no longer open a session (it can still close one); its history stays."""
        with _refusals():
            management.set_profile_enabled(UnitOfWork(), profile_id, False)
        click.echo(f"profile {profile_id} disabled", err=True)

    @profile.command("enable")
    @click.argument("profile_id")
    def profile_enable(profile_id):
        with _refusals():
            management.set_profile_enabled(UnitOfWork(), profile_id, True)
        click.echo(f"profile {profile_id} enabled", err=True)

    @profile.command("unlock")
    @click.argument("profile_id")
    def profile_unlock(profile_id):
        """Clear the count of wrong passwords, so the cashier may try again at once."""
        with _refusals():
            management.unlock_profile(UnitOfWork(), profile_id)
        click.echo(f"profile {profile_id} unlocked", err=True)

    @manager.command("create")
    @click.option(
        "--store", "store_ids", multiple=True, required=True, help="Store id (repeatable)."
    )
    @click.option("--password", help="Prompted for (hidden, confirmed) when not given.")
    @click.argument("name")
    def manager_create(store_ids, password, name):
        """A person who runs the stores given from the back-office page (/backoffice/)."""
        with _refusals():
            for store_id in store_ids:
                management.get_store(store_id)
            click.echo(
                management.create_manager(
                    UnitOfWork(), name, password_or_prompt(password), store_ids
                )
            )

    @manager.command("list")
    def manager_list():
        """Every manager by name: id, name, enabled, stores."""
        rows = [("ID", "NAME", "ENABLED", "STORES")]
        for m in management.list_managers():
            rows.append((m.id, m.name, _yes(m.enabled), ",".join(s.id for s in m.stores)))
        _table(rows)

    @manager.command("rename")
    @click.argument("name")
    @click.argument("new_name")
    def manager_rename(name, new_name):
        with _refusals():
            management.rename_manager(UnitOfWork(), name, new_name)
        click.echo(f"manager {name!r} renamed", err=True)

    @manager.command("password")
    @click.argument("name")
    @click.option("--password", help="Prompted for (hidden, confirmed) when not given.")
    def manager_password(name, password):
        """Set a new password; signs the manager out of every browser."""
        with _refusals():
            management.get_manager_by_name(name)
            management.set_manager_password(UnitOfWork(), name, password_or_prompt(password))
        click.echo(f"manager {name!r}: password changed", err=True)

    @manager.command("disable")
    @click.argument("name")
    def manager_disable(name):
        """Refuse the manager's sign-in, and sign them out of every browser."""
        with _refusals():
            management.set_manager_enabled(UnitOfWork(), name, False)
        click.echo(f"manager {name!r} disabled", err=True)

    @manager.command("enable")
    @click.argument("name")
    def manager_enable(name):
        with _refusals():
            management.set_manager_enabled(UnitOfWork(), name, True)
        click.echo(f"manager {name!r} enabled", err=True)

    @manager.command("unlock")
    @click.argument("name")
    def manager_unlock(name):
        """Clear the count of wrong passwords."""
        with _refusals():
            management.unlock_manager(UnitOfWork(), name)
        click.echo(f"manager {name!r} unlocked", err=True)

    @token.command("issue")
    @click.option(
        "--store", "store_ids", multiple=True, required=True, help="Store id (repeatable)."
    )
    @click.option(
        "--name", default="terminal", show_default=True, help="Label, the token's subject."
    )
    @click.option("--days", type=click.IntRange(min=1), default=365, show_default=True)
    def token_issue(store_ids, name, days):
        try:
            click.echo(issue_token(list(store_ids), name, days))
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--store") from None

    @token.command("list")
    def token_list():
        """Every token, oldest first: jti, name, stores, created, expires, revoked (UTC)."""
        rows = [("JTI", "NAME", "STORES", "CREATED", "EXPIRES", "REVOKED")]
        for t in db.session.scalars(select(ApiToken).order_by(ApiToken.created_at)):
            stores = ",".join(t.stores.split())
            rows.append(
                (t.jti, t.name, stores, *map(_when, (t.created_at, t.expires_at, t.revoked_at)))
            )
        _table(rows)

    @token.command("revoke")
    @click.argument("jti", required=False)
    @click.option("--store", "store_id", help="Revoke every token that grants this store.")
    def token_revoke(jti, store_id):
        """Revoke the token JTI, or every token granting --store; prints the jtis revoked."""
        if (jti is None) == (store_id is None):
            raise click.UsageError("give exactly one of JTI or --store STORE_ID")
        if jti is not None and db.session.get(ApiToken, jti) is None:
            raise click.BadParameter(f"no token {jti}", param_hint="JTI")
        if store_id is not None and db.session.get(Store, store_id) is None:
            raise click.BadParameter(f"no store {store_id}", param_hint="--store")
        revoked = revoke_tokens(jti=jti, store_id=store_id)
        for revoked_jti in revoked:
            click.echo(revoked_jti)
        click.echo(f"{len(revoked)} token(s) revoked", err=True)

    session = AppGroup("session", help="Cash sessions.")
    app.cli.add_command(session)

    @session.command("approve")
    @click.argument("closing_or_session_id")
    @click.option("--manager", "manager_name", required=True, help="The manager approving it.")
    @click.option("--note", help="Why the difference is accepted.")
    def session_approve(closing_or_session_id, manager_name, note):
        """Approve a closing whose difference was over the store's limit (a journaled fact)."""
        with _refusals():
            manager = management.get_manager_by_name(manager_name)
            approval = approve_closing(UnitOfWork(), closing_or_session_id, manager, note)
        click.echo(approval.closing_id)

    @session.command("force-close")
    @click.argument("session_id")
    @click.option("--counted", required=True, help="The cash counted in the drawer, e.g. 152.30.")
    @click.option("--reason", required=True, help="Why the session is closed by force.")
    @click.option("--manager", "manager_name", required=True, help="The manager closing it.")
    def session_force_close(session_id, counted, reason, manager_name):
        """Close a session its cashier left open; prints the closing's id."""
        with _refusals():
            forgotten = db.session.get(PosSession, session_id)
            if forgotten is None:
                raise SessionNotFound()
            closed = force_close(
                UnitOfWork(),
                forgotten.store_id,
                session_id,
                counted,
                reason,
                management.get_manager_by_name(manager_name),
            )
        closing = closed.closing
        click.echo(closing.id)
        click.echo(
            f"session {session_id} closed by force: expected {closing.expected_cash:.2f}, "
            f"counted {closing.closing_cash:.2f}, difference {closing.difference:.2f}",
            err=True,
        )


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
    from . import create_app

    scratch = create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": current_app.config["SECRET_KEY"]}
    )
    with scratch.app_context():
        upgrade(directory=scratch.extensions["migrate"].directory)
        db.engine.dispose()


@contextmanager
def _refusals():
    """A refusal of the rules: its message on stderr, exit status 1, nothing on stdout."""
    try:
        yield
    except DomainError as err:
        fields = err.errors.items() if isinstance(err, InvalidInput) else ()
        details = [f"{field}: {message}" for field, messages in fields for message in messages]
        raise click.ClickException(" ".join([ANSWERS[type(err)].message + ".", *details])) from None


def _given(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def _table(rows) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _when(moment) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds") + "Z"
