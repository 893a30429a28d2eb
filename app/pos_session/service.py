"""The session rules: who may open and close a session, that a profile never has two open at
once, and what the drawer should hold.

Views call these functions and hand each write the unit of work it goes through; the
functions own the transaction, commit included. Everything is filtered by store, so a
profile or session of another store behaves exactly like one that does not exist.
"""

from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    case,
    func,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..database import UnitOfWork
from ..exceptions import (
    DomainError,
    NoOpenSession,
    ProfileNotFound,
    SessionAlreadyOpen,
    SessionClosed,
    SessionNotFound,
)
from ..extensions import db
from ..models import (
    CashMovement,
    Money,
    PosClosing,
    PosProfile,
    PosSession,
    new_id,
    utcnow,
)
from ..passwords import lock_profile, verify_password

OPEN_SESSION_INDEX = "uq_pos_session_one_open_per_profile"
CLOSED_ONCE = "uq_pos_closing_session"


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


def _authorised_profile(store_id: str, profile_id: str, password: str) -> PosProfile:
    profile = _profile_in_store(store_id, profile_id)
    if profile is None:
        raise ProfileNotFound()
    verify_password(profile, password)
    return profile


def open_session(
    uow: UnitOfWork,
    store_id: str,
    actor: str,
    *,
    profile_id: str,
    password: str,
    opening_cash: Decimal,
    note: str | None = None,
):
    _authorised_profile(store_id, profile_id, password)
    # The partial unique index catches what the check below should have: still a 400.
    with _refused_as(SessionAlreadyOpen, OPEN_SESSION_INDEX, "pos_session.pos_profile_id"):
        with uow:
            session = uow.session
            lock_profile(session, profile_id)
            if session.scalar(_open_session_query(store_id, profile_id)) is not None:
                raise SessionAlreadyOpen()
            opened = PosSession(
                pos_profile_id=profile_id,
                store_id=store_id,
                opening_cash=opening_cash,
                note=note,
                opened_by=actor,
            )
            session.add(opened)
            uow.commit()
    return opened


@contextmanager
def _refused_as(error: type[DomainError], constraint: str, column: str):
    """Raise a violation of ``constraint`` (named by PostgreSQL; SQLite names the ``column``)
    as the error the service's own check gives for it."""
    try:
        yield
    except IntegrityError as err:
        text = str(err.orig)
        if constraint in text or column in text:
            raise error() from err
        raise


def close_session(
    uow: UnitOfWork,
    store_id: str,
    actor: str,
    *,
    profile_id: str,
    password: str,
    closing_cash: Decimal,
    note: str | None = None,
) -> PosSession:
    """Close the profile's open session with the counted cash; returns it with its closing."""
    _authorised_profile(store_id, profile_id, password)
    # The one closing per session catches what the check below should have: still a 400.
    with _refused_as(NoOpenSession, CLOSED_ONCE, "pos_closing.pos_session_id"):
        with uow:
            tx = uow.session
            # Under the write lock: of concurrent closes, the first wins and the rest find none.
            # FOR UPDATE is for PostgreSQL (SQLite omits it): there it orders a close and a
            # movement of the same session as IMMEDIATE does here.
            session = tx.scalar(_open_session_query(store_id, profile_id).with_for_update())
            if session is None:
                raise NoOpenSession()
            expected = tx.execute(_summary_query(session.id)).one().expected_cash
            now = utcnow()
            closing = PosClosing(
                id=new_id(),
                pos_session_id=session.id,
                pos_profile_id=profile_id,
                store_id=store_id,
                closing_cash=closing_cash,
                expected_cash=expected,
                difference=closing_cash - expected,  # exact: Decimals with two places at most
                note=note,
                closed_by=actor,
                created_at=now,
            )
            tx.add(closing)
            session.pos_closing_id = closing.id
            session.closed_by = actor
            session.updated_at = now
            uow.commit()
    # The answer shows the closing: attached as loaded, as a query with it would have.
    set_committed_value(session, "closing", closing)
    return session


def record_movement(
    uow: UnitOfWork,
    store_id: str,
    actor: str,
    session_id: str,
    *,
    kind: str,
    amount: Decimal,
    note: str | None,
) -> CashMovement:
    """Cash in or out of an open session's drawer, addressed by session so that a terminal
    that missed a close can never write into the next shift."""
    with uow:
        tx = uow.session
        # Under the write lock (and the row lock on PostgreSQL), so a close either counts this
        # movement or refuses it.
        session = tx.scalar(
            select(PosSession)
            .where(PosSession.id == session_id, PosSession.store_id == store_id)
            .with_for_update()
        )
        if session is None:
            raise SessionNotFound()
        if session.pos_closing_id is not None:
            raise SessionClosed()
        movement = CashMovement(
            pos_session_id=session_id,
            store_id=store_id,
            type=kind,
            amount=amount,
            note=note,
            created_by=actor,
        )
        tx.add(movement)
        uow.commit()
    return movement


