"""``flask --app headoffice_wsgi headoffice ...``: the schema, users, shops and the follower."""

import re
import unicodedata
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import delete, select, update

from ..cli.answers import refusals
from ..cli.output import table, when
from ..cli.people import People, add_life, password_option, password_or_prompt
from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..owner_input import NewCashierSchema, load
from . import follow as following
from . import users
from .models import SCHEMA_VERSION, Base, Schema, Shop
from .pages import schema_problem

cli = AppGroup("headoffice", help="Head office: follows every shop's journal (docs/chain.md).")
shop_cli = AppGroup("shop", help="The shops head office follows.")
cli.add_command(shop_cli)


def _schema_ready() -> None:
    problem = schema_problem()
    if problem:
        raise click.ClickException(problem)


@cli.command("init-db")
def init_db():
    """Create head office's tables (safe to run again), or upgrade them from an earlier release;
    refuses another schema version."""
    version = db.session.scalar(select(Schema.version)) if _has_schema() else None
    # From version 1, create-all's new ho_signin is the whole upgrade.
    if version not in (None, 1, SCHEMA_VERSION):
        raise click.ClickException(
            f"the database has head-office schema version {version}, this release "
            f"{SCHEMA_VERSION}: upgrade it as the release notes say"
        )
    Base.metadata.create_all(db.engine)
    if version != SCHEMA_VERSION:
        db.session.execute(delete(Schema))
        db.session.add(Schema(version=SCHEMA_VERSION))
        db.session.commit()
    click.echo(f"head-office schema at version {SCHEMA_VERSION}", err=True)


def _has_schema() -> bool:
    return db.engine.dialect.has_table(db.session.connection(), Schema.__tablename__)


# Checked before anything is looked up, to the columns' lengths (models.py).
class StoreId(click.ParamType):
    name = "STORE_ID"

    def convert(self, value, param, ctx):
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,24}", value):
            self.fail("a store id is 1 to 24 letters and digits, as the box prints it", param, ctx)
        return value


class ShopName(click.ParamType):
    name = "NAME"

    def convert(self, value, param, ctx):
        if not value.strip() or len(value) > 120:
            self.fail("a name is 1 to 120 characters", param, ctx)
        if any(unicodedata.category(ch)[0] == "C" for ch in value):
            self.fail("a name cannot hold a control character (a line break, a tab)", param, ctx)
        return value.strip()


class BoxUrl(click.ParamType):
    name = "URL"

    def convert(self, value, param, ctx):
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018  (raises on a port that is not a number)
        except ValueError:
            self.fail("the port is not a number", param, ctx)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 500:
            self.fail(
                "a URL of the box: http:// or https://, a host, e.g. https://shop-12.lan",
                param,
                ctx,
            )
        if parts.username is not None or parts.query or parts.fragment:
            self.fail(
                "no user, password, query or fragment: the token is the credential", param, ctx
            )
        return value


def _token(value: str | None) -> str:
    """A token as the box prints it (a JWT: letters, digits, '-', '_', '.'), else refused, so a
    pasted line break never reaches a request's header."""
    token = value or click.prompt("Follower token", hide_input=True)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", token.strip()):
        raise click.BadParameter("paste the token as token issue --follower printed it")
    return token.strip()


@shop_cli.command("add")
@click.argument("store_id", type=StoreId())
@click.option("--name", required=True, type=ShopName(), help="The shop's name on the pages.")
@click.option(
    "--url", required=True, type=BoxUrl(), help="The box's base URL, e.g. https://shop-12.lan"
)
@click.option(
    "--token",
    envvar="HEADOFFICE_SHOP_TOKEN",
    help="Its follower token (token issue --follower on the box); prompted if not given.",
)
def add_shop(store_id, name, url, token):
    """Follow the store STORE_ID of the box at --url."""
    token = _token(token)
    _schema_ready()
    if db.session.get(Shop, store_id) is not None:
        raise click.BadParameter(f"shop {store_id} is followed already", param_hint="STORE_ID")
    db.session.add(Shop(store_id=store_id, name=name, url=url, token=token))
    db.session.commit()
    click.echo(store_id)


def _shop(store_id: str) -> Shop:
    shop = db.session.get(Shop, store_id)
    if shop is None:
        raise click.BadParameter(f"no shop {store_id}", param_hint="STORE_ID")
    return shop


@shop_cli.command("token")
@click.argument("store_id")
@click.option("--token", envvar="HEADOFFICE_SHOP_TOKEN", help="Prompted if not given.")
def shop_token(store_id, token):
    """Give the shop a new follower token (the old one revoked or expired)."""
    token = _token(token)
    _schema_ready()
    _shop(store_id).token = token
    db.session.commit()


@shop_cli.command("list")
def list_shops():
    """Every shop: store id, name, last verified seq, caught up at, state (UTC)."""
    _schema_ready()
    rows = [("STORE", "NAME", "SEQ", "CAUGHT-UP", "STATE")]
    for shop in db.session.scalars(select(Shop).order_by(Shop.name)):
        state = f"red: {shop.stopped_reason}" if shop.stopped_reason else (shop.error or "ok")
        rows.append((shop.store_id, shop.name, str(shop.last_seq), when(shop.caught_up_at), state))
    table(rows)


@shop_cli.command("resume")
@click.argument("store_id")
def resume(store_id):
    """Follow a red shop again, from its last stored entry: its feed is verified against what
    is stored, as always, so it stops again unless the box's journal is the one followed."""
    _schema_ready()
    shop = _shop(store_id)
    db.session.execute(
        update(Shop)
        .where(Shop.store_id == shop.store_id)
        .values(stopped_reason=None, stopped_at=None)
    )
    db.session.commit()


@cli.group("user")
@with_appcontext
def user_cli():
    """Head-office users, who sign in to /headoffice/."""
    _schema_ready()


@user_cli.command("create")
@click.argument("name")
@password_option
def create_user(name, password):
    """A head-office user; prints its id."""
    with refusals():
        # A name and a new password, checked as a cashier's are.
        values = load(NewCashierSchema(), {"name": name, "password": password_or_prompt(password)})
        click.echo(users.create(UnitOfWork(), **values))


PASSWORD_HELP = "Set a new password; signs the user out of every browser."
DISABLE_HELP = "Refuse the user's sign-in, and sign them out of every browser."
add_life(user_cli, People(users, "NAME", "NEW_NAME", "user {!r}", PASSWORD_HELP, DISABLE_HELP))


@cli.command("follow")
@click.option("--workers", type=click.IntRange(min=1), help="Shops followed at once.")
@click.option("--interval", type=click.FloatRange(min=0), help="Seconds between rounds.")
@click.option("--once", is_flag=True, help="One round (every shop read to its end), then exit.")
def follow(workers, interval, once):
    """Follow every shop not stopped: read, verify and store its journal, round after round."""
    _schema_ready()
    config = current_app.config
    following.follow(
        db.engine,
        workers or int(config["FOLLOW_WORKERS"]),
        config["FOLLOW_INTERVAL_SECONDS"] if interval is None else interval,
        rounds=1 if once else None,
    )
