"""The kinds of cash fact, one definition each: from a ``Fact`` come the entry's data when the
fact is recorded, and what verify expects of each of its table's rows. Adding a kind is one
``Fact`` in ``FACTS`` and one ``record(tx, FACT, row)`` in its rule."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product
from typing import NamedTuple

from sqlalchemy import Boolean, Column, ColumnElement, Integer, Table, select

from ..models import (
    CASH,
    AccountingExport,
    Attendance,
    CanonicalJson,
    CashMovement,
    ClosingApproval,
    MoneyColumn,
    PeriodClosing,
    PosClosing,
    PosSession,
)
from .entry import Hole, canonical, cents, encode, money, spliced


class Encoding(NamedTuple):
    value: Callable  # the data's value, from a row object's attribute (an ORM object or row)
    text: Callable  # the JSON text of the same value, from the column as the DBAPI gives it


def _same(value):
    return value


def _text_or_null(value) -> str:
    return "null" if value is None else encode(value)


def _money_text(value: int) -> str:
    return encode(cents(value))


def _flag_text(value) -> str:
    return canonical(bool(value))  # SQLite gives 1 and 0


def encoding(column: Column) -> Encoding:
    """How a column's value goes into an entry's data, by its type: an amount as its text with
    two decimals, a flag as a boolean, a number or a text as it is."""
    if isinstance(column.type, MoneyColumn):
        return Encoding(money, _money_text)
    if isinstance(column.type, Boolean):
        return Encoding(bool, _flag_text)
    if isinstance(column.type, Integer):
        return Encoding(_same, canonical)
    if isinstance(column.type, CanonicalJson):
        return Encoding(_same, _same)  # stored as its canonical text
    return Encoding(_same, _text_or_null if column.nullable else encode)


@dataclass(frozen=True, eq=False)  # eq: ``where`` is SQL, its == a comparison
class Fact:
    """One kind of cash fact, journaled from a row of ``table`` (its ``store_id`` and
    ``created_at`` give the entry's store and ``at``)."""

    kind: str
    table: Table
    fields: dict  # the entry's data: each key's column name, or a dict of them (an object)
    subject: str | None = None  # the data key naming the row; None: the row is the session
    session: Column | None = None  # the row's session id; None: the table's pos_session_id
    where: ColumnElement | None = None  # which of the table's rows are of this kind
    family: str = ""  # shared by kinds of one table's rows (a closing, forced or not)
    anchor: bool = False  # a Z or an approval: its head is signed at once
    # Top-level data keys left out of the entry while their column holds this value (as the
    # DBAPI gives it): keys added to a kind later, which the entries written before lack.
    omitted: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "family", self.family or self.kind)

    def _map(self, leaf: Callable, fields: dict | None = None) -> dict:
        """``fields`` (the omittable keys last) with each column name replaced by
        ``leaf(column)``, depth first."""

        def walk(fields):
            return {
                key: walk(value) if isinstance(value, dict) else leaf(self.table.c[value])
                for key, value in fields.items()
            }

        return walk(self._ordered if fields is None else fields)

    @cached_property
    def _ordered(self) -> dict:
        kept = {key: value for key, value in self.fields.items() if key not in self.omitted}
        return kept | {key: self.fields[key] for key in self.omitted}

    def data(self, row) -> dict:
        """The entry's data, from the row (anything with the columns as attributes)."""
        # A row read as its table was before the key (migration 0006's import) lacks it.
        left_out = {
            key
            for key, value in self.omitted.items()
            if getattr(row, self.fields[key], value) == value
        }
        fields = {key: value for key, value in self._ordered.items() if key not in left_out}
        return self._map(lambda column: encoding(column).value(getattr(row, column.name)), fields)

    @cached_property
    def money_keys(self) -> dict[str, bool]:
        """The data's top-level amounts (each a text with two decimals): key -> may be null."""
        return {
            key: self.table.c[name].nullable
            for key, name in self.fields.items()
            if isinstance(name, str) and isinstance(self.table.c[name].type, MoneyColumn)
        }

    @cached_property
    def session_column(self) -> Column:
        return self.table.c.pos_session_id if self.session is None else self.session

    @cached_property
    def key(self) -> Column:
        """The row id's column."""
        if self.subject is None:
            return self.session_column
        return self.table.c[self.fields[self.subject]]

    @cached_property
    def stored(self) -> tuple[object, Callable[..., str], int]:
        """A select of the rows as (*fields' columns, session id, created_at), to narrow to a
        store; the canonical text of a row's data from such a row as the DBAPI gives it; and
        where in the row its id is."""
        columns: list[Column] = []
        self._map(columns.append)
        labelled = [column.label(f"f{i}") for i, column in enumerate(columns)]
        rows = select(*labelled, self.session_column, self.table.c.created_at)
        if self.session_column.table is not self.table:
            rows = rows.select_from(self.table.join(self.session_column.table))
        if self.where is not None:
            rows = rows.where(self.where)
        row_id = next((i for i, column in enumerate(columns) if column is self.key), -2)
        return rows, self._text(len(columns)), row_id

    def _text(self, count: int) -> Callable[..., str]:
        """The canonical text of a stored row's data. The omittable columns come last, so a
        shape without some of them takes the row as it is and ignores the rest."""
        if not self.omitted:
            return spliced(self._map(lambda column: Hole(encoding(column).text)))
        keys = list(self.omitted)
        variants = {}
        for present in product((True, False), repeat=len(keys)):
            left_out = {key for key, there in zip(keys, present, strict=True) if not there}
            fields = {key: value for key, value in self._ordered.items() if key not in left_out}
            variants[present] = spliced(
                self._map(lambda column: Hole(encoding(column).text), fields)
            )
        first = count - len(keys)
        pairs = [(first + n, self.omitted[key]) for n, key in enumerate(keys)]
        if len(pairs) == 1:  # one test a row
            [(at, value)] = pairs
            present, absent = variants[(True,)], variants[(False,)]
            return lambda *row: (absent if row[at] == value else present)(*row)

        def text(*row) -> str:
            # The variant's holes: the row's values but those of the keys it leaves out.
            present = tuple(row[at] != value for at, value in pairs)
            kept = [v for at, v in enumerate(row[:count]) if at < first or present[at - first]]
            return variants[present](*kept)

        return text


