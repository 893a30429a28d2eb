"""What head office shows, derived from the stored entries only (and each shop's follow state):
the sessions open now, a day's or a month's figures per shop and tender, the variances by shop
and cashier. A cashier is a profile id: the journal names profiles by id, not by name.

Days and months are the chain's business days (``HEADOFFICE_TIMEZONE``, ``HEADOFFICE_DAY_START``
minutes after midnight), through the box's own bounds (app/reports.py).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ..models import utcnow

MOVEMENTS = ("cash_movement", "cash_movement_with_reason")
CLOSINGS = ("session_closed", "session_force_closed")
TYPES = ("sale", "refund", "pay_in", "pay_out", "drop")


@dataclass(frozen=True)
class Chain:
    """The business day of the chain: what app.reports' day_bounds and period_bounds read of a
    store."""

    timezone: str
    day_start_minutes: int


OPEN_NOW = text(
    """
    SELECT s.name AS shop, o.store_id, o.session_id, o.at AS opened_at,
           o.data->>'profileId' AS profile_id, o.data->>'by' AS opened_by,
           o.data->>'openingCash' AS opening_cash
    FROM ho_entry o JOIN ho_shop s ON s.store_id = o.store_id
    WHERE o.kind = 'session_opened' AND NOT EXISTS (
        SELECT 1 FROM ho_entry c WHERE c.store_id = o.store_id AND c.session_id = o.session_id
        AND c.kind IN ('session_closed', 'session_force_closed'))
    ORDER BY s.name, o.at
    """
)


def open_now(connection: Connection) -> list:
    """Every session whose opening is stored and whose closing is not, shop by shop."""
    return connection.execute(OPEN_NOW).all()


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


VARIANCES = text(
    """
    SELECT s.name AS shop, e.store_id, e.data->>'profileId' AS profile_id,
           COUNT(*) AS closings,
           SUM(CASE WHEN e.kind = 'session_force_closed' THEN 1 ELSE 0 END) AS forced,
           SUM((e.data->>'difference')::numeric) AS difference,
           SUM(CASE WHEN (e.data->>'difference')::numeric < 0
               THEN (e.data->>'difference')::numeric ELSE 0 END) AS short,
           SUM(CASE WHEN (e.data->>'difference')::numeric > 0
               THEN (e.data->>'difference')::numeric ELSE 0 END) AS over
    FROM ho_entry e JOIN ho_shop s ON s.store_id = e.store_id
    WHERE e.kind IN ('session_closed', 'session_force_closed')
      AND e.at >= :start AND e.at < :end
    GROUP BY s.name, e.store_id, profile_id
    ORDER BY s.name, e.store_id, profile_id
    """
)


def variances(connection: Connection, start: datetime, end: datetime) -> list:
    """Per shop and cashier, the closings in [start, end): how many, how many forced, and the
    cash counted less expected, in sum, short and over."""
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
