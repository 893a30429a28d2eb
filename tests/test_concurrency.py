"""The exclusivity rule under real concurrency: 4 gunicorn workers, 50 simultaneous requests."""

from collections import Counter

import requests

from tests.helpers import PASSWORD, REQUESTS, fire_together


def test_one_profile_fifty_terminals_exactly_one_session(live_server, headers, profile):
    body = {"profileId": profile, "openningCash": 100, "password": PASSWORD}

    responses = fire_together(
        live_server.url + "/pos-session/create-session", headers, [body] * REQUESTS
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 400: REQUESTS - 1}, statuses
    refusals = {r.json()["message"] for r in responses if r.status_code == 400}
    assert refusals == {"Session already open"}
    assert "database is locked" not in live_server.log()
    status = requests.get(
        f"{live_server.url}/pos-session/session-status/{profile}", headers=headers, timeout=10
    ).json()
    winner = next(r for r in responses if r.status_code == 200).json()["data"][0]
    assert status["session"]["id"] == winner["id"]


def test_fifty_profiles_at_once_all_open(live_server, headers, store, make_profile):
    bodies = [
        {"profileId": make_profile(store, f"cashier-{i}"), "openningCash": i, "password": PASSWORD}
        for i in range(REQUESTS)
    ]

    responses = fire_together(live_server.url + "/pos-session/create-session", headers, bodies)

    assert Counter(r.status_code for r in responses) == {200: REQUESTS}
    assert "database is locked" not in live_server.log()
    profiles = requests.get(
        live_server.url + "/pos-session/profiles", headers=headers, timeout=10
    ).json()
    assert sum(p["isOpened"] for p in profiles) == REQUESTS