TOTALS = {"sales": "sales", "refunds": "refunds", "payIns": "pay_ins", "payOuts": "pay_outs"}
_sessions = PosSession.__table__
_movements = CashMovement.__table__
_closings = PosClosing.__table__
_approvals = ClosingApproval.__table__

OPENED = Fact(
    "session_opened",
    _sessions,
    {
        "profileId": "pos_profile_id",
        "openingCash": "opening_cash",
        "by": "opened_by",
        "note": "note",
        "cashCount": "cash_count",
        "discrepancyAtStart": "discrepancy_at_start",
    },
    session=_sessions.c.id,
    # Counted by note and coin (0012), compared with the float left before (0015): else as
    # before.
    omitted={"cashCount": None, "discrepancyAtStart": None},
)
_MOVEMENT = {
    "movementId": "id",
    "type": "type",
    "amount": "amount",
    "by": "created_by",
    "note": "note",
    "tender": "tender",
    "attendantId": "attendant_id",
}
# A cash movement without a reason keeps the data it always had, so no entry written before
# tenders, reasons or attendants existed reads otherwise: its tender is left out when it is
# cash, its attendant when it has none (from before 0014), and one
# with a reason (every drop and no-sale, a pay-in or pay-out that names one) is its own kind of
# the same family, with the reason.
MOVEMENT = Fact(
    "cash_movement",
    _movements,
    _MOVEMENT,
    "movementId",
    where=_movements.c.reason.is_(None),
    omitted={"tender": CASH, "attendantId": None},
)
REASONED_MOVEMENT = Fact(
    "cash_movement_with_reason",
    _movements,
    _MOVEMENT | {"reason": "reason"},
    "movementId",
    where=_movements.c.reason.is_not(None),
    family=MOVEMENT.kind,
    omitted={"tender": CASH, "attendantId": None},
)
_CLOSING = {
    "closingId": "id",
    "profileId": "pos_profile_id",
    "closingCash": "closing_cash",
    "expectedCash": "expected_cash",
    "difference": "difference",
    "by": "closed_by",
    "note": "note",
    "zNumber": "z_number",
    **TOTALS,
    "grandTotals": {name: f"grand_{column}" for name, column in TOTALS.items()},
    "approvalPending": "needs_approval",
    "tenders": "tenders",
    "cashCount": "cash_count",
    "floatLeft": "float_left",
    "toSafe": "to_safe",
}
# A closing with cash only, counted as one figure, leaving no float: its entry is as before
# tenders, counts and floats.
_AS_BEFORE = {"tenders": None, "cashCount": None, "floatLeft": None, "toSafe": None}
CLOSED = Fact(
    "session_closed",
    _closings,
    _CLOSING,
    "closingId",
    where=~_closings.c.forced,
    anchor=True,
    omitted=_AS_BEFORE,
)
FORCE_CLOSED = Fact(
    "session_force_closed",
    _closings,
    _CLOSING | {"reason": "reason"},
    "closingId",
    where=_closings.c.forced,
    family=CLOSED.kind,
    anchor=True,
    omitted=_AS_BEFORE,
)
APPROVED = Fact(
    "closing_approved",
    _approvals,
    {"closingId": "closing_id", "by": "approved_by", "note": "note"},
    "closingId",
    session=_closings.c.pos_session_id,  # an approval's session is its closing's
    anchor=True,
)
_periods = PeriodClosing.__table__
PERIOD_CLOSED = Fact(
    "period_closed",
    _periods,
    {
        "periodClosingId": "id",
        "kind": "kind",
        "period": "period",
        "number": "number",
        "firstZ": "first_z",
        "lastZ": "last_z",
        **TOTALS,
        "grandTotals": {name: f"grand_{column}" for name, column in TOTALS.items()},
        "by": "closed_by",
        "drops": "drops",
        "noSales": "no_sales",
        "tenders": "tenders",
    },
    "periodClosingId",
    anchor=True,
    # Summed since 0016; a closing from before has none, and its entry is as it was.
    omitted={"drops": None, "noSales": None, "tenders": None},
)
# A FEC, DATEV or DSFinV-K file handed out (app.accounting): which file is current.
EXPORTED = Fact(
    "accounting_exported",
    AccountingExport.__table__,
    {
        "exportId": "id",
        "format": "format",
        "firstDay": "first_day",
        "lastDay": "last_day",
        "firstZ": "first_z",
        "lastZ": "last_z",
        "fileName": "file_name",
        "sha256": "sha256",
        "by": "exported_by",
    },
    "exportId",
)
_attendance = Attendance.__table__
_ATTENDANCE = {"attendanceId": "id", "profileId": "pos_profile_id", "by": "created_by"}
JOINED = Fact(
    "attendant_joined",
    _attendance,
    _ATTENDANCE,
    "attendanceId",
    where=_attendance.c.kind == "joined",
)
LEFT = Fact(
    "attendant_left",
    _attendance,
    _ATTENDANCE,
    "attendanceId",
    where=_attendance.c.kind == "left",
    family=JOINED.kind,
)
# The holder leaves and profileId takes the drawer, with the count at the change: one fact.
HANDED_OVER = Fact(
    "drawer_handed_over",
    _attendance,
    _ATTENDANCE
    | {
        "fromProfileId": "from_profile_id",
        "countedCash": "counted_cash",
        "expectedCash": "expected_cash",
        "difference": "difference",
        "cashCount": "cash_count",
    },
    "attendanceId",
    where=_attendance.c.kind == "handover",
    family=JOINED.kind,
    omitted={"cashCount": None},  # counted by note and coin, else the amount only
)
ATTENDANCE_FACTS = {"joined": JOINED, "left": LEFT, "handover": HANDED_OVER}
FACTS = {
    fact.kind: fact
    for fact in (
        OPENED,
        MOVEMENT,
        REASONED_MOVEMENT,
        CLOSED,
        FORCE_CLOSED,
        APPROVED,
        PERIOD_CLOSED,
        EXPORTED,
        JOINED,
        LEFT,
        HANDED_OVER,
    )
}


def closing_fact(closing) -> Fact:
    return FORCE_CLOSED if closing.forced else CLOSED


def movement_fact(movement) -> Fact:
    return MOVEMENT if movement.reason is None else REASONED_MOVEMENT
