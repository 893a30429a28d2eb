"""The owner's reports: business days in store time, the day report, CSV and cashier variances.

A business day is the store's own day: from ``day_start_minutes`` past local midnight to the
same wall-clock time the next day, in the store's IANA zone. So it lasts 23 or 25 hours when the
clocks change, and a bar that sets 04:00 sees its 01:30 sessions in the evening before.

A session belongs to the business day in which it was OPENED: a shift is reported once, on the
day it started, even if it is closed after the next day has begun (or never). Figures come from
the same grouped query as the API's session report (``summaries_query``), so they agree to the
cent, and each other tender's from the same signed sum (``tender_moves``, as ``tender_expected``
for the API, or the closing's own figures once closed); one query reads every session of a range
with its figures.
"""

import csv
import io
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import false, func

from .machinery.extensions import db
from .models import CASH, ClosingApproval, PosClosing, PosProfile, PosSession, Store, utcnow
from .sessions.queries import (
    attendant_figures,
    parse_tender_moves,
    summaries_query,
    tender_lines,
    tender_moves,
)

VARIANCE_DAYS = 30
MAX_RANGE_DAYS = 366  # a CSV of at most a year at a time keeps every answer bounded


# Business days


def day_bounds(store: Store, day: date) -> tuple[datetime, datetime]:
    """The business day ``day`` as a UTC [start, end) range, naive like the stored times.

    The local start is a wall-clock time: if it falls in a skipped hour (clocks going forward)
    zoneinfo reads it with the offset from before the change; if it is repeated, the first.
    """
    return _utc(store, day), _utc(store, day + timedelta(days=1))


def days_bounds(store: Store, first: date, last: date) -> tuple[datetime, datetime]:
    """The business days ``first`` to ``last`` (both included) as one UTC [start, end) range."""
    return _utc(store, first), _utc(store, last + timedelta(days=1))


def _utc(store: Store, day: date) -> datetime:
    local = datetime.combine(day, time()) + timedelta(minutes=store.day_start_minutes)
    return local.replace(tzinfo=ZoneInfo(store.timezone)).astimezone(UTC).replace(tzinfo=None)


def local_time(store: Store, moment: datetime) -> datetime:
    """A stored (naive UTC) time in the store's zone, offset attached."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(store.timezone))


def business_day(store: Store, moment: datetime) -> date:
    """The business day a stored (naive UTC) time falls in."""
    wall = local_time(store, moment).replace(tzinfo=None)
    return (wall - timedelta(minutes=store.day_start_minutes)).date()


def period_of(store: Store, kind: str, moment: datetime) -> str:
    """The month ("YYYY-MM") or year ("YYYY") of the business day a stored moment is in."""
    return f"{business_day(store, moment):{'%Y-%m' if kind == 'month' else '%Y'}}"


def period_bounds(store: Store, kind: str, period: str) -> tuple[datetime, datetime]:
    """A month's or year's first and next business days' starts, naive UTC."""
    if kind == "month":
        year, month = map(int, period.split("-"))
        first, after = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
    else:
        first, after = date(int(period), 1, 1), date(int(period) + 1, 1, 1)
    return _utc(store, first), _utc(store, after)


def today(store: Store) -> date:
    return business_day(store, utcnow())


# The figures of sessions


