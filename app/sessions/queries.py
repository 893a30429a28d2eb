"""What the session routes read: reports, history, status and the profile list.

Reads run in the request's own read transaction (``db.session``), never in a unit of work, so
they never wait for the write lock. The reference's reads (status, current session, profile
list) are Core statements built once and run on the worker's held connection
(``database.read_connection``): for a row or two, the ORM's per-statement and per-row work
costs more than SQLite's (docs/bench.md). They return plain rows, shaped by the schemas like
any object.
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import cache
from itertools import groupby
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import joinedload

from ..exceptions import SessionNotFound
from ..machinery.database import read_connection
from ..machinery.extensions import db
from ..models import (
    CASH,
    MOVEMENT_SIGNS,
    Attendance,
    CashMovement,
    MoneyColumn,
    PosClosing,
    PosProfile,
    PosSession,
    ProfileListVersion,
)


def summary_query(session_id: str):
    """One session's summary (see ``summaries_query``)."""
    return summaries_query().where(PosSession.id == session_id)


@cache
def closing_summary():
    """A session's (``session_id``) summary and, in ``tender_moves``, its movements in the
    other tenders: what a close reads, in one statement, built once."""
    return (
        summaries_query()
        .add_columns(tender_moves())
        .where(PosSession.id == bindparam("session_id"))
    )


def open_summaries(store_id: str) -> dict[str, Decimal]:
    """The expected cash now of each open session of the store, by session id, in one query."""
    rows = db.session.execute(
        summaries_query()
        .add_columns(PosSession.id)
        .where(PosSession.store_id == store_id, PosSession.pos_closing_id.is_(None))
    )
    return {row.id: row.expected_cash for row in rows}


class Presence(NamedTuple):
    holder: str  # the profile holding the drawer: the opener until a handover
    attendants: frozenset[str]  # the others on the session now

    def __contains__(self, profile_id) -> bool:
        return profile_id == self.holder or profile_id in self.attendants


def presence(tx, pos_session: PosSession) -> Presence:
    """Who is on the session now: its attendance rows folded in order. A handover's taker
    holds the drawer (no longer an attendant) and its giver is off the session."""
    rows = tx.execute(PRESENCE, {"session_id": pos_session.id})
    return folded(pos_session.pos_profile_id, rows)


# The writes' own reads (presence, SESSIONS_WITH, tender_expected) are built once, as the
# reference's reads are: building a statement costs more than SQLite's running it.
PRESENCE = (
    select(Attendance.kind, Attendance.pos_profile_id)
    .where(Attendance.pos_session_id == bindparam("session_id"))
    .order_by(Attendance.number)
)


def open_presences(store_id: str) -> dict[str, Presence]:
    """Who is on each of the store's open sessions that another cashier joined or took over,
    by session id (a session nobody joined is its opener's alone)."""
    rows = db.session.execute(
        select(
            Attendance.pos_session_id,
            PosSession.pos_profile_id.label("opener"),
            Attendance.kind,
            Attendance.pos_profile_id,
        )
        .join(PosSession, PosSession.id == Attendance.pos_session_id)
        .where(PosSession.store_id == store_id, PosSession.pos_closing_id.is_(None))
        .order_by(Attendance.pos_session_id, Attendance.number)
    ).all()
    return {
        session_id: folded(opener, [(kind, profile_id) for *_, kind, profile_id in group])
        for (session_id, opener), group in groupby(rows, key=lambda row: row[:2])
    }


def folded(opener: str, rows) -> Presence:
    """Who is on a session its ``opener`` opened, after its attendance ``rows`` (kind, profile
    id), in order; head office folds the journal's facts of them too (app.headoffice.figures)."""
    holder, attendants = opener, set()
    for kind, profile_id in rows:
        if kind == "joined":
            attendants.add(profile_id)
        else:
            attendants.discard(profile_id)
            holder = profile_id if kind == "handover" else holder
    return Presence(holder, frozenset(attendants))


