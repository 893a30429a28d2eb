"""Safe retries: a POST sent again with the same ``Idempotency-Key`` gets the first answer back.

The answer is stored in the same transaction as the effect it reports. ``write_transaction``
looks the key up first thing under the write lock and, for a request that carries one, leaves
the commit to ``idempotent``, which adds the answer and commits both at once: a crash can leave
neither an effect without its key (a retry would repeat it) nor a key without its effect.
Concurrent duplicates queue on the write lock and then find the key. Where the database lets
two writers through, the primary key (token, key) or the rule the effect would break stops the
second one, and it replays the first one's answer.

Only an answer that changed something is stored. A refused request changed nothing, so its
retry simply runs again.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from flask_jwt_extended import get_jwt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .errors import ApiError
from .extensions import db
from .models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class Replay(Exception):
    """Raised under the write lock when the key has an answer already: the request stops there."""

    def __init__(self, stored: IdempotencyKey):
        self.stored = stored


@dataclass
class Claim:
    token_jti: str
    key: str
    route: str
    fingerprint: str
    held: bool = False  # an effect is flushed and waits for the answer to commit with it

    def check(self, session) -> None:
        """Called by ``write_transaction`` as soon as it holds the write lock."""
        if self.held:
            raise RuntimeError("an idempotent request may write in one transaction only")
        stored = _find(session, self)
        if stored is not None:
            raise Replay(stored)

    def hold(self, session) -> None:
        """Called by ``write_transaction`` instead of committing."""
        session.flush()
        self.held = True


def current_claim() -> Claim | None:
    return g.get("idempotency_claim")


def idempotent(view):
    """Honour ``Idempotency-Key`` on a write view; goes under ``store_scoped`` (needs the token)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        claim = _claim(key)
        stored = _find(db.session, claim)
        if stored is not None:
            return _replay(stored, claim)
        g.idempotency_claim = claim
        try:
            response = current_app.make_response(view(*args, **kwargs))
            if claim.held:
                return _commit_with_answer(claim, response)
            return response
        except Replay as replay:
            return _replay(replay.stored, claim)
        except ApiError:
            # A duplicate that got past the lookups (a database that lets two writers through)
            # is refused by the rule its twin satisfied ("Session already open"). The twin's
            # answer is committed by then: that is the answer to give.
            stored = _find(db.session, claim)
            if stored is None:
                raise
            return _replay(stored, claim)
        finally:
            g.pop("idempotency_claim")
            if claim.held:
                db.session.rollback()  # no-op once committed; undoes the effect otherwise

    return wrapper


def _claim(key: str) -> Claim:
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ApiError(400, f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    route = f"{request.method} {request.path}"
    # The same key means the same request: same store, route and bytes of body. An HMAC, not a
    # plain hash, because the body holds the profile password.
    message = b"\n".join([g.store_id.encode(), route.encode(), request.get_data()])
    secret = current_app.config["SECRET_KEY"].encode()
    fingerprint = hmac.new(secret, message, hashlib.sha256).hexdigest()
    return Claim(get_jwt()["jti"], key, route, fingerprint)


def _find(session, claim: Claim) -> IdempotencyKey | None:
    return session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.token_jti == claim.token_jti,
            IdempotencyKey.key == claim.key,
            IdempotencyKey.created_at >= utcnow() - LIFETIME,
        )
    )


def _commit_with_answer(claim: Claim, response):
    session = db.session
    # Expired keys go in the same transaction, this one's expired predecessor included.
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - LIFETIME))
    session.add(
        IdempotencyKey(
            token_jti=claim.token_jti,
            key=claim.key,
            route=claim.route,
            fingerprint=claim.fingerprint,
            status=response.status_code,
            response=response.get_data(as_text=True),
        )
    )
    try:
        session.commit()
    except IntegrityError:
        # A concurrent duplicate committed first: drop this effect and answer as it did.
        session.rollback()
        stored = _find(session, claim)
        if stored is None:
            raise
        return _replay(stored, claim)
    return response


def _replay(stored: IdempotencyKey, claim: Claim):
    if not hmac.compare_digest(stored.fingerprint, claim.fingerprint):
        raise ApiError(422, f"{HEADER} was already used for a different request")
    response = current_app.response_class(
        stored.response, status=stored.status, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response
