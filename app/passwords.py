"""Cashier passwords: the one rule for what a password may be, hashing, and the check with its
lockout against guessing. Used by the API (through the session rules) and by the CLI.
"""

from datetime import timedelta
from math import ceil

import bcrypt
from flask import current_app
from sqlalchemy import delete, insert, select, update

from .database import UnitOfWork
from .exceptions import InvalidPassword, TooManyAttempts
from .models import PasswordAttempts, PosProfile, utcnow

# bcrypt reads no further than 72 bytes: a longer password would be accepted on its prefix.
MAX_BYTES = 72


def password_problem(password: str) -> str | None:
    """What is wrong with ``password`` as a new or given password, or None."""
    if not password:
        return "Must not be empty."
    if len(password.encode()) > MAX_BYTES:
        return f"Must be at most {MAX_BYTES} bytes."
    return None


def hash_password(password: str, rounds: int) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds))


def lock_profile(session, profile_id: str) -> None:
    """Serialise writers per profile on PostgreSQL (a row lock); on SQLite, BEGIN IMMEDIATE
    already serialises every writer and FOR UPDATE is not rendered."""
    session.execute(select(PosProfile.id).where(PosProfile.id == profile_id).with_for_update())


# What a password check may refuse with.
PASSWORD_CHECK_ERRORS = (InvalidPassword, TooManyAttempts)

# The lockout's statements are plain Core on the table: the ORM's unit of work cost more than
# the writes themselves, on every create-session.
_attempts = PasswordAttempts.__table__


def verify_password(profile: PosProfile, password: str) -> None:
    """The cashier's password check, with a lockout against guessing.

    Raises InvalidPassword, or TooManyAttempts with the seconds to wait. The attempt is counted
    before bcrypt runs, so guesses sent at once to every worker cannot slip past the limit, and
    a locked profile is refused before bcrypt: not even the right password gets through until
    the window has passed. A success clears the count. bcrypt is slow on purpose, so it runs
    between the two write transactions, never inside one. They are units of work of their own:
    the count stands whatever becomes of the request.
    """
    _count_attempt(profile.id)
    if not bcrypt.checkpw(password.encode(), profile.password_hash):
        raise InvalidPassword()
    with UnitOfWork() as uow:
        uow.session.execute(delete(_attempts).where(_attempts.c.profile_id == profile.id))
        uow.commit()


def _count_attempt(profile_id: str) -> None:
    limit = current_app.config["LOCKOUT_ATTEMPTS"]
    window = timedelta(seconds=current_app.config["LOCKOUT_WINDOW_SECONDS"])
    now = utcnow()
    with UnitOfWork() as uow:
        # On PostgreSQL, concurrent guesses would both find no row and both insert one.
        lock_profile(uow.session, profile_id)
        row = uow.session.execute(
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
            raise TooManyAttempts(retry_after_seconds=max(wait, 1))
        counted = {"attempts": attempts + 1, "window_started_at": started}
        if row is None:
            uow.session.execute(insert(_attempts).values(profile_id=profile_id, **counted))
        else:
            uow.session.execute(
                update(_attempts).where(_attempts.c.profile_id == profile_id).values(**counted)
            )
        uow.commit()