# The store's (``store_id``) open sessions the profile (``profile_id``) opened, or joined or
# took over at some time: the ones it may be on now (``presence`` says).
SESSIONS_WITH = select(PosSession).where(
    PosSession.store_id == bindparam("store_id"),
    PosSession.pos_closing_id.is_(None),
    (PosSession.pos_profile_id == bindparam("profile_id"))
    | PosSession.id.in_(
        select(Attendance.pos_session_id).where(
            Attendance.pos_profile_id == bindparam("profile_id")
        )
    ),
)


@cache
def _cash_figures():
    """The sums of each movement type that moves cash, by type, and the counts (labelled) of
    those that move none, in integer cents, for a query grouped as its caller wants."""
    cents = type_coerce(CashMovement.amount, BigInteger)
    moving = {kind: sign for kind, sign in MOVEMENT_SIGNS.items() if sign}
    totals = {kind: func.sum(case((CashMovement.type == kind, cents), else_=0)) for kind in moving}
    counts = [
        func.count(case((CashMovement.type == kind, 1))).label(f"{kind}s")
        for kind, sign in MOVEMENT_SIGNS.items()
        if not sign
    ]
    labelled = [type_coerce(total, MoneyColumn).label(f"{kind}s") for kind, total in totals.items()]
    return totals, [*labelled, *counts]


def attendant_figures(tx, session_ids) -> dict[str, list[dict]]:
    """``{session id: [{profile_id, name, sales, refunds, pay_ins, pay_outs, drops, no_sales,
    tenders}]}``, the sessions' figures split by the attendant who made each movement (its
    session's opener for one from before attendants), in one query: its cash figures, and in
    ``tenders`` ``{code: amount}`` each other tender it moved, its movements signed by type
    (its share of the tender's expected, as ``tender_expected`` sums it). Every attendant who
    moved money, by name whatever the case, as the day report and the cashiers' page list them
    (SQL's order is the collation's: "Zoë" before "ana" on SQLite)."""
    who = func.coalesce(CashMovement.attendant_id, PosSession.pos_profile_id)
    _totals, figures = _cash_figures()
    signed = type_coerce(func.sum(_signed_cents()), MoneyColumn).label("signed")
    rows = tx.execute(
        select(
            CashMovement.pos_session_id,
            PosProfile.id.label("profile_id"),
            PosProfile.name,
            CashMovement.tender,
        )
        .add_columns(*figures, signed)
        .join(PosSession, PosSession.id == CashMovement.pos_session_id)
        .join(PosProfile, PosProfile.id == who)
        .where(CashMovement.pos_session_id.in_(list(session_ids)))
        .group_by(CashMovement.pos_session_id, PosProfile.id, CashMovement.tender)
    )
    found: dict[str, dict[str, dict]] = {}
    for row in sorted(rows, key=lambda row: (row.name.casefold(), row.profile_id, row.tender)):
        lines = found.setdefault(row.pos_session_id, {})
        line = lines.setdefault(
            row.profile_id,
            {"profile_id": row.profile_id, "name": row.name}
            | dict.fromkeys((figure.name for figure in figures), 0)
            | {"tenders": {}},
        )
        if row.tender == CASH:
            line |= {figure.name: getattr(row, figure.name) for figure in figures}
        else:
            line["tenders"][row.tender] = row.signed
    return {session_id: list(lines.values()) for session_id, lines in found.items()}


def attendance(tx, session_id: str) -> list[Attendance]:
    """The session's joins, leaves and handovers, in order."""
    rows = select(Attendance).where(Attendance.pos_session_id == session_id)
    return tx.scalars(rows.order_by(Attendance.number)).all()


