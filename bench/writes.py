"""One tree's writes, timed in-process: `make bench` runs this in this tree and in a copy of
2a3e967 (the code before issue 19), in turn, and compares them.

    cd TREE && PYTHONPATH=TREE python /path/to/bench/writes.py COUNT [--full-count]

Builds TREE's app on a fresh SQLite database (its own migrations), then COUNT times, after a
few untimed: create-session, a cash sale on that session, close-session. bcrypt answers at
once (it would say yes): a write is charged neither for bcrypt nor, by the scheduler, for the
CPU bcrypt has just burnt. --full-count sends a count of every note and coin of the store's
currency (two of each, and the amount it adds up to) with the open and the close; without it,
the requests are those a terminal sends today. Prints as one JSON object the medians in ms and
the SQL statements of each write (its BEGINs included).
Imports only what 2a3e967 has too.
"""

import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from time import perf_counter

import bcrypt
from flask_migrate import upgrade
from sqlalchemy import event, insert

import app
from app import create_app
from app.api.auth import issue_token
from app.machinery.extensions import db
from app.models import PosProfile, Store
from app.people.passwords import hash_password

PASSWORD = "bench-pin-1234"
WARM = 3  # untimed rounds first: the first requests of a process pay for imports and caches
WRITES = ("create-session", "cash-movement", "close-session")


def main(count: int, full_count: bool) -> None:
    tree = Path.cwd().resolve()
    if not Path(app.__file__).resolve().is_relative_to(tree):
        raise SystemExit(f"imported {app.__file__}, not {tree}'s app: set PYTHONPATH={tree}")
    work = Path(tempfile.mkdtemp(prefix="pos-bench-writes-"))
    try:
        found = time_writes(work / "writes.sqlite3", count, full_count)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({**found, "app": app.__file__}))


def time_writes(path: Path, count: int, full_count: bool) -> dict:
    # The journal's key and signed head beside the database, not in the tree's instance folder,
    # where a box keeps its own.
    config = {"DATABASE_URL": f"sqlite:///{path}", "JOURNAL_DIR": str(path.parent)}
    flask_app = create_app({**config, "SECRET_KEY": "bench-" + "s" * 42})
    with flask_app.app_context():
        upgrade()
        store = Store(name="bench-writes")
        db.session.add(store)
        db.session.commit()
        hashed = hash_password(PASSWORD, flask_app.config["BCRYPT_ROUNDS"])
        profiles = [
            {"id": f"c{n:023x}", "store_id": store.id, "name": f"cashier-{n:03d}"}
            for n in range(WARM + count)
        ]
        db.session.execute(insert(PosProfile), [{**p, "password_hash": hashed} for p in profiles])
        db.session.commit()
        token = issue_token([store.id], "bench", 1)
        headers = {"Authorization": f"Bearer {token}", "x-store-id": store.id}
        pieces = counted(store) if full_count else []
        statements = []
        event.listen(db.engine, "before_cursor_execute", lambda *_: statements.append(1))

    client = flask_app.test_client()
    amount = float(2 * sum(pieces)) if pieces else 100.0  # two decimals: its repr is the amount
    count_sent = (
        {"cashCount": [{"value": f"{v:.2f}", "count": 2} for v in pieces]} if pieces else {}
    )

    def timed(path: str, body: dict, status: int) -> tuple[float, dict, int]:
        statements.clear()
        started = perf_counter()
        response = client.post(path, json=body, headers=headers)
        took = perf_counter() - started
        assert response.status_code == status, response.get_json()
        return took, response.get_json(), len(statements)

    times = {name: [] for name in WRITES}
    sql = {}
    bcrypt.checkpw = lambda password, hashed: True
    for n, profile in enumerate(p["id"] for p in profiles):
        body = {"profileId": profile, "password": PASSWORD, **count_sent}
        opened = timed("/pos-session/create-session", {**body, "openningCash": amount}, 200)
        session = opened[1]["data"][0]["id"]
        sale = {"type": "sale", "amount": 1.5}
        moved = timed(f"/pos-session/sessions/{session}/cash-movements", sale, 201)
        closed = timed("/pos-session/close-session", {**body, "closingCash": amount}, 200)
        if n >= WARM:
            for name, (took, _answer, made) in zip(WRITES, (opened, moved, closed), strict=True):
                times[name].append(took)
                sql[name] = made
    found = {name: statistics.median(taken) * 1e3 for name, taken in times.items()}
    return {**found, "statements": sql, "count": count, "pieces": len(pieces)}


def counted(store) -> list:
    """Every note and coin of the store's currency (this tree has them; 2a3e967 does not)."""
    from app.stores import store_denominations

    return list(store_denominations(store.currency, None))


if __name__ == "__main__":
    main(int(sys.argv[1]), "--full-count" in sys.argv[2:])
