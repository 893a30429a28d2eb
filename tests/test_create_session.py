from decimal import Decimal

import pytest

from tests.helpers import CREATE, ID, PASSWORD, TIMESTAMP, sqlite_only, write_transactions


def test_opens_a_session_in_the_reference_shape(client, headers, open_body, profile, store):
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "session has been started"
    assert body["success"] is True
    assert "hashedPassword" not in body
    [session] = body["data"]
    assert set(session) == {
        "id",
        "posProfileId",
        "storeId",
        "openingCash",
        "posClosingId",
        "createdAt",
        "updatedAt",
        "discrepancyAtStart",  # an addition (docs/api.md, item 20): null, no float before
    }
    assert session["discrepancyAtStart"] is None
    assert ID.match(session["id"])
    assert session["posProfileId"] == profile
    assert session["storeId"] == store
    assert session["openingCash"] == 15000
    assert session["posClosingId"] is None
    assert TIMESTAMP.match(session["createdAt"])
    assert session["createdAt"] == session["updatedAt"]


def test_no_password_hash_in_any_response(client, headers, open_body):
    texts = [
        client.post(CREATE, json=open_body, headers=headers).get_data(as_text=True),
        client.get("/pos-session/profiles", headers=headers).get_data(as_text=True),
    ]
    for text in texts:
        assert "$2b$" not in text and "assword" not in text


@pytest.mark.parametrize(
    ("sent", "text"),
    [
        ("15000", "15000"),
        ("12.5", "12.5"),
        ("0.1", "0.1"),
        ("12.50", "12.5"),
        ("0", "0"),
        ("1000000000000", "1000000000000"),
        ("999999999999.99", "999999999999.99"),
        ("15000.0", "15000"),
    ],
)
def test_money_round_trips_exactly(client, headers, profile, sent, text):
    raw = f'{{"profileId": "{profile}", "openningCash": {sent}, "password": "{PASSWORD}"}}'
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)

    assert response.status_code == 200
    assert f'"openingCash":{text},' in response.get_data(as_text=True)
    status = client.get(f"/pos-session/session-status/{profile}", headers=headers)
    assert f'"openingCash":{text},' in status.get_data(as_text=True)


@pytest.mark.parametrize(
    "value", ["true", '"15000"', "null", "-1", "12.345", "1000000000000.01", "1e309", "[]", "{}"]
)
def test_invalid_money_is_refused_naming_the_field(client, headers, profile, value):
    raw = f'{{"profileId": "{profile}", "openningCash": {value}, "password": "{PASSWORD}"}}'
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)

    assert response.status_code == 400
    body = response.get_json()
    assert body["message"] == "Invalid value for openningCash"
    assert "openningCash" in body["errors"]
    assert client.get(f"/pos-session/session-status/{profile}", headers=headers).get_json() == {
        "hasOpenSession": False,
        "session": None,
    }


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(client, headers, profile, value):
    raw = f'{{"profileId": "{profile}", "openningCash": {value}, "password": "{PASSWORD}"}}'
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)

    assert response.status_code == 400
    assert response.get_json()["statusCode"] == 400


def test_correct_spelling_opening_cash_is_accepted(client, headers, profile):
    body = {"profileId": profile, "openingCash": 300.25, "password": PASSWORD}
    response = client.post(CREATE, json=body, headers=headers)

    assert response.status_code == 200
    assert response.get_json()["data"][0]["openingCash"] == Decimal("300.25")


def test_both_spellings_agreeing_is_fine(client, headers, profile):
    body = {"profileId": profile, "openingCash": 0, "openningCash": 0, "password": PASSWORD}
    assert client.post(CREATE, json=body, headers=headers).status_code == 200


