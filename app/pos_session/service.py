"""The session rules: who may open a session, and that a profile never has two open at once.

Views call these functions; they own the transactions. Everything is filtered by store, so a
profile of another store behaves exactly like one that does not exist.
"""

from decimal import Decimal

import bcrypt
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..errors import ApiError
from ..extensions import db
from ..models import PosProfile, PosSession

OPEN_SESSION_INDEX = "uq_pos_session_one_open_per_profile"


def hash_password(password: str, rounds: int) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds))


def _profile_in_store(store_id: str, profile_id: str) -> PosProfile | None:
    return db.session.scalar(
        select(PosProfile).where(PosProfile.id == profile_id, PosProfile.store_id == store_id)
    )


def _lock_profile(session, profile_id: str) -> None:
    """Serialise writers per profile on PostgreSQL (a row lock); on SQLite, BEGIN IMMEDIATE
    already serialises every writer and FOR UPDATE is not rendered."""
    session.execute(select(PosProfile.id).where(PosProfile.id == profile_id).with_for_update())


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
    # bcrypt is slow on purpose; check it before taking the write lock, not while holding it.
    if not bcrypt.checkpw(password.encode(), profile.password_hash):
        raise ApiError(401, "Invalid password")

    try:
        with write_transaction() as session:
            _lock_profile(session, profile_id)
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


def current_session(store_id: str, profile_id: str) -> PosSession | None:
    return db.session.scalar(_open_session_query(store_id, profile_id))


def profiles_with_status(store_id: str):
    """Every profile of the store with its open session id, oldest first, in one query."""
    open_session = PosSession.__table__.alias("open_session")
    rows = db.session.execute(
        select(PosProfile, open_session.c.id)
        .outerjoin(
            open_session,
            and_(
                open_session.c.pos_profile_id == PosProfile.id,
                open_session.c.pos_closing_id.is_(None),
            ),
        )
        .where(PosProfile.store_id == store_id)
        .order_by(PosProfile.created_at, PosProfile.id)
    )
    return [
        {
            "id": profile.id,
            "store_id": profile.store_id,
            "name": profile.name,
            "created_at": profile.created_at,
            "updated_at": profile.updated_at,
            "open_session_id": session_id,
            "is_opened": session_id is not None,
        }
        for profile, session_id in rows
    ]
