"""POST /pos-session/close-session: the blind count, the closing record, the order of checks."""

from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from app.machinery.extensions import db
from app.models import PosClosing, PosSession
from tests.helpers import (
    CLOSE,
    ID,
    PASSWORD,
    TIMESTAMP,
    close_body,
    close_shift,
    move,
    open_shift,
    report,
    sqlite_only,
    write_transactions,
)

D = Decimal


def test_closes_the_open_session_and_reveals_the_count(client, headers, profile, store):
    opened = open_shift(client, headers, profile, cash=100)
    move(client, headers, opened["id"], "sale", D("25.50"))

    response = client.post(CLOSE, json=close_body(profile, D("120.5")), headers=headers)

    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "session has been closed"
    assert body["success"] is True
    data = body["data"]
    assert set(data) == {
        "id",
        "posProfileId",
        "storeId",
        "openingCash",
        "posClosingId",
        "createdAt",
        "updatedAt",
        "note",
        "openedBy",
        "closedBy",
        "closing",
        "cashCount",  # an addition: the opening's count by note and coin, null if none
        "discrepancyAtStart",  # an addition: against the float left before, null if none
    }
    closing = data["closing"]
    assert set(closing) == {
        "id",
        "posSessionId",
        "posProfileId",
        "storeId",
        "closingCash",
        "expectedCash",
        "difference",
        "note",
        "closedBy",
        "createdAt",
        "forced",
        "reason",
        "zNumber",
        "hash",
        "grandTotals",
        "approval",
        "approvedBy",
        "approvedAt",
        "approvalNote",
        "tenders",  # an addition: per tender, cash first
        "cashCount",  # an addition: the count by note and coin, null if none
        "floatLeft",  # additions: the float left in the drawer and the rest to the safe,
        "toSafe",  # null if not said
    }
    assert (closing["forced"], closing["reason"]) == (False, None)
    assert data["id"] == opened["id"] == closing["posSessionId"]
    assert ID.match(closing["id"]) and data["posClosingId"] == closing["id"]
    assert closing["posProfileId"] == profile and closing["storeId"] == store
    assert (closing["closingCash"], closing["expectedCash"], closing["difference"]) == (
        D("120.5"),
        D("125.5"),
        D("-5"),
    )
    assert TIMESTAMP.match(closing["createdAt"])
    assert data["updatedAt"] == closing["createdAt"]
    assert data["createdAt"] == opened["createdAt"]
    assert "assword" not in response.get_data(as_text=True)


def test_after_closing_no_session_is_open_and_a_new_one_can_start(client, headers, profile):
    first = open_shift(client, headers, profile)
    close_shift(client, headers, profile)

    status = client.get(f"/pos-session/session-status/{profile}", headers=headers).get_json()
    assert status == {"hasOpenSession": False, "session": None}
    listed = client.get("/pos-session/profiles", headers=headers).get_json()
    assert listed[0]["isOpened"] is False

    second = open_shift(client, headers, profile)
    assert second["id"] != first["id"]


@pytest.mark.parametrize(
    ("opening", "moves", "counted", "expected", "difference"),
    [
        ("0.10", [("sale", "0.20")], "0.30", "0.3", "0"),
        ("0", [("sale", "0.10"), ("sale", "0.20")], "0.3", "0.3", "0"),
        ("100", [("sale", "10"), ("refund", "2.5"), ("pay_in", "50"), ("pay_out", "7.25")],
         "150.25", "150.25", "0"),
        ("100", [("sale", "0.01")], "99.99", "100.01", "-0.02"),
        ("0", [("pay_out", "20")], "0", "-20", "20"),
        ("1000000000000", [("sale", "1000000000000")], "0.01", "2000000000000",
         "-1999999999999.99"),
    ],
)  # fmt: skip
def test_expected_and_difference_are_exact(
    client, headers, profile, opening, moves, counted, expected, difference
):
    session = open_shift(client, headers, profile, cash=D(opening))
    for kind, amount in moves:
        assert move(client, headers, session["id"], kind, D(amount)).status_code == 201

    closing = close_shift(client, headers, profile, cash=D(counted))["closing"]

    # Compared as JSON text: the numbers on the wire, not a float approximation of them.
    assert (closing["expectedCash"], closing["difference"]) == (D(expected), D(difference))
    assert str(closing["expectedCash"]) == expected
    assert str(closing["difference"]) == difference


