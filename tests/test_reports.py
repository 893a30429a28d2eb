"""app.reports below HTTP: business days in store time (across clock changes), which day a
session belongs to, and CSV cells."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from app import reports
from app.models import Store


def paris(day_start="04:00") -> Store:
    hours, minutes = map(int, day_start.split(":"))
    return Store(name="Bar", timezone="Europe/Paris", day_start_minutes=hours * 60 + minutes)


@pytest.mark.parametrize(
    "day, start, end, hours",
    [
        # Winter (UTC+1) all day long: 04:00 local is 03:00 UTC.
        (date(2026, 1, 15), datetime(2026, 1, 15, 3), datetime(2026, 1, 16, 3), 24),
        # Spring forward in the night of 28 to 29 March: the business day of the 28th is 23 h.
        (date(2026, 3, 28), datetime(2026, 3, 28, 3), datetime(2026, 3, 29, 2), 23),
        (date(2026, 3, 29), datetime(2026, 3, 29, 2), datetime(2026, 3, 30, 2), 24),
        # Fall back in the night of 24 to 25 October: the business day of the 24th is 25 h.
        (date(2026, 10, 24), datetime(2026, 10, 24, 2), datetime(2026, 10, 25, 3), 25),
        (date(2026, 10, 25), datetime(2026, 10, 25, 3), datetime(2026, 10, 26, 3), 24),
    ],
)
def test_business_day_bounds_in_store_time_across_clock_changes(day, start, end, hours):
    bounds = reports.day_bounds(paris(), day)

    assert bounds == (start, end)
    assert (end - start).total_seconds() == hours * 3600


def test_consecutive_business_days_leave_no_gap_and_no_overlap():
    store = paris()
    for day in (date(2026, 3, 28), date(2026, 10, 24)):
        assert (
            reports.day_bounds(store, day)[1]
            == reports.day_bounds(store, date.fromordinal(day.toordinal() + 1))[0]
        )


def test_a_day_starting_at_midnight_in_utc_is_the_calendar_day():
    store = Store(name="Shop", timezone="UTC", day_start_minutes=0)
    assert reports.day_bounds(store, date(2026, 3, 29)) == (
        datetime(2026, 3, 29),
        datetime(2026, 3, 30),
    )


@pytest.mark.parametrize(
    "opened_utc, day",
    [
        (datetime(2026, 3, 28, 0, 30), date(2026, 3, 27)),  # 01:30 local: the night before
        (datetime(2026, 3, 28, 2, 59), date(2026, 3, 27)),  # 03:59 local
        (datetime(2026, 3, 28, 3, 0), date(2026, 3, 28)),  # 04:00 local: a new day
        (datetime(2026, 3, 29, 1, 30), date(2026, 3, 28)),  # 03:30 CEST, after spring forward
        (datetime(2026, 3, 29, 2, 0), date(2026, 3, 29)),  # 04:00 CEST
        (datetime(2026, 10, 25, 1, 30), date(2026, 10, 24)),  # 02:30 CET, the hour repeated
        (datetime(2026, 10, 25, 3, 0), date(2026, 10, 25)),  # 04:00 CET
    ],
)
def test_a_session_belongs_to_the_business_day_it_was_opened_in(opened_utc, day):
    store = paris()
    assert reports.business_day(store, opened_utc) == day
    start, end = reports.day_bounds(store, day)
    assert start <= opened_utc < end


def test_a_range_of_business_days_runs_from_the_first_start_to_the_last_end():
    store = paris()
    assert reports.days_bounds(store, date(2026, 3, 27), date(2026, 3, 29)) == (
        reports.day_bounds(store, date(2026, 3, 27))[0],
        reports.day_bounds(store, date(2026, 3, 29))[1],
    )


@pytest.mark.parametrize(
    "name, cell",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Ana", "Ana"),
        ("Ana=Bea", "Ana=Bea"),
    ],
)
def test_a_text_cell_that_starts_like_a_formula_gets_a_leading_quote(name, cell):
    assert reports.text_cell(name) == cell


def figures(closed: bool, **money) -> reports.SessionFigures:
    """A session's figures: counted 10.00 and short by 0.50 once closed, nothing while open."""
    zero = Decimal("0.00")
    return reports.SessionFigures(
        id="s",
        cashier="Ana",
        opened_at=datetime(2026, 3, 28, 9),
        closed_at=datetime(2026, 3, 28, 17) if closed else None,
        **{name: money.get(name, zero) for name in reports.MONEY},
        drops=money.get("drops", zero),
        no_sales=0,
        closing_cash=Decimal("10.00") if closed else None,
        difference=Decimal("-0.50") if closed else None,
        forced=False,
        z_number=1 if closed else None,
        needs_approval=False,
        approved_by=None,
        approved_at=None,
        approval_note=None,
    )


def test_totals_of_open_sessions_only_have_no_count_and_no_difference():
    total = reports.Totals()
    total.add(figures(closed=False, expected_cash=Decimal("80.50")))

    assert (total.sessions, total.closed, total.open) == (1, 0, 1)
    assert total.sums["expected_cash"] == Decimal("80.50")
    assert total.sums["closing_cash"] is None and total.sums["difference"] is None

    total.add(figures(closed=True, expected_cash=Decimal("10.50")))
    assert (total.closed, total.open) == (1, 1)
    assert total.sums["closing_cash"] == Decimal("10.00")
    assert total.sums["difference"] == Decimal("-0.50")  # the open session counts for nothing
