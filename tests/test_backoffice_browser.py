"""The back office in a real browser: Debian's chromium driven by Playwright, against gunicorn.

Playwright's own browsers are never downloaded: it launches the system chromium. Skipped only
where chromium is missing and REQUIRE_CHROMIUM is not set (.ci/run sets it). The screenshots
it takes are the ones docs/ shows.
"""

from urllib.parse import urlsplit

import pytest

from app import management
from app.database import UnitOfWork
from tests.helpers import ROOT, LiveServer, chromium

SCREENSHOTS = ROOT / "docs" / "screenshots"
SIZES = {"1024": {"width": 1024, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def browser():
    executable = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--headless",
                "--no-sandbox",  # tests may run as root, where chromium's sandbox refuses
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                # Nothing but the box resolves: a request elsewhere fails and is seen below.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def server(app, tmp_path, store):
    with app.app_context():
        management.update_store(UnitOfWork(), store, name="Main Street", timezone="Europe/Paris")
        management.create_manager(UnitOfWork(), "Olga", "manager-pw", [store])
    live = LiveServer(app, tmp_path / "gunicorn.log", workers=2)
    yield live
    live.stop()


def test_sign_in_add_a_cashier_and_see_it_listed(browser, server, store):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
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
        page.get_by_label("Name").fill("olga")
        page.get_by_label("Password").fill("manager-pw")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**/backoffice/stores/{store}/")  # the board
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

    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m]
