"""/docs renders in headless Chromium with every operation, and nothing is fetched from outside.

Chromium resolves no host but 127.0.0.1, records every request in a net log, and prints the
page's console (where a Content-Security-Policy refusal would show) on stderr. Skipped only
where Chromium is not installed and REQUIRE_CHROMIUM is not set (.ci/run sets it).
"""

import json
import subprocess
from urllib.parse import urlsplit

import requests

from tests.helpers import chromium


def render(url: str, workdir) -> tuple[str, list[str], str]:
    """The page's DOM once loaded, the URLs the page itself requested, and Chromium's stderr."""
    netlog = workdir / "netlog.json"
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # tests may run as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--enable-logging=stderr",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={workdir / 'profile'}",
            f"--log-net-log={netlog}",
            # Virtual time runs until the page is idle (scripts and fetches done), up to 30 s.
            "--virtual-time-budget=30000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    # The browser's own background traffic (update checks and the like) has no page origin.
    starts = [e.get("params", {}) for e in log["events"] if e["type"] == start_job]
    from_page = [
        start["url"]
        for start in starts
        if "url" in start and start.get("initiator", "not an origin") != "not an origin"
    ]
    return result.stdout, from_page, result.stderr


def test_docs_page_renders_every_operation_offline(live_server, tmp_path):
    document = requests.get(live_server.url + "/openapi.json", timeout=10).json()

    dom, requested, console = render(live_server.url + "/docs", tmp_path)

    assert document["info"]["title"] in dom
    for path in document["paths"]:
        assert f'data-path="{path}"' in dom, path
    assert {urlsplit(url).path for url in requested} >= {
        "/openapi.json",
        "/docs/assets/swagger-ui-bundle.js",
    }
    assert {urlsplit(url).hostname for url in requested} == {"127.0.0.1"}
    assert "Content Security Policy" not in console
    assert "Uncaught" not in console
