"""``store ...``: the stores and their settings."""

from collections import defaultdict

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import TENDER_KINDS, Store
from ..owner_input import ReasonSchema, StoreSettingsSchema, TenderSchema, load
from ..people.cashiers import list_profiles
from ..people.managers import list_managers
from ..stores import (
    add_reason,
    add_tender,
    create_store,
    find_store,
    movement_reasons,
    remove_reason,
    set_denominations,
    set_tender_enabled,
    shown_denominations,
    store_tenders,
    update_store,
)
from .answers import refusals
from .output import table

cli = AppGroup("store", help="Stores.")

SETTINGS = (
    click.option("--timezone", help="IANA time zone, e.g. Europe/Paris (default UTC)."),
    click.option("--day-start", help="When the business day starts, HH:MM (default 00:00)."),
    click.option(
        "--stale-hours",
        "stale_after_hours",
        type=int,
        help="Hours after which an open session is stale (16).",
    ),
    click.option("--currency", help="Currency code shown with amounts (default EUR)."),
)


def with_settings(command):
    for option in reversed(SETTINGS):
        command = option(command)
    return command


@cli.command("create")
@click.argument("name")
@with_settings
def create(name, **settings):
    """A new store called NAME; prints its id.

    NAME is trimmed and must not be empty. The business day (day report, CSV) runs from
    --day-start to the same time the next day, in --timezone; `store set` changes any of
    these later. Then add its cashiers (`profile create`), a manager (`manager create`) and
    a token for its terminals (`token issue`).
    """
    with refusals():
        values = load(StoreSettingsSchema(), {"name": name, **_given(settings)})
        click.echo(create_store(UnitOfWork(), **values))


@cli.command("set")
@click.argument("store_id")
@click.option("--name", help="Display name.")
@with_settings
def set_(store_id, **settings):
    """Change the settings given; the others keep their value."""
    with refusals():
        values = load(StoreSettingsSchema(), _given(settings), partial=True)
        update_store(UnitOfWork(), store_id, **values)
    click.echo(f"store {store_id} updated", err=True)


def _given(settings: dict) -> dict:
    """The options given (click passes None for the others)."""
    return {key: value for key, value in settings.items() if value is not None}


@cli.command("list")
def list_():
    """Every store by name: id, name, time zone, how many profiles (cashiers), its managers
    (a disabled one marked so)."""
    managers = defaultdict(list)
    for manager in list_managers():
        for store in manager.stores:
            managers[store.id].append(manager.name + ("" if manager.enabled else " (disabled)"))
    rows = [("ID", "NAME", "TIME ZONE", "PROFILES", "MANAGERS")]
    for store in all_stores():
        profiles = len(list_profiles(store.id))
        rows.append(
            (
                store.id,
                store.name,
                store.timezone,
                str(profiles),
                ", ".join(managers[store.id]) or "-",
            )
        )
    table(rows)


def all_stores() -> list[Store]:
    """Every store by name (no rule lists them: only the CLI does)."""
    return db.session.scalars(select(Store).order_by(Store.name, Store.id)).all()


@cli.command("denominations")
@click.argument("store_id")
@click.argument("values", required=False)
def denominations_(store_id, values):
    """The notes and coins a cash count may name, largest first, one a line. VALUES
    ("50,20,10,5,0.50") sets the store's own, each with no more decimals than its currency
    has (two at most); "default" goes back to the currency's common ones."""
    with refusals():
        if values is None:
            store = find_store(db.session, store_id)
            listed = shown_denominations(store.currency, store.denominations)
        else:
            typed = None if values.strip() == "default" else values
            listed = set_denominations(UnitOfWork(), store_id, typed)
    for value in listed:
        click.echo(value)


reasons = AppGroup("reason", help="The reasons a pay-in or pay-out may name.")
cli.add_command(reasons)


@reasons.command("add")
@click.argument("store_id")
@click.argument("name")
def add_reason_(store_id, name):
    """Let the store's pay-ins and pay-outs name NAME (trimmed, 1 to 120 characters)."""
    with refusals():
        name = load(ReasonSchema(), {"reason": name})["name"]
        add_reason(UnitOfWork(), store_id, name)
    click.echo(f"store {store_id}: reason {name!r} added", err=True)


@reasons.command("remove")
@click.argument("store_id")
@click.argument("name")
def remove_reason_(store_id, name):
    """Take NAME off the list; the movements that named it keep it."""
    with refusals():
        removed = remove_reason(UnitOfWork(), store_id, name)
    if not removed:
        raise click.ClickException(f"store {store_id} has no reason {name!r}")
    click.echo(f"store {store_id}: reason {name!r} removed", err=True)


@reasons.command("list")
@click.argument("store_id")
def list_reasons(store_id):
    """The store's reasons, one a line, alphabetical."""
    with refusals():
        find_store(db.session, store_id)
    for name in movement_reasons(store_id):
        click.echo(name)


tender = AppGroup("tender", help="A store's tenders: cash, built in, and the ones added.")
cli.add_command(tender)


@tender.command("add")
@click.argument("store_id")
@click.argument("kind", type=click.Choice(TENDER_KINDS))
@click.argument("name")
@click.option("--code", help="What terminals send as the tender (default: KIND).")
def tender_add(store_id, kind, name, code):
    """A new tender of KIND called NAME; prints its code. It is disabled, never deleted."""
    with refusals():
        given = {"kind": kind, "name": name} | ({"code": code} if code is not None else {})
        values = load(TenderSchema(), given)
        click.echo(add_tender(UnitOfWork(), store_id, **values).code)


@tender.command("disable")
@click.argument("store_id")
@click.argument("code")
def tender_disable(store_id, code):
    """No new movement may name the tender CODE; its history stays."""
    _set_enabled(store_id, code, False)


@tender.command("enable")
@click.argument("store_id")
@click.argument("code")
def tender_enable(store_id, code):
    """The tender CODE may be used again."""
    _set_enabled(store_id, code, True)


def _set_enabled(store_id, code, enabled: bool):
    with refusals():
        set_tender_enabled(UnitOfWork(), store_id, code, enabled)
    click.echo(f"tender {code} {'enabled' if enabled else 'disabled'}", err=True)


@tender.command("list")
@click.argument("store_id")
def tender_list(store_id):
    """The store's tenders, cash first: code, kind, name, whether enabled."""
    with refusals():
        find_store(db.session, store_id)
    rows = [("CODE", "KIND", "NAME", "ENABLED")]
    for one in store_tenders(store_id, with_cash=True):
        rows.append((one.code, one.kind, one.name, "yes" if one.enabled else "no"))
    table(rows)
