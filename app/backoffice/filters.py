"""How the page writes money, times and durations: the store's currency and time zone."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from . import bp


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


@bp.app_template_filter("store_time")
def store_time_text(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "-"
    local = store_time(moment, zone)
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    return local.strftime("%H:%M" if local.date() == today else "%d %b %Y %H:%M")


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
