"""What head office shows, derived from the stored entries only (and each shop's follow state):
the sessions open now, a day's or a month's figures per shop and tender, the variances by shop
and cashier. A cashier is a profile id: the journal names profiles by id, not by name.

Days and months are the chain's business days (``HEADOFFICE_TIMEZONE``, ``HEADOFFICE_DAY_START``
minutes after midnight), through the box's own bounds (app/reports.py).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ..journal.facts import ATTENDANCE_FACTS
from ..models import utcnow
from ..sessions.queries import folded

MOVEMENTS = ("cash_movement", "cash_movement_with_reason")
CLOSINGS = ("session_closed", "session_force_closed")
TYPES = ("sale", "refund", "pay_in", "pay_out", "drop")


@dataclass(frozen=True)
class Chain:
    """The business day of the chain: what app.reports' day_bounds and period_bounds read of a
    store."""

    timezone: str
    day_start_minutes: int


# Each open session's opening, with its joins, leaves and handovers in the journal's order.
OPEN_NOW = text(
    """
    SELECT s.name AS shop, o.store_id, o.session_id, o.at AS opened_at,
           o.data->>'profileId' AS profile_id, o.data->>'by' AS opened_by,
           o.data->>'openingCash' AS opening_cash,
           a.kind AS attendance, a.data->>'profileId' AS attendant
    FROM ho_entry o JOIN ho_shop s ON s.store_id = o.store_id
    LEFT JOIN ho_entry a ON a.store_id = o.store_id AND a.session_id = o.session_id
        AND a.kind IN ('attendant_joined', 'attendant_left', 'drawer_handed_over')
    WHERE o.kind = 'session_opened' AND NOT EXISTS (
        SELECT 1 FROM ho_entry c WHERE c.store_id = o.store_id AND c.session_id = o.session_id
        AND c.kind IN ('session_closed', 'session_force_closed'))
    ORDER BY s.name, o.at, o.store_id, o.session_id, a.seq
    """
)
# A fact's kind -> the attendance row's kind it journals ("joined", "left", "handover").
ATTENDANCE = {fact.kind: kind for kind, fact in ATTENDANCE_FACTS.items()}


class OpenSession(NamedTuple):
    shop: str
    store_id: str
    session_id: str
    opened_at: datetime
    profile_id: str  # who opened it
    opened_by: str  # on which terminal
    opening_cash: str
    holder: str  # who holds the drawer now: the opener, or the last handover's taker
    attendants: list[str]  # who else is on it now: joined, and not left nor handed the drawer


def open_now(connection: Connection) -> list[OpenSession]:
    """Every session whose opening is stored and whose closing is not, shop by shop, with who
    is on it now (the box's own fold of its attendance, app.sessions.queries)."""
    sessions = []
    for _, rows in groupby(connection.execute(OPEN_NOW), key=lambda r: (r.store_id, r.session_id)):
        rows = list(rows)
        o = rows[0]
        on_now = folded(
            o.profile_id, [(ATTENDANCE[r.attendance], r.attendant) for r in rows if r.attendance]
        )
        sessions.append(
            OpenSession(
                o.shop,
                o.store_id,
                o.session_id,
                o.opened_at,
                o.profile_id,
                o.opened_by,
                o.opening_cash,
                on_now.holder,
                sorted(on_now.attendants),
            )  # fmt: skip
        )
    return sessions


TAKINGS = text(
    """
    SELECT s.name AS shop, e.store_id, COALESCE(e.data->>'tender', 'cash') AS tender,
           e.data->>'type' AS type, SUM((e.data->>'amount')::numeric) AS amount,
           COUNT(*) AS count
    FROM ho_entry e JOIN ho_shop s ON s.store_id = e.store_id
    WHERE e.kind IN ('cash_movement', 'cash_movement_with_reason')
      AND e.at >= :start AND e.at < :end
    GROUP BY s.name, e.store_id, tender, type
    """
)


@dataclass
class Takings:
    shop: str
    store_id: str
    tender: str
    sales: Decimal = Decimal(0)
    refunds: Decimal = Decimal(0)
    pay_ins: Decimal = Decimal(0)
    pay_outs: Decimal = Decimal(0)
    drops: Decimal = Decimal(0)
    no_sales: int = 0

    @property
    def net(self) -> Decimal:
        """What the tender took in: sales less refunds."""
        return self.sales - self.refunds


FIELD = {"sale": "sales", "refund": "refunds", "pay_in": "pay_ins", "pay_out": "pay_outs"}
FIELD["drop"] = "drops"


def takings(connection: Connection, start: datetime, end: datetime) -> list[Takings]:
    """Per shop and tender, the movements' totals in [start, end), then one "all shops" row per
    tender (store_id empty)."""
    rows: dict[tuple[str, str], Takings] = {}
    totals: dict[str, Takings] = {}
    for row in connection.execute(TAKINGS, {"start": start, "end": end}):
        for figures in (
            rows.setdefault(
                (row.store_id, row.tender), Takings(row.shop, row.store_id, row.tender)
            ),
            totals.setdefault(row.tender, Takings("All shops", "", row.tender)),
        ):
            if row.type == "no_sale":
                figures.no_sales += row.count
            elif row.type in FIELD:
                setattr(figures, FIELD[row.type], getattr(figures, FIELD[row.type]) + row.amount)
    ordered = sorted(
        rows.values(), key=lambda t: (t.shop, t.store_id, t.tender != "cash", t.tender)
    )
    return ordered + sorted(totals.values(), key=lambda t: (t.tender != "cash", t.tender))


# A closing's difference is its session's cashier's (the opener's, as the box's own variances);
# a handover's, the count when the holder handed the drawer over, is the giver's.
VARIANCES = text(
    """
    SELECT s.name AS shop, e.store_id, e.profile_id,
           COUNT(*) FILTER (WHERE NOT handover) AS closings,
           COUNT(*) FILTER (WHERE e.kind = 'session_force_closed') AS forced,
           COALESCE(SUM(difference) FILTER (WHERE NOT handover), 0) AS difference,
           COALESCE(SUM(LEAST(difference, 0)) FILTER (WHERE NOT handover), 0) AS short,
           COALESCE(SUM(GREATEST(difference, 0)) FILTER (WHERE NOT handover), 0) AS over,
           COUNT(*) FILTER (WHERE handover) AS handovers,
           COALESCE(SUM(difference) FILTER (WHERE handover), 0) AS handover_difference
    FROM (
        SELECT store_id, kind, kind = 'drawer_handed_over' AS handover,
               (data->>'difference')::numeric AS difference,
               data->>(CASE WHEN kind = 'drawer_handed_over' THEN 'fromProfileId'
                       ELSE 'profileId' END) AS profile_id
        FROM ho_entry
        WHERE kind IN ('session_closed', 'session_force_closed', 'drawer_handed_over')
          AND at >= :start AND at < :end
    ) e JOIN ho_shop s ON s.store_id = e.store_id
    GROUP BY s.name, e.store_id, e.profile_id
    ORDER BY s.name, e.store_id, e.profile_id
    """
)


def variances(connection: Connection, start: datetime, end: datetime) -> list:
    """Per shop and cashier, the closings in [start, end): how many, how many forced, and the
    cash counted less expected, in sum, short and over; and the handovers the cashier gave in
    [start, end), how many and the sum of the differences counted at them. The expected cash
    carries over a handover (docs/closing.md), so a closing's difference already holds those
    counted at the session's handovers: the two are not to be added."""
    return connection.execute(VARIANCES, {"start": start, "end": end}).all()


SHOPS = text(  # not its token
    """
    SELECT store_id, name, url, last_seq, caught_up_at, polled_at, error, stopped_reason,
           stopped_at
    FROM ho_shop ORDER BY name, store_id
    """
)


@dataclass
class ShopState:
    row: object
    lag_seconds: float | None  # since head office last had all the box had; None: never

    @property
    def red(self) -> bool:
        return self.row.stopped_reason is not None

    @property
    def state(self) -> str:
        """As the Shops page tells it: red (its follow stopped), not answering (its last poll
        failed, tried again every round), else ok."""
        if self.red:
            return "red"
        return "not answering" if self.row.error else "ok"


def shops(connection: Connection) -> list[ShopState]:
    """Each shop's follow: last verified seq, when it last caught up (its lag), why it stopped."""
    now = utcnow()
    return [
        ShopState(row, (now - row.caught_up_at).total_seconds() if row.caught_up_at else None)
        for row in connection.execute(SHOPS)
    ]
