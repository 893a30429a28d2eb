"""``token ...``: the bearer tokens of the terminals (app/api/auth.py)."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..api.auth import FOLLOWER, TERMINAL, issue_token, revoke_tokens
from ..machinery.extensions import db
from ..models import ApiToken, Store
from .output import table, when

cli = AppGroup("token", help="API tokens for terminals.")


@cli.command("issue")
@click.option("--store", "store_ids", multiple=True, required=True, help="Store id (repeatable).")
@click.option("--name", default="terminal", show_default=True, help="Label, the token's subject.")
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True)
@click.option(
    "--follower",
    is_flag=True,
    help="Read-only: reads GET /pos-session/journal and nothing else (head office's).",
)
def issue(store_ids, name, days, follower):
    """A token granting the stores given; prints it."""
    try:
        click.echo(issue_token(list(store_ids), name, days, FOLLOWER if follower else TERMINAL))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--store") from None


@cli.command("list")
def list_():
    """Every token, oldest first: jti, name, stores, created, expires, revoked (UTC), scope."""
    rows = [("JTI", "NAME", "STORES", "CREATED", "EXPIRES", "REVOKED", "SCOPE")]
    for t in db.session.scalars(select(ApiToken).order_by(ApiToken.created_at)):
        stores = ",".join(t.stores.split())
        times = map(when, (t.created_at, t.expires_at, t.revoked_at))
        rows.append((t.jti, t.name, stores, *times, t.scope))
    table(rows)


@cli.command("revoke")
@click.argument("jti", required=False)
@click.option("--store", "store_id", help="Revoke every token that grants this store.")
def revoke(jti, store_id):
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