def test_both_spellings_differing_is_refused(client, headers, profile):
    body = {"profileId": profile, "openingCash": 10, "openningCash": 20, "password": PASSWORD}
    response = client.post(CREATE, json=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Invalid value for openingCash"


@pytest.mark.parametrize("missing", ["profileId", "openningCash", "password"])
def test_a_missing_field_is_missing_data(client, headers, open_body, missing):
    del open_body[missing]
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Missing data"


@pytest.mark.parametrize("field", ["profileId", "password"])
def test_an_empty_string_is_missing_data(client, headers, open_body, field):
    open_body[field] = ""
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Missing data"


@pytest.mark.parametrize(
    ("field", "value"), [("profileId", 42), ("password", ["x"]), ("profileId", "p" * 65)]
)
def test_a_wrong_type_or_length_names_the_field(client, headers, open_body, field, value):
    open_body[field] = value
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == f"Invalid value for {field}"


def test_a_password_longer_than_bcrypt_takes_is_a_clear_400(client, headers, open_body):
    open_body["password"] = "é" * 37  # 74 bytes, 37 characters
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["errors"]["password"] == ["Must be at most 72 bytes."]


def test_an_unknown_field_is_refused(client, headers, open_body):
    open_body["opening"] = 1
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Invalid value for opening"


@pytest.mark.parametrize("raw", ["[]", '"text"', "null", "42"])
def test_a_body_that_is_not_an_object_is_refused(client, headers, raw):
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Invalid input type."


def test_unknown_profile(client, headers, open_body):
    open_body["profileId"] = "zzzzzzzzzzzzzzzzzzzzzzzz"
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 400
    assert response.get_json() == {"message": "Profile not found", "statusCode": 400}


def test_wrong_password(client, headers, open_body):
    open_body["password"] = "wrong"
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 401
    assert response.get_json() == {"message": "Invalid password", "statusCode": 401}


def test_second_open_is_refused_and_first_kept(client, headers, open_body, profile):
    first = client.post(CREATE, json=open_body, headers=headers).get_json()["data"][0]
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 400
    assert response.get_json() == {"message": "Session already open", "statusCode": 400}
    current = client.get(f"/pos-session/current-session/{profile}", headers=headers)
    assert current.get_json()["data"]["id"] == first["id"]


def test_profile_of_another_store_is_not_found(client, make_store, make_profile, make_token):
    mine, theirs = make_store("mine"), make_store("theirs")
    their_profile = make_profile(theirs)
    headers = {"Authorization": f"Bearer {make_token(mine, theirs)}", "x-store-id": mine}
    body = {"profileId": their_profile, "openningCash": 1, "password": PASSWORD}

    response = client.post(CREATE, json=body, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == "Profile not found"


class TestOrderOfChecks:
    def test_body_before_profile(self, client, headers):
        body = {"profileId": "unknown", "password": "wrong"}
        assert (
            client.post(CREATE, json=body, headers=headers).get_json()["message"] == "Missing data"
        )

    def test_profile_before_password(self, client, headers):
        body = {"profileId": "unknown", "openningCash": 1, "password": "wrong"}
        message = client.post(CREATE, json=body, headers=headers).get_json()["message"]
        assert message == "Profile not found"

    def test_password_before_exclusivity(self, client, headers, open_body):
        client.post(CREATE, json=open_body, headers=headers)
        response = client.post(CREATE, json={**open_body, "password": "wrong"}, headers=headers)
        assert response.status_code == 401

    def test_auth_before_body(self, client):
        response = client.post(CREATE, json={})
        assert response.status_code == 401

    def test_store_header_before_body(self, client, headers):
        response = client.post(CREATE, json={}, headers={**headers, "x-store-id": ""})
        assert response.get_json()["message"] == "Store ID is required"


def test_the_session_records_who_opened_it(app, client, make_token, store, open_body):
    from app.machinery.extensions import db
    from app.models import PosSession

    headers = {"Authorization": f"Bearer {make_token(store, name='till-3')}", "x-store-id": store}
    session_id = client.post(CREATE, json=open_body, headers=headers).get_json()["data"][0]["id"]

    with app.app_context():
        assert db.session.get(PosSession, session_id).opened_by == "till-3"


@sqlite_only
def test_two_write_transactions_besides_bcrypt(client, headers, open_body, sql_log):
    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 200
    # The password check in flight (and its bcrypt budget), then the open, which ends the
    # check in its own transaction: a success clears nothing apart.
    check, opened = write_transactions(sql_log)
    assert check == ["INSERT INTO PASSWORD_ATTEMPT", "UPDATE PASSWORD_ATTEMPT SET"]
    assert opened[:2] == ["UPDATE PASSWORD_ATTEMPT SET", "INSERT INTO POS_SESSION"]
    assert sql_log.count("COMMIT") == 2
