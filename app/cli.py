"""Administration: each command prints only the new id or token on stdout, for scripts."""

import sqlite3
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import backup as backups
from . import dbfile
from .auth import issue_token, revoke_tokens
from .config import install_secret
from .database import UnitOfWork
from .extensions import db
from .models import ApiToken, PosProfile, Store, clean_name
from .passwords import hash_password, password_problem


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
            click.echo(backups.backup(database, path, _busy_timeout_s(), secret))
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
            revision, secret_installed = backups.restore(
                path,
                database,
                _busy_timeout_s(),
                _upgrade_copy,
                secret=current_app.config["SECRET_KEY"],
                install_secret=_secret_installer(),
                keep_secret=keep_secret,
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
    for group in (store, profile, token):
        app.cli.add_command(group)

    @store.command("create")
    @click.argument("name")
    def store_create(name):
        name = clean_name(name)
        if not name:
            raise click.BadParameter("must not be empty", param_hint="NAME")
        with UnitOfWork() as uow:
            new = Store(name=name)
            uow.session.add(new)
            uow.commit()
        click.echo(new.id)

    @profile.command("create")
    @click.option("--store", "store_id", required=True, help="Store id.")
    @click.option("--password", help="Prompted for (hidden, confirmed) when not given.")
    @click.argument("name")
    def profile_create(store_id, password, name):
        name = clean_name(name)
        if not name:
            raise click.BadParameter("must not be empty", param_hint="NAME")
        if db.session.get(Store, store_id) is None:
            raise click.BadParameter(f"no store {store_id}", param_hint="--store")
        if password is None:
            # On stderr, so `ID=$(flask ... profile create ...)` still shows the prompt.
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        problem = password_problem(password, new=True)
        if problem:
            raise click.BadParameter(problem, param_hint="--password")
        rounds = current_app.config["BCRYPT_ROUNDS"]
        new = PosProfile(
            store_id=store_id, name=name, password_hash=hash_password(password, rounds)
        )
        taken = click.ClickException(f"store {store_id} already has a profile {name!r}")
        try:
            with UnitOfWork() as uow:
                names = uow.session.scalars(
                    select(PosProfile.name).where(PosProfile.store_id == store_id)
                )
                if name.casefold() in {other.casefold() for other in names}:
                    raise taken
                uow.session.add(new)
                uow.commit()
        except IntegrityError:
            raise taken from None
        click.echo(new.id)

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
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())

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


def _when(moment) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds") + "Z"
