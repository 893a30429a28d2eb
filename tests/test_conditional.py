"""Conditional GETs: ETag on the five read routes, 304 with no body for If-None-Match, and no
stale 304 after a change, whichever gunicorn worker made it."""

import pytest
import requests

from tests.helpers import HISTORY, PASSWORD, PROFILES, close_body, move, open_shift, report_url

CLOSE = "/pos-session/close-session"


def routes(profile: str, session_id: str) -> dict[str, str]:
    return {
        "session-status": f"/pos-session/session-status/{profile}",
        "current-session": f"/pos-session/current-session/{profile}",
        "profiles": PROFILES,
        "report": report_url(session_id),
        "history": HISTORY,
    }


@pytest.fixture
def shift(client, headers, profile) -> dict:
    return open_shift(client, headers, profile)


@pytest.mark.parametrize("route", list(routes("p", "s")))
def test_if_none_match_with_the_etag_is_304_with_no_body(client, headers, profile, shift, route):
    path = routes(profile, shift["id"])[route]
    first = client.get(path, headers=headers)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"')
    assert client.get(path, headers=headers).headers["ETag"] == etag

    response = client.get(path, headers={**headers, "If-None-Match": etag})

    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["X-Request-ID"] and response.headers["Cache-Control"] == "no-store"
    other = client.get(path, headers={**headers, "If-None-Match": '"something-else"'})
    assert (other.status_code, other.data) == (200, first.data)


def test_the_etag_changes_with_what_the_body_shows(client, headers, profile, shift):
    paths = routes(profile, shift["id"])
    before = {
        route: client.get(path, headers=headers).headers["ETag"] for route, path in paths.items()
    }

    assert move(client, headers, shift["id"], "sale", 12.5).status_code == 201
    after_sale = {
        route: client.get(path, headers=headers).headers["ETag"] for route, path in paths.items()
    }
    # A sale shows only in the session's report.
    assert {r for r in paths if after_sale[r] != before[r]} == {"report"}

    assert client.post(CLOSE, json=close_body(profile), headers=headers).status_code == 200
    after_close = {r: client.get(p, headers=headers).headers["ETag"] for r, p in paths.items()}
    assert all(after_close[r] != after_sale[r] for r in paths)


def test_errors_carry_no_etag(client, headers):
    response = client.get(report_url("nosuchsession"), headers=headers)
    assert response.status_code == 404 and "ETag" not in response.headers
    unauthorized = client.get(PROFILES, headers={"If-None-Match": "*"})
    assert unauthorized.status_code == 401 and "ETag" not in unauthorized.headers


def test_no_stale_304_after_a_change_through_another_worker(live_server, headers, profile):
    url = live_server.url

    def get(path, etag=None):
        # A fresh connection each time: successive requests land on different workers.
        extra = {"If-None-Match": etag, "Connection": "close"} if etag else {"Connection": "close"}
        return requests.get(url + path, headers={**headers, **extra}, timeout=10)

    def post(path, body):
        response = requests.post(url + path, json=body, headers=headers, timeout=10)
        assert response.status_code in (200, 201), response.text
        return response.json()["data"]

    create = {"profileId": profile, "openningCash": 1, "password": PASSWORD}
    session_id = post("/pos-session/create-session", create)[0]["id"]
    paths = routes(profile, session_id)
    etags = {route: get(path).headers["ETag"] for route, path in paths.items()}
    for route, path in paths.items():
        assert {get(path, etags[route]).status_code for _ in range(8)} == {304}, route

    post(f"/pos-session/sessions/{session_id}/cash-movements", {"type": "sale", "amount": 3})
    post(CLOSE, close_body(profile))

    for route, path in paths.items():
        answers = [get(path, etags[route]) for _ in range(8)]
        assert {a.status_code for a in answers} == {200}, route
        assert {a.headers["ETag"] for a in answers} - {etags[route]} == {answers[0].headers["ETag"]}


def test_the_openapi_document_shows_if_none_match_and_304_on_exactly_these_routes(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    conditional = {
        path for path, item in paths.items() if "304" in item.get("get", {}).get("responses", {})
    }
    assert conditional == {
        "/pos-session/session-status/{profile_id}",
        "/pos-session/current-session/{profile_id}",
        "/pos-session/profiles",
        "/pos-session/sessions/{session_id}",
        "/pos-session/sessions",
    }
    for path in conditional:
        operation = paths[path]["get"]
        assert "If-None-Match" in [p.get("name") for p in operation["parameters"]]
        assert "ETag" in operation["responses"]["200"]["headers"]
