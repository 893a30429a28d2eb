"""Several cashiers on one drawer: another cashier of the store joins an open session with its
own password, and leaves it; a handover gives the drawer to another cashier with a count at
the change. Each is one append-only ``Attendance`` row and its one journal fact; who is on a
session now is their fold (``queries.presence``). A profile is on one open session at most:
the one it opened (until it is closed), or one it holds or attends.
"""

from decimal import Decimal

from sqlalchemy import func, select

from .. import journal
from ..exceptions import (
    AlreadyOnSession,
    HolderCannotLeave,
    NotOnSession,
    OnAnotherSession,
    ProfileNotFound,
)
from ..machinery.database import UnitOfWork
from ..models import Attendance, PosSession
from ..people.passwords import password_checked
from .queries import presence, summary_query
from .service import (
    _lock_enabled,
    _open_session_by_id,
    _profile_in_store,
    _profile_to_check,
    _store_count,
    on_a_session,
)


def join(
    uow: UnitOfWork, store_id: str, actor: str, session_id: str, *, profile_id: str, password: str
) -> Attendance:
    """The profile joins the open session, checked by its password (as an opening is)."""
    return _taking_part(uow, store_id, actor, session_id, profile_id, password, "joined")


def hand_over(
    uow: UnitOfWork,
    store_id: str,
    actor: str,
    session_id: str,
    *,
    profile_id: str,
    password: str,
    counted_cash: Decimal,
    cash_count: list[dict] | None = None,
) -> Attendance:
    """The profile takes the session's drawer from its holder, who leaves, with the cash
    counted at the change (by note and coin if ``cash_count``, which the edge has added up):
    its difference against the expected cash is recorded, and the expected cash goes on from
    where it was (a handover moves no cash)."""
    return _taking_part(
        uow,
        store_id,
        actor,
        session_id,
        profile_id,
        password,
        "handover",
        counted_cash=counted_cash,
        cash_count=cash_count,
    )


def _taking_part(uow, store_id, actor, session_id, profile_id, password, kind, **count):
    with uow.reading_first():
        tx = uow.session
        if "cash_count" in count:
            count["cash_count"] = _store_count(tx, store_id, count["cash_count"])
        # Before the password, so a closed session costs no check.
        _open_session_by_id(tx, store_id, session_id, lock=False)
        profile = _profile_to_check(tx, store_id, profile_id, to_open=True)
        with password_checked(profile, password) as settle, uow:
            tx = uow.session
            settle(tx)  # the password check ends with the write, in its transaction
            # Locked in this order by every rule (session, then profile) on PostgreSQL; on
            # SQLite BEGIN IMMEDIATE already serialises every writer.
            pos_session = _open_session_by_id(tx, store_id, session_id)
            _lock_enabled(tx, profile_id)
            on_now = presence(tx, pos_session)
            if profile_id == on_now.holder or (kind == "joined" and profile_id in on_now):
                raise AlreadyOnSession()
            if on_a_session(tx, store_id, profile_id, but=session_id):
                raise OnAnotherSession()
            if kind == "handover":
                expected = tx.execute(summary_query(session_id)).one().expected_cash
                count |= {
                    "from_profile_id": on_now.holder,
                    "expected_cash": expected,
                    "difference": count["counted_cash"] - expected,
                }
            row = _append(tx, pos_session, kind, profile_id, actor, **count)
            uow.done()
    return row


def leave(
    uow: UnitOfWork, store_id: str, actor: str, session_id: str, profile_id: str
) -> Attendance:
    """An attendant leaves the open session (no password: it takes nothing away). The holder
    leaves by a handover, or by closing the session."""
    with uow:
        tx = uow.session
        pos_session = _open_session_by_id(tx, store_id, session_id)
        if _profile_in_store(tx, store_id, profile_id) is None:
            raise ProfileNotFound()
        on_now = presence(tx, pos_session)
        if profile_id == on_now.holder:
            raise HolderCannotLeave()
        if profile_id not in on_now:
            raise NotOnSession()
        row = _append(tx, pos_session, "left", profile_id, actor)
        uow.done()
    return row


def _append(tx, pos_session: PosSession, kind: str, profile_id: str, actor: str, **count):
    """The session's next attendance row, journaled; under the session's lock, so numbered
    without a gap (the unique number catches what the lock should have)."""
    number = tx.scalar(select(func.count()).where(Attendance.pos_session_id == pos_session.id))
    row = Attendance(
        pos_session_id=pos_session.id,
        store_id=pos_session.store_id,
        number=number + 1,
        kind=kind,
        pos_profile_id=profile_id,
        created_by=actor,
        **count,
    )
    tx.add(row)
    journal.record(tx, journal.ATTENDANCE_FACTS[kind], row)
    return row
