"""Administration: each command prints only the new id or token on stdout, for scripts."""

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .auth import issue_token, revoke_tokens
from .extensions import db
from .models import ApiToken, PosProfile, Store
from .pos_session.schemas import BCRYPT_MAX_BYTES
from .pos_session.service import hash_password


def register_cli(app) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create or upgrade the schema; safe to run again."""
        upgrade(directory=current_app.extensions["migrate"].directory)
        click.echo("database is at the latest schema", err=True)

    # AppGroup, not click.Group: its commands get an app context under any runner.
    store = AppGroup("store", help="Stores.")
    profile = AppGroup("profile", help="POS profiles (cashiers).")
    token = AppGroup("token", help="API tokens for terminals.")
    for group in (store, profile, token):
        app.cli.add_command(group)

    @store.command("create")
    @click.argument("name")
    def store_create(name):
        new = Store(name=name)
        db.session.add(new)
        db.session.commit()
        click.echo(new.id)

    @profile.command("create")
    @click.option("--store", "store_id", required=True, help="Store id.")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.argument("name")
    def profile_create(store_id, password, name):
        if db.session.get(Store, store_id) is None:
            raise click.BadParameter(f"no store {store_id}", param_hint="--store")
        if not password or len(password.encode()) > BCRYPT_MAX_BYTES:
            raise click.BadParameter(
                f"must be 1 to {BCRYPT_MAX_BYTES} bytes", param_hint="--password"
            )
        rounds = current_app.config["BCRYPT_ROUNDS"]
        new = PosProfile(
            store_id=store_id, name=name, password_hash=hash_password(password, rounds)
        )
        db.session.add(new)
        try:
            db.session.commit()
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


def _when(moment) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds") + "Z"
