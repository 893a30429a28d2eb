"""Bearer tokens and store scope, checked in the contract's order: token, x-store-id, grant.

Tokens are HS256 JWTs signed with the app's secret, made and checked with PyJWT directly: on
every request that is one decode and one indexed lookup of the ``jti`` (revocation).
"""

import time
from datetime import timedelta
from functools import lru_cache, wraps
from uuid import uuid4

import jwt
from flask import current_app, g, request
from sqlalchemy import bindparam, select

from .database import write_transaction
from .errors import ApiError
from .extensions import db
from .models import ApiToken, Store, utcnow

ALGORITHM = "HS256"
STORES_CLAIM = "stores"
REQUIRED_CLAIMS = ["exp", "sub", "jti", STORES_CLAIM]


def issue_token(store_ids: list[str], name: str, days: int) -> str:
    """Record a new token and return it signed; refuses store ids that do not exist."""
    found = set(db.session.scalars(select(Store.id).where(Store.id.in_(store_ids))))
    missing = [s for s in store_ids if s not in found]
    if missing:
        raise ValueError(f"unknown store: {', '.join(missing)}")
    now, jti = utcnow(), str(uuid4())
    expires = now + timedelta(days=days)
    db.session.add(
        ApiToken(jti=jti, name=name, stores=" ".join(store_ids), created_at=now, expires_at=expires)
    )
    db.session.commit()
    claims = {"sub": name, STORES_CLAIM: list(store_ids), "jti": jti, "iat": now, "exp": expires}
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM)


def revoke_tokens(jti: str | None = None, store_id: str | None = None) -> list[str]:
    """Revoke one token by its jti, or every token granting a store; returns the jtis revoked.

    A token already revoked keeps its first revocation time and is not returned again.
    """
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
    if jti is not None:
        query = query.where(ApiToken.jti == jti)
    with write_transaction() as session:
        tokens = [t for t in session.scalars(query) if jti or store_id in t.stores.split()]
        now = utcnow()
        for token in tokens:
            token.revoked_at = now
        return [token.jti for token in tokens]


def store_scoped(view):
    """Authenticate, then bind ``g.store_id`` to a store this token may act on."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        claims = _verified_claims()
        store_id = request.headers.get("x-store-id", "").strip()
        if not store_id:
            raise ApiError(400, "Store ID is required")
        granted = claims[STORES_CLAIM]
        if not isinstance(granted, list) or store_id not in granted or not _store_exists(store_id):
            raise ApiError(403, "Access to this store is denied")
        g.store_id = store_id
        g.actor = claims["sub"]
        return view(*args, **kwargs)

    return wrapper


def _verified_claims() -> dict:
    """The bearer token's claims once its signature, lifetime and revocation pass; else 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        raise _unauthorized("Missing or malformed Authorization header")
    try:
        claims = _signed_claims(token, current_app.config["SECRET_KEY"])
    except jwt.ExpiredSignatureError:
        raise _unauthorized("Token has expired") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("Invalid token") from None
    # _signed_claims checked the lifetime when it first saw the token; that may be long ago.
    if claims["exp"] <= time.time():
        raise _unauthorized("Token has expired")
    if _is_revoked(claims["jti"]):
        raise _unauthorized("Token has been revoked")
    return claims


@lru_cache(maxsize=1024)
def _signed_claims(token: str, secret: str) -> dict:
    """A token's claims if its signature and claims check out, else InvalidTokenError.

    A terminal sends the same token on every request for a year; verifying it once per worker
    saves ~50 us, a tenth of a read request. Only successes are cached (an exception is not),
    and expiry and revocation are still checked on every request. Do not modify the dict.
    """
    return jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],  # never the token's own say: no "none", no key confusion
        options={"require": REQUIRED_CLAIMS},
    )


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


# Built once and run as Core on the session's connection: it is on every request.
REVOKED_AT = select(ApiToken.__table__.c.revoked_at).where(
    ApiToken.__table__.c.jti == bindparam("jti")
)


def _is_revoked(jti: str) -> bool:
    """A token not in the table (never issued here) counts as revoked, as does a revoked one."""
    row = db.session.connection().execute(REVOKED_AT, {"jti": jti}).first()
    return row is None or row.revoked_at is not None


def _store_exists(store_id: str) -> bool:
    # Stores are never deleted, so a store seen once is cached for the life of the worker.
    known = current_app.extensions.setdefault("pos_known_stores", set())
    if store_id not in known and db.session.get(Store, store_id) is not None:
        known.add(store_id)
    return store_id in known
