"""The session rules: who may open and close a session, that a profile never has two open at
once, and what the drawer should hold. These are the writes; the reads are in ``queries``.

Views call these functions and hand each the unit of work it goes through: a use case reads
and writes through ``uow.session`` only, and says when it is done. Everything is filtered by
store, so a profile or session of another store behaves exactly like one that does not exist.
"""

from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from .. import journal
from ..exceptions import (
    ClosingNotFound,
    DomainError,
    DrawerHeldByAnother,
    DrawerWouldGoNegative,
    ManagerDisabled,
    NoOpenSession,
    NothingToApprove,
    NotOnSession,
    ProfileDisabled,
    ProfileNotFound,
    SessionAlreadyOpen,
    SessionClosed,
    SessionNotFound,
    UnknownReason,
)
from ..machinery.database import UnitOfWork
from ..models import (
    CASH,
    REASON_LISTED,
    CashMovement,
    ClosingApproval,
    Manager,
    MovementReason,
    PosClosing,
    PosProfile,
    PosSession,
    Store,
    new_id,
    utcnow,
)
from ..people.managers import granted_store
from ..people.passwords import lock_profile, password_checked
from ..stores import checked_count, enabled_tender
from .closing import assign_z
from .queries import (
    SESSIONS_WITH,
    closing_summary,
    parse_tender_moves,
    presence,
    summary_query,
)

OPEN_SESSION_INDEX = "uq_pos_session_one_open_per_profile"
CLOSED_ONCE = "uq_pos_closing_session"


def _profile_in_store(tx, store_id: str, profile_id: str) -> PosProfile | None:
    return tx.scalar(PROFILE_IN_STORE, {"id": profile_id, "store_id": store_id})


PROFILE_IN_STORE = select(PosProfile).where(
    PosProfile.id == bindparam("id"), PosProfile.store_id == bindparam("store_id")
)


def on_a_session(tx, store_id: str, profile_id: str, but: str | None = None) -> bool:
    """Whether the profile is on an open session of the store but ``but``: the one it opened
    (until it is closed, handed over or not: the seed's rule), or one it holds or attends."""
    for pos_session in tx.scalars(SESSIONS_WITH, {"store_id": store_id, "profile_id": profile_id}):
        if pos_session.id != but and (
            pos_session.pos_profile_id == profile_id or profile_id in presence(tx, pos_session)
        ):
            return True
    return False


def _held_session(tx, store_id: str, profile_id: str) -> PosSession:
    """The open session whose drawer the profile holds, row-locked: the one it opened unless
    it handed it over, or one handed to it."""
    opened = False
    candidates = {"store_id": store_id, "profile_id": profile_id}
    for pos_session in tx.scalars(HELD_CANDIDATES, candidates):
        if presence(tx, pos_session).holder == profile_id:
            return pos_session
        opened = opened or pos_session.pos_profile_id == profile_id
    raise DrawerHeldByAnother() if opened else NoOpenSession()


# Locked in id order, so two closes reading the same sessions cannot deadlock.
HELD_CANDIDATES = SESSIONS_WITH.order_by(PosSession.id).with_for_update()


def _profile_to_check(tx, store_id: str, profile_id: str, *, to_open: bool) -> PosProfile:
    """The profile whose password is checked next, read before the write lock."""
    profile = _profile_in_store(tx, store_id, profile_id)
    if profile is None:
        raise ProfileNotFound()
    # Before the password, so it counts no attempt. A disabled cashier may still close the
    # session it has open: the drawer is counted all the same.
    if to_open and not profile.enabled:
        raise ProfileDisabled()
    return profile


def _lock_enabled(tx, profile_id: str) -> None:
    """Lock the profile, checked again: a manager may have disabled it during its password
    check."""
    if not lock_profile(tx, profile_id):
        raise ProfileDisabled()


