"""Passwords of cashiers and managers: the one rule for what a password may be, hashing, and
the check with its lockout against guessing. Used by the API (through the session rules), the
back office's sign-in and the CLI.
"""

from datetime import timedelta
from math import ceil

import bcrypt
from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .database import UnitOfWork
from .exceptions import InvalidPassword, TooManyAttempts
from .models import Manager, PasswordAttempts, PosProfile, utcnow

# bcrypt reads no further than 72 bytes: a longer password would be accepted on its prefix.
MAX_BYTES = 72


# A cashier types it at the till many times a day, like a card's PIN: four characters is the
# shortest that the lockout (5 guesses per 15 minutes) keeps out of reach; see docs/security.md.
MIN_LENGTH = 4


def password_problem(password: str, new: bool = False) -> str | None:
    """What is wrong with ``password`` as a given password, or with ``new`` as one being set, or
    None. The minimum length holds for new passwords only: a profile made before it keeps
    working."""
    if not password:
        return "Must not be empty."
    if len(password.encode()) > MAX_BYTES:
        return f"Must be at most {MAX_BYTES} bytes."
    if new and len(password) < MIN_LENGTH:
        return f"Must be at least {MIN_LENGTH} characters."
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
# INSERT ... ON CONFLICT, which SQLAlchemy builds per dialect.
_upsert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def verify_password(subject: PosProfile | Manager, password: str) -> None:
    """A cashier's or a manager's password check, with a lockout against guessing.

    Raises InvalidPassword, or TooManyAttempts with the seconds to wait. The attempt is counted
    before bcrypt runs, so guesses sent at once to every worker cannot slip past the limit, and
    a locked profile is refused before bcrypt: not even the right password gets through until
    the window has passed. A success clears the count. bcrypt is slow on purpose, so it runs
    between the two write transactions, never inside one. They are units of work of their own:
    the count stands whatever becomes of the request.
    """
    _count_attempt(subject.id)
    if not bcrypt.checkpw(password.encode(), subject.password_hash):
        raise InvalidPassword()
    with UnitOfWork() as uow:
        uow.session.execute(delete(_attempts).where(_attempts.c.profile_id == subject.id))
        uow.commit()


def _count_attempt(subject_id: str) -> None:
    limit = current_app.config["LOCKOUT_ATTEMPTS"]
    window = timedelta(seconds=current_app.config["LOCKOUT_WINDOW_SECONDS"])
    now = utcnow()
    with UnitOfWork() as uow:
        tx = uow.session
        # One statement makes the subject's row and locks it, or locks the one there: on
        # PostgreSQL, concurrent guesses then wait for each other on that row, where two first
        # guesses would otherwise both find none and both insert (a manager has no other row
        # to lock). A plain SELECT ... FOR UPDATE after an insert could find the row deleted
        # by a success in between. On SQLite, BEGIN IMMEDIATE already serialises them.
        upsert = _upsert[tx.get_bind().dialect.name](_attempts)
        row = tx.execute(
            upsert.values(profile_id=subject_id, attempts=0, window_started_at=now)
            .on_conflict_do_update(
                index_elements=[_attempts.c.profile_id],
                set_={"attempts": _attempts.c.attempts},  # unchanged: the lock is the point
            )
            .returning(_attempts.c.attempts, _attempts.c.window_started_at)
        ).one()
        if now >= row.window_started_at + window:
            attempts, started = 0, now  # a new window
        else:
            attempts, started = row.attempts, row.window_started_at
        if attempts >= limit:
            wait = ceil((started + window - now).total_seconds())
            raise TooManyAttempts(retry_after_seconds=max(wait, 1))
        tx.execute(
            update(_attempts)
            .where(_attempts.c.profile_id == subject_id)
            .values(attempts=attempts + 1, window_started_at=started)
        )
        uow.commit()
