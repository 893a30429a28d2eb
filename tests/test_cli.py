"""The administration commands print only the new id or token, so scripts can capture them."""

import bcrypt
import jwt as pyjwt

from app.extensions import db
from app.models import ApiToken, PosProfile, Store
from tests.helpers import ID, SECRET


def test_init_db_is_safe_to_run_again(runner, store):
    first = runner.invoke(args=["init-db"])
    second = runner.invoke(args=["init-db"])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout == ""


def test_store_create_prints_only_the_id(app, runner):
    result = runner.invoke(args=["store", "create", "Main Street"])

    assert result.exit_code == 0
    store_id = result.stdout.strip()
    assert ID.match(store_id) and result.stdout == store_id + "\n"
    with app.app_context():
        assert db.session.get(Store, store_id).name == "Main Street"


def test_profile_create_with_password_option(app, runner, store):
    result = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "1234", "ana"]
    )

    assert result.exit_code == 0, result.output
    profile_id = result.stdout.strip()
    assert ID.match(profile_id)
    with app.app_context():
        profile = db.session.get(PosProfile, profile_id)
        assert (profile.store_id, profile.name) == (store, "ana")
        assert bcrypt.checkpw(b"1234", profile.password_hash)


def test_profile_create_prompts_hidden_and_confirmed(app, runner, store):
    result = runner.invoke(
        args=["profile", "create", "--store", store, "bob"], input="pin9\npin9\n"
    )

    assert result.exit_code == 0, result.output
    profile_id = result.stdout.strip()
    assert ID.match(profile_id), "the prompt must not go to stdout"
    assert "pin9" not in result.output
    with app.app_context():
        assert bcrypt.checkpw(b"pin9", db.session.get(PosProfile, profile_id).password_hash)


def test_profile_create_hashes_at_the_configured_cost(app, runner, store):
    app.config["BCRYPT_ROUNDS"] = 5
    profile_id = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "x", "cy"]
    ).stdout.strip()
    with app.app_context():
        assert db.session.get(PosProfile, profile_id).password_hash.startswith(b"$2b$05$")


def test_profile_create_refuses_unknown_store_duplicate_name_and_long_password(runner, store):
    ok = runner.invoke(args=["profile", "create", "--store", store, "--password", "1", "ana"])
    unknown = runner.invoke(args=["profile", "create", "--store", "nope", "--password", "1", "x"])
    duplicate = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "1", "ana"]
    )
    too_long = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "x" * 73, "y"]
    )

    assert ok.exit_code == 0
    for result in (unknown, duplicate, too_long):
        assert result.exit_code != 0 and result.stdout == ""
    assert "already has a profile" in duplicate.output


def test_token_issue_grants_the_stores_and_is_recorded(app, runner, make_store):
    first, second = make_store("a"), make_store("b")
    result = runner.invoke(
        args=[
            "token",
            "issue",
            "--store",
            first,
            "--store",
            second,
            "--name",
            "till-1",
            "--days",
            "30",
        ]
    )

    assert result.exit_code == 0, result.output
    claims = pyjwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["stores"] == [first, second]
    assert claims["sub"] == "till-1"
    assert claims["exp"] - claims["iat"] == 30 * 86400
    with app.app_context():
        assert db.session.get(ApiToken, claims["jti"]).revoked_at is None


def test_token_issue_refuses_unknown_store(runner, store):
    result = runner.invoke(args=["token", "issue", "--store", store, "--store", "nope"])
    assert result.exit_code != 0 and result.stdout == ""
    assert "unknown store: nope" in result.output
