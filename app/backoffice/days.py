"""The day report, its CSV, the CSV of a date range and the cashier variance chart.

Business days are in store time (``app.reports``). The short addresses of the issue
(``/backoffice/days/...``, ``/backoffice/sessions.csv``, ``/backoffice/variances``) lead to the
store in use; the pages themselves live under the store, like every other page.
"""

from datetime import date, timedelta
from decimal import Decimal

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from .. import reports
from .filters import DAY_EXAMPLE, ISO_DAY, day_text, read_day
from .views import store_view

bp = Blueprint("days", __name__)

# Far enough either way for any shop, near enough that no time zone arithmetic overflows.
FIRST_DAY, LAST_DAY = date(1970, 1, 2), date(9998, 12, 30)
DAY_ERROR = f"Enter a day as in {DAY_EXAMPLE}."


def parse_day(text: str | None) -> date | None:
    """A YYYY-MM-DD date the reports can use, else None: a day's address, the CLI's --date."""
    return typed_day(text) if text and ISO_DAY.fullmatch(text) else None


def typed_day(text: str | None) -> date | None:
    """A day typed in a filter, "3 Dec 2026" or YYYY-MM-DD, that the reports can use."""
    day = read_day(text)
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def _day_or_404(text: str) -> date:
    day = parse_day(text)
    if day is None:
        abort(404)
    return day


# The short addresses: the store in use (the last one opened), else the first granted.


def _store_in_use() -> str:
    stores = current_user.manager.stores
    wanted = session.get("store_id")
    store = next((s for s in stores if s.id == wanted), stores[0] if stores else None)
    if store is None:
        abort(404)
    return store.id


@bp.get("/days/", defaults={"day": None})
@bp.get("/days/<day>")
@login_required
def day_in_use(day):
    if day is not None and day.endswith(".csv"):
        return redirect(url_for(".day_csv", store_id=_store_in_use(), day=day[:-4]))
    if day is None:
        return redirect(url_for(".days", store_id=_store_in_use(), **request.args))
    return redirect(url_for(".day", store_id=_store_in_use(), day=day))


@bp.get("/sessions.csv")
@login_required
def sessions_csv_in_use():
    return redirect(url_for(".sessions_csv", store_id=_store_in_use(), **request.args))


@bp.get("/variances")
@login_required
def variances_in_use():
    return redirect(url_for(".variances", store_id=_store_in_use()))


# The day report


@bp.get("/stores/<store_id>/days/")
@store_view
def days(store_id):
    """Today's business day, or the one typed in "Go to day" (``?day=``)."""
    if "day" in request.args:
        day = typed_day(request.args["day"])
        if day is None:
            typed = {"day": request.args["day"]}
            return _day_page(reports.today(g.store), 400, {"day": [DAY_ERROR]}, typed)
    else:
        day = reports.today(g.store)
    return redirect(url_for(".day", store_id=store_id, day=day.isoformat()))


@bp.get("/stores/<store_id>/days/<day>")
@store_view
def day(store_id, day):
    return _day_page(_day_or_404(day))


def _day_page(day: date, status=200, errors=None, typed=None):
    """The day's report; ``typed``: what was typed in its forms, kept when refused."""
    store = g.store
    start, end = reports.day_bounds(store, day)
    shown = day_text(day)
    page = render_template(
        "backoffice/day.html",
        report=reports.day_report(store, day),
        starts=reports.local_time(store, start),
        ends=reports.local_time(store, end),
        previous=day - timedelta(days=1),
        next=day + timedelta(days=1),
        today=reports.today(store),
        errors=errors or {},
        values={"day": shown, "from": shown, "to": shown, **(typed or {})},
    )
    return page, status


@bp.get("/stores/<store_id>/days/<day>.csv")
@store_view
def day_csv(store_id, day):
    day = _day_or_404(day)
    rows = reports.day_report(g.store, day).sessions
    return _csv(rows, f"sessions-{day}.csv")


@bp.get("/stores/<store_id>/sessions.csv")
@store_view
def sessions_csv(store_id):
    """The sessions of the business days ``from`` to ``to`` (both included)."""
    values = {k: request.args.get(k, "") for k in ("from", "to")}
    first, last = typed_day(values["from"]), typed_day(values["to"])
    errors = {}
    if first is None:
        errors["from"] = [f"Enter the first day, as in {DAY_EXAMPLE}."]
    if last is None:
        errors["to"] = [f"Enter the last day, as in {DAY_EXAMPLE}."]
    elif first is not None and last < first:
        errors["to"] = ["The last day comes before the first."]
    elif first is not None and (last - first).days >= reports.MAX_RANGE_DAYS:
        errors["to"] = [f"At most {reports.MAX_RANGE_DAYS} days at a time."]
    if errors:
        shown = parse_day(request.args.get("day")) or reports.today(g.store)
        return _day_page(shown, 400, errors, values)
    rows = reports.sessions_between(g.store, *reports.days_bounds(g.store, first, last))
    return _csv(rows, f"sessions-{first}-to-{last}.csv")


def _csv(rows, filename: str) -> Response:
    return Response(
        reports.sessions_csv(g.store, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Cashier variances

BAR_SLOT, BAR_WIDTH, HALF_HEIGHT = 10, 7, 40  # SVG units; the chart is 30 slots wide


@bp.get("/stores/<store_id>/variances")
@store_view
def variances(store_id):
    last = reports.today(g.store)
    calendar, cashiers = reports.variances(g.store, last)
    largest = max((abs(d) for c in cashiers for d in c.by_day if d is not None), default=Decimal(0))
    charts = [(c, _bars(c.by_day, calendar, largest)) for c in cashiers]
    return render_template(
        "backoffice/variances.html",
        calendar=calendar,
        charts=charts,
        largest=largest,
        slot=BAR_SLOT,
        half=HALF_HEIGHT,
    )


def _bars(by_day, calendar, largest: Decimal) -> list[dict]:
    """Each day's bar: above the zero line when over, below when short, on one shared scale
    so cashiers compare at a glance. An even day gets a thin mark, so it is seen."""
    bars = []
    for slot, (day, amount) in enumerate(zip(calendar, by_day, strict=True)):
        if amount is None:
            continue
        height = max(float(abs(amount) / largest) * HALF_HEIGHT, 1.5) if largest else 1.5
        bars.append(
            {
                "day": day,
                "amount": amount,
                "x": slot * BAR_SLOT + (BAR_SLOT - BAR_WIDTH) / 2,
                "y": HALF_HEIGHT - height if amount >= 0 else HALF_HEIGHT,
                "width": BAR_WIDTH,
                "height": round(height, 2),
                "kind": "over" if amount > 0 else "short" if amount < 0 else "even",
            }
        )
    return bars
