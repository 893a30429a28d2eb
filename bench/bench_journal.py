"""What the journal costs: an append inside a cash movement's write, and `journal verify`.

    .venv/bin/python bench/bench_journal.py [--entries 1000000] [--writes 2000]

Prints medians measured in one run (the machine may be shared); docs/journal.md quotes them.
"""

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import insert

from app import create_app, journal
from app.database import UnitOfWork
from app.extensions import db
from app.models import (
    CashMovement,
    JournalEntry,
    JournalHead,
    PosClosing,
    PosProfile,
    PosSession,
    Store,
    StoreTotals,
    new_id,
    utcnow,
)
from app.passwords import hash_password
from app.pos_session import service

PIN = "bench-pin"
MOVEMENTS_PER_SESSION = 48  # with its opening and closing: 50 entries a session


def make_app(folder: Path):
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}", "SECRET_KEY": "b" * 40}
    )
    app.instance_path = str(folder)
    with app.app_context():
        upgrade()
    return app


def append_cost(app, writes: int) -> dict:
    """Median time of the service's cash movement and create-session (its bcrypt at cost 4)
    with and without the journal's append, alternating so both see the same machine. The
    signed head is written as in production: at most once per interval, and at closings."""
    with app.app_context():
        store = Store(name="bench")
        db.session.add(store)
        db.session.flush()
        profile = PosProfile(store_id=store.id, name="p", password_hash=hash_password(PIN, 4))
        db.session.add(profile)
        db.session.commit()
        store_id, profile_id = store.id, profile.id
        opened = service.open_session(
            UnitOfWork(), store_id, "b", profile_id=profile_id, password=PIN, opening_cash=100
        )
        timings = {name: [] for name in ("movement", "create-session")}
        timings |= {f"{name} + append": [] for name in timings}
        for i in range(2 * writes):
            journaled = i % 2 == 1
            suffix = " + append" if journaled else ""
            with journal_switched(journaled):
                started = time.perf_counter()
                service.record_movement(
                    UnitOfWork(), store_id, "b", opened.id, kind="sale", amount=12, note=None
                )
                timings["movement" + suffix].append(time.perf_counter() - started)
            if i % 20 < 2:  # one session in ten movements: bcrypt dominates it
                service.close_session(
                    UnitOfWork(), store_id, "b", profile_id=profile_id, password=PIN, closing_cash=0
                )
                with journal_switched(journaled):
                    started = time.perf_counter()
                    opened = service.open_session(
                        UnitOfWork(),
                        store_id,
                        "b",
                        profile_id=profile_id,
                        password=PIN,
                        opening_cash=100,
                    )
                    timings["create-session" + suffix].append(time.perf_counter() - started)
        heads = journal.database_heads(db.session.connection())
        started = time.perf_counter()
        for _ in range(100):
            journal.sign_heads(journal.folder(), journal._box_key(), heads)
        sign = (time.perf_counter() - started) / 100
    costs = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    return costs | {"one signed-head write": sign * 1000}


@contextmanager
def journal_switched(on: bool):
    """The rules as they are, or with their journal lines doing nothing."""
    if on:
        yield
        return
    saved = journal.record_movement, journal.record_session_opened
    journal.record_movement = journal.record_session_opened = lambda tx, row: None
    try:
        yield
    finally:
        journal.record_movement, journal.record_session_opened = saved


