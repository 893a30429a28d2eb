"""``period ...``: the store's monthly and yearly closings."""

import re

import click
from flask.cli import AppGroup

from ..machinery.database import UnitOfWork
from ..sessions.periods import close_periods
from .answers import refusals

cli = AppGroup("period", help="Monthly and yearly closings.")


def _checked(pattern: str):
    def check(_ctx, _param, value):
        if value is not None and not re.fullmatch(pattern, value):
            raise click.BadParameter(f"not {'YYYY-MM' if '-' in pattern else 'YYYY'}")
        return value

    return check


@cli.command("close")
@click.option("--store", "store_id", required=True, help="The store.")
@click.option("--month", callback=_checked(r"[0-9]{4}-(0[1-9]|1[0-2])"), help="YYYY-MM.")
@click.option("--year", callback=_checked(r"[0-9]{4}"), help="YYYY.")
def close(store_id, month, year):
    """Close a month or a year of the store (default: every ended one not closed yet); prints
    each closing's kind, period and number."""
    if month and year:
        raise click.UsageError("--month or --year, not both")
    kind, period = ("month", month) if month else ("year", year)
    with refusals():
        made = close_periods(UnitOfWork(), store_id, kind, period, "cli")
    for row in made:
        click.echo(f"{row.kind} {row.period} {row.number}")
    click.echo(f"{len(made)} period(s) closed", err=True)
