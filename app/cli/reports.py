"""``report day``: the back office's day report on the command line: the same rules
(app/reports.py), so the same figures to the cent, and the same CSV."""

import click
from flask.cli import AppGroup

from .. import reports as rules
from ..sessions.periods import close_ended
from ..stores import get_store
from .answers import refusals
from .output import money, table
from .types import DAY

cli = AppGroup("report", help="The owner's reports, as the back office shows them.")

FIGURES = (
    "OPENING",
    "SALES",
    "REFUNDS",
    "PAY-INS",
    "PAY-OUTS",
    "EXPECTED",
    "COUNTED",
    "DIFFERENCE",
)
# After the columns the report always had, as the CSV adds them.
DRAWER = ("DROPS", "NO-SALES")
TOTALS = ("SESSIONS", "OPEN", "FORCED", *FIGURES, *DRAWER)


@cli.command("day")
@click.option("--store", "store_id", required=True, help="Store id.")
@click.option("--date", "day", type=DAY, help="The business day (default: the store's today).")
@click.option(
    "--csv",
    "csv_file",
    type=click.File("w", lazy=True),
    help="Write the page's CSV of the day's sessions to this file (- for stdout) instead.",
)
def day(store_id, day, csv_file):
    """The sessions opened on one business day of the store: the store's totals (and per
    tender, when there was one besides cash), each cashier's (by the sessions they opened),
    each attendant's (by the movements they made), then each session (times in store time).
    Counted cash and difference add up the closed sessions only: "-" while none is closed."""
    with refusals():
        store = get_store(store_id)
    close_ended(store.id)  # a period that ended since the last request or run
    report = rules.day_report(store, day or rules.today(store))
    if csv_file is not None:
        csv_file.write(rules.sessions_csv(store, report.sessions))
        click.echo(f"{len(report.sessions)} session(s) of {report.day} written", err=True)
        return
    start, end = (_time(store, moment) for moment in rules.day_bounds(store, report.day))
    click.echo(
        f"{store.name}, business day {report.day}: sessions opened from {start} to {end} "
        f"{store.timezone}, amounts in {store.currency}"
    )
    if not report.sessions:
        click.echo("no session on this day")
        return
    click.echo()
    table([("STORE", *TOTALS), (store.name, *_totals(report.store))])
    click.echo()
    if report.store.tenders:  # as the day page: cash, then each tender, "not counted" never 0
        lines = report.store.tender_lines()
        rows = [(t["tender"], *(_counted(t[name]) for name in rules.TENDER_FIGURES)) for t in lines]
        table([("TENDER", "EXPECTED", "COUNTED", "DIFFERENCE"), *rows])
        click.echo()
    table([("CASHIER", *TOTALS), *((name, *_totals(t)) for name, t in report.cashiers.items())])
    click.echo()
    if report.attendants:  # as the day page's "By attendant": who made each movement
        codes = sorted({code for figures in report.attendants for code in figures["tenders"]})
        head = ("ATTENDANT", *(name.upper().replace("_", "-") for name in rules.ATTENDANT_FIGURES))
        table(
            [
                (*head, *(code.upper() for code in codes)),
                *(_attendant(figures, codes) for figures in report.attendants),
            ]
        )
        click.echo()
    rows = [("SESSION", "CASHIER", "OPENED", "CLOSED", *FIGURES, "FORCED", "APPROVAL", *DRAWER)]
    for row in report.sessions:
        figures = (getattr(row, name) for name in rules.MONEY + rules.COUNTED)
        rows.append(
            (
                row.id,
                row.cashier,
                _time(store, row.opened_at),
                _time(store, row.closed_at),
                *map(money, figures),
                "yes" if row.forced else "no",
                row.approval or "-",
                money(row.drops),
                str(row.no_sales),
            )
        )
    table(rows)


def _totals(totals: rules.Totals) -> tuple[str, ...]:
    figures = [totals.sums[name] for name in rules.MONEY]
    figures += [totals.sums[name] if totals.closed else None for name in rules.COUNTED]
    opened = (totals.sessions, totals.sessions - totals.closed, totals.forced)
    drawer = (money(totals.sums["drops"]), str(totals.sums["no_sales"]))
    return (*map(str, opened), *map(money, figures), *drawer)


def _attendant(figures: dict, codes: list[str]) -> tuple[str, ...]:
    *amounts, no_sales = (figures[name] for name in rules.ATTENDANT_FIGURES)
    tenders = (figures["tenders"].get(code, 0) for code in codes)
    return (figures["name"], *map(money, amounts), str(no_sales), *map(money, tenders))


def _counted(amount) -> str:
    return "not counted" if amount is None else money(amount)


def _time(store, moment) -> str:
    return "-" if moment is None else f"{rules.local_time(store, moment):%Y-%m-%d %H:%M}"