def fill(app, entries: int) -> None:
    """A store with ``entries`` journal entries and their rows, written in bulk."""
    with app.app_context():
        connection = db.session.connection()
        store = new_id()
        connection.execute(
            insert(Store).values(id=store, name="big", created_at=utcnow(), updated_at=utcnow())
        )
        profile = new_id()
        connection.execute(
            insert(PosProfile).values(
                id=profile,
                store_id=store,
                name="p",
                password_hash=b"x",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        at = utcnow() - timedelta(days=365)
        seq, prev = 0, journal.genesis(store)
        z, grand = 0, Decimal(0)
        rows = {PosSession: [], CashMovement: [], PosClosing: [], JournalEntry: []}

        def chain(kind, moment, session_id, data):
            nonlocal seq, prev
            seq += 1
            entry = journal.chained_row(seq, prev, store, kind, moment, session_id, data)
            prev = entry["hash"]
            rows[JournalEntry].append(entry)
            return entry

        while seq < entries:
            at += timedelta(seconds=1)
            s = dict(
                id=new_id(),
                pos_profile_id=profile,
                store_id=store,
                opening_cash=Decimal(100),
                pos_closing_id=None,
                note=None,
                opened_by="b",
                closed_by="b",
                created_at=at,
                updated_at=at,
            )
            chain(journal.SESSION_OPENED, at, s["id"], journal.session_opened_data(_Row(s)))
            for _ in range(MOVEMENTS_PER_SESSION):
                at += timedelta(milliseconds=7)
                m = dict(
                    id=new_id(),
                    pos_session_id=s["id"],
                    store_id=store,
                    type="sale",
                    amount=Decimal("12.50"),
                    note=None,
                    created_by="b",
                    created_at=at,
                )
                rows[CashMovement].append(m)
                chain(journal.CASH_MOVEMENT, at, s["id"], journal.movement_data(_Row(m)))
            at += timedelta(milliseconds=7)
            sales = MOVEMENTS_PER_SESSION * Decimal("12.50")
            z += 1
            grand += sales
            c = dict(
                id=new_id(),
                pos_session_id=s["id"],
                pos_profile_id=profile,
                store_id=store,
                closing_cash=100 + sales,
                expected_cash=100 + sales,
                difference=Decimal(0),
                note=None,
                closed_by="b",
                created_at=at,
                z_number=z,
                forced=False,
                reason=None,
                needs_approval=False,
                **dict.fromkeys(("refunds", "pay_ins", "pay_outs", "grand_refunds"), Decimal(0)),
                **dict.fromkeys(("grand_pay_ins", "grand_pay_outs"), Decimal(0)),
                sales=sales,
                grand_sales=grand,
            )
            s["pos_closing_id"] = c["id"]
            rows[PosSession].append(s)
            entry = chain(journal.SESSION_CLOSED, at, s["id"], journal.closing_data(_Row(c)))
            rows[PosClosing].append(c | {"journal_hash": entry["hash"]})
            if len(rows[JournalEntry]) >= 50_000 or seq >= entries:
                for model, values in rows.items():  # in bulk, a bounded batch at a time
                    connection.execute(insert(model), values)
                    values.clear()
        connection.execute(insert(JournalHead).values(store_id=store, seq=seq, hash=prev))
        zero = dict.fromkeys(("refunds", "pay_ins", "pay_outs"), 0)
        connection.execute(
            insert(StoreTotals).values(store_id=store, z_number=z, sales=grand, **zero)
        )
        db.session.commit()


class _Row:
    def __init__(self, values):
        self.__dict__.update(values)


def verify_throughput(app) -> tuple[int, float]:
    with app.app_context():
        connection = db.session.connection()
        # Only the filled store: append_cost's half-journaled store would fail, as it should.
        stores = [s.id for s in db.session.query(Store).filter_by(name="big")]
        started = time.perf_counter()
        result = journal.verify(connection, stores, None)
        elapsed = time.perf_counter() - started
    assert not result.problems, result.summary()
    return result.entries, elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder))
        costs = append_cost(app, args.writes)
        for name, ms in costs.items():
            print(f"{name:>26}: {ms:.3f} ms (median)")
        for name in ("movement", "create-session"):
            added = costs[f"{name} + append"] - costs[name]
            print(f"{'the journal adds to ' + name:>26}: {added:.3f} ms")
        started = time.perf_counter()
        fill(app, args.entries)
        print(f"filled {args.entries} entries in {time.perf_counter() - started:.0f} s")
        entries, elapsed = verify_throughput(app)
        print(
            f"journal verify: {entries} entries in {elapsed:.1f} s "
            f"= {entries / elapsed:,.0f} entries/s"
        )


if __name__ == "__main__":
    main()
