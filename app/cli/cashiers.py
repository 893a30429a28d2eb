"""``profile ...``: the cashiers (POS profiles) of a store; the name the terminals know them by."""

import click
from flask.cli import AppGroup

from .. import management
from ..database import UnitOfWork
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
        management.get_store(store_id)
        click.echo(
            management.create_profile(UnitOfWork(), store_id, name, password_or_prompt(password))
        )


@cli.command("list")
@click.option("--store", "store_id", required=True, help="Store id.")
def list_(store_id):
    """Every profile of the store, by name: id, name, enabled, open session (UTC)."""
    with refusals():
        listed = management.list_profiles(store_id)
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


add_life(
    cli,
    People(
        who="PROFILE_ID",
        new_name="NAME",
        shown=lambda profile_id: f"profile {profile_id}",
        find=management.get_profile,
        rename=management.rename_profile,
        set_password=management.set_profile_password,
        set_enabled=management.set_profile_enabled,
        unlock=management.unlock_profile,
        password_help="Set a new password: the old one stops working at once.",
        disable_help="It can no longer open a session (it can still close one); its history stays.",
    ),
)
