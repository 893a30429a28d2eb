"""The day report, its CSV, the CSV of a range and the variance chart, through the test client.

The sessions are made through the terminal API, so the figures compared are the API's own."""

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from app import reports
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PosSession, Store
from app.people import cashiers, managers
from app.sessions.service import force_close
from app.stores import update_store
from tests.helpers import PASSWORD, close_shift, move, open_shift, report, sign_in, text

# Every test here has the manager Olga of ``store``.
pytestmark = pytest.mark.usefixtures("manager")


@pytest.fixture
def bar(app, store):
    """A bar in Paris whose business day starts at 04:00, with two cashiers."""
    with app.app_context():
        update_store(
            UnitOfWork(), store, name="Night Bar", timezone="Europe/Paris", day_start_minutes=240
        )
        return {
            name: cashiers.create(UnitOfWork(), name, PASSWORD, store_id=store)
            for name in ("Ana", "=Bea")
        }


def shift(client, headers, profile, opening, moves, counted, close=True) -> str:
    session = open_shift(client, headers, profile, opening)["id"]
    for kind, amount in moves:
        assert move(client, headers, session, kind, amount).status_code == 201
    if close:
        close_shift(client, headers, profile, counted)
    return session


@pytest.fixture
def day_of_sessions(client, headers, bar):
    """Three sessions today: Ana short by 0.05, then over by 2; =Bea still open."""
    ana, bea = bar["Ana"], bar["=Bea"]
    ids = [
        shift(
            client, headers, ana, 150, [("sale", 12.34), ("refund", 2.1), ("pay_out", 5)], 155.19
        ),
        shift(client, headers, ana, 100, [("sale", 0.01), ("pay_in", 20)], 122.01),
        shift(client, headers, bea, 80.5, [("sale", 1000.99)], None, close=False),
    ]
    return ids


def today(app, store):
    with app.app_context():
        return reports.today(db.session.get(Store, store)).isoformat()


def day_url(store, day):
    return f"/backoffice/stores/{store}/days/{day}"


def html(response) -> str:
    return response.get_data(as_text=True)


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


API_FIELDS = {
    "opening_cash": "openingCash",
    "sales": "sales",
    "refunds": "refunds",
    "pay_ins": "payIns",
    "pay_outs": "payOuts",
    "expected_cash": "expectedCash",
    "closing_cash": "closingCash",
    "difference": "difference",
}


def test_day_csv_equals_the_api_session_reports_to_the_cent(
    app, client, headers, store, day_of_sessions
):
    sign_in(client)
    rows = read_csv(client.get(day_url(store, today(app, store)) + ".csv"))

    assert [row["session_id"] for row in rows] == day_of_sessions
    for row in rows:
        summary = report(client, headers, row["session_id"])["summary"]
        for column, key in API_FIELDS.items():
            expected = "" if summary[key] is None else f"{Decimal(str(summary[key])):.2f}"
            assert row[column] == expected, (column, row, summary)
    assert rows[0]["difference"] == "-0.05" and rows[1]["difference"] == "2.00"
    assert rows[0]["expected_cash"] == "155.24"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00", rows[0]["opened_at"])
    assert rows[2]["closed_at"] == "" and rows[2]["forced"] == "no"
    # A name that a spreadsheet would run as a formula comes out as text.
    assert rows[2]["cashier"] == "'=Bea"


def test_a_session_closed_by_force_counts_in_the_day_and_says_so_in_the_csv(
    app, client, store, day_of_sessions
):
    forgotten = day_of_sessions[2]  # =Bea's, still open
    with app.app_context():
        olga = managers.get("Olga")
        force_close(
            UnitOfWork(), store, forgotten, Decimal("1081.00"), "Left without closing", olga
        )
    sign_in(client)
    day = day_url(store, today(app, store))

    assert "Forced closes 1" in text(client.get(day)).split("By cashier", 1)[0]
    rows = {row["session_id"]: row for row in read_csv(client.get(day + ".csv"))}
    assert rows[forgotten]["forced"] == "yes"
    assert rows[forgotten]["closing_cash"] == "1081.00"
    assert rows[forgotten]["difference"] == "-0.49"  # expected 80.50 + 1000.99
    assert [row["forced"] for id_, row in rows.items() if id_ != forgotten] == ["no", "no"]


