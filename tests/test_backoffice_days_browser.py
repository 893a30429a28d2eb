"""The day report, the variance chart and the monthly and yearly closings in a real browser
(see tests/browsing.py): sessions made through the terminal API, the day's CSV downloaded
through the page's link."""

import csv
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import requests

from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PosSession, utcnow
from app.people import cashiers
from app.sessions import periods
from tests.browsing import SCREENSHOTS, SIZES, browser, server, sign_in  # noqa: F401  (fixtures)
from tests.helpers import CLOSE, CREATE, PASSWORD, movements_url

SHIFTS = [  # cashier, opening float, movements, counted, business days ago
    ("Ana Lopez", 150, [("sale", 98.5)], 246.5, 9),
    ("Ben Okafor", 100, [("sale", 45)], 145, 6),
    ("Ana Lopez", 150, [("sale", 120.3)], 262.3, 4),
    ("Ben Okafor", 100, [("sale", 61.2)], 162.7, 2),
    ("Ana Lopez", 150, [("sale", 312.4), ("refund", 12.1), ("pay_out", 20)], 430.25, 0),
    ("Ben Okafor", 100, [("sale", 88.8), ("pay_in", 50)], 240.8, 0),
    ("Ana Lopez", 200, [("sale", 1520.35)], 1715.35, 0),
]
TODAY = [shift for shift in SHIFTS if shift[-1] == 0]


def make_sessions(app, live, store, token):
    headers = {"Authorization": f"Bearer {token}", "x-store-id": store}
    with app.app_context():
        ids = {
            name: cashiers.create(UnitOfWork(), name, PASSWORD, store_id=store)
            for name in {name for name, *_ in SHIFTS}
        }
    for name, opening, moves, counted, days_ago in SHIFTS:
        body = {"profileId": ids[name], "openningCash": opening, "password": PASSWORD}
        opened = requests.post(live.url + CREATE, json=body, headers=headers, timeout=10)
        session_id = opened.json()["data"][0]["id"]
        for kind, amount in moves:
            url = live.url + movements_url(session_id)
            moved = requests.post(url, json={"type": kind, "amount": amount}, headers=headers)
            assert moved.status_code == 201
        body = {"profileId": ids[name], "closingCash": counted, "password": PASSWORD}
        assert requests.post(live.url + CLOSE, json=body, headers=headers).status_code == 200
        if days_ago:  # an earlier day's shift, for the chart
            with app.app_context():
                moved = db.session.get(PosSession, session_id)
                moved.created_at -= timedelta(days=days_ago)
                db.session.commit()


def test_day_report_csv_variance_chart_and_period_closings(
    app,
    browser,  # noqa: F811
    server,  # noqa: F811
    store,
    make_token,
    tmp_path,
    monkeypatch,
):
    make_sessions(app, server, store, make_token(store))
    requested, pages = [], {}
    for size, viewport in SIZES.items():
        page = browser.new_page(viewport=viewport, accept_downloads=True)
        page.on("request", lambda request: requested.append(request.url))
        sign_in(page, server.url)
        page.get_by_role("link", name="Day report").click()
        page.wait_for_url("**/days/20*")
        pages[size] = page

    desk = pages["1024"]
    assert desk.get_by_role("heading", name="The store").is_visible()
    with desk.expect_download() as download:
        desk.get_by_role("link", name="Download CSV").click()
    path = tmp_path / "day.csv"
    download.value.save_as(path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(TODAY)
    for column, shown in (
        ("expected_cash", "#total-expected"),
        ("closing_cash", "#total-counted"),
        ("difference", "#total-difference"),
    ):
        total = sum(Decimal(row[column]) for row in rows)
        assert desk.locator(shown).inner_text() == f"{total:,.2f} EUR"
    # Its fields write a day as the page does, and read it back so: no browser locale.
    shown = desk.get_by_label("Go to day").input_value()
    assert (
        shown
        == desk.get_by_label("First day").input_value()
        == desk.get_by_label("Last day").input_value()
    )
    assert re.fullmatch(r"\d\d? [A-Z][a-z]{2} \d{4}", shown)  # "3 Dec 2026", as in the lead
    assert desk.get_by_role("link", name="→").count() == 0  # no next day past today
    earlier = desk.get_by_role("link", name="←").get_attribute("href")
    desk.get_by_label("Go to day").fill("soon")
    desk.get_by_role("button", name="Show").click()
    desk.wait_for_load_state()
    assert "Enter a day as in 3 Dec 2026." in desk.locator(".day-pick").inner_text()
    desk.get_by_label("Go to day").fill(shown)
    desk.get_by_role("button", name="Show").click()
    desk.wait_for_url("**/days/20*")
    assert desk.get_by_role("link", name="←").get_attribute("href") == earlier
    for size, page in pages.items():
        page.screenshot(path=SCREENSHOTS / f"day-report-{size}.png", full_page=True)

    for size, page in pages.items():
        page.get_by_role("link", name="Variances").click()
        page.wait_for_url("**/variances")
        assert page.get_by_role("img", name="Closing differences of Ana Lopez").is_visible()
        page.screenshot(path=SCREENSHOTS / f"variances-{size}.png", full_page=True)

    # Ten weeks on, the month and the year of these Zs have ended, and the month after them
    # (without a Z): their closings, on their page.
    monkeypatch.setattr(periods, "utcnow", lambda: utcnow() + timedelta(days=70))
    with app.app_context():
        closed = periods.close_periods(UnitOfWork(), store, None, None, "Olga")
    assert (closed[0].kind, closed[0].number, closed[-1].kind) == ("month", 1, "year")
    for size, page in pages.items():
        page.goto(f"{server.url}/backoffice/stores/{store}/journal/periods")
        assert page.get_by_role("heading", name="Monthly and yearly closings").is_visible()
        page.screenshot(path=SCREENSHOTS / f"periods-{size}.png", full_page=True)

    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}