def test_ten_dimes_make_exactly_one(client, headers, profile):
    session = open_shift(client, headers, profile, cash=0)
    for _ in range(10):
        move(client, headers, session["id"], "sale", D("0.1"))

    closing = close_shift(client, headers, profile, cash=1)["closing"]

    assert closing["expectedCash"] == 1 and closing["difference"] == 0


def test_the_count_is_blind_the_terminal_cannot_send_an_expected_figure(client, headers, profile):
    open_shift(client, headers, profile)
    body = close_body(profile, 100, expectedCash=100)

    response = client.post(CLOSE, json=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Invalid value for expectedCash"


def test_note_and_who_closed_it_are_recorded(app, client, make_token, store, profile):
    opener = {"Authorization": f"Bearer {make_token(store, name='till-1')}", "x-store-id": store}
    closer = {"Authorization": f"Bearer {make_token(store, name='till-2')}", "x-store-id": store}
    opened = open_shift(client, opener, profile, note="morning float")

    data = close_shift(client, closer, profile, note="short: a 5 went to the bank")

    assert data["note"] == "morning float"
    assert (data["openedBy"], data["closedBy"]) == ("till-1", "till-2")
    assert data["closing"]["note"] == "short: a 5 went to the bank"
    assert data["closing"]["closedBy"] == "till-2"
    with app.app_context():
        session = db.session.get(PosSession, opened["id"])
        assert (session.opened_by, session.closed_by) == ("till-1", "till-2")


@pytest.mark.parametrize("missing", ["profileId", "closingCash", "password"])
def test_a_missing_field_is_missing_data(client, headers, profile, missing):
    open_shift(client, headers, profile)
    body = close_body(profile)
    del body[missing]

    response = client.post(CLOSE, json=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json() == {
        "message": "Missing data",
        "statusCode": 400,
        "errors": {missing: ["Missing data"]},
    }


@pytest.mark.parametrize("value", ["true", '"100"', "null", "-1", "1.001", "1e309", "NaN"])
def test_invalid_closing_cash_is_refused_and_the_session_stays_open(
    client, headers, profile, value
):
    open_shift(client, headers, profile)
    raw = f'{{"profileId": "{profile}", "closingCash": {value}, "password": "{PASSWORD}"}}'

    response = client.post(CLOSE, data=raw, content_type="application/json", headers=headers)

    assert response.status_code == 400
    assert response.get_json()["statusCode"] == 400
    status = client.get(f"/pos-session/session-status/{profile}", headers=headers).get_json()
    assert status["hasOpenSession"] is True


def test_a_note_over_500_characters_is_refused(client, headers, profile):
    open_shift(client, headers, profile)
    response = client.post(CLOSE, json=close_body(profile, note="x" * 501), headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Invalid value for note"


def test_unknown_profile(client, headers):
    response = client.post(CLOSE, json=close_body("zzzzzzzzzzzzzzzzzzzzzzzz"), headers=headers)

    assert response.status_code == 400
    assert response.get_json() == {"message": "Profile not found", "statusCode": 400}


def test_profile_of_another_store_is_not_found_and_stays_open(
    client, make_store, make_profile, make_token
):
    mine, theirs = make_store("mine"), make_store("theirs")
    their_profile = make_profile(theirs)
    token = make_token(mine, theirs)
    their_headers = {"Authorization": f"Bearer {token}", "x-store-id": theirs}
    open_shift(client, their_headers, their_profile)

    response = client.post(
        CLOSE,
        json=close_body(their_profile),
        headers={"Authorization": f"Bearer {token}", "x-store-id": mine},
    )

    assert response.status_code == 400
    assert response.get_json()["message"] == "Profile not found"
    status = client.get(f"/pos-session/session-status/{their_profile}", headers=their_headers)
    assert status.get_json()["hasOpenSession"] is True


def test_wrong_password_leaves_the_session_open(client, headers, profile):
    open_shift(client, headers, profile)
    response = client.post(CLOSE, json=close_body(profile, password="wrong"), headers=headers)

    assert response.status_code == 401
    assert response.get_json() == {"message": "Invalid password", "statusCode": 401}
    status = client.get(f"/pos-session/session-status/{profile}", headers=headers).get_json()
    assert status["hasOpenSession"] is True


def test_no_open_session(client, headers, profile):
    response = client.post(CLOSE, json=close_body(profile), headers=headers)

    assert response.status_code == 400
    assert response.get_json() == {"message": "No open session", "statusCode": 400}


def test_closing_twice_is_no_open_session_and_keeps_the_first_count(client, headers, profile):
    session = open_shift(client, headers, profile, cash=10)
    close_shift(client, headers, profile, cash=10)

    response = client.post(CLOSE, json=close_body(profile, 99), headers=headers)

    assert response.get_json()["message"] == "No open session"
    assert report(client, headers, session["id"])["closing"]["closingCash"] == 10


class TestOrderOfChecks:
    def test_auth_before_body(self, client):
        assert client.post(CLOSE, json={}).status_code == 401

    def test_store_header_before_body(self, client, headers):
        response = client.post(CLOSE, json={}, headers={**headers, "x-store-id": ""})
        assert response.get_json()["message"] == "Store ID is required"

    def test_body_before_profile(self, client, headers):
        body = {"profileId": "unknown", "password": "wrong"}
        assert client.post(CLOSE, json=body, headers=headers).get_json()["message"] == (
            "Missing data"
        )

    def test_profile_before_password(self, client, headers):
        body = close_body("unknown", password="wrong")
        message = client.post(CLOSE, json=body, headers=headers).get_json()["message"]
        assert message == "Profile not found"

    def test_password_before_open_session(self, client, headers, profile):
        response = client.post(CLOSE, json=close_body(profile, password="wrong"), headers=headers)
        assert response.status_code == 401


@sqlite_only
def test_the_close_is_one_immediate_transaction(client, headers, profile, sql_log):
    open_shift(client, headers, profile)
    sql_log.clear()

    response = client.post(CLOSE, json=close_body(profile), headers=headers)

    assert response.status_code == 200
    # The password check begins in a transaction of its own; the close is one: the check's
    # end, the store's Z number and grand totals (its row made at its first close), the
    # journal entry, then the closing with its entry's hash.
    closing = [t for t in write_transactions(sql_log) if "INSERT INTO POS_CLOSING" in t]
    assert closing == [
        [
            "UPDATE PASSWORD_ATTEMPT SET",
            "INSERT INTO STORE_TOTALS",
            "UPDATE STORE_TOTALS SET",
            "INSERT INTO JOURNAL_ENTRY",
            "UPDATE JOURNAL_HEAD SET",
            "INSERT INTO POS_CLOSING",
            "UPDATE POS_SESSION SET",
        ]
    ]


@sqlite_only
def test_a_wrong_password_writes_nothing_but_the_attempt(client, headers, profile, sql_log):
    open_shift(client, headers, profile)
    sql_log.clear()

    response = client.post(CLOSE, json=close_body(profile, password="wrong"), headers=headers)

    assert response.status_code == 401
    # The check in flight, then the wrong password counted.
    assert (
        write_transactions(sql_log)
        == [["INSERT INTO PASSWORD_ATTEMPT", "UPDATE PASSWORD_ATTEMPT SET"]] * 2
    )


def test_the_database_refuses_a_second_closing_for_one_session(app, client, headers, profile):
    session_id = open_shift(client, headers, profile)["id"]
    first = close_shift(client, headers, profile)["closing"]

    with app.app_context():
        db.session.add(
            PosClosing(
                pos_session_id=session_id,
                pos_profile_id=profile,
                store_id=first["storeId"],
                closing_cash=0,
                expected_cash=0,
                difference=0,
                closed_by="sql",
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_a_close_that_slips_past_the_check_is_still_no_open_session(
    client, headers, profile, monkeypatch
):
    """If the open-session check were wrong, the one closing per session still holds."""
    from sqlalchemy import select

    from app.sessions import service

    session_id = open_shift(client, headers, profile)["id"]
    first = close_shift(client, headers, profile, cash=1)["closing"]
    monkeypatch.setattr(
        service,
        "_held_session",
        lambda tx, store_id, profile_id: tx.scalar(
            select(PosSession).where(PosSession.id == session_id)
        ),
    )

    response = client.post(CLOSE, json=close_body(profile, 2), headers=headers)

    assert response.status_code == 400
    assert response.get_json() == {"message": "No open session", "statusCode": 400}
    assert report(client, headers, session_id)["closing"] == first
