"""Closing, cash movements and retries under real concurrency: 4 gunicorn workers, 50 at once."""

from collections import Counter
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select

from app.machinery.extensions import db
from app.models import CashMovement, PosClosing, PosSession
from tests.helpers import (
    CLOSE,
    CREATE,
    PASSWORD,
    REQUESTS,
    fire_together,
    movements_url,
    report_url,
)


def open_over_http(server, headers, profile, cash=100) -> str:
    body = {"profileId": profile, "openningCash": cash, "password": PASSWORD}
    response = requests.post(server.url + CREATE, json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"][0]["id"]


def summary_over_http(server, headers, session_id) -> dict:
    response = requests.get(server.url + report_url(session_id), headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json(parse_float=Decimal)["data"]["summary"]


def rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_fifty_closes_for_one_profile_exactly_one_wins(live_server, app, headers, profile):
    session_id = open_over_http(live_server, headers, profile)
    body = {"profileId": profile, "closingCash": 100, "password": PASSWORD}

    responses = fire_together(live_server.url + CLOSE, headers, [body] * REQUESTS)

    assert Counter(r.status_code for r in responses) == {200: 1, 400: REQUESTS - 1}
    assert {r.json()["message"] for r in responses if r.status_code == 400} == {"No open session"}
    winner = next(r for r in responses if r.status_code == 200).json()["data"]
    assert winner["id"] == session_id
    assert rows(app, PosClosing) == 1
    assert "database is locked" not in live_server.log()


def test_fifty_movements_with_fifty_keys_all_land_and_sum_exactly(live_server, headers, profile):
    session_id = open_over_http(live_server, headers, profile, cash=100)
    amounts = [Decimal(i) + Decimal("0.01") * (i % 7 + 1) for i in range(REQUESTS)]
    bodies = [{"type": "sale", "amount": float(a)} for a in amounts]  # e.g. 3.04: exact in JSON
    each = [{**headers, "Idempotency-Key": f"sale-{i}"} for i in range(REQUESTS)]

    responses = fire_together(live_server.url + movements_url(session_id), each, bodies)

    assert Counter(r.status_code for r in responses) == {201: REQUESTS}
    assert len({r.json()["data"]["id"] for r in responses}) == REQUESTS
    summary = summary_over_http(live_server, headers, session_id)
    assert summary["sales"] == sum(amounts)
    assert summary["expectedCash"] == 100 + sum(amounts)
    assert "database is locked" not in live_server.log()


@pytest.mark.parametrize("route", ["create-session", "close-session", "cash-movements"])
def test_fifty_retries_with_one_key_land_once(live_server, app, headers, profile, route):
    if route == "create-session":
        url, body = CREATE, {"profileId": profile, "openningCash": 100, "password": PASSWORD}
    else:
        session_id = open_over_http(live_server, headers, profile)
        if route == "close-session":
            url, body = CLOSE, {"profileId": profile, "closingCash": 99, "password": PASSWORD}
        else:
            url, body = movements_url(session_id), {"type": "pay_in", "amount": 0.1}
    keyed = {**headers, "Idempotency-Key": "one-retry-storm"}

    responses = fire_together(live_server.url + url, keyed, [body] * REQUESTS)

    assert len({(r.status_code, r.content) for r in responses}) == 1, Counter(
        r.status_code for r in responses
    )
    assert responses[0].status_code in (200, 201)
    replayed = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) == REQUESTS - 1
    assert rows(app, PosSession) == 1
    assert rows(app, PosClosing) == (1 if route == "close-session" else 0)
    assert rows(app, CashMovement) == (1 if route == "cash-movements" else 0)
    assert "database is locked" not in live_server.log()