def open_session(
    uow: UnitOfWork,
    store_id: str,
    actor: str,
    *,
    profile_id: str,
    password: str,
    opening_cash: Decimal,
    note: str | None = None,
    cash_count: list[dict] | None = None,
    terminal: str | None = None,
):
    """Open a session for the profile with the cash in the drawer, counted by note and coin if
    ``cash_count`` (which the edge has added up to ``opening_cash``), on ``terminal`` (the API
    token's jti): compared with the float that terminal's last closed session left."""
    with uow.reading_first():
        cash_count = _store_count(uow.session, store_id, cash_count)
        profile = _profile_to_check(uow.session, store_id, profile_id, to_open=True)
        # The partial unique index catches what the check below should have: still a 400.
        with (
            password_checked(profile, password) as settle,
            _refused_as(SessionAlreadyOpen, OPEN_SESSION_INDEX, "pos_session.pos_profile_id"),
            uow,
        ):
            tx = uow.session
            settle(tx)  # the password check ends with the open, in its transaction
            _lock_enabled(tx, profile_id)
            if on_a_session(tx, store_id, profile_id):
                raise SessionAlreadyOpen()
            opened = PosSession(
                pos_profile_id=profile_id,
                store_id=store_id,
                opening_cash=opening_cash,
                note=note,
                opened_by=actor,
                cash_count=cash_count,
                terminal=terminal,
                discrepancy_at_start=_discrepancy_at_start(tx, store_id, terminal, opening_cash),
            )
            tx.add(opened)
            journal.record(tx, journal.OPENED, opened)
            uow.done()
    return opened


def _discrepancy_at_start(
    tx, store_id: str, terminal: str | None, opening_cash: Decimal
) -> Decimal | None:
    """The opening cash minus the float left by the last closed session the terminal opened in
    the store (the last opened of them: a drawer's sessions follow one another); None when
    there is none, or it left no float. Read in the opening's transaction."""
    if terminal is None:
        return None
    float_left = tx.scalar(LAST_FLOAT, {"store_id": store_id, "terminal": terminal})
    return None if float_left is None else opening_cash - float_left


LAST_FLOAT = (
    select(PosClosing.float_left)
    .join(PosSession, PosSession.pos_closing_id == PosClosing.id)
    .where(
        PosSession.store_id == bindparam("store_id"), PosSession.terminal == bindparam("terminal")
    )
    .order_by(PosSession.created_at.desc(), PosSession.id.desc())
    .limit(1)
)


def _store_count(tx, store_id: str, lines: list[dict] | None) -> list[dict] | None:
    """A count's lines as stored, each a note or coin of the store (else refused), or None."""
    if lines is None:
        return None
    currency, denominations = tx.execute(STORE_MONEY, {"id": store_id}).one()
    return checked_count(lines, currency, denominations)


STORE_MONEY = select(Store.currency, Store.denominations).where(Store.id == bindparam("id"))


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
    counted_tenders: dict[str, Decimal] | None = None,
    note: str | None = None,
    cash_count: list[dict] | None = None,
    float_left: Decimal | None = None,
) -> PosSession:
    """Close the session whose drawer the profile holds with the counted cash (by note and coin if
    ``cash_count``, which the edge has added up to ``closing_cash``) and any other tender
    counted (by code), leaving ``float_left`` of it in the drawer (the edge has checked it is
    at most ``closing_cash``); returns it with its closing."""
    with uow.reading_first():
        cash_count = _store_count(uow.session, store_id, cash_count)
        profile = _profile_to_check(uow.session, store_id, profile_id, to_open=False)
        with password_checked(profile, password) as settle:

            def open_one(tx) -> tuple[PosSession, str]:
                settle(tx)  # the password check ends with the close, in its transaction
                return _held_session(tx, store_id, profile_id), actor

            return _close(
                uow,
                open_one,
                NoOpenSession,
                closing_cash,
                counted_tenders or {},
                note=note,
                cash_count=cash_count,
                float_left=float_left,
            )