def test_day_page_shows_store_totals_then_cashiers_then_sessions(
    app, client, store, day_of_sessions
):
    sign_in(client)
    assert client.get("/backoffice/days/").location == f"/backoffice/stores/{store}/days/"
    assert client.get(f"/backoffice/stores/{store}/days/").location == day_url(
        store, today(app, store)
    )
    response = client.get(day_url(store, today(app, store)))
    page = text(response)

    assert response.status_code == 200
    assert page.count("Europe/Paris") == 1  # the zone is named once
    assert "Download CSV" in page
    store_part, rest = page.split("By cashier", 1)
    cashiers_part, sessions_part = rest.split("Sessions Cashier", 1)
    # Counted and difference add up the two closed sessions: 155.19 + 122.01; -0.05 + 2.00.
    assert "over by 1.95 EUR" in store_part
    assert "Counted cash 277.20 EUR" in store_part
    assert "Expected cash 1,356.74 EUR" in store_part  # 155.24 + 120.01 + 1081.49
    assert "Forced closes 0" in store_part
    assert "3 (1 still open)" in store_part
    assert cashiers_part.index("=Bea") < cashiers_part.index("Ana")
    assert "short by 0.05" in sessions_part and "over by 2.00" in sessions_part
    assert "Open" in sessions_part
    # Each time with its day (a night's shift crosses midnight), the year in the title.
    when = r"\d\d? [A-Z][a-z]{2} \d\d:\d\d"
    assert len(re.findall(rf"Ana {when} – {when}", sessions_part)) == 2


def test_an_open_session_has_no_count_and_no_difference_by_cashier_nor_in_the_csv(
    app, client, store, day_of_sessions
):
    sign_in(client)
    day = day_url(store, today(app, store))
    by_cashier = text(client.get(day)).split("By cashier", 1)[1].split("Sessions Cashier", 1)[0]
    bea = by_cashier.split("=Bea", 1)[1].split("Ana", 1)[0]  # =Bea's only session is open

    # Expected: what the drawer should hold now; counted and difference: none yet.
    assert bea.strip().startswith("1 (1 still open)")
    assert bea.strip().endswith("1,081.49 still open still open") and "even" not in bea
    rows = read_csv(client.get(day + ".csv"))
    assert (rows[2]["closed_at"], rows[2]["closing_cash"], rows[2]["difference"]) == ("", "", "")


def test_a_day_of_open_sessions_only_has_no_difference_yet(app, client, headers, store, bar):
    shift(client, headers, bar["Ana"], 100, [("sale", 5)], None, close=False)
    sign_in(client)
    store_part = text(client.get(day_url(store, today(app, store)))).split("By cashier", 1)[0]

    assert "No session closed yet: 1 still open" in store_part
    assert "Counted cash still open Difference still open" in store_part
    assert "even" not in store_part and "0.00 EUR" not in store_part.split("Expected cash")[1]


def test_a_session_opened_at_0130_belongs_to_the_previous_business_day(
    app, client, store, day_of_sessions
):
    # 01:30 in Paris on 12 March 2026 (UTC+1) is 00:30 UTC: business day 11 March.
    with app.app_context():
        db.session.execute(
            update(PosSession)
            .where(PosSession.id == day_of_sessions[0])
            .values(created_at=datetime(2026, 3, 12, 0, 30))
        )
        db.session.commit()
    sign_in(client)

    rows = read_csv(client.get(day_url(store, "2026-03-11") + ".csv"))
    assert [r["session_id"] for r in rows] == [day_of_sessions[0]]
    assert rows[0]["business_day"] == "2026-03-11"
    assert rows[0]["opened_at"] == "2026-03-12T01:30:00+01:00"
    assert read_csv(client.get(day_url(store, "2026-03-12") + ".csv")) == []
    assert "short by 0.05" in text(client.get(day_url(store, "2026-03-11")))


