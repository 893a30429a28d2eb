"""``flask --app wsgi NOUN COMMAND``: the administration commands, a module per noun.

Each command prints only the new id or token (or its table) on stdout, for scripts; what it
did goes to stderr. Each is a few lines: its options are checked and typed by click
(``types``), the rules do the rest, and a refusal of the rules becomes an exit status and a
message through one table (``answers``).
"""

from . import (
    accounting,
    cashiers,
    database,
    journal,
    managers,
    periods,
    reports,
    sessions,
    stores,
    tokens,
)

COMMANDS = (
    database.init_db,
    database.backup,
    database.restore,
    stores.cli,
    cashiers.cli,
    managers.cli,
    tokens.cli,
    sessions.cli,
    reports.cli,
    journal.cli,
    periods.cli,
    accounting.cli,
)


def init_app(app) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
