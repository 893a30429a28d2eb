"""Playing attacker: bad tokens, other stores' ids, hostile strings. Each gets its documented
4xx, and the database is left exactly as it was."""

import base64
import json
import time
from uuid import uuid4

import jwt as pyjwt
import pytest
from sqlalchemy import text

from app.machinery.extensions import db
from app.models import ApiToken
from tests.helpers import CREATE, PASSWORD, SECRET

NOBODY = "zzzzzzzzzzzzzzzzzzzzzzzz"
# Every route with its method and body; {p} is the profile id under attack.
ROUTES = [
    ("POST", CREATE),
    ("GET", "/pos-session/session-status/{p}"),
    ("GET", "/pos-session/current-session/{p}"),
    ("GET", "/pos-session/profiles"),
]
# password_attempt is left out: counting a wrong password there is the documented change.
TABLES = ["store", "pos_profile", "pos_session", "api_token"]
HOSTILE = [
    "' OR '1'='1",
    "'; DROP TABLE pos_session; --",
    '" OR 1=1 --',
    "%",
    "_",
    "\x00",
    "../../etc/passwd",
    "\u202e\U0001f600",
    "A" * 10_000,
]


@pytest.fixture
def world(app, make_store, make_profile, make_token, client):
    """Store A (ours) and store B (the victim), each with a cashier; B's has a session open."""
    a, b = make_store("A"), make_store("B")
    w = {
        "a": a,
        "b": b,
        "a_profile": make_profile(a, "alice"),
        "b_profile": make_profile(b, "bob"),
        "a_token": make_token(a),
    }
    b_headers = {"Authorization": f"Bearer {make_token(b)}", "x-store-id": b}
    body = {"profileId": w["b_profile"], "openningCash": 500, "password": PASSWORD}
    assert client.post(CREATE, json=body, headers=b_headers).status_code == 200
    return w


def snapshot(app):
    with app.app_context():
        return {t: db.session.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in TABLES}


