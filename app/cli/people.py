"""One life for someone with a password, cashier or manager: rename, password, disable,
enable and unlock, built once for both groups on the one life of the rules (app.people.life)."""

from dataclasses import dataclass
from types import ModuleType

import click
from flask.cli import AppGroup

from ..machinery.database import UnitOfWork
from ..owner_input import PasswordSchema, RenameSchema, load
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
    """The rules of one kind of person, addressed by ``who`` (an id or a name), and how the
    commands name one of them and say what changes for them."""

    rules: ModuleType  # app.people.cashiers or .managers: their life's rules
    who: str  # the argument's metavar: PROFILE_ID or NAME
    new_name: str  # rename's second argument
    shown: str  # "profile {}", "manager {!r}": formatted with who
    password_help: str
    disable_help: str


def add_life(group: AppGroup, people: People) -> None:
    """Add ``rename``, ``password``, ``disable``, ``enable`` and ``unlock`` to ``group``."""
    who = click.argument("who", metavar=people.who)
    rules = people.rules

    def done(who: str, what: str) -> None:
        click.echo(people.shown.format(who) + what, err=True)

    @group.command("rename")
    @who
    @click.argument("name", metavar=people.new_name)
    def rename(who, name):
        """Give a new name: trimmed, not empty, unique whatever its case."""
        with refusals():
            rules.rename(UnitOfWork(), who, load(RenameSchema(), {"name": name})["name"])
        done(who, " renamed")

    @group.command("password", help=people.password_help)
    @who
    @password_option
    def password(who, password):
        with refusals():
            rules.get(who)  # refused before the prompt
            values = load(PasswordSchema(), {"password": password_or_prompt(password)})
            rules.set_password(UnitOfWork(), who, values["password"])
        done(who, ": password changed")

    def set_enabled(enabled: bool, what: str):
        def command(who):
            with refusals():
                rules.set_enabled(UnitOfWork(), who, enabled)
            done(who, what)

        return command

    disable_or_enable = (
        ("disable", False, people.disable_help),
        ("enable", True, "Allow again what disable refused."),
    )
    for name, enabled, help_ in disable_or_enable:
        group.command(name, help=help_)(who(set_enabled(enabled, f" {name}d")))

    @group.command("unlock")
    @who
    def unlock(who):
        """Clear the count of wrong passwords, so they may try again at once."""
        with refusals():
            rules.unlock(UnitOfWork(), who)
        done(who, " unlocked")