def _summary_query(session_id: str):
    """Sales, refunds, pay-ins, pay-outs and the expected cash, summed by the database in
    integer cents (exact, whatever the number of movements) and read back as Decimals."""
    cents = type_coerce(CashMovement.amount, BigInteger)

    def total(kind: str):
        return func.sum(case((CashMovement.type == kind, cents), else_=0))

    sales, refunds, pay_ins, pay_outs = (total(k) for k in ("sale", "refund", "pay_in", "pay_out"))
    opening = type_coerce(PosSession.opening_cash, BigInteger)
    expected = opening + sales - refunds + pay_ins - pay_outs
    return (
        select(
            PosSession.opening_cash,
            type_coerce(sales, Money).label("sales"),
            type_coerce(refunds, Money).label("refunds"),
            type_coerce(pay_ins, Money).label("pay_ins"),
            type_coerce(pay_outs, Money).label("pay_outs"),
            type_coerce(expected, Money).label("expected_cash"),
        )
        # The outer join leaves one row even with no movement, so every SUM is 0, not NULL.
        .outerjoin(CashMovement, CashMovement.pos_session_id == PosSession.id)
        .where(PosSession.id == session_id)
        .group_by(PosSession.id)
    )


def _with_closing():
    return select(PosSession).options(joinedload(PosSession.closing))


def session_record(store_id: str, session_id: str) -> PosSession | None:
    return db.session.scalar(
        _with_closing().where(PosSession.id == session_id, PosSession.store_id == store_id)
    )


class SessionReport(NamedTuple):
    session: PosSession
    movements: list[CashMovement]
    summary: dict


def session_report(store_id: str, session_id: str) -> SessionReport:
    """The session, its movements oldest first, and its summary: a live X-report while open,
    the Z-report once closed."""
    session = session_record(store_id, session_id)
    if session is None:
        raise SessionNotFound()
    movements = db.session.scalars(
        select(CashMovement)
        .where(CashMovement.pos_session_id == session_id)
        .order_by(CashMovement.created_at, CashMovement.id)
    ).all()
    summary = db.session.execute(_summary_query(session_id)).one()._asdict()
    closing = session.closing
    summary["closing_cash"] = closing.closing_cash if closing else None
    summary["difference"] = closing.difference if closing else None
    return SessionReport(session, movements, summary)


def session_history(
    store_id: str,
    *,
    limit: int,
    profile_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: tuple[datetime, str] | None = None,
) -> tuple[list[PosSession], tuple[datetime, str] | None]:
    """One page of the store's sessions, newest first, and the cursor of the next page.

    Keyset pagination on (created_at, id): a page starts strictly after the last row of the
    previous one, so rows inserted meanwhile (always newer) neither shift nor repeat it.
    """
    query = _with_closing().where(PosSession.store_id == store_id)
    if profile_id is not None:
        query = query.where(PosSession.pos_profile_id == profile_id)
    if status == "open":
        query = query.where(PosSession.pos_closing_id.is_(None))
    elif status == "closed":
        query = query.where(PosSession.pos_closing_id.is_not(None))
    if since is not None:
        query = query.where(PosSession.created_at >= since)
    if until is not None:
        query = query.where(PosSession.created_at < until)
    if cursor is not None:
        query = query.where(tuple_(PosSession.created_at, PosSession.id) < tuple_(*cursor))
    rows = db.session.scalars(
        query.order_by(PosSession.created_at.desc(), PosSession.id.desc()).limit(limit + 1)
    ).all()
    page = rows[:limit]
    more = len(rows) > limit
    return page, (page[-1].created_at, page[-1].id) if more else None


# The reference's reads are Core statements built once and run on the session's connection:
# for a row or two, the ORM's per-statement and per-row work costs more than SQLite's (see the
# benchmark in the README). They return plain rows, shaped by the schemas like any object.
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
    # Mappings, not Rows: marshmallow looks each field up by key first, which a Row refuses
    # with an exception per field (a third of the dump of 200 profiles).
    return _read(PROFILES_WITH_STATUS, store_id=store_id).mappings().all()


def _read(statement, **params):
    return db.session.connection().execute(statement, params)
