"""Verify's cross-check: what each store's rows say their entries hold, what is wrong with
an entry no row accounts for, and the Z closings' numbers and grand totals."""

import json
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..models import PeriodClosing, PosClosing, Store, StoreTotals
from ..reports import TENDER_FIGURES
from .entry import money, stored_timestamp
from .facts import FACTS, TOTALS, Fact
from .periods import period_totals

_closings = PosClosing.__table__
_totals = StoreTotals.__table__
_periods = PeriodClosing.__table__


class Problem(NamedTuple):
    store_id: str
    seq: int | None  # None: a row with no entry, which has no seq
    message: str

    def __str__(self) -> str:
        where = f"seq {self.seq}: " if self.seq is not None else ""
        return f"store {self.store_id}: {where}{self.message}"

    def order(self):
        return (self.seq is None, self.seq or 0)


def raw_batches(connection: Connection, query):
    """The rows of ``query`` straight from a DBAPI cursor, as plain tuples of stored values, a
    batch at a time: SQLAlchemy's per-row work was most of verify's time."""
    sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(10_000):
            yield batch
    finally:
        cursor.close()


def fact_texts(connection: Connection, store_id: str, fact: Fact) -> dict:
    """``{(sessionId, kind, at, canonical data): (family, row id)}`` of the fact's rows in the
    store, straight from the DBAPI cursor: the cross-check builds one for nearly every entry."""
    rows, text, row_id = fact.stored
    query = rows.where(fact.table.c.store_id == store_id)
    kind, family, found = fact.kind, fact.family, {}
    for batch in raw_batches(connection, query):
        for row in batch:
            found[(row[-2], kind, stored_timestamp(row[-1]), text(*row))] = (family, row[row_id])
    return found


def expected(connection, store_id) -> tuple[dict, set]:
    """What the store's rows say their entries hold, ``{(sessionId, kind, at, data): (family,
    row id)}``, and the store's session ids."""
    facts, sessions = {}, set()
    for fact in FACTS.values():
        found = fact_texts(connection, store_id, fact)
        if fact.subject is None:  # the row is the session itself
            sessions.update(row_id for _family, row_id in found.values())
        facts.update(found)
    return facts, sessions


def z_problems(connection, store_id) -> list[Problem]:
    """The Z closings in order: numbered 1, 2, 3... and each one's grand totals the previous
    one's (none for Z 1) plus its own, every figure; then store_totals, which the next Z adds
    to, equal to the last Z. A Z and its entry agree (the cross-check), so a total lowered
    in store_totals is caught at the next Z, and before it here."""
    closings = connection.execute(
        select(_closings).where(_closings.c.store_id == store_id).order_by(_closings.c.z_number)
    )
    last = None
    for z in closings:
        number = last.z_number if last else 0
        if z.z_number != number + 1:
            return [Problem(store_id, None, f"Z numbers jump from {number} to {z.z_number}")]
        wrong = []
        for name, column in TOTALS.items():
            own, grand = getattr(z, column), getattr(z, f"grand_{column}")
            before = getattr(last, f"grand_{column}") if last else 0
            if grand != before + own:
                made_of = f"Z {number}'s {money(before)} plus" if last else "the first Z:"
                wrong.append(
                    f"grand total {name} is {money(grand)}, not {money(before + own)} "
                    f"({made_of} this closing's {money(own)})"
                )
        if wrong:
            return [Problem(store_id, None, f"Z {z.z_number} (closing {z.id}): {'; '.join(wrong)}")]
        last = z
    if last is None:
        return []
    totals = connection.execute(select(_totals).where(_totals.c.store_id == store_id)).first()
    if totals is None:
        return [Problem(store_id, None, f"store_totals has no row, but Z {last.z_number} exists")]
    wrong = [f"Z number is {totals.z_number} there"] if totals.z_number != last.z_number else []
    wrong += [
        f"{name} is {money(getattr(totals, column))} there, "
        f"{money(getattr(last, f'grand_{column}'))} in the Z"
        for name, column in TOTALS.items()
        if getattr(totals, column) != getattr(last, f"grand_{column}")
    ]
    if wrong:
        return [
            Problem(
                store_id, None, f"store_totals differs from Z {last.z_number}: {'; '.join(wrong)}"
            )
        ]
    return []


