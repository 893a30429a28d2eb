"""``profile ...``: the cashiers (POS profiles) of a store; the name the terminals know them by."""

import click
from flask.cli import AppGroup

from ..machinery.database import UnitOfWork
from ..owner_input import NewCashierSchema, load
from ..people import cashiers
from ..stores import get_store
from .answers import refusals
from .output import table, when, yes
from .people import People, add_life, password_option, password_or_prompt

# AppGroup, not click.Group: its commands get an app context under any runner.
cli = AppGroup("profile", help="POS profiles (cashiers).")


@cli.command("create")
@click.option("--store", "store_id", required=True, help="Store id.")
@password_option
@click.argument("name")
def create(store_id, password, name):
    """A new cashier of the store; prints its id."""
    with refusals():
        get_store(store_id)
        values = load(NewCashierSchema(), {"name": name, "password": password_or_prompt(password)})
        click.echo(cashiers.create(UnitOfWork(), **values, store_id=store_id))


@cli.command("list")
@click.option("--store", "store_id", required=True, help="Store id.")
def list_(store_id):
    """Every profile of the store, by name: id, name, enabled, open session (UTC)."""
    with refusals():
        listed = cashiers.list_profiles(store_id)
    rows = [("ID", "NAME", "ENABLED", "LOCKED", "OPEN SESSION", "OPEN SINCE")]
    for row in listed:
        open_ = row.open_session
        rows.append(
            (
                row.profile.id,
                row.profile.name,
                yes(row.profile.enabled),
                yes(row.locked),
                open_.id if open_ else "-",
                when(open_.created_at if open_ else None),
            )
        )
    table(rows)


PASSWORD_HELP = "Set a new password: the old one stops working at once."
DISABLE_HELP = "It can no longer open a session (it can still close one); its history stays."
add_life(cli, People(cashiers, "PROFILE_ID", "NAME", "profile {}", PASSWORD_HELP, DISABLE_HELP))
