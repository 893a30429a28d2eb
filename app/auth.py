"""Bearer tokens and store scope, checked in the contract's order: token, x-store-id, grant."""

from datetime import timedelta
from functools import wraps
from uuid import uuid4
from weakref import WeakKeyDictionary

from flask import g, request
from flask_jwt_extended import create_access_token, get_jwt, verify_jwt_in_request
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from .database import UnitOfWork
from .errors import error_response
from .exceptions import StoreAccessDenied, StoreIdRequired
from .extensions import db, jwt
from .models import ApiToken, Store, utcnow

STORES_CLAIM = "stores"


def issue_token(store_ids: list[str], name: str, days: int | None) -> str:
    """Record a new token and return it signed; refuses store ids that do not exist."""
    jti = str(uuid4())
    expires = timedelta(days=days) if days else False
    with UnitOfWork() as uow:
        found = set(uow.session.scalars(select(Store.id).where(Store.id.in_(store_ids))))
        missing = [s for s in store_ids if s not in found]
        if missing:
            raise ValueError(f"unknown store: {', '.join(missing)}")
        uow.session.add(
            ApiToken(
                jti=jti,
                name=name,
                stores=" ".join(store_ids),
                expires_at=utcnow() + expires if expires else None,
            )
        )
        uow.commit()
    return create_access_token(
        identity=name,
        additional_claims={STORES_CLAIM: list(store_ids), "jti": jti},
        expires_delta=expires,
    )


def revoke_tokens(jti: str | None = None, store_id: str | None = None) -> list[str]:
    """Revoke one token by its jti, or every token granting a store; returns the jtis revoked.

    A token already revoked keeps its first revocation time and is not returned again.
    """
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
    if jti is not None:
        query = query.where(ApiToken.jti == jti)
    with UnitOfWork() as uow:
        tokens = [t for t in uow.session.scalars(query) if jti or store_id in t.stores.split()]
        now = utcnow()
        for token in tokens:
            token.revoked_at = now
        uow.commit()
    return [token.jti for token in tokens]


def store_scoped(view):
    """Authenticate, then bind ``g.store_id`` to a store this token may act on."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        verify_jwt_in_request()
        store_id = request.headers.get("x-store-id", "").strip()
        if not store_id:
            raise StoreIdRequired()
        claims = get_jwt()
        granted = claims.get(STORES_CLAIM)
        if not isinstance(granted, list) or store_id not in granted or not _store_exists(store_id):
            raise StoreAccessDenied()
        g.store_id = store_id
        g.actor = claims["sub"]
        return view(*args, **kwargs)

    return wrapper


# Stores are never deleted, so a store seen once is known for the life of the worker; per
# database (engine), as tests and tools run more than one app in a process.
_known_stores: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()


def _store_exists(store_id: str) -> bool:
    known = _known_stores.setdefault(db.engine, set())
    if store_id not in known and db.session.get(Store, store_id) is not None:
        known.add(store_id)
    return store_id in known


# Built once: it runs on every request.
REVOKED_AT = select(ApiToken.revoked_at).where(ApiToken.jti == bindparam("jti"))


def _is_revoked(_header, payload) -> bool:
    """A token not in the table (never issued here) counts as revoked, as does a revoked one."""
    row = db.session.execute(REVOKED_AT, {"jti": payload.get("jti", "")}).first()
    return row is None or row.revoked_at is not None


def _refuse(message: str):
    """A flask-jwt-extended loader answering 401 in our format, not its 422 ``{"msg": ...}``."""
    return lambda *_: error_response(401, message, headers={"WWW-Authenticate": "Bearer"})


def init_app(app) -> None:
    """Bind the JWT manager to the app, with our revocation check and 401 answers."""
    jwt.init_app(app)
    jwt.token_in_blocklist_loader(_is_revoked)
    jwt.unauthorized_loader(_refuse("Missing or malformed Authorization header"))
    jwt.expired_token_loader(_refuse("Token has expired"))
    jwt.revoked_token_loader(_refuse("Token has been revoked"))
    for loader in (
        jwt.invalid_token_loader,
        jwt.token_verification_failed_loader,
        jwt.user_lookup_error_loader,
        jwt.needs_fresh_token_loader,
    ):
        loader(_refuse("Invalid token"))
