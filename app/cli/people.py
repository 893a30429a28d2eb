"""One life for someone with a password, cashier or manager: rename, password, disable,
enable and unlock, built once for both groups from the rules that address each kind."""

from collections.abc import Callable
from dataclasses import dataclass

import click
from flask.cli import AppGroup

from ..database import UnitOfWork
from .answers import refusals

password_option = click.option(
    "--password", help="Prompted for (hidden, confirmed) when not given."
)


def password_or_prompt(password: str | None) -> str:
    # On stderr, so `ID=$(flask ... create ...)` still shows the prompt.
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return password


@dataclass(frozen=True)
class People:
    """How the rules address one kind of person (``who``: an id or a name), and how the
    commands name one of them and say what changes for them."""

    who: str  # the argument's metavar: PROFILE_ID or NAME
    new_name: str  # rename's second argument
    shown: Callable[[str], str]  # "profile <id>", "manager 'Olga'"
    find: Callable[[str], object]  # refuses one who does not exist, before a prompt
    rename: Callable[[UnitOfWork, str, str], object]
    set_password: Callable[[UnitOfWork, str, str], object]
    set_enabled: Callable[[UnitOfWork, str, bool], object]
    unlock: Callable[[UnitOfWork, str], object]
    password_help: str
    disable_help: str


def add_life(group: AppGroup, people: People) -> None:
    """Add ``rename``, ``password``, ``disable``, ``enable`` and ``unlock`` to ``group``."""
    who = click.argument("who", metavar=people.who)

    def done(who: str, what: str) -> None:
        click.echo(f"{people.shown(who)}{what}", err=True)

    @group.command("rename")
    @who
    @click.argument("name", metavar=people.new_name)
    def rename(who, name):
        """Give a new name: trimmed, not empty, unique whatever its case."""
        with refusals():
            people.rename(UnitOfWork(), who, name)
        done(who, " renamed")

    @group.command("password", help=people.password_help)
    @who
    @password_option
    def password(who, password):
        with refusals():
            people.find(who)
            people.set_password(UnitOfWork(), who, password_or_prompt(password))
        done(who, ": password changed")

    @group.command("disable", help=people.disable_help)
    @who
    def disable(who):
        with refusals():
            people.set_enabled(UnitOfWork(), who, False)
        done(who, " disabled")

    @group.command("enable")
    @who
    def enable(who):
        """Allow again what disable refused."""
        with refusals():
            people.set_enabled(UnitOfWork(), who, True)
        done(who, " enabled")

    @group.command("unlock")
    @who
    def unlock(who):
        """Clear the count of wrong passwords, so they may try again at once."""
        with refusals():
            people.unlock(UnitOfWork(), who)
        done(who, " unlocked")
