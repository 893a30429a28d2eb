"""Monthly and yearly closings: in store time, numbered per store and kind, summed from the
period's Z closings, journaled, refused twice or before the period ends, checked by verify."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import journal, reports
from app.api.auth import issue_token
from app.exceptions import PeriodAlreadyClosed, PeriodNotEnded, PeriodWithoutZ
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PeriodClosing, utcnow
from app.sessions import periods, service
from tests.helpers import (
    REQUESTS,
    LiveServer,
    close_shift,
    fire_together,
    move,
    movements_url,
    open_shift,
    sign_in,
    sqlite_only,
    text,
)
from tests.journaling import a_day, ended_periods, instance  # noqa: F401  (a fixture)
from tests.test_journal import (  # noqa: F401  (tamper: a fixture)
    box_at_0003_with_history,
    entries,
    failure,
    tamper,
    verify,
)

pytestmark = pytest.mark.usefixtures("instance")

PARIS = SimpleNamespace(timezone="Europe/Paris", day_start_minutes=4 * 60)


def test_a_month_ends_at_the_business_day_start_in_store_time_across_dst():
    # 2026-03-01 02:30 in Paris (CET, UTC+1) is still 28 February's business day.
    assert reports.period_of(PARIS, "month", datetime(2026, 3, 1, 1, 30)) == "2026-02"
    assert reports.period_of(PARIS, "month", datetime(2026, 3, 1, 3, 0)) == "2026-03"
    # March starts at 04:00 CET (03:00 UTC) and ends at 04:00 CEST (02:00 UTC) on 1 April.
    start, end = reports.period_bounds(PARIS, "month", "2026-03")
    assert (start, end) == (datetime(2026, 3, 1, 3), datetime(2026, 4, 1, 2))
    assert reports.period_of(PARIS, "month", datetime(2026, 4, 1, 1, 59)) == "2026-03"
    # The year 2026 ends at 04:00 on 1 January 2027: a Z at 03:00 that night is 2026's.
    assert reports.period_bounds(PARIS, "year", "2026") == (
        datetime(2026, 1, 1, 3),
        datetime(2027, 1, 1, 3),
    )
    assert reports.period_of(PARIS, "year", datetime(2027, 1, 1, 2)) == "2026"
    assert reports.period_bounds(PARIS, "month", "2026-12")[1] == datetime(2027, 1, 1, 3)


@pytest.fixture
def later(monkeypatch):
    """The rule's clock, 400 days on: this month and year have ended."""
    monkeypatch.setattr(periods, "utcnow", lambda: utcnow() + timedelta(days=400))


def two_days(client, headers, profile) -> None:
    a_day(client, headers, profile)  # Z 1: sales 12.50, refunds 2.00, pay-outs 20.25
    a_day(client, headers, profile)  # Z 2


def numbered(since: datetime, by: datetime) -> list[tuple[str, str, int]]:
    """Each period ended since ``since`` (``ended_periods``), numbered as closing them all in
    one run numbers them: 1, 2, 3... per kind."""
    counted, found = Counter(), []
    for kind, period in ended_periods(since, by):
        counted[kind] += 1
        found.append((kind, period, counted[kind]))
    return found


@pytest.mark.usefixtures("later")
def test_the_rule_sums_the_period_s_zs_and_journals_it(app, client, headers, profile, store):
    two_days(client, headers, profile)
    month = f"{utcnow():%Y-%m}"  # the store's zone is UTC
    with app.app_context():
        [closing] = periods.close_periods(UnitOfWork(), store, "month", month, "bob")
        assert (closing.number, closing.first_z, closing.last_z) == (1, 1, 2)
        figures = (closing.sales, closing.refunds, closing.pay_outs, closing.grand_sales)
        assert figures == (Decimal("25.00"), Decimal("4.00"), Decimal("40.50"), Decimal("25"))
        with pytest.raises(PeriodAlreadyClosed):
            periods.close_periods(UnitOfWork(), store, "month", month, "bob")
        with pytest.raises(PeriodWithoutZ):  # before the store's first Z
            periods.close_periods(UnitOfWork(), store, "month", "2001-01", "bob")
        # Default: every period ended since the first Z not closed yet: the year, and those
        # after, which had no Z.
        made = periods.close_periods(UnitOfWork(), store, None, None, "bob")
        ended = ended_periods(utcnow(), periods.utcnow())
        assert [(c.kind, c.period) for c in made] == ended[1:]
        year = next(c for c in made if c.kind == "year")
        assert (year.period, year.number, year.sales) == (month[:4], 1, Decimal("25.00"))
        assert periods.close_periods(UnitOfWork(), store, None, None, "bob") == []
    closed = [e["data"] for e in entries(client, headers) if e["kind"] == "period_closed"]
    assert [(c["kind"], c["period"]) for c in closed] == ended
    assert closed[-1]["grandTotals"]["sales"] == "25.00"  # carried by those without a Z