def test_csv_of_a_range_of_days(app, client, store, day_of_sessions):
    with app.app_context():
        db.session.execute(
            update(PosSession)
            .where(PosSession.id == day_of_sessions[0])
            .values(created_at=datetime(2026, 3, 29, 1, 30))  # 03:30 CEST: business day 28th
        )
        db.session.commit()
    sign_in(client)
    url = f"/backoffice/stores/{store}/sessions.csv"
    now = today(app, store)

    everything = read_csv(client.get(url, query_string={"from": "2026-03-28", "to": now}))
    assert [r["session_id"] for r in everything] == day_of_sessions
    only_28 = read_csv(client.get(url, query_string={"from": "2026-03-28", "to": "2026-03-28"}))
    assert [r["session_id"] for r in only_28] == day_of_sessions[:1]
    assert read_csv(client.get(url, query_string={"from": "2026-03-29", "to": "2026-03-30"})) == []
    response = client.get(url, query_string={"from": "2026-03-28", "to": now})
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="sessions-2026-03-28-to-{now}.csv"'
    )
    # The short address leads to the store in use, the query kept.
    short = client.get("/backoffice/sessions.csv?from=2026-03-28&to=2026-03-29")
    assert short.location == url + "?from=2026-03-28&to=2026-03-29"


@pytest.mark.parametrize(
    "query, message",
    [
        ({"from": "2026-03-28", "to": "2026-03-27"}, "The last day comes before the first."),
        ({"from": "yesterday", "to": "2026-03-27"}, "Enter the first day, as in 3 Dec 2026."),
        ({"from": "2026-03-28"}, "Enter the last day, as in 3 Dec 2026."),
        ({"from": "28 Mar 2026", "to": "27/03/2026"}, "Enter the last day, as in 3 Dec 2026."),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "At most 366 days at a time."),
    ],
)
def test_a_bad_range_is_shown_next_to_the_form(client, store, query, message):
    sign_in(client)
    response = client.get(f"/backoffice/stores/{store}/sessions.csv", query_string=query)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert message in text(response)


@pytest.mark.parametrize(
    "day",
    ["2026-02-30", "2026-13-01", "20260329", "today", "0001-01-01", "9999-12-31", "2026-3-29"],
)
def test_bad_dates_are_not_found(client, store, day):
    sign_in(client)
    assert client.get(day_url(store, day)).status_code == 404
    assert client.get(day_url(store, day) + ".csv").status_code == 404


def test_a_bad_date_in_the_picker_is_shown_on_the_page(client, store):
    sign_in(client)
    response = client.get(f"/backoffice/stores/{store}/days/", query_string={"day": "soon"})
    assert response.status_code == 400
    assert "Enter a day as in 3 Dec 2026." in text(response)
    assert 'id="day" name="day" type="text" value="soon" aria-invalid="true"' in html(response)
    for typed in ("2026-03-29", "29 Mar 2026", "29 march 2026"):
        picked = client.get(f"/backoffice/stores/{store}/days/", query_string={"day": typed})
        assert picked.location == day_url(store, "2026-03-29"), typed


def test_the_day_filters_write_days_as_the_rest_of_the_page(client, store, bar):
    """Text fields in the page's own "29 Mar 2026", not the browser's locale (03/29/2026)."""
    sign_in(client)
    page = html(client.get(day_url(store, "2026-03-29")))

    for field in ("day", "range-from", "range-to"):
        assert (
            f'id="{field}" name="{field.removeprefix("range-")}" type="text" value="29 Mar 2026"'
            in page
        )
    assert 'type="date"' not in page
    assert "Day report: Sunday 29 March 2026" in page
    url = f"/backoffice/stores/{store}/sessions.csv"
    rows = read_csv(client.get(url, query_string={"from": "28 Mar 2026", "to": "29 Mar 2026"}))
    assert rows == []


def test_no_next_day_link_past_today_in_store_time(app, client, store, bar):
    sign_in(client)
    now = date.fromisoformat(today(app, store))
    tomorrow = day_url(store, (now + timedelta(days=1)).isoformat())

    on_today = html(client.get(day_url(store, now.isoformat())))
    assert f'href="{tomorrow}"' not in on_today and 'rel="next"' not in on_today
    assert f'href="{day_url(store, (now - timedelta(days=1)).isoformat())}" rel="prev"' in on_today
    yesterday = html(client.get(day_url(store, (now - timedelta(days=1)).isoformat())))
    assert f'href="{day_url(store, now.isoformat())}" rel="next"' in yesterday


