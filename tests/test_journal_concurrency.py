"""The journal under concurrency: simultaneous cash facts through several gunicorn workers
still make one gap-free, valid chain per store (SQLite and PostgreSQL)."""

import pytest

from tests.helpers import REQUESTS, LiveServer, fire_together, movements_url, open_shift
from tests.journaling import instance  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("instance")


def test_simultaneous_movements_through_4_workers_chain_without_gaps(
    app, client, headers, profile, runner, tmp_path, monkeypatch
):
    session_id = open_shift(client, headers, profile)["id"]  # seq 1
    monkeypatch.setenv(
        "POS_JOURNAL_DIR", app.config["JOURNAL_DIR"]
    )  # the workers sign the same head
    server = LiveServer(app, tmp_path / "gunicorn.log", workers=4)
    try:
        bodies = [{"type": "sale", "amount": n} for n in range(1, REQUESTS + 1)]
        responses = fire_together(server.url + movements_url(session_id), headers, bodies)
    finally:
        server.stop()

    assert [r.status_code for r in responses] == [201] * REQUESTS, server.log()
    page = client.get("/pos-session/journal", headers=headers, query_string={"limit": 1000})
    found = page.get_json()["data"]
    assert [e["seq"] for e in found] == list(range(1, REQUESTS + 2))
    assert sorted(float(e["data"]["amount"]) for e in found[1:]) == list(range(1, REQUESTS + 1))
    for previous, entry in zip(found, found[1:], strict=False):
        assert entry["prevHash"] == previous["hash"]
    result = runner.invoke(args=["journal", "verify"])
    assert result.exit_code == 0, result.output