@pytest.mark.usefixtures("later")
def test_a_period_another_run_closed_meanwhile_is_refused_as_closed(
    app, client, headers, profile, store, monkeypatch
):
    """Two runs at once on PostgreSQL both read the month as open; the unique key stops the
    second, which answers as for a period closed already. Played here by closing it twice in
    one run."""
    two_days(client, headers, profile)
    month = f"{utcnow():%Y-%m}"
    close = periods._close

    def raced(tx, *args):
        close(tx, *args)  # the other run's closing
        return close(tx, *args)

    monkeypatch.setattr(periods, "_close", raced)
    with app.app_context():
        with pytest.raises(PeriodAlreadyClosed):
            periods.close_periods(UnitOfWork(), store, "month", month, "bob")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PeriodClosing)) == 0


def test_a_period_not_ended_is_refused(app, client, headers, profile, store):
    a_day(client, headers, profile)
    month = f"{utcnow():%Y-%m}"
    with app.app_context(), pytest.raises(PeriodNotEnded):
        periods.close_periods(UnitOfWork(), store, "month", month, "bob")


def test_the_cli_closes_every_ended_period_once(app, client, headers, profile, store, runner):
    two_days(client, headers, profile)
    month = f"{utcnow():%Y-%m}"
    refused = runner.invoke(args=["period", "close", "--store", store, "--month", month])
    assert refused.exit_code == 1
    assert "This period has not ended yet." in refused.output
    assert runner.invoke(args=["period", "close", "--store", store, "--month", "13"]).exit_code == 2

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(periods, "utcnow", lambda: utcnow() + timedelta(days=400))
        done = runner.invoke(args=["period", "close", "--store", store])
        assert done.exit_code == 0, done.output
        made = numbered(utcnow(), periods.utcnow())
        assert made[0] == ("month", month, 1)
        assert done.stdout == "".join(f"{kind} {period} {n}\n" for kind, period, n in made)
        again = runner.invoke(args=["period", "close", "--store", store, "--year", month[:4]])
        assert again.exit_code == 1
        assert "This period is closed already." in again.output
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"{10 + len(made)} entries" in result.stdout
    with app.app_context():
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.update(PeriodClosing).values(sales=0))
        db.session.rollback()


@sqlite_only
@pytest.mark.usefixtures("later")
def test_verify_finds_a_period_that_is_not_the_sum_of_its_zs(
    app,
    client,
    headers,
    profile,
    store,
    runner,
    tamper,  # noqa: F811
):
    two_days(client, headers, profile)
    with app.app_context():
        periods.close_periods(UnitOfWork(), store, None, None, "bob")
    tamper("UPDATE period_closing SET sales = sales + 100 WHERE kind = 'month'")
    assert "period_closing row" in failure(runner, store)  # its entry says otherwise
    with app.app_context():
        [problem] = journal.period_problems(db.session.connection(), store)
    month = f"{utcnow():%Y-%m}"
    assert str(problem) == (
        f"store {store}: month {month} (period closing 1): sales is 26.00, not 25.00 "
        "(the sum of its Z closings)"
    )


def zs_in_january_and_march(client, headers, profile) -> str:
    """Z 1 on 20 January 2026, Z 2 on 3 March 2026, each a sale of 10.00; none in February.
    Returns Z 1's session."""
    sessions = []
    for at in (datetime(2026, 1, 20, 18), datetime(2026, 3, 3, 18)):
        sessions.append(open_shift(client, headers, profile, cash=100)["id"])
        assert move(client, headers, sessions[-1], "sale", 10).status_code == 201
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(service, "utcnow", lambda at=at: at)
            close_shift(client, headers, profile, cash=110)
    return sessions[0]


