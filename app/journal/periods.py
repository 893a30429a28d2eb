"""A period closing's figures, one definition for the rule that records them and for verify
that checks them: summed from the Z closings of the month or year in store time."""

from decimal import Decimal

from sqlalchemy import func, select

from ..models import PosClosing, PosSession
from ..reports import TENDER_FIGURES, period_bounds
from ..sessions.queries import summaries_query, tender_lines
from .entry import money
from .facts import TOTALS

_closings = PosClosing.__table__


def period_totals(connection, store, kind: str, period: str) -> dict:
    """The store's ``period`` from its Z closings, as PeriodClosing's columns: the first and
    last Z numbers and the last Z's session; each movement type's total, the Zs' own and the
    drops and no-sales of their sessions' cash movements (which a Z's entry does not hold: the
    movements' entries do); the grand totals, the last Z's; and per tender, cash too, expected,
    counted and difference summed over the Zs, counted and difference over those that counted
    it (None when none did).

    A period without a Z, once the store has one, sums none: its totals are zero and it has no
    tender, its Z range is empty (first_z is the next Z's number, last_z the last Z's before
    it), and it carries that last Z's grand totals and session. Empty before the first Z."""
    start, end = period_bounds(store, kind, period)
    in_period = (
        (_closings.c.store_id == store.id)
        & (_closings.c.created_at >= start)
        & (_closings.c.created_at < end)
    )
    zs = connection.execute(select(_closings).where(in_period).order_by(_closings.c.z_number)).all()
    if zs:
        last = zs[-1]
    else:  # the last Z before the period, whose grand totals it carries
        before = (_closings.c.store_id == store.id) & (_closings.c.created_at < start)
        last = connection.execute(
            select(_closings).where(before).order_by(_closings.c.z_number.desc()).limit(1)
        ).first()
        if last is None:
            return {}
    sessions = summaries_query().where(
        PosSession.id.in_(select(_closings.c.pos_session_id).where(in_period))
    )
    moved = sessions.subquery()
    drops, no_sales = connection.execute(
        select(func.sum(moved.c.drops), func.sum(moved.c.no_sales))
    ).one()
    return {
        "first_z": zs[0].z_number if zs else last.z_number + 1,
        "last_z": last.z_number,
        "pos_session_id": last.pos_session_id,
        **{column: sum((getattr(z, column) for z in zs), Decimal(0)) for column in TOTALS.values()},
        **{f"grand_{c}": getattr(last, f"grand_{c}") for c in TOTALS.values()},
        "drops": drops or Decimal(0),  # None: the SUM of no session
        "no_sales": int(no_sales or 0),  # PostgreSQL's SUM of a count is a numeric
        "tenders": _tenders(zs),
    }


def _tenders(zs) -> dict:
    sums: dict[str, dict] = {}
    for z in zs:
        for line in tender_lines(z.expected_cash, z, {}):  # the Z's own, cash first
            total = sums.setdefault(line["tender"], dict.fromkeys(TENDER_FIGURES))
            for name in TENDER_FIGURES:
                if line[name] is not None:
                    total[name] = (total[name] or 0) + line[name]
    return {
        code: {name: None if value is None else money(value) for name, value in line.items()}
        for code, line in sums.items()
    }
