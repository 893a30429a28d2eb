"""Safe retries: a POST sent again with the same ``Idempotency-Key`` gets the first answer back.

A layer on top of the unit of work. A view marked ``@idempotent`` is handed the unit of work its
use case goes through: a ``ScopedUnitOfWork`` (which checks the token again under the write
lock) without a key, else an ``IdempotentUnitOfWork``, one of those which then looks
the key up first thing under the write lock and, when the use case is done, keeps its effect
pending until the view's answer is stored beside it, then commits both at once. A crash can
leave neither an effect without its key (a retry would repeat it) nor a key without its effect.
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

from ..exceptions import DatabaseBusy, DomainError, IdempotencyKeyReused, InvalidIdempotencyKey
from ..machinery.extensions import db
from ..models import IdempotencyKey, utcnow
from .auth import ScopedUnitOfWork

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass
class Claim:
    token_jti: str
    key: str
    route: str
    fingerprint: str


class AlreadyAnswered(Exception):
    """The key was answered while this request waited for the write lock."""

    def __init__(self, stored: IdempotencyKey):
        self.stored = stored


class IdempotentUnitOfWork(ScopedUnitOfWork):
    """A unit of work that commits a use case's effect with the request's answer, in one go:
    ``done()`` keeps the effect pending (flushed, not committed), ``commit_with_answer()``
    stores the answer beside it and commits both, ``close()`` drops an effect never answered."""

    def __init__(self, claim: Claim):
        self.claim = claim
        self.pending = False  # an effect is flushed and waits for its answer

    def __enter__(self):
        if self.pending:
            raise RuntimeError("an idempotent request writes in one transaction only")
        super().__enter__()
        stored = _find(self.session, self.claim)
        if stored is not None:
            self.close()
            raise AlreadyAnswered(stored)
        return self

    def done(self) -> None:
        self.session.flush()
        self.pending = True

    def __exit__(self, *exc) -> None:
        if exc[0] is not None or not self.pending:
            super().__exit__(*exc)

    def commit_with_answer(self, response):
        session = self.session
        # Expired keys go in the same transaction, this one's expired predecessor included.
        session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - LIFETIME)
        )
        session.add(
            IdempotencyKey(
                token_jti=self.claim.token_jti,
                key=self.claim.key,
                route=self.claim.route,
                fingerprint=self.claim.fingerprint,
                status=response.status_code,
                response=response.get_data(as_text=True),
            )
        )
        try:
            session.commit()
        except IntegrityError:
            # A concurrent duplicate committed first: this effect is dropped (by close()).
            stored = _find(db.session, self.claim)
            if stored is None:
                raise
            return _replay(stored, self.claim)
        return response

    def close(self) -> None:
        self.pending = False
        super().close()  # a no-op once committed; undoes the effect otherwise


def idempotent(view):
    """Honour ``Idempotency-Key`` on a write view, which takes the unit of work as ``uow``.

    Goes under ``store_scoped`` (the key belongs to the token). The OpenAPI document reads the
    ``idempotent`` mark to declare the header and the 422.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, uow=ScopedUnitOfWork(), **kwargs)
        claim = _claim(key)
        # A retry of an answered request is answered before the password check and the lock.
        stored = _find(db.session, claim)
        if stored is not None:
            return _replay(stored, claim)
        uow = IdempotentUnitOfWork(claim)
        try:
            response = current_app.make_response(view(*args, uow=uow, **kwargs))
            if uow.pending:
                return uow.commit_with_answer(response)
            return response
        except AlreadyAnswered as answered:
            return _replay(answered.stored, claim)
        except DomainError:
            # A duplicate that got past the lookups (a database that lets two writers through)
            # is refused by the rule its twin satisfied ("Session already open"). The twin's
            # answer is committed by then: that is the answer to give. (Only PostgreSQL lets
            # it happen, and there each statement of the request's session sees the commit.)
            stored = _find(db.session, claim)
            if stored is None:
                raise
            return _replay(stored, claim)
        finally:
            uow.close()

    wrapper.idempotent = True
    # Every write may wait too long for the lock: the retry this layer makes safe is the remedy.
    wrapper.raises = getattr(view, "raises", ()) + (
        InvalidIdempotencyKey,
        IdempotencyKeyReused,
        DatabaseBusy,
    )
    return wrapper


def _claim(key: str) -> Claim:
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidIdempotencyKey()
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


def _replay(stored: IdempotencyKey, claim: Claim):
    if not hmac.compare_digest(stored.fingerprint, claim.fingerprint):
        raise IdempotencyKeyReused()
    response = current_app.response_class(
        stored.response, status=stored.status, mimetype="application/json"
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response