@pytest.mark.usefixtures("manager")
def test_a_month_and_a_year_without_a_z_are_closed_in_their_place_with_zero_totals(
    app, client, headers, profile, store, runner, monkeypatch
):
    """Every month and year from the store's first Z on has its closing, numbered in order, so
    an inspector sees no gap: one without a Z sums none (zero), its Z range empty and its
    grand totals carried from the Z before it; refused twice and verified as any other."""
    first_session = zs_in_january_and_march(client, headers, profile)
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2026, 4, 15))
    with app.app_context():
        made = periods.close_periods(UnitOfWork(), store, None, None, "bob")
        assert [
            (c.period, c.number, c.first_z, c.last_z, c.sales, c.grand_sales) for c in made
        ] == [
            ("2026-01", 1, 1, 1, 10, 10),
            ("2026-02", 2, 2, 1, 0, 10),
            ("2026-03", 3, 2, 2, 10, 20),
        ]
        # Each is dated by the clock that found its period ended, never before that end.
        assert {c.created_at for c in made} == {datetime(2026, 4, 15)}
        with pytest.raises(PeriodAlreadyClosed):
            periods.close_periods(UnitOfWork(), store, "month", "2026-02", "bob")
    february = [e for e in entries(client, headers) if e["kind"] == "period_closed"][1]
    assert february["sessionId"] == first_session  # Z 1's, whose grand totals it carries
    data = february["data"]
    assert (data["firstZ"], data["lastZ"], data["sales"], data["refunds"]) == (2, 1, "0.00", "0.00")
    assert (data["drops"], data["noSales"], data["tenders"]) == ("0.00", 0, {})
    assert data["grandTotals"]["sales"] == "10.00"
    result = verify(runner)
    assert result.exit_code == 0, result.output
    sign_in(client)
    listed = text(client.get(f"/backoffice/stores/{store}/journal/periods"))
    assert "month 2 2026-02 none 0.00" in listed
    closing_id = db_closing(app, "month", "2026-02").id
    page = text(client.get(f"/backoffice/stores/{store}/journal/periods/{closing_id}"))
    assert "Month closing 2 of this store: no Z closing was made from" in page

    # 2027 had no Z: its year closes after 2026's, with every month from April 2026 on.
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2028, 1, 2))
    with app.app_context():
        made = periods.close_periods(UnitOfWork(), store, None, None, "bob")
    years = [(c.period, c.number, c.first_z, c.last_z, c.sales, c.grand_sales) for c in made[-2:]]
    assert years == [("2026", 1, 1, 2, 20, 20), ("2027", 2, 3, 2, 0, 20)]
    assert [(c.kind, c.number) for c in made[:-2]] == [("month", n) for n in range(4, 25)]
    result = verify(runner)
    assert result.exit_code == 0, result.output


@sqlite_only
@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            "UPDATE period_closing SET sales = 100 WHERE period = '2026-02'",
            "sales is 1.00, not 0.00 (the sum of its Z closings)",
        ),
        (  # Z 2 moved into February
            "UPDATE pos_closing SET created_at = '2026-02-10 18:00:00.000000' WHERE z_number = 2",
            "no Z, but its period holds Z 2 to 2",
        ),
    ],
)
def test_verify_finds_a_month_without_a_z_that_is_not_the_sum_of_none(
    app,
    client,
    headers,
    profile,
    store,
    runner,
    monkeypatch,
    tamper,  # noqa: F811
    change,
    said,
):
    zs_in_january_and_march(client, headers, profile)
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2026, 4, 15))
    with app.app_context():
        periods.close_periods(UnitOfWork(), store, None, None, "bob")
    tamper(change)
    with app.app_context():
        [problem] = journal.period_problems(db.session.connection(), store)
    assert str(problem) == f"store {store}: month 2026-02 (period closing 2): {said}"


def a_day_with_a_card(client, headers, profile, runner, store) -> None:
    """Z 1: a card sale counted short, a drop, a no-sale, the cash 2.50 short; Z 2: a card
    sale not counted and a no-sale, the cash even."""
    add_card = runner.invoke(args=["store", "tender", "add", store, "card", "Card"])
    assert add_card.exit_code == 0, add_card.output
    first = open_shift(client, headers, profile, cash=150)["id"]
    for kind, amount, extra in (
        ("sale", 12.5, {}),
        ("sale", 40, {"tender": "card"}),
        ("drop", 30, {"reason": "safe"}),
        ("no_sale", 0, {"reason": "change"}),
    ):
        assert move(client, headers, first, kind, amount, **extra).status_code == 201
    close_shift(client, headers, profile, cash=130, countedTenders={"card": 39.5})
    second = open_shift(client, headers, profile, cash=100)["id"]
    assert move(client, headers, second, "sale", 10, tender="card").status_code == 201
    assert move(client, headers, second, "no_sale", 0, reason="change").status_code == 201
    close_shift(client, headers, profile, cash=100)


