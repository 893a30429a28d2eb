"""What the journal costs: an append inside a cash movement's write, and `journal verify`.

    .venv/bin/python bench/bench_journal.py [--entries 1000000] [--writes 600] [--no-page]

`make bench` runs it after bench/run.py. Prints medians measured in one run (the machine may be
shared) and writes the table into docs/journal.md, between its bench markers.
"""

import argparse
import os
import resource
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask_migrate import upgrade
from run import LOAD_BEFORE, ROOT, machine, write_bench_page
from sqlalchemy import insert

from app import create_app, journal
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
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
from app.people.passwords import hash_password
from app.sessions import service

PIN = "bench-pin"
JOURNAL_PAGE = ROOT / "docs" / "journal.md"
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
            journal.sign_heads(journal.folder(), journal.signer().key, heads)
        sign = (time.perf_counter() - started) / 100
    costs = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    return costs | {"one signed-head write": sign * 1000}


@contextmanager
def journal_switched(on: bool):
    """The rules as they are, or with their journal lines doing nothing."""
    if on:
        yield
        return
    saved = journal.record
    journal.record = lambda tx, fact, row, session_id=None: None
    try:
        yield
    finally:
        journal.record = saved


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
            chain(journal.OPENED.kind, at, s["id"], journal.OPENED.data(_Row(s)))
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
                chain(journal.MOVEMENT.kind, at, s["id"], journal.MOVEMENT.data(_Row(m)))
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
            entry = chain(journal.CLOSED.kind, at, s["id"], journal.CLOSED.data(_Row(c)))
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


def verify_throughput(app) -> dict:
    with app.app_context():
        connection = db.session.connection()
        # Only the filled store: append_cost's half-journaled store would fail, as it should.
        stores = [s.id for s in db.session.query(Store).filter_by(name="big")]
        wall, cpu = time.perf_counter(), time.process_time()
        result = journal.verify(connection, stores, None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert not result.problems, result.summary()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"entries": result.entries, "wall": wall, "cpu": cpu, "rss_mib": rss}


def render(costs: dict, verified: dict, writes: int) -> str:
    movement = costs["movement + append"] - costs["movement"]
    create = costs["create-session + append"] - costs["create-session"]
    rate = verified["entries"] / verified["wall"]
    rows = [
        (
            "cash movement (the service's rule, one fsync'd commit)",
            f"{costs['movement']:.2f} ms",
            "",
        ),
        ("the same with its journal line", f"{costs['movement + append']:.2f} ms", ""),
        (
            "**the journal adds to a cash movement**",
            f"**{movement:+.2f} ms**",
            target(movement < 1),
        ),
        ("create-session (bcrypt at cost 4)", f"{costs['create-session']:.2f} ms", ""),
        ("the same with its journal line", f"{costs['create-session + append']:.2f} ms", ""),
        ("**the journal adds to create-session**", f"**{create:+.2f} ms**", target(create < 1)),
        (
            "one signed-head write (at most once per 5 s, and at closings)",
            f"{costs['one signed-head write']:.2f} ms",
            "",
        ),
        (
            f"**`journal verify`, {verified['entries']:,} entries**",
            f"**{rate:,.0f} entries/s** "
            f"({verified['wall']:.1f} s wall, {verified['cpu']:.1f} s CPU)",
            "at least 100,000/s: " + ("met" if rate >= 100_000 else "MISSED"),
        ),
        (
            "peak RSS of the process that filled and verified them",
            f"{verified['rss_mib']:.0f} MiB",
            "",
        ),
    ]
    lines = ["| measure | result | target |", "| --- | ---: | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines.append("")
    lines.append(
        f"Medians of {writes} writes each way, alternating with and without the journal line "
        f"(the service's own rules, SQLite, bcrypt's time included alike on both sides). "
        f"Command: `make bench` (or `.venv/bin/python bench/bench_journal.py`). Machine: "
        f"{machine(server=False)}. Load average before: {LOAD_BEFORE}, after: "
        f"{os.getloadavg()[0]:.2f}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."
    )
    return "\n".join(lines)


def target(ok: bool) -> str:
    return "under 1 ms: " + ("met" if ok else "MISSED")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=600)
    parser.add_argument("--no-page", action="store_true", help="print only, leave docs/ alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder))
        costs = append_cost(app, args.writes)
        started = time.perf_counter()
        fill(app, args.entries)
        print(f"filled {args.entries} entries in {time.perf_counter() - started:.0f} s")
        verified = verify_throughput(app)
        with app.app_context():
            journal.signer().sign()  # now, while its folder (a temporary one) still exists
    report = render(costs, verified, args.writes)
    print(report)
    if not args.no_page:
        write_bench_page(report, JOURNAL_PAGE)


if __name__ == "__main__":
    main()
