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
from .auth import issue_token, revoke_tokens
from .database import UnitOfWork
from .extensions import db
from .models import ApiToken, PosProfile, Store
from .passwords import hash_password, password_problem


def register_cli(app) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create or upgrade the schema; safe to run again."""
        upgrade(directory=current_app.extensions["migrate"].directory)
        click.echo("database is at the latest schema", err=True)

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(path_type=Path))
    def backup(path):
        """Copy the SQLite database to PATH, consistent even while the server writes.

        PATH is a file (replaced if it exists) or a folder, where a dated file is made.
        Prints the file written.
        """
        try:
            database = backups.sqlite_file(db.engine.url)
            click.echo(backups.backup(database, path, _busy_timeout_s()))
        except (backups.BackupError, OSError, sqlite3.Error) as err:
            raise click.ClickException(str(err)) from None

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(path_type=Path))
    def restore(path):
        """Replace the SQLite database with the backup at PATH.

        Refuses a file that fails PRAGMA integrity_check or is not this service's database;
        an older backup is upgraded to this release's schema. Restart the server afterwards.
        """
        try:
            database = backups.sqlite_file(db.engine.url)
            revision = backups.restore(path, database, _busy_timeout_s(), _upgrade_copy)
        except (backups.BackupError, OSError, sqlite3.Error) as err:
            raise click.ClickException(str(err)) from None
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
        if db.session.get(Store, store_id) is None:
            raise click.BadParameter(f"no store {store_id}", param_hint="--store")
        if password is None:
            # On stderr, so `ID=$(flask ... profile create ...)` still shows the prompt.
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        problem = password_problem(password)
        if problem:
            raise click.BadParameter(problem, param_hint="--password")
        rounds = current_app.config["BCRYPT_ROUNDS"]
        new = PosProfile(
            store_id=store_id, name=name, password_hash=hash_password(password, rounds)
        )
        try:
            with UnitOfWork() as uow:
                uow.session.add(new)
                uow.commit()
        except IntegrityError:
            raise click.ClickException(f"store {store_id} already has a profile {name!r}") from None
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