TENDERS = {
    "card": {"expected": "50.00", "counted": "39.50", "difference": "-0.50"},
    "cash": {"expected": "232.50", "counted": "230.00", "difference": "-2.50"},
}


@pytest.mark.usefixtures("later")
def test_a_period_carries_its_drawer_events_and_tenders_summed_from_its_zs(
    app, client, headers, profile, store, runner
):
    a_day_with_a_card(client, headers, profile, runner, store)
    with app.app_context():
        month = periods.close_periods(UnitOfWork(), store, None, None, "bob")[0]
    assert (month.sales, month.drops, month.no_sales) == (Decimal("12.50"), Decimal(30), 2)
    # The card counted in one Z of two: counted and difference are that Z's, not zero.
    assert month.tenders == TENDERS
    data = entries(client, headers)[-2]["data"]
    assert (data["drops"], data["noSales"], data["tenders"]) == ("30.00", 2, TENDERS)
    result = verify(runner)
    assert result.exit_code == 0, result.output


@sqlite_only
@pytest.mark.usefixtures("later")
@pytest.mark.parametrize(
    "change, message",
    [
        ("drops = drops + 100", "drops is 31.00, not 30.00"),
        ("no_sales = 3", "noSales is 3, not 2"),
        (
            "tenders = replace(tenders, '\"39.50\"', '\"49.50\"')",
            "tender card counted is 49.50, not 39.50",
        ),
    ],
)
def test_verify_finds_a_period_figure_that_is_not_its_zs(
    app,
    client,
    headers,
    profile,
    store,
    runner,
    tamper,  # noqa: F811
    change,
    message,
):
    a_day_with_a_card(client, headers, profile, runner, store)
    with app.app_context():
        periods.close_periods(UnitOfWork(), store, "month", f"{utcnow():%Y-%m}", "bob")
    tamper(f"UPDATE period_closing SET {change}")
    assert "period_closing row" in failure(runner, store)  # its entry says otherwise
    with app.app_context():
        [problem] = journal.period_problems(db.session.connection(), store)
    assert f"{message} (the sum of its Z closings)" in str(problem)


@pytest.mark.usefixtures("later")
def test_the_page_lists_the_store_s_period_closings(app, client, headers, profile, store, manager):
    sign_in(client)
    page = client.get(f"/backoffice/stores/{store}/journal/periods")
    assert page.status_code == 200
    assert "No period closed yet" in page.get_data(as_text=True)
    two_days(client, headers, profile)
    with app.app_context():
        periods.close_periods(UnitOfWork(), store, None, None, "bob")
    shown = text(client.get(f"/backoffice/stores/{store}/journal/periods"))
    assert f"month 1 {utcnow():%Y-%m} 1–2 25.00" in shown
    assert f"year 1 {utcnow():%Y} 1–2 25.00" in shown
    html = client.get(f"/backoffice/stores/{store}/journal/periods").get_data(as_text=True)
    month = db_closing(app, "month")
    assert (
        f'<a href="/backoffice/stores/{store}/journal/periods/{month.id}">{month.period}</a>'
        in html
    )


def db_closing(app, kind, period=None) -> PeriodClosing:
    """The closing of ``period``, or the first of ``kind``."""
    with app.app_context():
        found = sa.select(PeriodClosing).where(PeriodClosing.kind == kind)
        if period is not None:
            found = found.where(PeriodClosing.period == period)
        return db.session.scalar(found.order_by(PeriodClosing.number))


@pytest.mark.usefixtures("later", "manager")
def test_a_period_s_page_shows_its_figures_per_type_and_tender_and_prints(
    app, client, headers, profile, store, runner
):
    a_day_with_a_card(client, headers, profile, runner, store)
    with app.app_context():
        periods.close_periods(UnitOfWork(), store, None, None, "bob")
    month = db_closing(app, "month")
    sign_in(client)
    page = client.get(f"/backoffice/stores/{store}/journal/periods/{month.id}")
    assert page.status_code == 200
    shown = text(page)
    assert f"Monthly closing {month.period}" in shown
    assert "Month closing 1 of this store: Z 1 to Z 2" in shown
    assert "Drops to the safe 30.00 EUR No-sale openings 2" in shown
    # Per tender by its name, cash first; the card counted in one Z of two.
    assert "Cash 232.50 EUR 230.00 EUR short by 2.50 EUR Card 50.00 EUR 39.50 EUR" in shown
    html = page.get_data(as_text=True)
    assert '<p class="print-only store-name">Main Street</p>' in html
    assert '<p class="signature print-only">' in html
    other = client.get(f"/backoffice/stores/{store}/journal/periods/nosuchclosing")
    assert other.status_code == 404