@dataclass
class SessionFigures:
    """One session as the reports show it; counted and difference are None while open."""

    id: str
    cashier: str
    opened_at: datetime
    closed_at: datetime | None
    opening_cash: Decimal
    sales: Decimal
    refunds: Decimal
    pay_ins: Decimal
    pay_outs: Decimal
    expected_cash: Decimal
    # Drawer events: cash taken to the safe, and how often the drawer opened without a sale.
    drops: Decimal
    no_sales: int
    closing_cash: Decimal | None
    difference: Decimal | None
    forced: bool
    z_number: int | None
    # A difference over the store's limit waits for a manager (docs/journal.md).
    needs_approval: bool
    approved_by: str | None
    approved_at: datetime | None
    approval_note: str | None
    # At closing, the cash left in the drawer and the rest dropped to the safe (None: not
    # said); at opening, the opening cash minus the float the terminal's last closing left.
    float_left: Decimal | None = None
    to_safe: Decimal | None = None
    discrepancy_at_start: Decimal | None = None
    # Each tender but cash: {code: {"expected", "counted", "difference"}}, counted and
    # difference None while open or not counted (app.sessions.queries.tender_lines).
    tenders: dict = field(default_factory=dict)
    # The figures by the cashier who made each movement, by name: ATTENDANT_FIGURES (cash),
    # and each other tender's in "tenders" ({code: amount}).
    attendants: list = field(default_factory=list)

    @property
    def approval(self) -> str:
        """ "pending", "approved", or "" when the close needed none (or is still open)."""
        if not self.needs_approval:
            return ""
        return "approved" if self.approved_at else "pending"


MONEY = ("opening_cash", "sales", "refunds", "pay_ins", "pay_outs", "expected_cash")
COUNTED = ("closing_cash", "difference")
# After the columns the CSV always had, so a sheet reading them by position still can.
DRAWER = ("drops", "no_sales")
# Then these, still before the tenders' (as many as the sessions have): every fixed column
# keeps its place.
FLOATS = ("float_left", "to_safe", "discrepancy_at_start")
TENDER_FIGURES = ("expected", "counted", "difference")
# A session's figures by attendant: after the tenders' columns, each a list in the order of
# the ``attendants`` column's names; then each other tender's, "attendant_CODE_expected".
ATTENDANT_FIGURES = ("sales", "refunds", "pay_ins", "pay_outs", "drops", "no_sales")


@dataclass
class Totals:
    """Sums over sessions; counted cash and difference over the closed ones only, and None
    while none is closed: an open session has no count, so no difference either."""

    sessions: int = 0
    closed: int = 0
    forced: int = 0
    sums: dict = field(
        default_factory=lambda: (
            dict.fromkeys(MONEY, Decimal("0.00"))
            | dict.fromkeys(COUNTED)
            | {"drops": Decimal("0.00"), "no_sales": 0}
        )
    )
    tenders: dict = field(default_factory=dict)  # by code, the sums of TENDER_FIGURES

    @property
    def open(self) -> int:
        return self.sessions - self.closed

    def add(self, row: SessionFigures) -> None:
        self.sessions += 1
        self.forced += row.forced
        for name in MONEY + DRAWER:
            self.sums[name] += getattr(row, name)
        if row.closed_at is not None:
            self.closed += 1
            for name in COUNTED:
                self.sums[name] = (self.sums[name] or Decimal("0.00")) + getattr(row, name)
        for code, figures in row.tenders.items():
            summed = self.tenders.setdefault(code, dict.fromkeys(TENDER_FIGURES))
            for name, value in figures.items():
                if value is not None:
                    summed[name] = (summed[name] or Decimal("0.00")) + value

    def tender_lines(self) -> list[dict]:
        """Cash, then each other tender by code: expected, counted, difference. A tender no
        closed session counted is not counted (None), never zero; counted and difference
        add up the sessions that counted it."""
        cash = {
            "tender": CASH,
            "expected": self.sums["expected_cash"],
            "counted": self.sums["closing_cash"],
            "difference": self.sums["difference"],
        }
        return [cash, *({"tender": code, **self.tenders[code]} for code in sorted(self.tenders))]