def call(client, method, path, headers, profile_id, password=PASSWORD):
    body = {"profileId": profile_id, "openningCash": 1, "password": password}
    return client.open(
        path.format(p=profile_id),
        method=method,
        headers=headers,
        json=body if method == "POST" else None,
    )


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(store_id, jti, **changes):
    now = int(time.time())
    base = {
        "sub": "terminal-1",
        "stores": [store_id],
        "jti": jti,
        "type": "access",
        "fresh": False,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def recorded_jti(app, store_id):
    """A jti in the token table, so that only the forgery itself can be the reason to refuse."""
    jti = str(uuid4())
    with app.app_context():
        db.session.add(ApiToken(jti=jti, name="terminal-1", stores=store_id))
        db.session.commit()
    return jti


def bad_tokens(app, world):
    a, b = world["a"], world["b"]
    jti = recorded_jti(app, a)
    header, payload, signature = world["a_token"].split(".")
    widened = {**pyjwt.decode(world["a_token"], options={"verify_signature": False})}
    widened["stores"] = [a, b]
    return {
        "garbage": "not-a-jwt",
        "payload-edited": f"{header}.{b64(widened)}.{signature}",
        "alg-none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(a, jti))}.",
        "wrong-key": pyjwt.encode(claims(a, jti), "another-secret-of-at-least-32-bytes!!"),
        "hs512-same-key": pyjwt.encode(claims(a, jti), SECRET, algorithm="HS512"),
        "never-issued": pyjwt.encode(claims(a, str(uuid4())), SECRET),
        "no-jti": pyjwt.encode(claims(a, None), SECRET),
        "no-subject": pyjwt.encode(claims(a, jti, sub=None), SECRET),
        "expired": pyjwt.encode(claims(a, jti, exp=int(time.time()) - 10), SECRET),
        "not-yet-valid": pyjwt.encode(claims(a, jti, nbf=int(time.time()) + 3600), SECRET),
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 forgery
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_bad_tokens_get_401_on_every_route(app, client, world, method, path):
    tokens = bad_tokens(app, world)
    before = snapshot(app)
    for name, token in tokens.items():
        for scheme in ("Bearer", "Basic"):
            headers = {"Authorization": f"{scheme} {token}", "x-store-id": world["a"]}
            response = call(client, method, path, headers, world["a_profile"])
            assert response.status_code == 401, (name, scheme)
            assert set(response.get_json()) == {"message", "statusCode"}, name
            if name == "expired" and scheme == "Bearer":
                assert response.get_json()["message"] == "Token has expired"
    assert snapshot(app) == before


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_store_the_token_does_not_grant_is_403_like_one_that_does_not_exist(
    app, client, world, method, path
):
    before = snapshot(app)
    for store_id in (world["b"], NOBODY, world["a"].upper()):
        headers = {"Authorization": f"Bearer {world['a_token']}", "x-store-id": store_id}
        response = call(client, method, path, headers, world["b_profile"])
        assert response.status_code == 403
        assert response.get_json() == {
            "message": "Access to this store is denied",
            "statusCode": 403,
        }
    assert snapshot(app) == before


def test_a_stores_claim_that_is_not_a_list_is_an_invalid_token(app, client, world):
    # It differs from the stores the token table records for this jti.
    token = pyjwt.encode(
        claims(world["a"], recorded_jti(app, world["a"]), stores=world["a"]), SECRET
    )
    headers = {"Authorization": f"Bearer {token}", "x-store-id": world["a"]}
    response = client.get("/pos-session/profiles", headers=headers)
    assert (response.status_code, response.get_json()["message"]) == (401, "Invalid token")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_another_stores_profile_is_exactly_like_no_profile(app, client, world, method, path):
    headers = {"Authorization": f"Bearer {world['a_token']}", "x-store-id": world["a"]}
    before = snapshot(app)

    theirs = call(client, method, path, headers, world["b_profile"])
    nobody = call(client, method, path, headers, NOBODY)

    assert (theirs.status_code, theirs.get_json()) == (nobody.status_code, nobody.get_json())
    assert world["b_profile"] not in theirs.get_data(as_text=True)
    assert world["b"] not in theirs.get_data(as_text=True)
    assert snapshot(app) == before


def test_guessing_another_stores_password_cannot_lock_its_cashier(app, client, world):
    headers = {"Authorization": f"Bearer {world['a_token']}", "x-store-id": world["a"]}
    for _ in range(10):
        response = call(client, "POST", CREATE, headers, world["b_profile"], password="wrong")
        assert response.get_json()["message"] == "Profile not found"
    with app.app_context():
        wrong = text("SELECT count(*) FROM password_attempt WHERE attempts > 0")
        assert db.session.execute(wrong).scalar() == 0


@pytest.mark.parametrize("field", ["storeId", "id", "posClosingId", "posProfileId"])
def test_fields_the_server_sets_cannot_be_sent(app, client, world, field):
    headers = {"Authorization": f"Bearer {world['a_token']}", "x-store-id": world["a"]}
    body = {"profileId": world["a_profile"], "openningCash": 1, "password": PASSWORD}
    before = snapshot(app)

    response = client.post(CREATE, json={**body, field: world["b"]}, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == f"Invalid value for {field}"
    assert snapshot(app) == before


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:12]))
def test_hostile_strings_in_every_field_change_nothing(app, client, world, value):
    auth = {"Authorization": f"Bearer {world['a_token']}", "x-store-id": world["a"]}
    profile = world["a_profile"]
    before = snapshot(app)

    def post(**fields):
        body = {"profileId": profile, "openningCash": 1, "password": PASSWORD, **fields}
        return client.post(CREATE, json=body, headers=auth)

    # NUL is refused as a value: PostgreSQL cannot store it in text.
    invalid = len(value) > 64 or "\x00" in value
    assert post(profileId=value).get_json()["message"] == (
        "Invalid value for profileId" if invalid else "Profile not found"
    )
    assert post(openningCash=value).get_json()["message"] == "Invalid value for openningCash"
    password = post(password=value)
    assert password.status_code == (400 if len(value.encode()) > 72 or "\x00" in value else 401)
    for path in ("/pos-session/session-status/{p}", "/pos-session/current-session/{p}"):
        response = client.get(path.format(p=value), headers=auth)
        if "/" in value or "\x00" in value:  # it no longer matches the route
            assert response.status_code == 404
        else:
            assert response.get_json() == client.get(path.format(p=NOBODY), headers=auth).get_json()
    store = client.get("/pos-session/profiles", headers={**auth, "x-store-id": value})
    assert store.status_code == (403 if value.strip() else 400)
    token = client.get("/pos-session/profiles", headers={**auth, "Authorization": value})
    assert token.status_code == 401

    assert snapshot(app) == before
    assert client.get("/pos-session/profiles", headers=auth).status_code == 200