def period_problems(connection, store_id) -> list[Problem]:
    """Each period closing against the Z closings of its period in store time: the first and
    last Z numbers, and each of its figures what they sum to (``period_totals``). A closing
    from before migration 0016 has no drops, no-sales or tenders to check."""
    store = connection.execute(select(Store.__table__).where(Store.id == store_id)).first()
    periods = connection.execute(
        select(_periods)
        .where(_periods.c.store_id == store_id)
        .order_by(_periods.c.kind, _periods.c.number)
    )
    for period in periods:
        figures = period_totals(connection, store, period.kind, period.period)
        held = (period.first_z, period.last_z)
        if not figures or held != (figures["first_z"], figures["last_z"]):
            found = _zs(figures["first_z"], figures["last_z"]) if figures else "no Z"
            wrong = [f"{_zs(*held)}, but its period holds {found}"]
        else:
            wrong = [
                problem
                for column, want in figures.items()
                if column not in _Z_RANGE and getattr(period, column) is not None
                for problem in _figure_problems(
                    column, getattr(period, column), want, figures["last_z"]
                )
            ]
        if wrong:
            message = f"{period.kind} {period.period} (period closing {period.number}): "
            return [Problem(store_id, None, message + "; ".join(wrong))]
    return []


_NAMES = {column: name for name, column in TOTALS.items()} | {"no_sales": "noSales"}
# Not figures: the Z range is checked first, the session by its entry (the last Z's).
_Z_RANGE = ("first_z", "last_z", "pos_session_id")


def _zs(first: int, last: int) -> str:
    return f"Z {first} to {last}" if first <= last else "no Z"


def _figure_problems(column: str, have, want, last_z: int) -> list[str]:
    summed = "(the sum of its Z closings)"
    if column == "tenders":
        return [
            f"tender {code} {name} is {_text(have, code, name)}, not {_text(want, code, name)} "
            + summed
            for code in sorted(have.keys() | want.keys())
            for name in TENDER_FIGURES
            if _text(have, code, name) != _text(want, code, name)
        ]
    if have == want:
        return []
    if column.startswith("grand_"):
        name = _NAMES[column.removeprefix("grand_")]
        return [f"grand total {name} is not Z {last_z}'s {money(want)}"]
    name = _NAMES.get(column, column)
    shown = (have, want) if column == "no_sales" else (money(have), money(want))
    return [f"{name} is {shown[0]}, not {shown[1]} {summed}"]


def _text(tenders: dict, code: str, name: str) -> str:
    value = tenders.get(code, {}).get(name)
    return "none" if value is None else value


def unmatched(connection, entry, expected: dict, sessions: set) -> str:
    """What is wrong with an entry no row accounts for exactly (at most once per store: the
    first such entry is the store's finding, so the scans here stay off the hot path)."""
    session_id, kind, at, data_text = entry
    if session_id not in sessions:
        return f"no pos_session row {session_id} in this store"
    if kind not in FACTS:
        return f"unknown kind {kind!r}"
    fact = FACTS[kind]
    try:
        data = json.loads(data_text)
        if not isinstance(data, dict):
            raise TypeError
        row_id = session_id if fact.subject is None else data[fact.subject]
    except (ValueError, KeyError, TypeError):
        return "data is not a JSON object naming its row"
    pending = [key for key, found in expected.items() if found == (fact.family, row_id)]
    if not pending:
        return f"no {fact.table.name} row {row_id}, or a second entry for it"
    row_fact = FACTS[pending[0][1]]  # of the family, the kind the row is
    row = connection.execute(select(row_fact.table).where(row_fact.key == row_id)).first()
    differences = [
        f"{field} is {have!r} in the entry, {want!r} in the row"
        for field, have, want in [
            *zip(("sessionId", "kind", "at"), entry[:3], pending[0][:3], strict=True),
            *((f"data.{k}", data.get(k), v) for k, v in row_fact.data(row).items()),
        ]
        if have != want
    ]
    return f"{fact.table.name} row {row_id} differs: " + (
        "; ".join(differences) or "data has other fields"
    )
