"""How the commands write: tables and values for the eye and for scripts, progress bars."""

import getpass
import sys
from contextlib import contextmanager
from decimal import Decimal

import click


@contextmanager
def progress(length: int, label: str):
    """A progress bar on stderr, with a count and an estimate, when stderr is a terminal;
    silence in scripts. Yields ``step(n)``: n more done."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    with click.progressbar(
        length=length, label=label, file=sys.stderr, show_pos=True, show_eta=True
    ) as bar:
        yield bar.update


def command_line() -> str:
    """Who did it, as a verification or a new signed head records it."""
    return f"the command line ({getpass.getuser()})"


def table(rows) -> None:
    """Rows of text (the first, the headings) in columns two spaces apart, on stdout."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def when(moment) -> str:
    """A stored (naive UTC) time, or "-"."""
    return "-" if moment is None else moment.isoformat(timespec="seconds") + "Z"


def money(amount: Decimal | None) -> str:
    """Two decimals, no thousands separator (as the CSV writes it), or "-"."""
    return "-" if amount is None else f"{amount:.2f}"
