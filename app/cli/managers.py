"""``manager ...``: the people who run stores from the back-office page."""

import os

import click
from flask.cli import AppGroup

from ..backoffice import bp as backoffice
from ..machinery.database import UnitOfWork
from ..owner_input import ManagerSchema, load
from ..people import managers
from ..stores import get_store
from .answers import refusals
from .output import table, yes
from .people import People, add_life, password_option, password_or_prompt

cli = AppGroup("manager", help="Managers, who use the back-office page.")


@cli.command("create")
@click.option("--store", "store_ids", multiple=True, required=True, help="Store id (repeatable).")
@password_option
@click.argument("name")
def create(store_ids, password, name):
    """A person who runs the stores given from the back-office page (/backoffice/); prints
    the id, and on stderr who was created for which stores and where they sign in."""
    with refusals():
        stores = {store_id: get_store(store_id) for store_id in store_ids}
        granted = ", ".join(f"{store.name} ({store.id})" for store in stores.values())
        values = load(
            ManagerSchema(),
            {"name": name, "password": password_or_prompt(password), "stores": store_ids},
        )
        manager_id = managers.create(
            UnitOfWork(), values["name"], values["password"], store_ids=values["stores"]
        )
    click.echo(manager_id)
    click.echo(
        f"manager {values['name']!r} created for {granted}; they sign in at {_sign_in_address()}",
        err=True,
    )


def _sign_in_address() -> str:
    """The back-office page at the address the server listens on: POS_BIND, from the same
    settings file (deploy/pos-admin), with gunicorn.conf.py's default."""
    host, _, port = os.environ.get("POS_BIND", "127.0.0.1:8000").rpartition(":")
    if not port.isdigit():  # a unix socket: only a front knows the address
        return f"{backoffice.url_prefix}/ on this box"
    if host in ("0.0.0.0", "[::]", ""):
        host = "<this box's address>"
    return f"http://{host}:{port}{backoffice.url_prefix}/"


@cli.command("list")
def list_():
    """Every manager by name: id, name, enabled, stores."""
    rows = [("ID", "NAME", "ENABLED", "STORES")]
    for m in managers.list_managers():
        rows.append((m.id, m.name, yes(m.enabled), ",".join(s.id for s in m.stores)))
    table(rows)


PASSWORD_HELP = "Set a new password; signs the manager out of every browser."
DISABLE_HELP = "Refuse the manager's sign-in, and sign them out of every browser."
add_life(cli, People(managers, "NAME", "NEW_NAME", "manager {!r}", PASSWORD_HELP, DISABLE_HELP))