def force_close(
    uow: UnitOfWork,
    store_id: str,
    session_id: str,
    counted: Decimal,
    reason: str,
    manager: Manager,
    float_left: Decimal | None = None,
    cash_count: list[dict] | None = None,
) -> PosSession:
    """A manager closes a session a cashier left open, with the cash counted (by note and coin
    if ``cash_count``, which the edge has added up to ``counted``) and why: the figures are a
    normal close's, the closing says it was forced, and the cashier may open again at once.
    The edges load ``counted``, ``reason`` and ``float_left`` (``ForceCloseSchema``)."""

    def this_one(tx) -> tuple[PosSession, str]:
        acting = _enabled(tx, manager)
        granted_store(acting, store_id)
        return _open_session_by_id(tx, store_id, session_id), acting.name

    with uow.reading_first():
        cash_count = _store_count(uow.session, store_id, cash_count)
        return _close(
            uow,
            this_one,
            SessionClosed,
            counted,
            {},
            reason=reason,
            cash_count=cash_count,
            float_left=float_left,
        )


def _enabled(tx, manager: Manager) -> Manager:
    """The manager as this unit of work reads it (under the write lock), if still enabled."""
    acting = tx.get(Manager, manager.id)
    if not acting.enabled:
        raise ManagerDisabled()
    return acting


def _open_session_by_id(tx, store_id: str, session_id: str, lock: bool = True) -> PosSession:
    """The session, row-locked (unless read before a password check), if of this store (else
    not found) and still open."""
    query = select(PosSession).where(PosSession.id == session_id, PosSession.store_id == store_id)
    pos_session = tx.scalar(query.with_for_update() if lock else query)
    if pos_session is None:
        raise SessionNotFound()
    if pos_session.pos_closing_id is not None:
        raise SessionClosed()
    return pos_session


def _close(
    uow: UnitOfWork,
    find,
    refused: type[DomainError],
    closing_cash: Decimal,
    counted_tenders: dict[str, Decimal],
    *,
    note: str | None = None,
    reason: str | None = None,
    cash_count: list[dict] | None = None,
    float_left: Decimal | None = None,
) -> PosSession:
    """Close the open session ``find(tx)`` returns (or refuses), with who closes it, under the
    write lock: of concurrent closes the first wins and the rest get ``refused``. Of the cash
    counted, ``float_left`` stays in the drawer and the rest goes to the safe."""
    # The one closing per session catches what the check in find should have: still refused.
    with _refused_as(refused, CLOSED_ONCE, "pos_closing.pos_session_id"):
        with uow:
            tx = uow.session
            # FOR UPDATE (in find) is for PostgreSQL (SQLite omits it): there it orders a
            # close and a movement of the same session as IMMEDIATE does here.
            pos_session, actor = find(tx)
            summary = tx.execute(closing_summary(), {"session_id": pos_session.id}).one()
            expected = parse_tender_moves(summary.tender_moves)
            tenders = _tender_counts(tx, pos_session, expected, counted_tenders)
            difference = closing_cash - summary.expected_cash  # exact: two decimals at most
            limit = tx.get(Store, pos_session.store_id).max_unapproved_difference
            now = utcnow()
            closing = PosClosing(
                id=new_id(),
                pos_session_id=pos_session.id,
                pos_profile_id=pos_session.pos_profile_id,
                store_id=pos_session.store_id,
                closing_cash=closing_cash,
                expected_cash=summary.expected_cash,
                difference=difference,
                sales=summary.sales,
                refunds=summary.refunds,
                pay_ins=summary.pay_ins,
                pay_outs=summary.pay_outs,
                needs_approval=limit is not None and abs(difference) > limit,
                note=note,
                closed_by=actor,
                created_at=now,
                forced=reason is not None,
                reason=reason,
                tenders=tenders or None,
                cash_count=cash_count,
                float_left=float_left,
                to_safe=None if float_left is None else closing_cash - float_left,
                approval=None,  # none yet: said here, so the answer shows it without a query
            )
            tx.add(closing)
            pos_session.pos_closing_id = closing.id
            pos_session.closing = closing  # view-only: for the answer; the id above is written
            pos_session.closed_by = actor
            pos_session.updated_at = now
            assign_z(tx, closing)
            journal.record_closing(tx, closing)
            uow.done()
    return pos_session