def test_the_migration_upgrades_a_box_with_history_whose_periods_then_close(app, runner):
    with app.app_context():
        box_at_0003_with_history("0" * 22)
        upgrade()
    store_id = "st" + "0" * 22
    done = runner.invoke(args=["period", "close", "--store", store_id])
    assert done.exit_code == 0, done.output
    # From the month of the imported Z of 2025-01-01 on, each month and year since.
    made = numbered(datetime(2025, 1, 1), utcnow())
    assert made[0] == ("month", "2025-01", 1) and ("year", "2025", 1) in made
    assert done.stdout == "".join(f"{kind} {period} {n}\n" for kind, period, n in made)
    result = verify(runner)
    assert result.exit_code == 0, result.output


# Recorded by the first request or command run after the period's end


@pytest.fixture
def clock(monkeypatch):
    """The period rule's clock, and the one a request's look is due by, moved on by the test."""
    now = [utcnow()]
    monkeypatch.setattr(periods, "utcnow", lambda: now[0])
    monkeypatch.setattr(periods, "seconds", lambda: now[0].replace(tzinfo=UTC).timestamp())
    return now


def closings(app) -> list[tuple]:
    with app.app_context():
        found = db.session.execute(
            sa.select(PeriodClosing.kind, PeriodClosing.number, PeriodClosing.closed_by)
        )
        return sorted(found)


def all_closed(since: datetime, by: datetime) -> list[tuple]:
    """``closings`` once every period ended by ``by`` since ``since`` was closed on the way."""
    return sorted((kind, n, "automatic") for kind, _period, n in numbered(since, by))


def test_the_first_request_after_a_period_s_end_closes_it_before_its_answer(
    app, client, headers, profile, store, clock, sql_log
):
    two_days(client, headers, profile)  # the first request looked: nothing had ended
    clock[0] += timedelta(days=400)
    found = entries(client, headers)
    closed = all_closed(utcnow(), clock[0])
    assert [(e["kind"], e["data"]["by"]) for e in found[-len(closed) :]] == [
        ("period_closed", "automatic")
    ] * len(closed)
    assert closings(app) == closed
    # Until the end of this month the worker does not look again: no statement about it.
    sql_log.clear()
    entries(client, headers)
    assert not any("PERIOD_CLOSING" in statement for statement in sql_log)
    # After it, it looks, and closes the month ended since (without a Z).
    clock[0] += timedelta(days=32)
    entries(client, headers)
    assert closings(app) == all_closed(utcnow(), clock[0])
    # A worker's first look (after a restart) reads, and writes nothing: nothing new has ended.
    with app.app_context():
        periods._next_look[db.engine].clear()
    sql_log.clear()
    entries(client, headers)
    assert any("PERIOD_CLOSING" in statement for statement in sql_log)
    assert "BEGIN IMMEDIATE" not in sql_log
    assert closings(app) == all_closed(utcnow(), clock[0])


def test_a_failure_to_close_is_logged_and_the_cashier_s_request_goes_on(
    app, client, headers, profile, store, clock, monkeypatch, caplog
):
    two_days(client, headers, profile)
    clock[0] += timedelta(days=400)
    close = periods.close_periods
    tries = []

    def broken(*args):
        tries.append(args)
        raise RuntimeError("disk full")

    monkeypatch.setattr(periods, "close_periods", broken)
    session_id = open_shift(client, headers, profile)["id"]
    assert "its ended periods could not be closed; again in a minute" in caplog.text
    assert "disk full" in caplog.text
    assert move(client, headers, session_id, "sale", 5).status_code == 201
    assert len(tries) == 1  # not every request's: again a minute later
    monkeypatch.setattr(periods, "close_periods", close)
    clock[0] += periods.RETRY
    close_shift(client, headers, profile)
    assert closings(app) == all_closed(utcnow(), clock[0])


@pytest.mark.usefixtures("manager")
def test_the_back_office_closes_it_before_the_page(app, client, headers, profile, store, clock):
    two_days(client, headers, profile)
    clock[0] += timedelta(days=400)
    sign_in(client)
    shown = text(client.get(f"/backoffice/stores/{store}/journal/periods"))
    assert "month 1 " in shown and "year 1 " in shown
    assert closings(app) == all_closed(utcnow(), clock[0])