def sessions_between(store: Store, start: datetime, end: datetime) -> list[SessionFigures]:
    """Every session of the store opened in the UTC range [start, end), oldest first, with its
    figures: one query, grouped by session."""
    query = (
        summaries_query()
        .add_columns(
            PosSession.id,
            PosProfile.name.label("cashier"),
            PosSession.created_at.label("opened_at"),
            PosClosing.created_at.label("closed_at"),
            PosClosing.closing_cash,
            PosClosing.difference,
            # An open session has no closing row: not forced, and nothing to approve.
            func.coalesce(PosClosing.forced, false()).label("forced"),
            PosClosing.z_number,
            func.coalesce(PosClosing.needs_approval, false()).label("needs_approval"),
            ClosingApproval.approved_by,
            ClosingApproval.created_at.label("approved_at"),
            ClosingApproval.note.label("approval_note"),
            PosClosing.float_left,
            PosClosing.to_safe,
            PosSession.discrepancy_at_start,
            PosClosing.tenders,
            tender_moves(),
        )
        .join(PosProfile, PosProfile.id == PosSession.pos_profile_id)
        .outerjoin(PosClosing, PosClosing.pos_session_id == PosSession.id)
        .outerjoin(ClosingApproval, ClosingApproval.closing_id == PosClosing.id)
        .where(
            PosSession.store_id == store.id,
            PosSession.created_at >= start,
            PosSession.created_at < end,
        )
        # PostgreSQL reads the other tables' columns as grouped by their keys.
        .group_by(PosProfile.id, PosClosing.id, ClosingApproval.closing_id)
        .order_by(PosSession.created_at, PosSession.id)
    )
    names = [f.name for f in fields(SessionFigures) if f.name not in ("tenders", "attendants")]
    rows = db.session.execute(query).mappings().all()
    by_attendant = attendant_figures(db.session, [row["id"] for row in rows])
    found = []
    for row in rows:
        closing = SimpleNamespace(tenders=row["tenders"], closing_cash=None, difference=None)
        closed = closing if row["closed_at"] else None
        # Cash is the row's own figures: the other tenders only.
        lines = tender_lines(None, closed, parse_tender_moves(row["tender_moves"]))[1:]
        tenders = {one.pop("tender"): one for one in lines}
        found.append(
            SessionFigures(
                **{name: row[name] for name in names},
                tenders=tenders,
                attendants=by_attendant.get(row["id"], []),
            )
        )
    return found


@dataclass
class DayReport:
    day: date
    sessions: list[SessionFigures]
    store: Totals
    cashiers: dict[str, Totals]  # by name, in alphabetical order whatever the case
    # The day's figures by the cashier who made each movement, whoever opened the session.
    attendants: list[dict]


def day_report(store: Store, day: date) -> DayReport:
    sessions = sessions_between(store, *day_bounds(store, day))
    total, per_cashier, per_attendant = Totals(), {}, {}
    for row in sessions:
        total.add(row)
        per_cashier.setdefault(row.cashier, Totals()).add(row)
        for figures in row.attendants:
            summed = per_attendant.setdefault(
                figures["profile_id"],
                {"name": figures["name"]} | dict.fromkeys(ATTENDANT_FIGURES, 0) | {"tenders": {}},
            )
            for name in ATTENDANT_FIGURES:
                summed[name] += figures[name]
            for code, amount in figures["tenders"].items():
                summed["tenders"][code] = summed["tenders"].get(code, 0) + amount
    attendants = sorted(per_attendant.values(), key=lambda figures: figures["name"].casefold())
    cashiers = dict(sorted(per_cashier.items(), key=lambda item: item[0].casefold()))
    return DayReport(day, sessions, total, cashiers, attendants)


# CSV

