"""Period closings: a store's months and years in store time (business-day start respected),
each closed once it has ended, numbered per store and kind, its totals the sum of its Z
closings (app.journal.periods) and its grand totals the last one's, journaled in the same
transaction. Closed by ``flask --app wsgi period close``, or by the first request or command
run for the store after the period's end (``close_ended``)."""

import logging
from datetime import UTC, datetime, timedelta
from time import time as seconds
from weakref import WeakKeyDictionary

from sqlalchemy import func, select
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
    store's first Z and its count of closings of each kind, and closes only if some period
    ended since that Z has none (``_left_out``); workers looking at once close each period
    once (``close_periods`` under the write lock, its unique key on PostgreSQL). Never raises:
    the request or command it runs for goes on, and a failure is logged and looked at again a
    minute later."""
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
    """Whether some month or year ended since the store's first Z has no closing: it has
    fewer closings of that kind than such periods (none is made for another period)."""
    first = _first_z_at(tx, store.id)
    closings = dict(
        tx.execute(
            select(PeriodClosing.kind, func.count())
            .where(PeriodClosing.store_id == store.id)
            .group_by(PeriodClosing.kind)
        ).all()
    )
    return first is not None and any(
        len(_ended(store, kind, first, now)) > closings.get(kind, 0) for kind in KINDS
    )


def _first_z_at(tx, store_id: str) -> datetime | None:
    return tx.scalar(select(func.min(PosClosing.created_at)).where(PosClosing.store_id == store_id))


def _ended(store: Store, kind: str, since: datetime, now: datetime) -> list[str]:
    """The store's months or years from the one ``since`` is in to the last ended by ``now``,
    oldest first: each period's end is the next one's start."""
    ended, period = [], reports.period_of(store, kind, since)
    while (end := reports.period_bounds(store, kind, period)[1]) <= now:
        ended.append(period)
        period = reports.period_of(store, kind, end)
    return ended


def close_periods(
    uow: UnitOfWork, store_id: str, kind: str, period: str | None, by: str
) -> list[PeriodClosing]:
    """Close ``period`` of ``kind``, or (None) every period of each kind ended since the store's
    first Z closing and not closed yet, oldest first, so that their numbers follow them; one
    without a Z has zero totals (``period_totals``). Refused for a period closed already (also
    when another run closed it meanwhile: PostgreSQL's writers do not wait for each other here,
    the unique key stops the second), not ended, or before the store's first Z."""
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
            first = _first_z_at(tx, store_id)
            ended = [(k, p) for k in KINDS for p in _ended(store, k, first, now)] if first else []
            wanted = [pair for pair in ended if pair not in closed]
        else:
            if (kind, period) in closed:
                raise PeriodAlreadyClosed()
            if reports.period_bounds(store, kind, period)[1] > now:
                raise PeriodNotEnded()
            wanted = [(kind, period)]
        try:
            made = [_close(tx, store, k, p, by, now) for k, p in wanted]
            uow.done()
        except IntegrityError:  # its unique key: another run closed it since the read above
            raise PeriodAlreadyClosed() from None
    return made


def _close(tx, store: Store, kind: str, period: str, by: str, now: datetime) -> PeriodClosing:
    figures = period_totals(tx.connection(), store, kind, period)
    if not figures:
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
        closed_by=by,
        created_at=now,  # the moment that found the period ended: never before its end
        **figures,
    )
    tx.add(row)
    record(tx, PERIOD_CLOSED, row)
    return row