@cache
def summaries_query():
    """One row per session: the total of each movement type that moves cash (``sales``,
    ``refunds``, ``pay_ins``, ``pay_outs``, ``drops``), how many of those that move none
    (``no_sales``), and the expected cash, summed by the database in integer cents (exact,
    whatever the number of movements) and read back as Decimals. Callers filter the sessions;
    reports add columns (and join tables) to the same grouped query. Cash movements only: the
    other tenders never touch the drawer (``tender_expected``)."""
    totals, figures = _cash_figures()
    expected = type_coerce(PosSession.opening_cash, BigInteger)
    for kind, total in totals.items():
        expected = expected + total if MOVEMENT_SIGNS[kind] > 0 else expected - total
    return (
        select(
            PosSession.opening_cash,
            *figures,
            type_coerce(expected, MoneyColumn).label("expected_cash"),
        )
        # The outer join leaves one row even with no movement, so every SUM is 0, not NULL.
        .outerjoin(
            CashMovement,
            and_(CashMovement.pos_session_id == PosSession.id, CashMovement.tender == CASH),
        )
        .group_by(PosSession.id)
    )


def _signed_cents(movement=CashMovement):
    cents = type_coerce(movement.amount, BigInteger)
    return case(*((movement.type == kind, cents * sign) for kind, sign in MOVEMENT_SIGNS.items()))


def tender_expected(tx, session_ids) -> dict[str, dict[str, Decimal]]:
    """``{session id: {tender code: expected}}`` for each tender but cash the sessions moved:
    its movements signed by type, summed in integer cents, in one query."""
    rows = tx.execute(_tender_expected(), {"ids": list(session_ids)})
    found: dict[str, dict[str, Decimal]] = {}
    for session_id, tender, expected in rows:
        found.setdefault(session_id, {})[tender] = expected
    return found


@cache
def _tender_expected():
    return (
        select(
            CashMovement.pos_session_id,
            CashMovement.tender,
            type_coerce(func.sum(_signed_cents()), MoneyColumn).label("expected"),
        )
        .where(
            CashMovement.pos_session_id.in_(bindparam("ids", expanding=True)),
            CashMovement.tender != CASH,
        )
        .group_by(CashMovement.pos_session_id, CashMovement.tender)
    )


def tender_moves():
    """A column for a query of sessions: the session's movements in tenders but cash, as
    "code:signed cents" texts joined by commas (``parse_tender_moves`` sums them), so that a
    report of many sessions stays one statement."""
    moved = CashMovement.__table__.alias("tender_move")
    signed = _signed_cents(moved.c)
    item = moved.c.tender + ":" + cast(signed, String)
    return (
        select(func.aggregate_strings(item, ","))
        .where(moved.c.pos_session_id == PosSession.id, moved.c.tender != CASH)
        .scalar_subquery()
        .label("tender_moves")
    )


def parse_tender_moves(text: str | None) -> dict[str, Decimal]:
    found: dict[str, int] = {}
    for item in (text or "").split(",") if text else ():
        code, _, cents = item.rpartition(":")
        found[code] = found.get(code, 0) + int(cents)
    return {code: Decimal(cents) / 100 for code, cents in found.items()}


def tender_lines(expected_cash, closing, expected: dict[str, Decimal]) -> list[dict]:
    """Per tender, cash first then by code: expected, counted and difference (counted and
    difference None while open, or when the tender was not counted). A closed session's
    figures are its closing's; an open one's, its movements' so far."""
    cash = {
        "tender": CASH,
        "expected": expected_cash,
        "counted": closing.closing_cash if closing else None,
        "difference": closing.difference if closing else None,
    }
    if closing is not None:
        others = {
            code: {name: None if value is None else Decimal(value) for name, value in line.items()}
            for code, line in (closing.tenders or {}).items()
        }
    else:
        others = {
            code: {"expected": amount, "counted": None, "difference": None}
            for code, amount in expected.items()
        }
    return [cash, *({"tender": code, **others[code]} for code in sorted(others))]


def _with_closing():
    return select(PosSession).options(joinedload(PosSession.closing))


