"""A disabled cashier on the terminal API: cannot open, can still close, is not offered."""

from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PasswordAttempts, PosSession
from app.people.cashiers import set_enabled
from tests.helpers import CLOSE, CREATE, PROFILES, close_body, open_shift


def disable(app, profile_id):
    with app.app_context():
        set_enabled(UnitOfWork(), profile_id, False)


def test_create_session_refuses_a_disabled_profile_before_the_password(
    app, client, headers, profile, open_body
):
    disable(app, profile)

    right = client.post(CREATE, json=open_body, headers=headers)
    wrong = client.post(CREATE, json={**open_body, "password": "wrong"}, headers=headers)
    unknown = client.post(CREATE, json={**open_body, "profileId": "nope"}, headers=headers)

    for response in (right, wrong):
        assert (response.status_code, response.get_json()) == (
            400,
            {"message": "Profile is disabled", "statusCode": 400},
        )
    assert unknown.get_json()["message"] == "Profile not found"
    with app.app_context():
        assert db.session.get(PasswordAttempts, profile) is None  # no attempt counted
        assert db.session.query(PosSession).count() == 0


def test_a_disabled_profile_can_still_close_its_open_session(app, client, headers, profile):
    opened = open_shift(client, headers, profile, cash=100)
    disable(app, profile)

    closed = client.post(CLOSE, json=close_body(profile, cash=100), headers=headers)

    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["data"]["id"] == opened["id"]
    assert closed.get_json()["data"]["closing"]["difference"] == 0


def test_the_profile_list_leaves_disabled_profiles_out(app, client, headers, store, make_profile):
    ana, bob = make_profile(store, "ana"), make_profile(store, "bob")
    disable(app, bob)

    listed = client.get(PROFILES, headers=headers).get_json()

    assert [p["id"] for p in listed] == [ana]


def test_the_api_document_lists_the_refusal(client):
    document = client.get("/openapi.json").get_json()
    refused = document["paths"]["/pos-session/create-session"]["post"]["responses"]["400"]
    assert "`Profile is disabled`" in refused["description"]