def test_a_command_for_the_store_closes_it(app, client, headers, profile, store, runner, clock):
    two_days(client, headers, profile)
    clock[0] += timedelta(days=400)
    result = runner.invoke(args=["report", "day", "--store", store])
    assert result.exit_code == 0, result.output
    assert closings(app) == all_closed(utcnow(), clock[0])


def test_a_look_that_read_before_another_worker_s_close_closes_nothing_more(
    app, client, headers, profile, store, clock, monkeypatch
):
    two_days(client, headers, profile)
    clock[0] += timedelta(days=400)
    monkeypatch.setattr(periods, "_left_out", lambda *_: True)  # as both workers read it
    with app.app_context():
        for _worker in range(2):
            periods._close_left_out(store, clock[0])
    assert closings(app) == all_closed(utcnow(), clock[0])


def test_a_close_another_worker_made_first_is_no_failure_and_no_retry(
    app, client, headers, profile, store, clock, monkeypatch, caplog
):
    """On PostgreSQL a second worker's close meets the first's unique key and is rolled back,
    the store it read with it: the request goes on, nothing is logged as a failure, and the
    worker looks again at the end of the month, not a minute later."""
    two_days(client, headers, profile)
    clock[0] += timedelta(days=400)

    def beaten(uow, *_):
        with uow:  # as close_periods meets the unique key: the failed flush rolled back
            uow.session.rollback()  # and expired what the session had read
            raise PeriodAlreadyClosed()

    monkeypatch.setattr(periods, "close_periods", beaten)
    session_id = open_shift(client, headers, profile)["id"]
    assert move(client, headers, session_id, "sale", 5).status_code == 201
    assert "could not be closed" not in caplog.text
    with app.app_context():
        look = periods._next_look[db.engine][store]
        month_end = reports.period_bounds(
            SimpleNamespace(timezone="UTC", day_start_minutes=0), "month", f"{clock[0]:%Y-%m}"
        )[1]
    assert look == month_end.replace(tzinfo=UTC).timestamp()


def test_first_requests_through_four_workers_at_once_close_each_period_once(app, tmp_path):
    """A box whose last Z is of January 2025, upgraded: fifty requests at once, through four
    gunicorn workers each looking for the first time, record each month and year since once."""
    with app.app_context():
        box_at_0003_with_history("0" * 22)
        upgrade()
        store_id = "st" + "0" * 22
        token = issue_token([store_id], "t", 1)
    headers = {"Authorization": f"Bearer {token}", "x-store-id": store_id}
    server = LiveServer(app, tmp_path / "gunicorn.log")
    try:
        url = server.url + movements_url("nosuchsession")
        responses = fire_together(url, headers, [{"type": "sale", "amount": 1}] * REQUESTS)
        log = server.log()
    finally:
        server.stop()
    assert {r.status_code for r in responses} == {404}  # each went on to its own answer
    closed = all_closed(datetime(2025, 1, 1), utcnow())
    assert closings(app) == closed
    assert log.count("closed, number ") == len(closed), log
    assert "could not be closed" not in log


def test_a_month_boundary_in_paris_after_the_clocks_went_forward(
    app, client, headers, profile, make_profile, store, runner, monkeypatch
):
    """March 2026 in Paris, days from 04:00: from 03:00 UTC on 1 March (CET) to 02:00 UTC on
    1 April (CEST, since 29 March). A Z a millisecond before the end is March's, one at it
    April's; the year holds both."""
    done = runner.invoke(
        args=["store", "set", store, "--timezone", "Europe/Paris", "--day-start", "04:00"]
    )
    assert done.exit_code == 0, done.output
    monkeypatch.setattr(periods, "utcnow", lambda: utcnow() + timedelta(days=400))
    end = datetime(2026, 4, 1, 2)
    for at in (end - timedelta(milliseconds=1), end):
        open_shift(client, headers, profile, cash=100)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(service, "utcnow", lambda at=at: at)
            close_shift(client, headers, profile, cash=100)
    with app.app_context():
        made = periods.close_periods(UnitOfWork(), store, None, None, "bob")
    shown = [(p.kind, p.period, p.first_z, p.last_z) for p in made]
    assert shown[:3] == [
        ("month", "2026-03", 1, 1),
        ("month", "2026-04", 2, 2),
        ("month", "2026-05", 3, 2),  # no Z: none of them
    ]
    assert ("year", "2026", 1, 2) in shown
    result = verify(runner)
    assert result.exit_code == 0, result.output