def test_an_empty_day_says_so(client, store, bar):
    sign_in(client)
    page = text(client.get(day_url(store, "2026-03-29")))

    assert "No session on this day." in page
    assert "Sat 28 Mar" in page and "Mon 30 Mar" in page  # previous and next day
    assert "Sessions opened from 29 Mar 04:00 to 30 Mar 04:00, Europe/Paris time." in page


def test_a_manager_of_store_a_gets_nothing_of_store_b(
    app, client, store, make_store, make_profile, make_token
):
    other = make_store("Other")
    bob = make_profile(other, "bob")
    their_headers = {"Authorization": f"Bearer {make_token(other)}", "x-store-id": other}
    shift(client, their_headers, bob, 10, [("sale", 5)], 15)
    sign_in(client)
    day = today(app, other)

    for url in (
        f"/backoffice/stores/{other}/days/",
        day_url(other, day),
        day_url(other, day) + ".csv",
        f"/backoffice/stores/{other}/sessions.csv?from={day}&to={day}",
        f"/backoffice/stores/{other}/variances",
    ):
        assert client.get(url).status_code == 404, url
    # Our own store's reports leave theirs out.
    assert read_csv(client.get(day_url(store, day) + ".csv")) == []
    assert "bob" not in text(client.get(f"/backoffice/stores/{store}/variances"))


def test_reports_need_a_sign_in(client, store):
    for url in (day_url(store, "2026-03-29"), "/backoffice/days/", "/backoffice/variances"):
        assert client.get(url).location.startswith("/backoffice/login")


def test_variance_chart_shows_shorts_below_and_overs_above_the_line(
    app, client, store, day_of_sessions
):
    # Ana's short session moves to a week ago: two bars, one each side of the zero line.
    with app.app_context():
        week_ago = db.session.get(PosSession, day_of_sessions[0]).created_at - timedelta(days=7)
        db.session.execute(
            update(PosSession)
            .where(PosSession.id == day_of_sessions[0])
            .values(created_at=week_ago)
        )
        db.session.commit()
    sign_in(client)
    assert client.get("/backoffice/variances").location == f"/backoffice/stores/{store}/variances"
    response = client.get(f"/backoffice/stores/{store}/variances")
    html = response.get_data(as_text=True)
    page = re.sub(r" ([;.,])", r"\1", text(response))  # no space left by a closing tag

    assert response.status_code == 200
    assert html.count("<svg") == 1  # =Bea has no closed session, so no chart
    assert 'role="img"' in html and "<title id=" in html and "<desc id=" in html
    assert "Closing differences of Ana, last 30 business days" in page
    assert "Short 1 time, -0.05 EUR; over 1 time, +2.00 EUR. Net: over by 1.95 EUR." in page
    bars = re.findall(
        r'<rect class="bar bar-(\w+)" x="[\d.]+" y="([\d.]+)" [^>]*height="([\d.]+)"', html
    )
    assert sorted(kind for kind, _, _ in bars) == ["over", "short"]
    for kind, y, height in bars:
        if kind == "short":
            assert float(y) == 40  # hangs from the zero line
        else:
            assert float(y) + float(height) == 40 and float(height) == 40  # the tallest bar
    # The figures, one click away: a table under the chart, each day linking to its report.
    assert 'href="#figures"' in html and 'id="figures"' in html
    assert "short by 0.05 EUR" in page and "over by 2.00 EUR" in page


def test_variance_page_without_closed_sessions_says_what_to_expect(client, store):
    sign_in(client)
    page = text(client.get(f"/backoffice/stores/{store}/variances"))
    assert "No closed session in the last 30 business days." in page


def test_day_report_reads_every_session_in_two_queries(app, store, day_of_sessions, sql_log):
    with app.app_context():
        shop = db.session.get(Store, store)
        sql_log.clear()
        day = reports.day_report(shop, reports.today(shop))
    assert len(day.sessions) == 3
    # The sessions with their figures, then the same figures by attendant: however many.
    assert len([s for s in sql_log if s.startswith("SELECT")]) == 2
