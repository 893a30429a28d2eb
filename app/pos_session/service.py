"""The session rules: who may open a session, and that a profile never has two open at once.

Views call these functions; they own the transactions. Everything is filtered by store, so a
profile of another store behaves exactly like one that does not exist.
"""

from datetime import timedelta
from decimal import Decimal
from math import ceil

import bcrypt
from flask import current_app
from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..errors import ApiError
from ..extensions import db
from ..models import PasswordAttempts, PosProfile, PosSession, utcnow

OPEN_SESSION_INDEX = "uq_pos_session_one_open_per_profile"


def hash_password(password: str, rounds: int) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds))


# The lockout's statements are plain Core on the table: the ORM's unit of work cost more than
# the writes themselves, on every create-session.
_attempts = PasswordAttempts.__table__


def verify_password(profile: PosProfile, password: str) -> None:
    """The cashier's password check, with a lockout against guessing: 401 or 429 if refused.

    The attempt is counted before bcrypt runs, so guesses sent at once to every worker cannot
    slip past the limit, and a locked profile is refused before bcrypt: not even the right
    password gets through until the window has passed. A success clears the count.
    """
    # Read before the write transactions, whose rollback-first would expire (and reload) them.
    profile_id, password_hash = profile.id, profile.password_hash
    _count_attempt(profile_id)
    # bcrypt is slow on purpose; it runs between the two write transactions, never inside one.
    if not bcrypt.checkpw(password.encode(), password_hash):
        raise ApiError(401, "Invalid password")
    with write_transaction() as session:
        session.execute(delete(_attempts).where(_attempts.c.profile_id == profile_id))


def _count_attempt(profile_id: str) -> None:
    limit = current_app.config["LOCKOUT_ATTEMPTS"]
    window = timedelta(seconds=current_app.config["LOCKOUT_WINDOW_SECONDS"])
    now = utcnow()
    with write_transaction() as session:
        row = session.execute(
            select(_attempts.c.attempts, _attempts.c.window_started_at).where(
                _attempts.c.profile_id == profile_id
            )
        ).first()
        if row is None or now >= row.window_started_at + window:
            attempts, started = 0, now  # a new window
        else:
            attempts, started = row.attempts, row.window_started_at
        if attempts >= limit:
            wait = ceil((started + window - now).total_seconds())
            raise ApiError(429, "Too many attempts", headers={"Retry-After": str(max(wait, 1))})
        counted = {"attempts": attempts + 1, "window_started_at": started}
        if row is None:
            session.execute(insert(_attempts).values(profile_id=profile_id, **counted))
        else:
            session.execute(
                update(_attempts).where(_attempts.c.profile_id == profile_id).values(**counted)
            )


def _profile_in_store(store_id: str, profile_id: str) -> PosProfile | None:
    return db.session.scalar(
        select(PosProfile).where(PosProfile.id == profile_id, PosProfile.store_id == store_id)
    )


def _open_session_query(store_id: str, profile_id: str):
    return select(PosSession).where(
        PosSession.pos_profile_id == profile_id,
        PosSession.store_id == store_id,
        PosSession.pos_closing_id.is_(None),
    )


def open_session(store_id: str, profile_id: str, password: str, opening_cash: Decimal, actor: str):
    profile = _profile_in_store(store_id, profile_id)
    if profile is None:
        raise ApiError(400, "Profile not found")
    verify_password(profile, password)

    try:
        with write_transaction() as session:
            if session.scalar(_open_session_query(store_id, profile_id)) is not None:
                raise ApiError(400, "Session already open")
            opened = PosSession(
                pos_profile_id=profile_id,
                store_id=store_id,
                opening_cash=opening_cash,
                opened_by=actor,
            )
            session.add(opened)
    except IntegrityError as err:
        # The partial unique index caught what the check above should have: still a 400.
        if _is_open_session_conflict(err):
            raise ApiError(400, "Session already open") from err
        raise
    return opened


def _is_open_session_conflict(err: IntegrityError) -> bool:
    text = str(err.orig)
    return OPEN_SESSION_INDEX in text or "pos_session.pos_profile_id" in text


# The read paths are Core statements built once and run on the session's connection: for a
# row or two, the ORM's per-statement and per-row work costs more than SQLite's (measured in
# docs/README-bench.md). They return plain rows, shaped by the schemas like any object.
_session = PosSession.__table__
_profile = PosProfile.__table__
_open = _session.alias("open_session")

CURRENT_SESSION = select(_session).where(
    _session.c.pos_profile_id == bindparam("profile_id"),
    _session.c.store_id == bindparam("store_id"),
    _session.c.pos_closing_id.is_(None),
)
PROFILES_WITH_STATUS = (
    select(
        _profile.c.id,
        _profile.c.store_id,
        _profile.c.name,
        _profile.c.created_at,
        _profile.c.updated_at,
        _open.c.id.label("open_session_id"),
        _open.c.id.is_not(None).label("is_opened"),
    )
    .outerjoin_from(
        _profile,
        _open,
        and_(_open.c.pos_profile_id == _profile.c.id, _open.c.pos_closing_id.is_(None)),
    )
    .where(_profile.c.store_id == bindparam("store_id"))
    .order_by(_profile.c.created_at, _profile.c.id)
)


def current_session(store_id: str, profile_id: str):
    """The profile's open session as a row, or None."""
    return _read(CURRENT_SESSION, store_id=store_id, profile_id=profile_id).mappings().first()


def profiles_with_status(store_id: str):
    """Every profile of the store with its open session id, oldest first, in one query."""
    return _read(PROFILES_WITH_STATUS, store_id=store_id).all()


def _read(statement, **params):
    return db.session.connection().execute(statement, params)
