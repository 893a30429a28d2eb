"""Period closings: a store's months and years in store time (business-day start respected),
each closed once it has ended, numbered per store and kind, its totals the sum of its Z
closings (app.journal.periods) and its grand totals the last one's, journaled in the same
transaction. Closed by ``flask --app wsgi period close``, or by the first request or command
run for the store after the period's end (``close_ended``)."""

import logging
from datetime import UTC, datetime, timedelta
from time import time as seconds
from weakref import WeakKeyDictionary

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .. import reports
from ..exceptions import PeriodAlreadyClosed, PeriodNotEnded, PeriodWithoutZ
from ..journal import PERIOD_CLOSED, period_totals, record
from ..machinery.database import UnitOfWork, read_anew
from ..machinery.extensions import db
from ..models import PeriodClosing, PosClosing, Store, utcnow
from ..stores import find_store

KINDS = ("month", "year")
AUTOMATIC = "automatic"  # who closed a period the first request or run after its end closed
RETRY = timedelta(minutes=1)  # after a failure to close, so a broken look is not every request's

log = logging.getLogger(__name__)

# Per database (engine), as tests and tools run more than one app in a process: when this
# worker next looks at each store (seconds since the epoch), the end of the store's month it
# last looked in. Before it no period can end, so a request pays a dictionary look-up and a
# comparison with ``seconds()``, a tenth of what utcnow() costs.
_next_look: WeakKeyDictionary[Engine, dict[str, float]] = WeakKeyDictionary()


def close_ended(store_id: str) -> None:
    """Close the store's ended periods not closed yet, when this worker has not looked since
    the last period's end (or not at all: the box may have been off then). A look reads the
    counts of Zs and of those closings cover, and closes only if some Z is left out; workers
    looking at once close each period once (``close_periods`` under the write lock, its unique
    key on PostgreSQL). Never raises: the request or command it runs for goes on, and a
    failure is logged and looked at again a minute later."""
    looks = _next_look.setdefault(db.engine, {})
    if seconds() < looks.get(store_id, 0):
        return
    now = utcnow()
    try:
        looks[store_id] = _seconds(_close_left_out(store_id, now))
    except Exception:
        log.exception(
            "store %s: its ended periods could not be closed; again in a minute", store_id
        )
        looks[store_id] = _seconds(now + RETRY)


def _seconds(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


def _close_left_out(store_id: str, now: datetime) -> datetime:
    """Close what ``_left_out`` finds; the end of the store's month, when to look again, is
    read first: a close refused under the lock rolls back, and the store with it."""
    uow = UnitOfWork()
    with uow.reading_first():
        store = find_store(uow.session, store_id)
        month_end = _current(store, "month", now)[1]
        if not _left_out(uow.session, store, now):
            return month_end
        try:
            made = close_periods(uow, store_id, None, None, AUTOMATIC)
        except PeriodAlreadyClosed:  # by another worker at the same moment (PostgreSQL)
            return month_end
    for row in made:
        log.info("store %s: %s %s closed, number %d", store_id, row.kind, row.period, row.number)
    if made:
        read_anew()  # what the request reads next shows them
    return month_end


def _current(store: Store, kind: str, now: datetime) -> tuple[datetime, datetime]:
    return reports.period_bounds(store, kind, reports.period_of(store, kind, now))


def _left_out(tx, store: Store, now: datetime) -> bool:
    """Whether some Z of an ended month or year is in no closing of that kind: the Zs before
    the current month's (year's) start outnumber those the closings cover, each its first_z to
    last_z (Zs are numbered without a gap, in the order they are made)."""
    starts = [_current(store, kind, now)[0] for kind in KINDS]
    before = tx.execute(
        select(*(func.count(case((PosClosing.created_at < start, 1))) for start in starts)).where(
            PosClosing.store_id == store.id
        )
    ).one()
    covered = dict(
        tx.execute(
            select(PeriodClosing.kind, func.sum(PeriodClosing.last_z - PeriodClosing.first_z + 1))
            .where(PeriodClosing.store_id == store.id)
            .group_by(PeriodClosing.kind)
        ).all()
    )
    return any(count > covered.get(kind, 0) for kind, count in zip(KINDS, before, strict=True))


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
