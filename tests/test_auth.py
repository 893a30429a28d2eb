"""Auth and store scope, in the contract's order: token (401), x-store-id (400), grant (403)."""

import time
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token

from app.machinery.extensions import db
from app.models import ApiToken, utcnow
from tests.helpers import SECRET

ROUTES = [
    ("post", "/pos-session/create-session"),
    ("get", "/pos-session/session-status/p1"),
    ("get", "/pos-session/current-session/p1"),
    ("get", "/pos-session/profiles"),
]


def call(client, method, path, headers):
    return getattr(client, method)(path, headers=headers, json={} if method == "post" else None)


def assert_401(response):
    assert response.status_code == 401
    body = response.get_json()
    assert set(body) == {"message", "statusCode"}
    assert body["statusCode"] == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def signed(claims: dict, key: str = SECRET, algorithm: str = "HS256") -> str:
    return pyjwt.encode(claims, key, algorithm=algorithm)


@pytest.fixture
def claims(app, make_token, store):
    """The claims of a real issued token, to be tampered with."""
    token = make_token(store)
    return pyjwt.decode(token, SECRET, algorithms=["HS256"])


def drop_expiry(claims):
    del claims["exp"]


def later_expiry(claims):
    claims["exp"] += 365 * 24 * 3600


@pytest.mark.parametrize(
    "tamper",
    [
        lambda claims, other: claims["stores"].append(other),
        lambda claims, other: claims.update(stores=[other]),
        lambda claims, other: drop_expiry(claims),
        lambda claims, other: later_expiry(claims),
    ],
    ids=["more stores", "other stores", "no expiry", "later expiry"],
)
def test_claims_that_differ_from_the_token_table_are_401(client, store, make_store, claims, tamper):
    # Re-signed with the right key (a leaked secret, say): the table, not the claims, decides.
    other = make_store("Other")
    headers = {"Authorization": f"Bearer {signed(claims)}", "x-store-id": store}
    assert client.get("/pos-session/profiles", headers=headers).status_code == 200

    tamper(claims, other)

    for store_id in (store, other):
        headers = {"Authorization": f"Bearer {signed(claims)}", "x-store-id": store_id}
        response = client.get("/pos-session/profiles", headers=headers)
        assert_401(response)
        assert response.get_json()["message"] == "Invalid token"


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearer not.a.jwt", "token"],
)
def test_missing_or_malformed_token_is_401(client, store, method, path, authorization):
    headers = {"x-store-id": store}
    if authorization is not None:
        headers["Authorization"] = authorization
    assert_401(call(client, method, path, headers))


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_token_signed_with_another_key_is_401(client, store, claims, method, path):
    token = signed(claims, key="another-secret-that-is-also-long-enough")
    assert_401(
        call(client, method, path, {"Authorization": f"Bearer {token}", "x-store-id": store})
    )


def test_alg_none_is_401(client, store, claims):
    token = pyjwt.encode(claims, key=None, algorithm="none")
    response = client.get(
        "/pos-session/profiles", headers={"Authorization": f"Bearer {token}", "x-store-id": store}
    )
    assert_401(response)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_other_algorithm_is_401(client, store, claims):
    token = signed(claims, algorithm="HS512")
    response = client.get(
        "/pos-session/profiles", headers={"Authorization": f"Bearer {token}", "x-store-id": store}
    )
    assert_401(response)


def test_expired_token_is_401_token_has_expired(client, store, claims):
    claims["exp"] = int((utcnow() - timedelta(minutes=5)).timestamp())
    token = signed(claims)
    response = client.get(
        "/pos-session/profiles", headers={"Authorization": f"Bearer {token}", "x-store-id": store}
    )
    assert_401(response)
    assert response.get_json()["message"] == "Token has expired"


def test_a_token_verified_before_still_expires(app, client, store, claims):
    # Each worker keeps the tokens it has verified: until they expire, not after.
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    claims["exp"] = int(expires.timestamp())
    with app.app_context():
        db.session.execute(db.update(ApiToken).values(expires_at=expires.replace(tzinfo=None)))
        db.session.commit()
    headers = {"Authorization": f"Bearer {signed(claims)}", "x-store-id": store}
    assert client.get("/pos-session/profiles", headers=headers).status_code == 200

    time.sleep(max(0, expires.timestamp() - time.time()) + 0.1)

    response = client.get("/pos-session/profiles", headers=headers)
    assert_401(response)
    assert response.get_json()["message"] == "Token has expired"


def test_revoked_token_is_401(app, client, store, make_token):
    token = make_token(store)
    headers = {"Authorization": f"Bearer {token}", "x-store-id": store}
    assert client.get("/pos-session/profiles", headers=headers).status_code == 200

    with app.app_context():
        db.session.execute(db.update(ApiToken).values(revoked_at=utcnow()))
        db.session.commit()

    response = client.get("/pos-session/profiles", headers=headers)
    assert_401(response)
    assert response.get_json()["message"] == "Token has been revoked"


def test_token_never_issued_here_is_401(app, client, store):
    # Signed with the right key but unknown to the token table (e.g. a database restored
    # from before it was issued): refused like a revoked one.
    with app.app_context():
        token = create_access_token("ghost", additional_claims={"stores": [store]})
    response = client.get(
        "/pos-session/profiles", headers={"Authorization": f"Bearer {token}", "x-store-id": store}
    )
    assert_401(response)


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("store_header", [None, "", "   "])
def test_missing_store_header_is_400(client, make_token, store, method, path, store_header):
    headers = {"Authorization": f"Bearer {make_token(store)}"}
    if store_header is not None:
        headers["x-store-id"] = store_header
    response = call(client, method, path, headers)
    assert response.status_code == 400
    assert response.get_json() == {"message": "Store ID is required", "statusCode": 400}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_store_not_granted_and_store_unknown_get_the_same_403(
    app, client, make_store, make_token, method, path
):
    mine, other = make_store("mine"), make_store("other")
    token = make_token(mine)
    with app.app_context():
        # A token that grants a store that does not exist cannot be issued; forge the claim.
        ghost_token = create_access_token(
            "t", additional_claims={"stores": ["nosuchstore"], "jti": "forged-ghost"}
        )
        db.session.add(ApiToken(jti="forged-ghost", name="t", stores="nosuchstore"))
        db.session.commit()

    not_granted = call(
        client, method, path, {"Authorization": f"Bearer {token}", "x-store-id": other}
    )
    unknown = call(
        client,
        method,
        path,
        {"Authorization": f"Bearer {ghost_token}", "x-store-id": "nosuchstore"},
    )

    expected = {"message": "Access to this store is denied", "statusCode": 403}
    assert not_granted.status_code == unknown.status_code == 403
    assert not_granted.get_json() == unknown.get_json() == expected


def test_one_token_may_grant_several_stores(client, make_store, make_token):
    first, second = make_store("first"), make_store("second")
    token = make_token(first, second)
    for store_id in (first, second):
        response = client.get(
            "/pos-session/profiles",
            headers={"Authorization": f"Bearer {token}", "x-store-id": store_id},
        )
        assert response.status_code == 200