CSV_HEADER = (
    "business_day",
    "session_id",
    "cashier",
    "opened_at",
    "closed_at",
    *MONEY,
    *COUNTED,
    "forced",
    "z_number",
    "approval",
    "approved_by",
    "approved_at",
    "approval_note",
    *DRAWER,
    *FLOATS,
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """A spreadsheet runs a cell starting like a formula: a leading quote makes it text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _money_cell(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"


def _time_cell(store: Store, moment: datetime | None) -> str:
    return "" if moment is None else local_time(store, moment).isoformat(timespec="seconds")


NOT_COUNTED = "not counted"


def _tender_cells(row: SessionFigures, code: str) -> list[str]:
    """A tender's expected, counted and difference; "not counted" (never 0) once closed
    without a count of it."""
    figures = row.tenders.get(code, dict.fromkeys(TENDER_FIGURES))
    counted = figures["counted"]
    if counted is None and row.closed_at is not None:
        counted = NOT_COUNTED
    return [
        _money_cell(figures["expected"] or Decimal(0)),
        counted if counted == NOT_COUNTED else _money_cell(counted),
        _money_cell(figures["difference"]),
    ]


def _attendant_cells(row: SessionFigures, codes: list[str]) -> list[str]:
    """The names of the cashiers who moved money, then each figure of theirs, then their
    amount in each tender of ``codes`` (0.00: none), each cell a list joined by "; " in the
    names' order."""
    lines = row.attendants
    cells = [text_cell("; ".join(line["name"] for line in lines))]
    for name in ATTENDANT_FIGURES:
        cell = str if name == "no_sales" else _money_cell
        values = (cell(line[name]) for line in lines)
        cells.append("; ".join(values))
    for code in codes:
        cells.append("; ".join(_money_cell(line["tenders"].get(code, 0)) for line in lines))
    return cells


def sessions_csv(store: Store, sessions: list[SessionFigures]) -> str:
    """A header row, then one row per session: money as plain decimals, times in store time
    (ISO 8601 with the offset), names neutralised against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    # Then three columns for each tender but cash any of the sessions has, by code.
    codes = sorted({code for row in sessions for code in row.tenders})
    writer.writerow(
        [
            *CSV_HEADER,
            *(f"{code}_{name}" for code in codes for name in TENDER_FIGURES),
            "attendants",
            *(f"attendant_{name}" for name in ATTENDANT_FIGURES),
            *(f"attendant_{code}_expected" for code in codes),
        ]
    )
    for row in sessions:
        writer.writerow(
            [
                business_day(store, row.opened_at).isoformat(),
                row.id,
                text_cell(row.cashier),
                _time_cell(store, row.opened_at),
                _time_cell(store, row.closed_at),
                *(_money_cell(getattr(row, name)) for name in MONEY + COUNTED),
                "yes" if row.forced else "no",
                row.z_number or "",
                row.approval,
                text_cell(row.approved_by or ""),
                _time_cell(store, row.approved_at),
                text_cell(row.approval_note or ""),
                _money_cell(row.drops),
                row.no_sales,
                *(_money_cell(getattr(row, name)) for name in FLOATS),
                *(cell for code in codes for cell in _tender_cells(row, code)),
                *_attendant_cells(row, codes),
            ]
        )
    return out.getvalue()


# Cashier variances


@dataclass
class Variances:
    """One cashier's closing differences, summed per business day (None: no closed session)."""

    cashier: str
    by_day: list[Decimal | None]
    short: list[Decimal] = field(default_factory=list)  # each difference below zero
    over: list[Decimal] = field(default_factory=list)  # each difference above zero

    @property
    def total(self) -> Decimal:
        return sum(self.short + self.over, Decimal("0.00"))


def variances(store: Store, last: date, days: int = VARIANCE_DAYS):
    """The ``days`` business days ending ``last``, and each cashier's closing differences on
    them (alphabetical; only cashiers with a closed session in the range)."""
    first = last - timedelta(days=days - 1)
    calendar = [first + timedelta(days=n) for n in range(days)]
    found: dict[str, Variances] = {}
    for row in sessions_between(store, *days_bounds(store, first, last)):
        if row.closed_at is None:
            continue
        cashier = found.setdefault(row.cashier, Variances(row.cashier, [None] * days))
        slot = (business_day(store, row.opened_at) - first).days
        cashier.by_day[slot] = (cashier.by_day[slot] or Decimal("0.00")) + row.difference
        if row.difference:
            (cashier.short if row.difference < 0 else cashier.over).append(row.difference)
    return calendar, [found[name] for name in sorted(found)]
