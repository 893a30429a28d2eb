"""Several cashiers on one drawer under concurrency: movements by several attendants through 4
gunicorn workers while the drawer is handed over are each counted once, under the right
attendant, and the handover's expected cash is the movements before it (SQLite and
PostgreSQL: the tests run on POS_TEST_DATABASE_URL when it is set)."""

from decimal import Decimal

import pytest

from tests.helpers import (
    PASSWORD,
    REQUESTS,
    LiveServer,
    close_shift,
    fire_together,
    movements_url,
    open_shift,
    report,
)
from tests.journaling import instance  # noqa: F401  (a fixture)
from tests.test_attendants import handover_url, join

pytestmark = pytest.mark.usefixtures("instance")


def test_movements_by_several_attendants_during_a_handover_count_once_under_the_right_one(
    app, client, headers, profile, make_profile, store, runner, tmp_path, monkeypatch
):
    bob, carol, dave = (make_profile(store, name) for name in ("bob", "carol", "dave"))
    session_id = open_shift(client, headers, profile, cash=100)["id"]
    for attendant in (bob, carol):
        assert join(client, headers, session_id, attendant).status_code == 201
    # Amounts 1..n tell the movements apart; a third name none (the holder, whoever it is).
    named = [bob, carol, None]
    bodies = [
        {"type": "sale", "amount": n} | ({"attendantId": named[n % 3]} if named[n % 3] else {})
        for n in range(1, REQUESTS)
    ]
    monkeypatch.setenv("POS_JOURNAL_DIR", app.config["JOURNAL_DIR"])  # the workers sign it
    server = LiveServer(app, tmp_path / "gunicorn.log", workers=4)
    try:
        urls = [server.url + movements_url(session_id)] * len(bodies)
        handover = {"profileId": dave, "password": PASSWORD, "countedCash": 1}
        responses = fire_together(
            [*urls, server.url + handover_url(session_id)], headers, [*bodies, handover]
        )
    finally:
        server.stop()

    assert [r.status_code for r in responses] == [201] * REQUESTS, server.log()
    entries = client.get("/pos-session/journal", headers=headers, query_string={"limit": 1000})
    found = entries.get_json()["data"]
    [handed] = [e for e in found if e["kind"] == "drawer_handed_over"]
    moves = [e for e in found if e["kind"] == "cash_movement"]
    assert sorted(int(Decimal(e["data"]["amount"])) for e in moves) == list(range(1, REQUESTS))
    before = [e for e in moves if e["seq"] < handed["seq"]]
    for entry in moves:
        amount = int(Decimal(entry["data"]["amount"]))
        holder = profile if entry["seq"] < handed["seq"] else dave
        assert entry["data"]["attendantId"] == (named[amount % 3] or holder), entry
    expected = 100 + sum(int(Decimal(e["data"]["amount"])) for e in before)
    assert Decimal(handed["data"]["expectedCash"]) == expected
    assert (handed["data"]["fromProfileId"], handed["data"]["profileId"]) == (profile, dave)

    summary = report(client, headers, session_id)["summary"]
    total = 100 + sum(range(1, REQUESTS))
    assert summary["expectedCash"] == total  # carried over the handover, each movement once
    by = {a["profileId"]: a["sales"] for a in summary["byAttendant"]}
    assert sum(by.values()) == total - 100
    assert by[bob] == sum(n for n in range(1, REQUESTS) if named[n % 3] == bob)
    close_shift(client, headers, dave, cash=total)
    result = runner.invoke(args=["journal", "verify"])
    assert result.exit_code == 0, result.output
