"""Sign-in, the cashiers page and the store's settings in chromium against gunicorn (see
tests/browsing.py)."""

from urllib.parse import urlsplit

from tests.browsing import SCREENSHOTS, SIZES, browser, server, sign_in  # noqa: F401  (fixtures)


def test_sign_in_add_a_cashier_and_see_it_listed(browser, server, store):  # noqa: F811
    requested = []
    console = []
    pages = {}
    for size, viewport in SIZES.items():
        page = browser.new_page(viewport=viewport)
        page.on("request", lambda request: requested.append(request.url))
        page.on("console", lambda message: console.append(message.text))
        pages[size] = page

    desk = pages["1024"]
    desk.goto(server.url + "/backoffice/")
    assert desk.url.startswith(server.url + "/backoffice/login")
    for size, page in pages.items():
        if page is not desk:
            page.goto(server.url + "/backoffice/login")
        page.screenshot(path=SCREENSHOTS / f"login-{size}.png", full_page=True)

    for page in pages.values():
        sign_in(page, server.url)
        assert page.url == f"{server.url}/backoffice/stores/{store}/"  # the board
        page.goto(f"{server.url}/backoffice/stores/{store}/cashiers")

    desk.get_by_label("Name").fill("Ana Lopez")
    desk.get_by_label("Password").fill("4321")
    desk.get_by_role("button", name="Add cashier").click()
    desk.wait_for_load_state()
    assert "Ana Lopez was added" in desk.get_by_role("status").inner_text()
    assert desk.get_by_role("link", name="Ana Lopez", exact=True).is_visible()
    desk.get_by_label("Name").fill("Bea")
    desk.get_by_label("Password").fill("1234")
    desk.get_by_role("button", name="Add cashier").click()
    desk.wait_for_load_state()
    desk.get_by_role("row", name="Bea").get_by_role("button", name="Disable").click()
    desk.wait_for_load_state()
    assert "Bea is disabled" in desk.get_by_role("status").inner_text()

    pages["phone"].reload()
    for size, page in pages.items():
        page.screenshot(path=SCREENSHOTS / f"cashiers-{size}.png", full_page=True)

    # The store's settings: two tenders (the kind chosen from the list), two reasons for pay-ins
    # and pay-outs, and the notes and coins counts may name (the currency's, left as they are).
    for page in pages.values():
        page.goto(f"{server.url}/backoffice/stores/{store}/settings")
    for kind, name, code in (("card", "Card terminal", ""), ("voucher", "Lunch vouchers", "lunch")):
        desk.get_by_label("Kind").select_option(kind)
        desk.get_by_label("Name", exact=True).fill(name)
        desk.get_by_label("Code terminals send").fill(code)
        desk.get_by_role("button", name="Add tender").click()
        desk.wait_for_load_state()
        assert f"terminals send it as {code or kind}" in desk.get_by_role("status").inner_text()
    for reason in ("Bank run", "Window cleaner"):
        desk.get_by_label("New reason").fill(reason)
        desk.get_by_role("button", name="Add reason").click()
        desk.wait_for_load_state()
    assert desk.get_by_role("row", name="Lunch vouchers").is_visible()
    assert "500.00, 200.00" in desk.get_by_label("Notes and coins (EUR)").input_value()
    pages["phone"].reload()
    for size, page in pages.items():
        page.screenshot(path=SCREENSHOTS / f"settings-{size}.png", full_page=True)

    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}
    assert console == []  # no refusal by the CSP, no resource missing (the icon)
