"""What the journal costs: an append inside a cash movement's write, and `journal verify`.

    .venv/bin/python bench/bench_journal.py [--entries 1000000] [--writes 2000]

Prints medians measured in one run (the machine may be shared); docs/journal.md quotes them.
"""

import argparse
import statistics
import tempfile
import time
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
    new_id,
    utcnow,
)

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
    """Median time of a cash movement's write transaction without and with its journal entry,
    alternating so both see the same machine; and the signed head written after the commit."""
    with app.app_context():
        store = Store(name="bench")
        db.session.add(store)
        db.session.flush()
        profile = PosProfile(store_id=store.id, name="p", password_hash=b"x")
        db.session.add(profile)
        db.session.flush()
        session = PosSession(
            pos_profile_id=profile.id, store_id=store.id, opening_cash=Decimal(100), opened_by="b"
        )
        db.session.add(session)
        db.session.commit()
        store_id, session_id = store.id, session.id
        timings = {"movement": [], "movement + append": [], "signed head": []}
        for i in range(2 * writes):
            journaled = i % 2 == 1
            started = time.perf_counter()
            with UnitOfWork() as uow:
                tx = uow.session
                movement = CashMovement(
                    pos_session_id=session_id,
                    store_id=store_id,
                    type="sale",
                    amount=Decimal("12.50"),
                    created_by="bench",
                )
                tx.add(movement)
                if journaled:
                    journal.record_movement(tx, movement)
                    # The head is signed after the commit: time it apart.
                    heads = tx.info.pop(journal.PENDING_HEADS)
                uow.commit()
            middle = time.perf_counter()
            if journaled:
                journal.sign_heads(app.instance_path, journal._box_key(), heads)
                timings["signed head"].append(time.perf_counter() - middle)
            timings["movement + append" if journaled else "movement"].append(middle - started)
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


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
        rows = {PosSession: [], CashMovement: [], PosClosing: [], JournalEntry: []}

        def chain(kind, moment, session_id, data):
            nonlocal seq, prev
            seq += 1
            entry = journal.chained_row(seq, prev, store, kind, moment, session_id, data)
            prev = entry["hash"]
            rows[JournalEntry].append(entry)

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
            expected = Decimal(100) + MOVEMENTS_PER_SESSION * Decimal("12.50")
            c = dict(
                id=new_id(),
                pos_session_id=s["id"],
                pos_profile_id=profile,
                store_id=store,
                closing_cash=expected,
                expected_cash=expected,
                difference=Decimal(0),
                note=None,
                closed_by="b",
                created_at=at,
            )
            s["pos_closing_id"] = c["id"]
            rows[PosSession].append(s)
            rows[PosClosing].append(c)
            chain(journal.SESSION_CLOSED, at, s["id"], journal.closing_data(_Row(c)))
            if len(rows[JournalEntry]) >= 50_000 or seq >= entries:
                for model, values in rows.items():  # in bulk, a bounded batch at a time
                    connection.execute(insert(model), values)
                    values.clear()
        connection.execute(insert(JournalHead).values(store_id=store, seq=seq, hash=prev))
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
            print(f"{name:>20}: {ms:.3f} ms (median of {args.writes})")
        print(f"{'append adds':>20}: {costs['movement + append'] - costs['movement']:.3f} ms")
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
