"""Cash movements during a session, and the session's report (X while open, Z once closed)."""

from decimal import Decimal

import pytest

from tests.helpers import (
    ID,
    TIMESTAMP,
    close_shift,
    move,
    movements_url,
    open_shift,
    report,
    report_url,
)

D = Decimal


@pytest.fixture
def session_id(client, headers, profile):
    return open_shift(client, headers, profile, cash=100)["id"]


@pytest.mark.parametrize("kind", ["sale", "refund", "pay_in", "pay_out"])
def test_records_a_movement(client, make_token, store, session_id, kind):
    headers = {"Authorization": f"Bearer {make_token(store, name='till-7')}", "x-store-id": store}
    response = move(client, headers, session_id, kind, D("12.50"), note="receipt 42")

    assert response.status_code == 201
    body = response.get_json()
    assert (body["message"], body["success"]) == ("cash movement recorded", True)
    movement = body["data"]
    assert set(movement) == {
        "id",
        "posSessionId",
        "storeId",
        "type",
        "amount",
        "note",
        "reason",
        "createdBy",
        "createdAt",
        "tender",  # an addition: cash when the terminal names none
        "attendantId",  # an addition: the drawer's holder when the terminal names none
    }
    assert movement["reason"] is None
    assert ID.match(movement["id"]) and TIMESTAMP.match(movement["createdAt"])
    assert (movement["posSessionId"], movement["storeId"]) == (session_id, store)
    assert (movement["type"], movement["note"], movement["createdBy"]) == (
        kind,
        "receipt 42",
        "till-7",
    )
    assert '"amount":12.5,' in response.get_data(as_text=True)


def test_the_note_is_optional(client, headers, session_id):
    response = move(client, headers, session_id, "sale", 1)
    assert response.status_code == 201
    assert response.get_json()["data"]["note"] is None


