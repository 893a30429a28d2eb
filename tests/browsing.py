"""The back office in a real browser: Debian's chromium driven by Playwright, against gunicorn.

Playwright's own browsers are never downloaded: it launches the system chromium. The browser
tests skip only where chromium is missing and REQUIRE_CHROMIUM is not set (.ci/run sets it).
The screenshots they take go to a scratch folder, so a test run leaves the checkout as it
was; `make screenshots` takes them into docs/screenshots, the ones docs/ shows.
"""

import os
import tempfile
from pathlib import Path

import pytest

from app.machinery.database import UnitOfWork
from app.people import managers
from app.stores import update_store
from tests.helpers import LiveServer, chromium

SCREENSHOTS = Path(
    os.environ.get("POS_SCREENSHOTS") or Path(tempfile.gettempdir()) / "pos-screenshots"
)
SIZES = {"1024": {"width": 1024, "height": 768}, "phone": {"width": 390, "height": 844}}
MANAGER, MANAGER_PASSWORD = "Olga", "manager-pw"


@pytest.fixture
def browser():
    executable = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
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
    """gunicorn on a free 127.0.0.1 port; the store is Main Street in Paris, run by Olga."""
    with app.app_context():
        update_store(UnitOfWork(), store, name="Main Street", timezone="Europe/Paris")
        managers.create(UnitOfWork(), MANAGER, MANAGER_PASSWORD, store_ids=[store])
    live = LiveServer(app, tmp_path / "gunicorn.log", workers=2)
    yield live
    live.stop()


def sign_in(page, url: str) -> None:
    page.goto(url + "/backoffice/login")
    page.get_by_label("Name").fill(MANAGER.lower())  # names are matched whatever their case
    page.get_by_label("Password").fill(MANAGER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def header_fits_two_lines(page) -> None:
    """On a phone, 360 and 390 px wide, the header takes two lines: the store and sign-out,
    then every section in one row (scrolling sideways when it is longer than the screen)."""
    for width in (360, 390):
        page.set_viewport_size({"width": width, "height": 800})
        line = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
        header = page.locator("header.top").bounding_box()["height"]
        tops = page.eval_on_selector_all(
            "nav[aria-label=Sections] a", "links => links.map(a => a.getBoundingClientRect().top)"
        )
        assert len(set(tops)) == 1, f"the sections take {len(set(tops))} lines at {width} px"
        assert header < 3 * line + 24, f"the header is {header} px high at {width} px"
    page.set_viewport_size(SIZES["phone"])
