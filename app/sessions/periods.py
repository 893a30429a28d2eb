"""Period closings: a store's months and years in store time (business-day start respected),
each closed once it has ended, numbered per store and kind, its totals the sum of its Z
closings (app.journal.periods) and its grand totals the last one's, journaled in the same
transaction."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import reports
from ..exceptions import PeriodAlreadyClosed, PeriodNotEnded, PeriodWithoutZ
from ..journal import PERIOD_CLOSED, period_totals, record
from ..machinery.database import UnitOfWork
from ..models import PeriodClosing, PosClosing, Store, utcnow
from ..stores import find_store

KINDS = ("month", "year")


def close_periods(
    uow: UnitOfWork, store_id: str, kind: str, period: str | None, by: str
) -> list[PeriodClosing]:
    """Close ``period`` of ``kind``, or (None) every ended period of each kind not closed yet
    that has a Z closing, oldest first. Refused for a period closed already (also when another
    run closed it meanwhile: PostgreSQL's writers do not wait for each other here, the unique
    key stops the second), not ended, or without a Z."""
    with uow:
        tx = uow.session
        store = find_store(tx, store_id)
        now = utcnow()
        closed = set(
            tx.execute(
                select(PeriodClosing.kind, PeriodClosing.period).where(
                    PeriodClosing.store_id == store_id
                )
            )
        )
        if period is None:
            times = tx.scalars(select(PosClosing.created_at).where(PosClosing.store_id == store_id))
            wanted = sorted(
                {(k, reports.period_of(store, k, moment)) for moment in times for k in KINDS},
                key=lambda pair: (KINDS.index(pair[0]), pair[1]),
            )
            wanted = [
                (k, p)
                for k, p in wanted
                if (k, p) not in closed and reports.period_bounds(store, k, p)[1] <= now
            ]
        else:
            if (kind, period) in closed:
                raise PeriodAlreadyClosed()
            if reports.period_bounds(store, kind, period)[1] > now:
                raise PeriodNotEnded()
            wanted = [(kind, period)]
        try:
            made = [_close(tx, store, k, p, by) for k, p in wanted]
            uow.done()
        except IntegrityError:  # its unique key: another run closed it since the read above
            raise PeriodAlreadyClosed() from None
    return made


def _close(tx, store: Store, kind: str, period: str, by: str) -> PeriodClosing:
    zs, figures = period_totals(tx.connection(), store, kind, period)
    if not zs:
        raise PeriodWithoutZ()
    number = tx.scalar(
        select(func.coalesce(func.max(PeriodClosing.number), 0)).where(
            PeriodClosing.store_id == store.id, PeriodClosing.kind == kind
        )
    )
    row = PeriodClosing(
        store_id=store.id,
        kind=kind,
        period=period,
        number=number + 1,
        first_z=zs[0].z_number,
        last_z=zs[-1].z_number,
        pos_session_id=zs[-1].pos_session_id,
        closed_by=by,
        **figures,
    )
    tx.add(row)
    record(tx, PERIOD_CLOSED, row)
    return row