def session_record(store_id: str, session_id: str) -> PosSession | None:
    return db.session.scalar(
        _with_closing().where(PosSession.id == session_id, PosSession.store_id == store_id)
    )


class SessionReport(NamedTuple):
    session: PosSession
    movements: list[CashMovement]
    summary: dict  # with "tenders": tender_lines(), "attendants": attendant_figures()
    presence: Presence | None  # None once closed
    attendance: list[Attendance]
    closer: str | None  # who held the drawer at the close; None while open


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
    summary = db.session.execute(summary_query(session_id)).one()._asdict()
    closing = session.closing
    summary["closing_cash"] = closing.closing_cash if closing else None
    summary["difference"] = closing.difference if closing else None
    expected = {} if closing else tender_expected(db.session, [session_id]).get(session_id, {})
    summary["tenders"] = tender_lines(summary["expected_cash"], closing, expected)
    summary["attendants"] = attendant_figures(db.session, [session_id]).get(session_id, [])
    on_now = None if closing else presence(db.session, session)
    rows = attendance(db.session, session_id)
    # A closed session takes no attendance row, so its rows folded name the holder at the close.
    closer = folded(session.pos_profile_id, [(a.kind, a.pos_profile_id) for a in rows]).holder
    return SessionReport(session, movements, summary, on_now, rows, closer if closing else None)


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


# The reference's reads, the hottest routes (see the module's docstring).
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
    # The terminal's picker: a disabled cashier cannot open a session, so it is not offered.
    .where(_profile.c.store_id == bindparam("store_id"), _profile.c.enabled)
    .order_by(_profile.c.created_at, _profile.c.id)
)


def current_session(store_id: str, profile_id: str):
    """The profile's open session as a row, or None."""
    return _read(CURRENT_SESSION, store_id=store_id, profile_id=profile_id).mappings().first()


def profiles_with_status(store_id: str):
    """Every enabled profile of the store with its open session id, oldest first, in one query,
    as Rows: hashable, for ``RowsShapedOnce``."""
    return _read(PROFILES_WITH_STATUS, store_id=store_id).all()


_versions = ProfileListVersion.__table__
PROFILE_LIST_VERSION = select(_versions.c.version).where(
    _versions.c.store_id == bindparam("store_id")
)
_KEPT_LISTS = "pos_profile_lists"


def profile_list(store_id: str, shape: Callable[[list], str]) -> str:
    """``shape(profiles_with_status(store_id))``, made again only when the store's profile list
    version has moved: the database's triggers move it, to a random number, with any change to
    a profile or a session of the store (migration 0008), so one version is one content, even
    across a restore. Kept per connection (the file it reads)."""
    connection = read_connection()
    # The version first: a list read after it is as new as it, or newer (never older).
    version = connection.execute(PROFILE_LIST_VERSION, {"store_id": store_id}).scalar() or 0
    kept = connection.info.setdefault(_KEPT_LISTS, {})
    found = kept.get(store_id)
    if found is None or found[0] != version:
        found = kept[store_id] = (version, shape(profiles_with_status(store_id)))
    return found[1]


def _read(statement, **params):
    return read_connection().execute(statement, params)


def profile_names(store_id: str) -> dict[str, str]:
    """Every cashier of the store's name, by profile id."""
    rows = select(PosProfile.id, PosProfile.name).where(PosProfile.store_id == store_id)
    return dict(db.session.execute(rows).all())


def forced_closings(store_id: str, since: datetime) -> list[tuple[PosClosing, str]]:
    """The store's forced closings since ``since``, newest first, with the cashier's name."""
    return db.session.execute(
        select(PosClosing, PosProfile.name)
        .join(PosProfile, PosProfile.id == PosClosing.pos_profile_id)
        .where(PosClosing.store_id == store_id, PosClosing.forced, PosClosing.created_at >= since)
        .order_by(PosClosing.created_at.desc())
    ).all()
