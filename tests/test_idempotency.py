"""Idempotency-Key on the three POSTs: a retry replays the first answer and changes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from app.api import idempotency
from app.machinery.extensions import db
from app.models import CashMovement, IdempotencyKey, PosClosing, PosSession, utcnow
from tests.helpers import (
    CLOSE,
    CREATE,
    PASSWORD,
    close_body,
    movements_url,
    open_shift,
    report,
    sqlite_only,
    write_transactions,
)

KEY = "6c1f1c2e-4a4e-4b8e-9d3a-2f9f1f4b7a10"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def post(client, url, body, headers, key=KEY):
    return client.post(url, json=body, headers={**headers, "Idempotency-Key": key})


@pytest.fixture
def session_id(client, headers, profile):
    return open_shift(client, headers, profile, cash=100)["id"]


def _assert_replayed(first, again):
    assert again.status_code == first.status_code
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"] == "application/json"
    assert "Idempotent-Replayed" not in first.headers


def test_create_session_replays_and_opens_once(app, client, headers, profile):
    body = {"profileId": profile, "openningCash": 10, "password": PASSWORD}
    first = post(client, CREATE, body, headers)
    again = post(client, CREATE, body, headers)

    assert first.status_code == 200
    _assert_replayed(first, again)
    assert count(app, PosSession) == 1


def test_close_session_replays_and_closes_once(app, client, headers, profile, session_id):
    first = post(client, CLOSE, close_body(profile, 100), headers)
    again = post(client, CLOSE, close_body(profile, 100), headers)

    assert first.status_code == 200
    _assert_replayed(first, again)
    assert count(app, PosClosing) == 1


def test_cash_movement_replays_and_lands_once(app, client, headers, session_id):
    body = {"type": "sale", "amount": Decimal("9.99")}
    first = post(client, movements_url(session_id), body, headers)
    again = post(client, movements_url(session_id), body, headers)

    assert first.status_code == 201
    _assert_replayed(first, again)
    assert report(client, headers, session_id)["summary"]["expectedCash"] == Decimal("109.99")


def test_the_replay_is_the_first_answer_even_after_later_changes(
    client, headers, profile, session_id
):
    body = {"profileId": profile, "openningCash": 5, "password": PASSWORD}
    post(client, CREATE, body, headers, key="open-1")  # refused: already open, so not stored
    client.post(CLOSE, json=close_body(profile, 100), headers=headers)
    first = post(client, CREATE, body, headers, key="open-2")
    client.post(CLOSE, json=close_body(profile, 5), headers=headers)

    again = post(client, CREATE, body, headers, key="open-2")

    _assert_replayed(first, again)
    assert again.get_json()["data"][0]["posClosingId"] is None


@pytest.mark.parametrize("route", ["create", "close", "movement"])
def test_same_key_with_a_different_body_is_422(app, client, headers, profile, route):
    session_id = None if route == "create" else open_shift(client, headers, profile)["id"]
    open_body = {"profileId": profile, "openningCash": 1, "password": PASSWORD}
    url, body, field = {
        "create": (CREATE, open_body, "openningCash"),
        "close": (CLOSE, close_body(profile, 100), "closingCash"),
        "movement": (movements_url(session_id), {"type": "sale", "amount": 1}, "amount"),
    }[route]
    assert post(client, url, body, headers).status_code in (200, 201)

    response = post(client, url, {**body, field: 2}, headers)

    assert response.status_code == 422
    assert response.get_json() == {
        "message": "Idempotency-Key was already used for a different request",
        "statusCode": 422,
    }
    assert count(app, IdempotencyKey) == 1


def test_same_key_on_another_route_is_422(client, headers, profile, session_id):
    assert (
        post(client, movements_url(session_id), {"type": "sale", "amount": 1}, headers).status_code
        == 201
    )
    response = post(client, CLOSE, close_body(profile, 101), headers)

    assert response.status_code == 422
    assert report(client, headers, session_id)["closing"] is None


def test_same_key_in_another_store_is_422(client, make_store, make_profile, make_token):
    first, second = make_store("one"), make_store("two")
    token = make_token(first, second)
    sessions = {}
    for store in (first, second):
        h = {"Authorization": f"Bearer {token}", "x-store-id": store}
        sessions[store] = (h, open_shift(client, h, make_profile(store))["id"])
    body = {"type": "sale", "amount": 1}
    h1, s1 = sessions[first]
    assert post(client, movements_url(s1), body, h1).status_code == 201

    h2, _ = sessions[second]
    assert post(client, movements_url(s1), body, h2).status_code == 422


def test_keys_belong_to_their_token(app, client, make_token, store, session_id):
    body = {"type": "pay_in", "amount": 5}
    for name in ("till-1", "till-2"):
        headers = {"Authorization": f"Bearer {make_token(store, name=name)}", "x-store-id": store}
        response = post(client, movements_url(session_id), body, headers)
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response.headers

    assert count(app, CashMovement) == 2


def test_a_refused_request_is_not_stored_so_its_retry_runs(app, client, headers, profile):
    body = {"profileId": profile, "openningCash": 10, "password": "wrong"}
    assert post(client, CREATE, body, headers).status_code == 401

    response = post(client, CREATE, {**body, "password": PASSWORD}, headers)

    assert response.status_code == 200
    assert count(app, IdempotencyKey) == 1


def test_after_24_hours_a_key_is_new_again_and_the_old_one_is_purged(
    app, client, headers, session_id
):
    body = {"type": "sale", "amount": 1}
    post(client, movements_url(session_id), body, headers)
    with app.app_context():
        stale = utcnow() - timedelta(hours=24, seconds=1)
        db.session.execute(update(IdempotencyKey).values(created_at=stale))
        db.session.commit()

    response = post(client, movements_url(session_id), body, headers)

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert count(app, CashMovement) == 2
    with app.app_context():
        assert db.session.scalar(select(IdempotencyKey.created_at)) > stale


def test_within_24_hours_the_key_still_replays(app, client, headers, session_id):
    body = {"type": "sale", "amount": 1}
    post(client, movements_url(session_id), body, headers)
    with app.app_context():
        db.session.execute(
            update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=23, minutes=59))
        )
        db.session.commit()

    response = post(client, movements_url(session_id), body, headers)

    assert response.headers["Idempotent-Replayed"] == "true"
    assert count(app, CashMovement) == 1


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\tkey"])
def test_a_malformed_key_is_400(client, headers, session_id, key):
    response = post(client, movements_url(session_id), {"type": "sale", "amount": 1}, headers, key)

    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "Idempotency-Key must be 1 to 255 printable ASCII characters"
    )


def test_without_a_key_every_post_counts(app, client, headers, session_id):
    for _ in range(2):
        client.post(movements_url(session_id), json={"type": "sale", "amount": 1}, headers=headers)
    assert count(app, CashMovement) == 2
    assert count(app, IdempotencyKey) == 0


def test_the_password_is_not_readable_from_the_stored_key(app, client, headers, profile):
    body = {"profileId": profile, "openningCash": 10, "password": PASSWORD}
    post(client, CREATE, body, headers)

    with app.app_context():
        stored = db.session.scalar(select(IdempotencyKey))
    assert PASSWORD not in stored.response and PASSWORD not in stored.fingerprint
    assert stored.route == "POST /pos-session/create-session"


@sqlite_only
def test_the_answer_commits_in_the_same_transaction_as_the_effect(
    client, headers, session_id, sql_log
):
    sql_log.clear()

    response = post(client, movements_url(session_id), {"type": "sale", "amount": 1}, headers)

    assert response.status_code == 201
    assert write_transactions(sql_log) == [
        [
            "INSERT INTO CASH_MOVEMENT",
            "INSERT INTO JOURNAL_ENTRY",
            "UPDATE JOURNAL_HEAD SET",
            "INSERT INTO IDEMPOTENCY_KEY",
        ]
    ]
    assert sql_log.count("COMMIT") == 1


def test_if_the_answer_cannot_be_made_the_effect_is_undone(
    app, client, headers, session_id, monkeypatch
):
    from app.api import sessions as routes

    def broken(*args, **kwargs):
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(routes.CashMovementResponse, "dump", broken)

    response = post(client, movements_url(session_id), {"type": "sale", "amount": 1}, headers)

    assert response.status_code == 500
    assert count(app, CashMovement) == 0
    assert count(app, IdempotencyKey) == 0


@pytest.mark.parametrize("route", ["create", "close", "movement"])
def test_a_duplicate_that_slips_past_the_lookups_replays_the_first_answer(
    app, client, headers, profile, monkeypatch, route
):
    """Where the database lets two writers through (not SQLite), both lookups can miss. The
    second effect is then refused, by the primary key (token, key) for a movement or by the
    rule the first one satisfied for an open or a close, and the first answer is replayed."""
    if route == "create":
        url, body = CREATE, {"profileId": profile, "openningCash": 1, "password": PASSWORD}
    else:
        session_id = open_shift(client, headers, profile)["id"]
        url, body = {
            "close": (CLOSE, close_body(profile, 100)),
            "movement": (movements_url(session_id), {"type": "sale", "amount": 1}),
        }[route]
    first = post(client, url, body, headers)
    real_find = idempotency._find
    calls = []

    def find(session, claim):
        calls.append(claim.key)
        # The fast path and the check under the lock see nothing; the fallback sees the key.
        return None if len(calls) <= 2 else real_find(session, claim)

    monkeypatch.setattr(idempotency, "_find", find)

    again = post(client, url, body, headers)

    _assert_replayed(first, again)
    assert len(calls) == 3
    assert (count(app, PosSession), count(app, PosClosing), count(app, CashMovement)) == {
        "create": (1, 0, 0),
        "close": (1, 1, 0),
        "movement": (1, 0, 1),
    }[route]
