"""Bearer tokens and store scope, checked in the contract's order: token, x-store-id, grant.

A token is checked against its row in ``api_token``: not revoked, and granting the stores and
expiring when the row says, whatever its claims say.
"""

from datetime import UTC, timedelta
from functools import wraps
from uuid import uuid4
from weakref import WeakKeyDictionary

from flask import current_app, g, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    get_jwt,
    verify_jwt_in_request,
)
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from ..exceptions import (
    AuthorizationMissing,
    StoreAccessDenied,
    StoreIdRequired,
    TokenExpired,
    TokenInvalid,
    TokenNotKnown,
    TokenRevoked,
    TokenScopeDenied,
)
from ..machinery.database import UnitOfWork, read_connection
from ..machinery.extensions import db
from ..models import ApiToken, Store, utcnow
from ..sessions.periods import close_ended

STORES_CLAIM = "stores"
# A token's scope (its row's): a terminal's opens every store-scoped route, a follower's (head
# office's, docs/chain.md) the journal only.
TERMINAL, FOLLOWER = "terminal", "follower"


# Verifies each distinct token once per worker: app.patches.
jwt = JWTManager()


def issue_token(store_ids: list[str], name: str, days: int | None, scope: str = TERMINAL) -> str:
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
                scope=scope,
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


def store_scoped(view, scopes=(TERMINAL,)):
    """Authenticate, then bind ``g.store_id`` to a store this token may act on, with a token
    of one of ``scopes``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        verify_jwt_in_request()
        store_id = request.headers.get("x-store-id", "").strip()
        if not store_id:
            raise StoreIdRequired()
        # The grant is the token table's (checked equal to the claims by _matches_table).
        if store_id not in g.token_row.stores.split() or not _store_exists(store_id):
            raise StoreAccessDenied()
        if g.token_row.scope not in scopes:
            raise TokenScopeDenied()
        g.store_id = store_id
        g.actor = get_jwt()["sub"]
        close_ended(store_id)  # a period that ended since this worker last looked
        return view(*args, **kwargs)

    return wrapper


def follower_readable(view):
    """``store_scoped`` that a follower token opens too: the journal's route only."""
    return store_scoped(view, scopes=(TERMINAL, FOLLOWER))


# Stores are never deleted, so a store seen once is known for the life of the worker; per
# database (engine), as tests and tools run more than one app in a process.
_known_stores: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()


STORE_EXISTS = select(Store.id).where(Store.id == bindparam("id"))


def _store_exists(store_id: str) -> bool:
    known = _known_stores.setdefault(db.engine, set())
    if store_id not in known and read_connection().scalar(STORE_EXISTS, {"id": store_id}):
        known.add(store_id)
    return store_id in known


# Built once: it runs on every request, as the one read of the token table (by primary key).
TOKEN_ROW = select(ApiToken.revoked_at, ApiToken.stores, ApiToken.expires_at, ApiToken.scope).where(
    ApiToken.jti == bindparam("jti")
)
# Tokens issued before their expiry was signed from the recorded one were signed a moment after
# recording it: a gap of seconds is that, never a lifetime worth forging.
EXPIRY_TOLERANCE_SECONDS = 5


def _is_revoked(_header, payload) -> bool:
    """A token not in the table was signed with this secret for another database (one created
    anew, or restored from before the token): say so, rather than "revoked".

    Run where the request reads (``read_connection``) as a Core statement, not through the ORM,
    and never cached: a revocation holds on the next request in every worker. The row is kept
    for the checks that follow (``_matches_table``, the store grant).
    """
    row = read_connection().execute(TOKEN_ROW, {"jti": payload.get("jti", "")}).first()
    g.token_row = row
    if row is None:
        raise TokenNotKnown()
    return row.revoked_at is not None


class ScopedUnitOfWork(UnitOfWork):
    """The unit of work of a store-scoped write: first thing under the write lock, the token is
    read again, so one revoked while its request was in flight (its body still on the wire,
    its password in bcrypt) writes nothing. On PostgreSQL the token's row is share-locked: a
    revocation waits for this write to end, or this write waits and then sees it."""

    def __enter__(self):
        super().__enter__()
        jti = get_jwt()["jti"]
        row = self.session.execute(TOKEN_ROW.with_for_update(read=True), {"jti": jti}).first()
        if row is None or row.revoked_at is not None:
            self.close()
            raise TokenNotKnown() if row is None else TokenRevoked()
        return self


def _matches_table(_header, payload) -> bool:
    """The token table is the truth: a token whose stores or expiry differ from what was
    recorded (re-signed with a leaked key, say) is refused as invalid."""
    row = g.token_row
    granted = payload.get(STORES_CLAIM)
    if not isinstance(granted, list) or sorted(granted) != sorted(row.stores.split()):
        return False
    expires = payload.get("exp")
    if row.expires_at is None:
        return expires is None
    recorded = row.expires_at.replace(tzinfo=UTC).timestamp()
    return isinstance(expires, int) and abs(expires - recorded) <= EXPIRY_TOLERANCE_SECONDS


def _refuse(error: type[Exception]):
    """A flask-jwt-extended loader answering our error through the app's error table (it runs
    inside an error handler, so it cannot raise), not with its 422 ``{"msg": ...}``."""
    return lambda *_: current_app.handle_user_exception(error())


def init_app(app) -> None:
    """Bind the JWT manager to the app, with our revocation check and 401 answers."""
    jwt.init_app(app)
    jwt.token_in_blocklist_loader(_is_revoked)
    jwt.unauthorized_loader(_refuse(AuthorizationMissing))
    jwt.expired_token_loader(_refuse(TokenExpired))
    jwt.revoked_token_loader(_refuse(TokenRevoked))
    jwt.token_verification_loader(_matches_table)
    for loader in (
        jwt.invalid_token_loader,
        jwt.token_verification_failed_loader,
        jwt.user_lookup_error_loader,
        jwt.needs_fresh_token_loader,
    ):
        loader(_refuse(TokenInvalid))