def _tender_counts(
    tx, pos_session: PosSession, expected: dict[str, Decimal], counted: dict[str, Decimal]
) -> dict:
    """Each tender but cash the session moved (``expected``, by code) or that was counted:
    expected, counted and difference as money texts, counted and difference None when it was
    not counted. A count names a tender of the store that is enabled, or that this session
    moved."""
    for code in counted:
        if code not in expected:
            enabled_tender(tx, pos_session.store_id, code)
    lines = {}
    for code in sorted(expected.keys() | counted.keys()):
        due, count = expected.get(code, Decimal(0)), counted.get(code)
        lines[code] = {
            "expected": journal.money(due),
            "counted": None if count is None else journal.money(count),
            "difference": None if count is None else journal.money(count - due),
        }
    return lines


def record_movement(
    uow: UnitOfWork,
    store_id: str,
    actor: str,
    session_id: str,
    *,
    kind: str,
    amount: Decimal,
    note: str | None,
    reason: str | None = None,
    tender: str = CASH,
    attendant_id: str | None = None,
) -> CashMovement:
    """Cash in or out of an open session's drawer, addressed by session so that a terminal
    that missed a close can never write into the next shift. The edge has checked the type's
    amount and reason (``CashMovementSchema``); a pay-in's or pay-out's reason must be one of
    the store's, a drop cannot take more than the drawer should hold, a tender other than
    cash must be one of the store's, enabled, and the attendant (the drawer's holder if not
    named) on the session now."""
    with uow:
        tx = uow.session
        # Under the write lock (and the row lock on PostgreSQL), so a close either counts this
        # movement or refuses it, and two drops cannot both take the same cash.
        on_now = presence(tx, _open_session_by_id(tx, store_id, session_id))
        if attendant_id is not None and attendant_id not in on_now:
            raise NotOnSession()
        if kind in REASON_LISTED and reason is not None:
            if tx.get(MovementReason, (store_id, reason)) is None:
                raise UnknownReason()
        if kind == "drop" and amount > tx.execute(summary_query(session_id)).one().expected_cash:
            raise DrawerWouldGoNegative()
        enabled_tender(tx, store_id, tender)
        movement = CashMovement(
            pos_session_id=session_id,
            store_id=store_id,
            type=kind,
            amount=amount,
            note=note,
            reason=reason,
            created_by=actor,
            tender=tender,
            attendant_id=attendant_id or on_now.holder,
        )
        tx.add(movement)
        journal.record(tx, journal.movement_fact(movement), movement)
        uow.done()
    return movement


def approve_closing(
    uow: UnitOfWork, closing_or_session_id: str, manager: Manager, note: str | None
) -> ClosingApproval:
    """A manager approves a closing's difference that was over the store's limit: a new fact,
    journaled; the closing itself never changes."""
    with uow:
        tx = uow.session
        acting = _enabled(tx, manager)
        closing = tx.scalar(
            select(PosClosing).where(
                (PosClosing.id == closing_or_session_id)
                | (PosClosing.pos_session_id == closing_or_session_id)
            )
        )
        if closing is None or closing.store_id not in {store.id for store in acting.stores}:
            raise ClosingNotFound()
        if not closing.needs_approval or closing.approval is not None:
            raise NothingToApprove()
        approval = ClosingApproval(
            closing_id=closing.id, store_id=closing.store_id, approved_by=acting.name, note=note
        )
        tx.add(approval)
        journal.record(tx, journal.APPROVED, approval, closing.pos_session_id)
        uow.done()
    return approval
