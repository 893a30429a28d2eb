"""Helpers for the closing, movement, history and idempotency tests: one shift's requests."""

import re

from tests.conftest import PASSWORD

CREATE = "/pos-session/create-session"
CLOSE = "/pos-session/close-session"
HISTORY = "/pos-session/sessions"
ID = re.compile(r"^[a-z][a-z0-9]{23}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def movements_url(session_id: str) -> str:
    return f"/pos-session/sessions/{session_id}/cash-movements"


def report_url(session_id: str) -> str:
    return f"/pos-session/sessions/{session_id}"


def open_shift(client, headers, profile_id, cash=15000, **extra) -> dict:
    body = {"profileId": profile_id, "openningCash": cash, "password": PASSWORD, **extra}
    response = client.post(CREATE, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"][0]


def close_body(profile_id, cash=15000, **extra) -> dict:
    return {"profileId": profile_id, "closingCash": cash, "password": PASSWORD, **extra}


def close_shift(client, headers, profile_id, cash=15000, **extra) -> dict:
    response = client.post(CLOSE, json=close_body(profile_id, cash, **extra), headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def move(client, headers, session_id, kind, amount, **extra):
    body = {"type": kind, "amount": amount, **extra}
    return client.post(movements_url(session_id), json=body, headers=headers)


def report(client, headers, session_id) -> dict:
    response = client.get(report_url(session_id), headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]
