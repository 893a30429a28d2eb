"""The accountant's download on the day page in a real browser (see tests/browsing.py): a day
of shifts made through the terminal API, the settings confirmed, the FEC downloaded, and the
export then listed as the current file."""

import hashlib
from urllib.parse import urlsplit

import requests

from app.accounting.settings import confirm_settings, save_settings
from app.machinery.database import UnitOfWork
from app.models import utcnow
from app.people import cashiers
from app.stores import add_tender
from tests.browsing import SCREENSHOTS, browser, server, sign_in  # noqa: F401  (fixtures)
from tests.helpers import CLOSE, CREATE, PASSWORD, movements_url

SHIFTS = [  # cashier, opening float, movements (type, amount, tender), counted cash
    ("Ana Lopez", 150, [("sale", 98.5, "cash"), ("sale", 42, "card"), ("drop", 80, "cash")], 168.5),
    ("Ben Okafor", 168.5, [("sale", 61.2, "cash"), ("refund", 5, "cash")], 224),
]


def make_day(app, live, store, token):
    headers = {"Authorization": f"Bearer {token}", "x-store-id": store}
    with app.app_context():
        add_tender(UnitOfWork(), store, code="card", kind="card", name="Card terminal")
        ids = {
            name: cashiers.create(UnitOfWork(), name, PASSWORD, store_id=store)
            for name in ("Ana Lopez", "Ben Okafor")
        }
        save_settings(UnitOfWork(), store, {"siren": "732829320"})
        confirm_settings(UnitOfWork(), store, "Olga")
    for name, opening, moves, counted in SHIFTS:
        body = {"profileId": ids[name], "openningCash": opening, "password": PASSWORD}
        opened = requests.post(live.url + CREATE, json=body, headers=headers, timeout=10)
        session_id = opened.json()["data"][0]["id"]
        for kind, amount, tender in moves:
            move = {"type": kind, "amount": amount, "tender": tender}
            if kind == "drop":
                move["reason"] = "to the safe"
            assert (
                requests.post(
                    live.url + movements_url(session_id), json=move, headers=headers
                ).status_code
                == 201
            )
        body = {"profileId": ids[name], "closingCash": counted, "password": PASSWORD}
        assert requests.post(live.url + CLOSE, json=body, headers=headers).status_code == 200


def test_the_day_page_downloads_the_fec_and_lists_it(
    app,
    browser,  # noqa: F811
    server,  # noqa: F811
    store,
    make_token,
    tmp_path,
):
    make_day(app, server, store, make_token(store))
    requested = []
    page = browser.new_page(viewport={"width": 1024, "height": 768}, accept_downloads=True)
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, server.url)
    page.get_by_role("link", name="Day report").click()
    page.wait_for_url("**/days/20*")
    page.get_by_label("Format").select_option("fec")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download for the accountant").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"732829320FEC{utcnow():%Y}1231.txt"  # its fiscal year's end
    assert path.read_text(encoding="iso8859_15").startswith("JournalCode\tJournalLib\tEcritur")
    page.reload()
    listed = page.locator("#accounting-exports")
    assert hashlib.sha256(path.read_bytes()).hexdigest() in listed.inner_text()
    assert "current" in listed.inner_text()
    section = page.locator("section[aria-labelledby=accountant]")
    section.screenshot(path=SCREENSHOTS / "accounting-export-1024.png")
    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}
