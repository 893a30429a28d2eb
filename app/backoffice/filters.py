"""How the page writes money, times, days and durations: the store's currency and time zone;
and how it reads a day typed in a filter."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, g

from ..people.passwords import MIN_LENGTH
from ..stores import store_tenders

bp = Blueprint("filters", __name__)


@bp.app_template_filter("money")
def money(amount: Decimal | None, currency: str = "") -> str:
    """Two decimals, thousands separated, then the code: "1,234.50 EUR", "-0.05 EUR". Without
    a code (a table that names its currency once): "1,234.50"."""
    if amount is None:
        return "-"
    return f"{Decimal(amount):,.2f} {currency}".rstrip()


def store_time(moment: datetime, zone: str) -> datetime:
    """A stored (naive UTC) time in the store's time zone."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


@bp.app_template_filter("count_lines")
def count_lines(lines: list[dict]) -> list[tuple[Decimal, int, Decimal]]:
    """A cash count's lines (as stored) as value, count and value x count, largest first."""
    return [
        (Decimal(line["value"]), line["count"], Decimal(line["value"]) * line["count"])
        for line in lines
    ]


@bp.app_template_filter("tender")
def tender_name(code: str) -> str:
    """A tender as the owner named it ("Card terminal"), not the code terminals send."""
    if "tender_names" not in g:
        g.tender_names = {t.code: t.name for t in store_tenders(g.store.id, with_cash=True)}
    return g.tender_names.get(code, code)


@bp.app_template_filter("store_time")
def store_time_text(moment: datetime | None, zone: str, year: bool = True) -> str:
    """The day and the time, as every list and report writes them: "3 Dec 2026 08:02"; without
    the year on a page whose title names it: "3 Dec 08:02"."""
    if moment is None:
        return "-"
    local = store_time(moment, zone)
    return f"{day_text(local.date(), year)} {local:%H:%M}"


@bp.app_template_filter("clock")
def clock_text(moment: datetime, zone: str) -> str:
    """Today's time alone, for the board's "open since 08:02"; another day's with the day."""
    local = store_time(moment, zone)
    if local.date() == datetime.now(UTC).astimezone(ZoneInfo(zone)).date():
        return f"{local:%H:%M}"
    return store_time_text(moment, zone)


# Days, written and read the one way every page writes them ("3 Dec 2026"), in English
# whatever the server's locale.
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d")
TYPED_DAY = re.compile(r"(\d{1,2}) +([a-z]{3,9})\.? +(\d{4})")
DAY_EXAMPLE = "3 Dec 2026"
bp.add_app_template_global(DAY_EXAMPLE, "day_example")


@bp.app_template_filter("day")
def day_text(day: date, year: bool = True) -> str:
    """ "3 Dec 2026", or "3 Dec" without the year."""
    short = f"{day.day} {MONTHS[day.month - 1][:3]}"
    return f"{short} {day.year}" if year else short


def read_day(text: str | None) -> date | None:
    """A day as typed in a filter: as the pages write it ("3 Dec 2026", "3 december 2026"), or
    as ISO 8601 ("2026-12-03", what links and bookmarks carry); else None. No 3/12/2026: which
    of day and month comes first depends on who types it."""
    text = " ".join((text or "").split()).lower()
    if ISO_DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    typed = TYPED_DAY.fullmatch(text)
    if typed is None:
        return None
    day, name, year = typed.groups()
    months = [n for n, month in enumerate(MONTHS, 1) if month.lower().startswith(name)]
    try:
        return date(int(year), months[0], int(day)) if months else None
    except ValueError:
        return None


@bp.app_template_filter("since")
def duration_since(moment: datetime) -> str:
    """How long ago, as people say it: "5 h 40 min", "12 min"."""
    minutes = int((datetime.now(UTC).replace(tzinfo=None) - moment) / timedelta(minutes=1))
    hours, minutes = divmod(max(minutes, 0), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


@bp.app_template_filter("difference")
def difference_words(amount: Decimal | None, currency: str) -> str:
    """A closing difference in words, never by colour alone: "short by 0.05 EUR"."""
    if amount is None:
        return "-"
    if amount == 0:
        return "exact: the drawer matches"
    return f"{'short' if amount < 0 else 'over'} by {money(abs(amount), currency)}"


@bp.app_template_filter("signed")
def signed_money(amount: Decimal, currency: str) -> str:
    """With its sign always written: "+2.00 EUR", "-0.05 EUR"."""
    return ("+" if amount > 0 else "") + money(amount, currency)


# Shown beside every field that sets a password, before anyone breaks it (app.passwords).
bp.add_app_template_global(
    f"At least {MIN_LENGTH} characters; a {MIN_LENGTH}-digit PIN will do.", "password_rule"
)