@pytest.mark.parametrize("missing", ["type", "amount"])
def test_a_missing_field_is_missing_data(client, headers, session_id, missing):
    body = {"type": "sale", "amount": 1}
    del body[missing]
    response = client.post(movements_url(session_id), json=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Missing data"


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("amount", "0"),
        ("amount", "-5"),
        ("amount", "0.001"),
        ("amount", '"5"'),
        ("amount", "true"),
        ("amount", "null"),
        ("amount", "1000000000000.01"),
        ("type", '"tip"'),
        ("type", '"SALE"'),
        ("type", "1"),
        ("note", '"' + "x" * 501 + '"'),
    ],
)
def test_invalid_values_are_refused_naming_the_field(client, headers, session_id, field, raw):
    body = {"type": '"sale"', "amount": "1", field: raw}
    text = "{" + ", ".join(f'"{k}": {v}' for k, v in body.items()) + "}"

    response = client.post(
        movements_url(session_id), data=text, content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert response.get_json()["message"] == f"Invalid value for {field}"
    assert report(client, headers, session_id)["movements"] == []


def test_an_unknown_field_is_refused(client, headers, session_id):
    response = move(client, headers, session_id, "sale", 1, sign=-1)
    assert response.status_code == 400
    assert response.get_json()["message"] == "Invalid value for sign"


def test_unknown_session(client, headers):
    response = move(client, headers, "zzzzzzzzzzzzzzzzzzzzzzzz", "sale", 1)

    assert response.status_code == 404
    assert response.get_json() == {"message": "Session not found", "statusCode": 404}


def test_session_of_another_store_is_not_found(client, make_store, make_profile, make_token):
    mine, theirs = make_store("mine"), make_store("theirs")
    token = make_token(mine, theirs)
    theirs_headers = {"Authorization": f"Bearer {token}", "x-store-id": theirs}
    their_session = open_shift(client, theirs_headers, make_profile(theirs))["id"]
    mine_headers = {"Authorization": f"Bearer {token}", "x-store-id": mine}

    response = move(client, mine_headers, their_session, "sale", 1)

    assert response.status_code == 404
    assert response.get_json()["message"] == "Session not found"
    assert client.get(report_url(their_session), headers=mine_headers).status_code == 404
    assert report(client, theirs_headers, their_session)["movements"] == []


def test_a_closed_session_takes_no_movement(client, headers, profile, session_id):
    close_shift(client, headers, profile, cash=100)

    response = move(client, headers, session_id, "sale", 1)

    assert response.status_code == 409
    assert response.get_json() == {"message": "Session is closed", "statusCode": 409}


def test_a_movement_never_lands_in_the_next_shift(client, headers, profile, session_id):
    close_shift(client, headers, profile, cash=100)
    next_shift = open_shift(client, headers, profile)["id"]

    assert move(client, headers, session_id, "sale", 5).status_code == 409
    assert report(client, headers, next_shift)["movements"] == []


def test_the_body_is_checked_before_the_session(client, headers):
    response = move(client, headers, "zzzzzzzzzzzzzzzzzzzzzzzz", "tip", 1)
    assert response.status_code == 400


def test_auth_and_store_header_come_first(client, headers, session_id):
    assert client.post(movements_url(session_id), json={}).status_code == 401
    response = client.post(
        movements_url(session_id), json={}, headers={**headers, "x-store-id": ""}
    )
    assert response.get_json()["message"] == "Store ID is required"


class TestReport:
    def test_live_x_report_while_open(self, client, headers, profile, session_id):
        moves = [("sale", "0.10"), ("sale", "0.20"), ("refund", "0.05"), ("pay_in", "20")]
        moves += [("pay_out", "3.33"), ("sale", "7")]
        ids = [
            move(client, headers, session_id, k, D(a)).get_json()["data"]["id"] for k, a in moves
        ]

        data = report(client, headers, session_id)

        assert data["id"] == session_id and data["posClosingId"] is None
        assert data["closing"] is None and data["closedBy"] is None
        assert [m["id"] for m in data["movements"]] == ids  # oldest first
        assert data["summary"] == {
            "openingCash": 100,
            "sales": D("7.3"),
            "refunds": D("0.05"),
            "payIns": 20,
            "payOuts": D("3.33"),
            "drops": 0,
            "noSales": 0,
            "expectedCash": D("123.92"),
            "closingCash": None,
            "difference": None,
            # An addition: per tender, here cash alone, not counted while open.
            "tenders": [
                {"tender": "cash", "expected": D("123.92"), "counted": None, "difference": None}
            ],
            # An addition: the same figures by cashier, here the one who opened.
            "byAttendant": [
                {
                    "profileId": profile,
                    "name": "alice",
                    "sales": D("7.3"),
                    "refunds": D("0.05"),
                    "payIns": 20,
                    "payOuts": D("3.33"),
                    "drops": 0,
                    "noSales": 0,
                    "tenders": [],  # an addition: each other tender it moved
                }
            ],
        }

    def test_z_report_once_closed(self, client, headers, profile, session_id):
        move(client, headers, session_id, "sale", D("50.25"))
        closed = close_shift(client, headers, profile, cash=D("150"))

        data = report(client, headers, session_id)

        assert data["closing"] == closed["closing"]
        assert data["posClosingId"] == closed["closing"]["id"]
        assert data["summary"] == {
            "openingCash": 100,
            "sales": D("50.25"),
            "refunds": 0,
            "payIns": 0,
            "payOuts": 0,
            "drops": 0,
            "noSales": 0,
            "expectedCash": D("150.25"),
            "closingCash": 150,
            "difference": D("-0.25"),
            "tenders": [
                {
                    "tender": "cash",
                    "expected": D("150.25"),
                    "counted": 150,
                    "difference": D("-0.25"),
                }
            ],
            "byAttendant": [
                {
                    "profileId": profile,
                    "name": "alice",
                    "sales": D("50.25"),
                    "refunds": 0,
                    "payIns": 0,
                    "payOuts": 0,
                    "drops": 0,
                    "noSales": 0,
                    "tenders": [],  # an addition: each other tender it moved
                }
            ],
        }

    def test_an_empty_session_expects_its_opening_cash(self, client, headers, session_id):
        summary = report(client, headers, session_id)["summary"]
        assert (summary["sales"], summary["expectedCash"]) == (0, 100)

    def test_a_thousand_cents_sum_exactly(self, app, client, headers, session_id):
        from app.machinery.extensions import db
        from app.models import CashMovement

        with app.app_context():
            db.session.add_all(
                CashMovement(
                    pos_session_id=session_id,
                    store_id=headers["x-store-id"],
                    type="sale",
                    amount=D("0.01"),
                    created_by="t",
                )
                for _ in range(1000)
            )
            db.session.commit()

        summary = report(client, headers, session_id)["summary"]
        assert (summary["sales"], summary["expectedCash"]) == (10, 110)

    def test_unknown_session_is_not_found(self, client, headers):
        response = client.get(report_url("zzzzzzzzzzzzzzzzzzzzzzzz"), headers=headers)
        assert response.status_code == 404
        assert response.get_json() == {"message": "Session not found", "statusCode": 404}

    def test_the_create_session_note_shows(self, client, headers, profile):
        session = open_shift(client, headers, profile, note="float from the safe")
        assert report(client, headers, session["id"])["note"] == "float from the safe"
