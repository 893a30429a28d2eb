"""Issue 11's story in chromium against gunicorn (see tests/browsing.py), in order: sign in, add
a cashier, open a session for it through the terminal API and see the board follow without a
reload, move cash, force-close the forgotten session from its page (counted by note and coin,
added up as it is typed), read the Z-report, download
the day's CSV through the page; the sessions and terminals pages on the way out."""

import csv
from decimal import Decimal
from urllib.parse import urlsplit

import requests

from app.api.auth import issue_token
from tests.browsing import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    SIZES,
    browser,
    header_fits_two_lines,
    server,
    sign_in,
)
from tests.helpers import CREATE, movements_url


def test_board_follows_the_terminals_and_a_session_is_closed_by_force(
    app,
    browser,  # noqa: F811
    server,  # noqa: F811
    store,
    tmp_path,
):
    with app.app_context():
        token = issue_token([store], "Till 1", 30)
    api = {"Authorization": f"Bearer {token}", "x-store-id": store}
    requested, console = [], []
    pages = {
        size: browser.new_page(viewport=viewport, accept_downloads=True)
        for size, viewport in SIZES.items()
    }
    for page in pages.values():
        page.on("request", lambda request: requested.append(request.url))
        page.on("console", lambda message: console.append(message.text))
        sign_in(page, server.url)
        assert page.url == f"{server.url}/backoffice/stores/{store}/"  # the board
    desk = pages["1024"]

    desk.goto(f"{server.url}/backoffice/stores/{store}/cashiers")
    for name in ("Ana Lopez", "Ben Okafor"):  # Ben stays at home: a row without a drawer
        desk.get_by_label("Name").fill(name)
        desk.get_by_label("Password").fill("4321")
        desk.get_by_role("button", name="Add cashier").click()
        desk.wait_for_load_state()
    desk.get_by_role("link", name="Board").click()
    desk.wait_for_url(f"**/backoffice/stores/{store}/")
    desk.evaluate("window.notReloaded = true")
    profiles = requests.get(server.url + "/pos-session/profiles", headers=api).json()
    [ana] = [p for p in profiles if p["name"] == "Ana Lopez"]

    body = {"profileId": ana["id"], "openningCash": 100, "password": "4321"}
    opened = requests.post(server.url + CREATE, json=body, headers=api).json()["data"][0]
    row = desk.get_by_role("row", name="Ana Lopez")
    row.get_by_text("Open", exact=True).wait_for(timeout=15000)
    assert "Till 1" in row.inner_text() and "100.00 EUR" in row.inner_text()

    for kind, amount in (("sale", "1234.50"), ("pay_out", "20")):
        sent = requests.post(
            server.url + movements_url(opened["id"]),
            data=f'{{"type": "{kind}", "amount": {amount}}}',
            headers={**api, "Content-Type": "application/json"},
        )
        assert sent.status_code == 201
    row.get_by_text("1,314.50 EUR").wait_for(timeout=15000)
    assert desk.evaluate("window.notReloaded") is True
    ben = desk.get_by_role("row", name="Ben Okafor")
    assert ben.inner_text().split() == "Ben Okafor Closed: no drawer open".split()
    for size, page in pages.items():
        page.reload()
        page.screenshot(path=SCREENSHOTS / f"board-{size}.png", full_page=True)
    header_fits_two_lines(pages["phone"])

    desk.get_by_role("link", name="Ana Lopez").click()
    desk.wait_for_url("**/sessions/*")
    session_page = desk.url
    pages["phone"].goto(session_page)
    for size, page in pages.items():
        page.screenshot(path=SCREENSHOTS / f"session-x-{size}.png", full_page=True)

    # Sent empty: the page's own message beside the field, not the browser's.
    desk.get_by_role("button", name="Close by force…").click()
    desk.wait_for_load_state()
    counted = desk.get_by_label("Cash counted (EUR)")
    assert counted.get_attribute("aria-invalid") == "true"
    assert "Enter an amount such as 152.30." in desk.locator(".has-error").first.inner_text()
    # Counted by note and coin, on a fresh form: the count adds up as it is typed, into the
    # cash counted.
    desk.goto(session_page)
    counted = desk.get_by_label("Cash counted (EUR)")
    total = desk.locator("#count-total")
    assert total.inner_text() == "0.00 EUR"
    for value, count, so_far in (
        ("500.00", "2", "1,000.00"),
        ("200.00", "1", "1,200.00"),
        ("100.00", "1", "1,300.00"),
        ("10.00", "1", "1,310.00"),
        ("2.00", "2", "1,314.00"),
        ("0.20", "2", "1,314.40"),
        ("0.05", "1", "1,314.45"),
    ):
        desk.get_by_label(f"{value} EUR", exact=True).press_sequentially(count)
        assert total.inner_text() == f"{so_far} EUR"
    line = desk.get_by_role("row", name="500.00 EUR")
    assert line.locator("output").inner_text() == "= 1,000.00"
    assert counted.input_value() == "1314.45"
    desk.get_by_label("Reason").fill("Forgot to close before leaving")
    form = desk.locator("section[aria-labelledby=force-title]")
    form.screenshot(path=SCREENSHOTS / "session-count-1024.png")
    phone_form = pages["phone"].locator("section[aria-labelledby=force-title]")
    pages["phone"].get_by_label("20.00 EUR", exact=True).press_sequentially("3")
    assert pages["phone"].locator("#count-total").inner_text() == "60.00 EUR"
    phone_form.screenshot(path=SCREENSHOTS / "session-count-phone.png")
    desk.get_by_role("button", name="Close by force…").click()
    desk.wait_for_load_state()
    confirm = desk.locator("main").inner_text()
    assert "Check before you close" in confirm and "short by 0.05 EUR" in confirm
    assert "500.00 EUR\t× 2\t= 1,000.00 EUR" in confirm
    desk.screenshot(path=SCREENSHOTS / "session-confirm-1024.png", full_page=True)
    desk.get_by_role("button", name="Yes, close by force").click()
    desk.wait_for_load_state()
    z = desk.locator("main").inner_text()
    assert "Session closed by force: short by 0.05 EUR" in z
    assert "Z-report · Ana Lopez" in z and "-0.05 EUR" in z
    assert "Yes, by Olga: Forgot to close before leaving" in z
    pages["phone"].goto(session_page)
    for size, page in pages.items():
        page.screenshot(path=SCREENSHOTS / f"session-z-{size}.png", full_page=True)
    desk.emulate_media(media="print")
    desk.screenshot(path=SCREENSHOTS / "session-z-print.png", full_page=True)
    assert not desk.get_by_role("navigation", name="Sections").is_visible()
    desk.emulate_media(media="screen")

    desk.get_by_role("link", name="Day report").click()
    desk.wait_for_url("**/days/20*")
    store_forced = desk.locator("dl.figures > div").filter(has_text="Forced closes").first
    assert store_forced.locator("dd").inner_text() == "1"  # the store's totals come first
    with desk.expect_download() as download:
        desk.get_by_role("link", name="Download CSV").click()
    download.value.save_as(tmp_path / "day.csv")
    with open(tmp_path / "day.csv", newline="") as f:
        [row] = csv.DictReader(f)
    assert (row["session_id"], row["cashier"], row["forced"]) == (opened["id"], "Ana Lopez", "yes")
    assert (row["opening_cash"], row["sales"], row["pay_outs"]) == ("100.00", "1234.50", "20.00")
    assert (row["expected_cash"], row["closing_cash"]) == ("1314.50", "1314.45")
    for column, total in (
        ("expected_cash", "#total-expected"),
        ("closing_cash", "#total-counted"),
        ("difference", "#total-difference"),
    ):
        assert desk.locator(total).inner_text() == f"{Decimal(row[column]):,.2f} EUR"

    for size, page in pages.items():
        page.goto(f"{server.url}/backoffice/stores/{store}/sessions")
        page.screenshot(path=SCREENSHOTS / f"sessions-{size}.png", full_page=True)
        page.goto(f"{server.url}/backoffice/stores/{store}/terminals")
    desk.get_by_label("Terminal name").fill("Till 2")
    desk.get_by_role("button", name="Issue token").click()
    desk.wait_for_load_state()
    field = desk.get_by_label("Token (select it and copy)")
    field.focus()
    assert desk.evaluate("document.activeElement.selectionEnd") == len(field.input_value())
    assert desk.get_by_role("row", name="Till 2").is_visible()  # listed as soon as issued
    for size, page in pages.items():
        page.screenshot(path=SCREENSHOTS / f"terminals-{size}.png", full_page=True)

    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}
    # A form refused beside its field answers 400; nothing else (a CSP refusal, a missing icon).
    assert [m for m in console if "(BAD REQUEST)" not in m] == []
