"""Passwords of cashiers and managers: the one rule for what a password may be, hashing, and
the check with its lockout against guessing. Used by the API (through the session rules), the
back office's sign-in and the CLI.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta
from math import ceil
from time import monotonic, sleep

import bcrypt
from flask import current_app
from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..exceptions import InvalidPassword, TooManyAttempts
from ..machinery.database import UnitOfWork
from ..models import Manager, PasswordAttempts, PosProfile, utcnow

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


def lock_profile(session, profile_id: str) -> bool:
    """Serialise writers per profile on PostgreSQL (a row lock); on SQLite, BEGIN IMMEDIATE
    already serialises every writer and FOR UPDATE is not rendered. Whether it is enabled now."""
    return session.scalar(
        select(PosProfile.enabled).where(PosProfile.id == profile_id).with_for_update()
    )


# What a password check may refuse with.
PASSWORD_CHECK_ERRORS = (InvalidPassword, TooManyAttempts)

# A check in flight stops counting after this long: gunicorn kills a request at 30 s, so only
# a check whose worker died is still "in flight" then.
CHECK_IN_FLIGHT_SECONDS = 30
# A check that finds the lockout's remaining guesses all in flight waits for their outcome
# (polling the row) at most this long, then is refused with Retry-After: 1.
WAIT_SECONDS = 5
POLL_SECONDS = 0.01
# The bcrypt budget is counted in work: a check at cost c is 2**c (bcrypt doubles per round),
# and its config in checks at this cost.
BUDGET_COST = 12

# The lockout's statements are plain Core on the table: the ORM's unit of work cost more than
# the writes themselves, on every create-session.
_attempts = PasswordAttempts.__table__
# INSERT ... ON CONFLICT, which SQLAlchemy builds per dialect.
_upsert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
# One check fewer in flight (never below none: the row may have been reset meanwhile).
_one_check_less = case((_attempts.c.checking > 0, _attempts.c.checking - 1), else_=0)


@contextmanager
def password_checked(subject: PosProfile | Manager, password: str):
    """A cashier's or a manager's password check, with a lockout against guessing and a
    bucket of bcrypt work per subject (docs/security.md).

    Raises InvalidPassword, or TooManyAttempts with the seconds to wait. On success, yields
    ``settle(tx)``, which the caller runs in the write transaction the check was for (the
    count of checks in flight goes down, wrong passwords are forgotten, with that write); if
    the block raises, the check is settled in a transaction of its own. bcrypt is slow on
    purpose, so it runs between write transactions, never inside one.
    """
    subject_id = subject.id  # the subject's session may be rolled back before its settle
    _begin_check(subject_id, 2 ** int(subject.password_hash[4:6]))
    if not bcrypt.checkpw(password.encode(), subject.password_hash):
        _count_failure(subject_id)
        raise InvalidPassword()

    def settle(tx) -> None:
        tx.execute(
            update(_attempts)
            .where(_attempts.c.profile_id == subject_id)
            .values(checking=_one_check_less, attempts=0)
        )

    try:
        yield settle
    except BaseException:
        with UnitOfWork() as uow:
            settle(uow.session)
            uow.commit()
        raise


def verify_password(subject: PosProfile | Manager, password: str) -> None:
    """The check on its own, settled at once (a manager's sign-in)."""
    with password_checked(subject, password) as settle, UnitOfWork() as uow:
        settle(uow.session)
        uow.commit()


def _locked_row(tx, subject_id: str, now):
    """The subject's row, made if missing, locked. One statement makes it and locks it, or
    locks the one there: on PostgreSQL, concurrent checks then wait for each other on that
    row, where two first checks would otherwise both find none and both insert (a manager has
    no other row to lock). A plain SELECT ... FOR UPDATE after an insert could find the row
    deleted by an unlock in between. On SQLite, BEGIN IMMEDIATE already serialises them."""
    upsert = _upsert[tx.get_bind().dialect.name](_attempts)
    return tx.execute(
        upsert.values(profile_id=subject_id, attempts=0, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[_attempts.c.profile_id],
            set_={"attempts": _attempts.c.attempts},  # unchanged: the lock is the point
        )
        .returning(*_attempts.c)
    ).one()


def _failures(row, now) -> tuple[int, datetime]:
    """Wrong passwords in the row's window, and when it began (now, if none or it has passed)."""
    window = timedelta(seconds=current_app.config["LOCKOUT_WINDOW_SECONDS"])
    if row.attempts == 0 or now >= row.window_started_at + window:
        return 0, now
    return row.attempts, row.window_started_at


def _begin_check(subject_id: str, work: int) -> None:
    """Count a check in flight and its bcrypt work, or refuse it.

    Only wrong passwords lock (after bcrypt said so), but the lockout's remaining guesses
    must not all be spent at once: a check starts only while wrong passwords plus checks in
    flight are under the limit, else it waits for those in flight to end (a right one clears
    the count) and is refused if they do not in time.

    The bcrypt work is a token bucket per subject, kept on the row so that it holds across
    workers: ``work`` is what the checks begun have taken from it, as of ``work_second``, and
    it is paid back at the rate per second. A retype or a terminal's retry finds room; a
    storm finds it empty and is refused before bcrypt.
    """
    config = current_app.config
    limit = config["LOCKOUT_ATTEMPTS"]
    rate = config["PASSWORD_CHECKS_PER_SECOND"] * 2**BUDGET_COST
    burst = config["PASSWORD_CHECK_BURST"] * 2**BUDGET_COST
    deadline = monotonic() + WAIT_SECONDS
    while True:
        # A check in flight lapses by itself (checking_until): after a power cut, none is.
        with UnitOfWork(durable=False) as uow:
            now = utcnow()
            row = _locked_row(uow.session, subject_id, now)
            failures, started = _failures(row, now)
            if failures >= limit:
                window = timedelta(seconds=config["LOCKOUT_WINDOW_SECONDS"])
                wait = ceil((started + window - now).total_seconds())
                raise TooManyAttempts(retry_after_seconds=max(wait, 1))
            in_flight = row.checking if row.checking_until and now < row.checking_until else 0
            # A clock set back counts as time passed, rather than keep the bucket empty until
            # it has caught up.
            elapsed = abs((now - row.work_second).total_seconds()) if row.work_second else 0
            taken = max(ceil(row.work - elapsed * rate), 0)
            # The work taken, and that still running (a check may outlast its refill on a busy
            # box), stay within the bucket; one check is always allowed.
            running = max(taken, in_flight * work)
            if running and running + work > burst:
                wait = ceil((running + work - burst) / rate)
                raise TooManyAttempts(retry_after_seconds=max(wait, 1))
            if failures + in_flight < limit:
                uow.session.execute(
                    update(_attempts)
                    .where(_attempts.c.profile_id == subject_id)
                    .values(
                        checking=in_flight + 1,
                        checking_until=now + timedelta(seconds=CHECK_IN_FLIGHT_SECONDS),
                        work_second=now,
                        work=taken + work,
                    )
                )
                uow.commit()
                return
        # Refusals and waits roll back: they write nothing.
        if monotonic() >= deadline:
            raise TooManyAttempts(retry_after_seconds=1)
        sleep(POLL_SECONDS)


def _count_failure(subject_id: str) -> None:
    with UnitOfWork() as uow:
        now = utcnow()
        failures, started = _failures(_locked_row(uow.session, subject_id, now), now)
        uow.session.execute(
            update(_attempts)
            .where(_attempts.c.profile_id == subject_id)
            .values(checking=_one_check_less, attempts=failures + 1, window_started_at=started)
        )
        uow.commit()
