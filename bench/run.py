"""`make bench`: real gunicorn (gunicorn.conf.py, 4 workers) on 127.0.0.1, driven by wrk.

Two databases are filled: "empty" (200 profiles in the store, half with a session open, no
history) and a copy of it with 1,000,000 closed sessions added. One gunicorn serves each; wrk
drives them in turn, in rounds, each endpoint right after the no-op route, so that load from
elsewhere on the machine (it is shared) falls alike on what is compared; every figure is the
median over the rounds. Then, in-process, the SQL statements of one request per endpoint are
counted, and the writes (create-session, a cash movement, close-session) are timed without
bcrypt by bench/writes.py, in this tree with a count of every note and coin and in the code
before issue 19 (2a3e967) as terminals send them, the two in turn.
The tables are printed and written into docs/bench.md, between its bench markers.

Environment: BENCH_SECONDS (per wrk run, 3), BENCH_ROUNDS (3), BENCH_HISTORY (1000000).
`bench/run.py writes` runs the writes' comparison alone and prints its table.
"""

import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter

import bare
import bcrypt
import front
import writes
from flask_migrate import upgrade
from sqlalchemy import event, insert, select, text
from werkzeug.test import EnvironBuilder

from app import create_app
from app.api.auth import issue_token
from app.machinery.extensions import db
from app.models import PosProfile, PosSession, Store, utcnow
from app.people.passwords import hash_password

ROOT = Path(__file__).resolve().parent.parent
BENCH_PAGE = ROOT / "docs" / "bench.md"
LUA = Path(__file__).with_name("wrk.lua")
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
HISTORY = int(os.environ.get("BENCH_HISTORY", "1000000"))
PROFILES = 200
CONNECTIONS = 64
WORKERS = 4
PASSWORD = "bench-pin-1234"
SECRET = "bench-" + "s" * 42

BARE = "bare Flask no-op"
BASELINE = "app no-op"
ORDER = [
    BARE,
    BASELINE,
    "session-status",
    "current-session",
    "profiles",
    "cash-movement",
    "create-session",
]
# Share of the bare Flask no-op's throughput (same gunicorn settings and front); p99 within 2x.
TARGETS = {"session-status": 0.6, "current-session": 0.6, "profiles": 0.35}
P99_FACTOR = 2
CREATE_TARGET_MS = 3
# The code before issue 19 (main just before its first commit, 14351b8's tenders): this tree's
# writes, with a count of every note and coin, are to be within 1 ms of its, measured alike.
BEFORE_ISSUE_19 = "2a3e967"
WRITES_TARGET_MS = 1
WRITE_ROUNDS, WRITE_COUNT = 5, 40
LOAD_BEFORE = " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pos-bench-"))
    try:
        empty, history = work / "empty.sqlite3", work / "history.sqlite3"
        app = bench_app(empty)
        started = perf_counter()
        ids = fill(app)
        with app.app_context():
            db.engine.dispose()
        shutil.copy(empty, history)
        add_history(history, ids["profiles"], HISTORY)
        log(f"filled both databases in {perf_counter() - started:.0f} s")

        with (
            Server(empty, work / "bare.log", "bench.bare:app") as s_bare,
            Server(empty, work / "empty.log") as s_empty,
            Server(history, work / "hist.log") as s_hist,
        ):
            runs = drive(s_bare, s_empty, s_hist, ids, work)
            rss = {"bare": front.memory(s_bare), "app": front.memory(s_empty)}
        # The slow-client and keep-alive runs of bench/front.py, on the production setup.
        slow = front.measure_setup("nginx front", {"POS_FRONT": "nginx"}, empty, work, ids)

        statements = count_statements(app, ids)
        create = time_create_without_bcrypt(app, ids)
        compared = time_writes()
        cpu = cpu_per_request(app, ids)
        report = render(runs, statements, create, slow, rss, cpu, compared)
        print(report)
        write_bench_page(report)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def bench_app(path: Path):
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "JOURNAL_DIR": str(journal_dir(path)),
            "SECRET_KEY": SECRET,
            "BENCH_BASELINE": True,
        }
    )


def journal_dir(database: Path) -> Path:
    """The journal's key and signed head for ``database``, beside it: never the instance folder,
    where a box keeps its own (a bench store in its signed head would be one it never had)."""
    folder = database.with_name(f"{database.stem}-journal")
    folder.mkdir(exist_ok=True)
    return folder


def new_id(rng: random.Random) -> str:
    # cuid2-shaped (a letter, then 23 of [0-9a-f]) and far cheaper to make a million of.
    return f"c{rng.getrandbits(92):023x}"


def fill(app) -> dict:
    """Schema, a store with 200 profiles (half with a session open), a store of fresh profiles
    for create-session (and then close-session), a store of 100 open sessions for cash
    movements (its own, so the other cases' figures and ETags do not move), and one token."""
    rng = random.Random(5)
    with app.app_context():
        upgrade()
        store, spare = Store(name="bench"), Store(name="bench-create")
        moving = Store(name="bench-move")
        db.session.add_all([store, spare, moving])
        db.session.commit()
        # One bcrypt hash at the configured cost, shared: every profile costs the same to check.
        hashed = hash_password(PASSWORD, app.config["BCRYPT_ROUNDS"])
        start = utcnow() - timedelta(days=1)

        def profiles(store_id, count):
            return [
                {
                    "id": new_id(rng),
                    "store_id": store_id,
                    "name": f"cashier-{i:03d}",
                    "password_hash": hashed,
                    "created_at": start + timedelta(milliseconds=i),
                    "updated_at": start + timedelta(milliseconds=i),
                }
                for i in range(count)
            ]

        mine, fresh = profiles(store.id, PROFILES), profiles(spare.id, 2 * PROFILES)
        movers = profiles(moving.id, PROFILES // 2)
        db.session.execute(insert(PosProfile), mine + fresh + movers)
        opened = [
            {
                "id": new_id(rng),
                "pos_profile_id": p["id"],
                "store_id": p["store_id"],
                "opening_cash": 15000,
                "opened_by": "bench",
            }
            for p in mine[::2] + movers
        ]
        db.session.execute(insert(PosSession), opened)
        db.session.commit()
        token = issue_token([store.id, spare.id, moving.id], "bench", 1)
        db.session.commit()  # ends the read that reloaded the ids: no checkpoint inside one
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        return {
            "store": store.id,
            "spare": spare.id,
            "profiles": [p["id"] for p in mine],
            "fresh": [p["id"] for p in fresh],
            "moving": moving.id,
            "moving_sessions": [row["id"] for row in opened if row["store_id"] == moving.id],
            "token": token,
        }


def add_history(path: Path, profile_ids: list[str], count: int) -> None:
    """Closed sessions, spread over the profiles and the last two years, inserted in bulk."""
    rng = random.Random(7)
    store_id = sqlite3.connect(path).execute("SELECT store_id FROM pos_profile").fetchone()[0]
    first = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=730)
    step = timedelta(days=730) / count
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")  # a bulk load to be thrown away, not a live database
    for begin in range(0, count, 100_000):
        rows = []
        for n in range(begin, min(begin + 100_000, count)):
            opened = first + n * step
            rows.append(
                (
                    new_id(rng),
                    profile_ids[n % len(profile_ids)],
                    store_id,
                    rng.randrange(0, 5_000_000),
                    new_id(rng),
                    "bench",
                    opened.isoformat(sep=" ", timespec="microseconds"),
                    (opened + timedelta(hours=8)).isoformat(sep=" ", timespec="microseconds"),
                )
            )
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO pos_session (id, pos_profile_id, store_id, opening_cash, pos_closing_id,"
            " opened_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


class Server:
    """gunicorn with the production config and the bench's no-op route, on a free port."""

    def __init__(self, database: Path, log_path: Path, wsgi_app: str = "wsgi:app"):
        self.wsgi_app = wsgi_app
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "POS_DATABASE_URL": f"sqlite:///{database}",
            "POS_JOURNAL_DIR": str(journal_dir(database)),
            "POS_SECRET_KEY": SECRET,
            "POS_BENCH_BASELINE": "true",
            "POS_BIND": f"127.0.0.1:{port}",
            "POS_WORKERS": str(WORKERS),
        }
        self.log_path = log_path

    def __enter__(self):
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.wsgi_app],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/pos-session/ping", timeout=1):
                    return self
            except OSError:  # not listening yet, or a worker still booting
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not start: {self.log_path.read_text()}")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


def wrk(
    url, lines, store_id, token, work, connections=CONNECTIONS, seconds=SECONDS, threads=2, extra=()
):
    plan = work / "requests.txt"
    plan.write_text("\n".join(lines) + "\n")
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout=10s",
        "-s",
        str(LUA),
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        f"x-store-id: {store_id}",
        "-H",
        "Content-Type: application/json",
        *(arg for header in extra for arg in ("-H", header)),
        url,
        "--",
        str(plan),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    result = json.loads(out.stdout.split("RESULT ", 1)[1])
    if result["non2xx"] or result["socket_errors"]:
        raise RuntimeError(f"wrk saw failures on {lines[0]}: {result}")
    result["rps"] = result["requests"] / result["seconds"]
    return result


def drive(s_bare: Server, s_empty: Server, s_hist: Server, ids: dict, work: Path) -> dict:
    """wrk in rounds; each case run right after the bare Flask no-op and the app's own no-op, with
    the same keep-alive, so its ratios compare neighbouring runs whatever else the machine does."""
    profiles, store, token = ids["profiles"], ids["store"], ids["token"]
    noop = ["GET /pos-session/ping"]
    status = [f"GET /pos-session/session-status/{p}" for p in profiles]
    current = [f"GET /pos-session/current-session/{p}" for p in profiles]
    listing = ["GET /pos-session/profiles"]
    one_status = f"/pos-session/session-status/{profiles[0]}"
    moves = [
        f'POST /pos-session/sessions/{session}/cash-movements {{"type":"sale","amount":1.5}}'
        for session in ids["moving_sessions"]
    ]
    close = ("Connection: close",)
    cases = {  # name: (database, plan, extra headers)
        ("session-status", "empty"): (s_empty, status, ()),
        ("session-status", "history"): (s_hist, status, ()),
        ("current-session", "empty"): (s_empty, current, ()),
        ("current-session", "history"): (s_hist, current, ()),
        ("profiles", "empty"): (s_empty, listing, ()),
        ("profiles", "history"): (s_hist, listing, ()),
        ("session-status 304", "empty"): (
            s_empty,
            [f"GET {one_status}"],
            (etag_header(s_empty, one_status, ids),),
        ),
        ("profiles 304", "empty"): (
            s_empty,
            listing,
            (etag_header(s_empty, "/pos-session/profiles", ids),),
        ),
        ("session-status, keep-alive off", "empty"): (s_empty, status, close),
        ("profiles, keep-alive off", "empty"): (s_empty, listing, close),
        ("cash-movement", "empty"): (s_empty, moves, ()),
    }
    # The store each case's requests name (x-store-id).
    where = {key: ids["moving"] if key[0] == "cash-movement" else store for key in cases}
    for key, (server, plan, extra) in cases.items():  # warm every worker
        wrk(server.url, plan, where[key], token, work, seconds=1, extra=extra)
    wrk(s_bare.url, noop, store, token, work, seconds=1)

    runs = {}
    for round_no in range(1, ROUNDS + 1):
        for key, (server, plan, extra) in cases.items():
            same = extra if extra == close else ()  # the no-ops with the case's keep-alive
            bare = wrk(s_bare.url, noop, store, token, work, extra=same)
            own = wrk(server.url, noop, store, token, work, extra=same)
            keep_alive = "off" if same else "on"
            run = wrk(server.url, plan, where[key], token, work, extra=extra)
            run["vs_bare"], run["vs_own"] = run["rps"] / bare["rps"], run["rps"] / own["rps"]
            run["p99_vs_bare"] = run["p99_ms"] / bare["p99_ms"]
            runs.setdefault((BARE, f"keep-alive {keep_alive}"), []).append(bare)
            runs.setdefault((BASELINE, f"keep-alive {keep_alive}"), []).append(own)
            runs.setdefault(key, []).append(run)
        log(f"round {round_no}/{ROUNDS} done")

    # Each POST needs a profile with no session open: one per request, from the spare store.
    bodies = [
        f"POST /pos-session/create-session "
        f'{{"profileId":"{p}","openningCash":100,"password":"{PASSWORD}"}}'
        for p in ids["fresh"][: PROFILES + PROFILES // 2]
    ]
    # One wrk thread: each thread walks the list from its start, and a profile opens only once.
    create = wrk(
        s_empty.url, bodies, ids["spare"], token, work, connections=WORKERS, seconds=10, threads=1
    )
    if create["requests"] > len(bodies):
        raise RuntimeError("create-session ran out of fresh profiles; shorten the run")
    runs[("create-session", "empty")] = [create]
    return runs


def etag_header(server: Server, path: str, ids: dict) -> str:
    request = urllib.request.Request(
        server.url + path,
        headers={"Authorization": f"Bearer {ids['token']}", "x-store-id": ids["store"]},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return f"If-None-Match: {response.headers['ETag']}"


@contextmanager
def recorded_statements(engine):
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count_statements(app, ids: dict) -> dict:
    """SQL statements of one request per endpoint, after one warm-up request each."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ids['token']}"}
    profile, spare = ids["profiles"][0], ids["fresh"][-PROFILES // 2 :]
    requests_ = {
        BASELINE: lambda: client.get("/pos-session/ping"),
        "session-status": lambda: client.get(
            f"/pos-session/session-status/{profile}", headers={**auth, "x-store-id": ids["store"]}
        ),
        "current-session": lambda: client.get(
            f"/pos-session/current-session/{profile}", headers={**auth, "x-store-id": ids["store"]}
        ),
        "profiles": lambda: client.get(
            "/pos-session/profiles", headers={**auth, "x-store-id": ids["store"]}
        ),
        "create-session": lambda: client.post(
            "/pos-session/create-session",
            json={"profileId": spare.pop(), "openningCash": 1, "password": PASSWORD},
            headers={**auth, "x-store-id": ids["spare"]},
        ),
        "cash-movement": lambda: client.post(
            f"/pos-session/sessions/{ids['moving_sessions'][0]}/cash-movements",
            json={"type": "sale", "amount": 1.5},
            headers={**auth, "x-store-id": ids["moving"]},
        ),
    }
    counts = {}
    with app.app_context():
        engine = db.engine
    for name, send in requests_.items():
        assert send().status_code in (200, 201)
        with recorded_statements(engine) as statements:
            assert send().status_code in (200, 201)
        queries = [s for s in statements if not s.lstrip().upper().startswith("BEGIN")]
        counts[name] = (len(queries), len(statements) - len(queries))
    return counts


def time_create_without_bcrypt(app, ids: dict, count: int = 40) -> dict:
    """In-process, two ways: each create-session's time less that of its own bcrypt check; and
    the same requests with bcrypt answering at once (it would say yes), which keeps the scheduler
    from charging the request for the 250 ms of CPU it has just burnt on a shared machine."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ids['token']}", "x-store-id": ids["spare"]}
    with app.app_context():
        taken = set(db.session.scalars(select(PosSession.pos_profile_id)))
    fresh = [p for p in ids["fresh"] if p not in taken]
    if len(fresh) < 2 * count:
        raise RuntimeError("not enough fresh profiles left for create-session")
    real_checkpw = bcrypt.checkpw
    checks = []

    def timed_checkpw(*args):
        started = perf_counter()
        try:
            return real_checkpw(*args)
        finally:
            checks.append(perf_counter() - started)

    def create(profile) -> float:
        body = {"profileId": profile, "openningCash": 1, "password": PASSWORD}
        started = perf_counter()
        response = client.post("/pos-session/create-session", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        return perf_counter() - started

    try:
        bcrypt.checkpw = timed_checkpw
        less_bcrypt = [create(p) - checks[-1] for p in fresh[:count]]
        bcrypt.checkpw = lambda password, hashed: True
        without_bcrypt = [create(p) for p in fresh[count : 2 * count]]
    finally:
        bcrypt.checkpw = real_checkpw
    return {
        "median_ms": statistics.median(less_bcrypt) * 1e3,
        "p90_ms": sorted(less_bcrypt)[int(count * 0.9)] * 1e3,
        "instant_ms": statistics.median(without_bcrypt) * 1e3,
        "bcrypt_ms": statistics.median(checks) * 1e3,
        "count": count,
        "rounds": app.config["BCRYPT_ROUNDS"],
    }


def time_writes(rounds: int = WRITE_ROUNDS, count: int = WRITE_COUNT) -> dict:
    """The writes of bench/writes.py in this tree (with a full count) and in a copy of
    BEFORE_ISSUE_19 (as a terminal sends them today), a process each, alternating round by
    round so that what else the machine does falls alike on both; each figure is the median
    over the rounds of a round's median, in ms."""
    found = {"before": [], "now": []}
    with tempfile.TemporaryDirectory(prefix="pos-bench-before-") as before:
        archive = subprocess.run(
            ["git", "archive", BEFORE_ISSUE_19, "app"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
        trees = {"before": (Path(before), []), "now": (ROOT, ["--full-count"])}
        for round_no in range(rounds):
            for name in sorted(trees, reverse=round_no % 2 == 1):  # who goes first alternates
                found[name].append(writes_in(*trees[name], count))
            log(
                f"writes, round {round_no + 1}/{rounds}: {found['before'][-1]['app']} and "
                f"{found['now'][-1]['app']}"
            )
    medians = {
        name: {write: median_of(runs, write) for write in writes.WRITES}
        for name, runs in found.items()
    }
    statements = {name: runs[0]["statements"] for name, runs in found.items()}
    return {
        **medians,
        "statements": statements,
        "rounds": rounds,
        "count": count,
        "pieces": found["now"][0]["pieces"],
    }


def writes_in(tree: Path, flags: list[str], count: int) -> dict:
    """bench/writes.py run in ``tree``, importing that tree's app."""
    done = subprocess.run(
        [sys.executable, writes.__file__, str(count), *flags],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise RuntimeError(f"bench/writes.py failed in {tree}:\n{done.stderr}")
    return json.loads(done.stdout)


def cpu_per_request(app, ids: dict, rounds: int = 9, only=None, profiler=None) -> dict:
    """In-process CPU (us) of one request per case, the WSGI app called directly: the bare
    Flask no-op and the app's routes, without gunicorn, nginx or the network. Minimum over the
    rounds: the least disturbed by the rest of the machine. ``only`` runs one case, under
    ``profiler`` if given (bench/cpu.py)."""
    headers = {"Authorization": f"Bearer {ids['token']}", "x-store-id": ids["store"]}
    profile = ids["profiles"][1]
    status = f"/pos-session/session-status/{profile}"
    etag = app.test_client().get(status, headers=headers).headers["ETag"]
    cases = {
        BARE: (bare.app, "/pos-session/ping", 300, {}),
        BASELINE: (app, "/pos-session/ping", 300, {}),
        "session-status": (app, status, 300, headers),
        "session-status 304": (app, status, 300, {**headers, "If-None-Match": etag}),
        "current-session": (app, f"/pos-session/current-session/{profile}", 300, headers),
        "profiles": (app, "/pos-session/profiles", 60, headers),
    }
    statuses = set()

    def start_response(status, _headers, _exc_info=None):
        statuses.add(status)

    found = {}
    for name, (wsgi, path, count, sent) in cases.items():
        if only not in (None, name):
            continue
        # One environ built ahead and copied: the test client's own work would be timed too.
        environ = EnvironBuilder(path=path, headers=sent).get_environ()
        times = []
        for _ in range(rounds):
            if profiler:
                profiler.enable()
            started = time.process_time()
            for _ in range(count):
                b"".join(wsgi.wsgi_app(dict(environ), start_response))
            times.append((time.process_time() - started) / count * 1e6)
            if profiler:
                profiler.disable()
        found[name] = min(times)
    if not statuses <= {"200 OK", "304 NOT MODIFIED"}:
        raise RuntimeError(f"in-process requests failed: {statuses}")
    return found


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def render(
    runs: dict, statements: dict, create: dict, slow: dict, rss: dict, cpu: dict, compared: dict
) -> str:
    lines = [
        "| case | database | conns | req/s | p50 ms | p99 ms | vs bare no-op | vs app no-op "
        "| p99 / bare p99 | SQL/request | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for (name, db_name), results in sorted(runs.items(), key=lambda item: order(item[0][0])):
        endpoint = name.split(",")[0].removesuffix(" 304")
        queries, begins = statements.get(endpoint, (0, 0))
        sql = f"{queries} (+{begins} BEGIN)" if endpoint != BARE else "0"
        rps, p50, p99 = (median_of(results, k) for k in ("rps", "p50_ms", "p99_ms"))
        if name == "create-session":
            conns, ratios = WORKERS, " |  |  "
            target = f"{create['median_ms']:.1f} ms less bcrypt (< {CREATE_TARGET_MS} ms): "
            target += met(create["median_ms"] < CREATE_TARGET_MS)
        elif name in (BARE, BASELINE):
            conns, ratios, target = CONNECTIONS, " |  |  ", ""
        else:
            conns, target = CONNECTIONS, ""
            vs_bare, vs_own, p99x = (
                median_of(results, k) for k in ("vs_bare", "vs_own", "p99_vs_bare")
            )
            ratios = f"{vs_bare:.0%} | {vs_own:.0%} | {p99x:.2f}x"
            if name in TARGETS:
                target = (
                    f">= {TARGETS[name]:.0%} of bare: {met(vs_bare >= TARGETS[name])}; "
                    f"p99 <= {P99_FACTOR}x bare: {met(p99x <= P99_FACTOR)}"
                )
        lines.append(
            f"| {name} | {db_name} | {conns} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {ratios} | "
            f"{sql} | {target} |"
        )

    flat = statistics.median(
        h["p50_ms"] / e["p50_ms"]
        for e, h in zip(
            runs[("session-status", "empty")], runs[("session-status", "history")], strict=True
        )
    )
    quiet, loaded = slow["quiet"], slow["slow"]
    on, off = slow["keepalive_on"], slow["keepalive_off"]
    lines += [
        "",
        f"- Slow clients: with {front.SLOW} connections trickling headers, trickling a body or "
        f"silent, one terminal polling session-status (a new connection per poll) got p50 "
        f"{loaded['p50']:.1f} ms, p99 **{loaded['p99']:.1f} ms**, max {loaded['max']:.0f} ms "
        f"(target p99 < 50 ms: {met(loaded['p99'] < 50)}; {loaded['unanswered']} of "
        f"{loaded['polls']} polls unanswered in {front.POLL_TIMEOUT} s); without them p50 "
        f"{quiet['p50']:.1f} ms, p99 {quiet['p99']:.1f} ms. The server cut off "
        f"{loaded['slow_closed']} slow connections meanwhile.",
        f"- Keep-alive, one terminal polling session-status back to back: {on['rps']:.0f} polls/s "
        f"(p50 {on['p50']:.2f} ms) over one connection, {off['rps']:.0f} polls/s "
        f"(p50 {off['p50']:.2f} ms) with a new connection per poll.",
        f"- RSS per gunicorn worker (median, after the runs): the app {mib(rss['app'])} MiB, "
        f"bare Flask {mib(rss['bare'])} MiB; nginx (master + worker) "
        f"{rss['app']['nginx_kib'] / 1024:.1f} MiB.",
        "- In-process CPU per request (the WSGI app called directly, no server; min of 9 "
        "rounds): " + ", ".join(f"{name} {us:.0f} us" for name, us in cpu.items()) + ".",
        f"- session-status p50 with {HISTORY:,} closed sessions / empty database: "
        f"**{flat:.2f}x** (target <= 1.2x: {met(flat <= 1.2)}).",
        f"- create-session less one bcrypt check (cost {create['rounds']}, "
        f"{create['bcrypt_ms']:.0f} ms), in-process, {create['count']} requests: median "
        f"**{create['median_ms']:.2f} ms**, p90 {create['p90_ms']:.2f} ms; "
        f"with bcrypt answering at once instead: median {create['instant_ms']:.2f} ms.",
        f"- Medians of {ROUNDS} rounds of {SECONDS} s wrk runs, {CONNECTIONS} connections; each "
        f"case runs right after a bare Flask no-op run and an app no-op run with the same "
        f"keep-alive, and its ratios are taken against those (create-session: one 10 s run, "
        f"{WORKERS} connections). A 304 row sends the route's current ETag in If-None-Match.",
        "",
        *writes_table(compared),
        "",
        f"Command: `{command()}`. Machine: {machine()}. Load average before the run: "
        f"{LOAD_BEFORE}, after: {os.getloadavg()[0]:.2f} (the machine is shared). "
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
    ]
    return "\n".join(lines)


def writes_table(compared: dict) -> list[str]:
    """Each write in this tree with a full count against the same in BEFORE_ISSUE_19."""
    lines = [
        f"Writes in-process, bcrypt answering at once: {BEFORE_ISSUE_19}'s code (before issue "
        "19) as terminals send them, and this tree's with a full count on the open and the close "
        f"(two of every one of the store's {compared['pieces']} notes and coins, and their sum); "
        f"{compared['count']} of each in a process per tree, the trees in turn over "
        f"{compared['rounds']} rounds, medians of the rounds' medians:",
        "",
        f"| write | {BEFORE_ISSUE_19} ms | this tree, full count ms | difference "
        "| SQL statements (BEGIN included) | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for write in writes.WRITES:
        before, now = compared["before"][write], compared["now"][write]
        more = now - before
        sql = " -> ".join(str(compared["statements"][name][write]) for name in ("before", "now"))
        lines.append(
            f"| {write} | {before:.2f} | {now:.2f} | **{more:+.2f} ms** | {sql} | within "
            f"{WRITES_TARGET_MS} ms of {BEFORE_ISSUE_19}'s: {met(more <= WRITES_TARGET_MS)} |"
        )
    return lines


def command() -> str:
    """`make bench`, after the settings that shortened this run, if any."""
    shortened = ("BENCH_SECONDS", "BENCH_ROUNDS", "BENCH_HISTORY", "BENCH_FRONT_SECONDS")
    return " ".join([*(f"{k}={os.environ[k]}" for k in shortened if k in os.environ), "make bench"])


def mib(memory: dict) -> str:
    return f"{memory['worker_kib'] / 1024:.1f}"


def order(name: str) -> int:
    return next((i for i, start in enumerate(ORDER) if name.startswith(start)), len(ORDER))


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def machine(server: bool = True) -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
        platform.processor() or "unknown CPU",
    )
    text = (
        f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    if server:
        text += f", {WORKERS} gunicorn sync workers, wrk and the server on the same machine"
    return text


def write_bench_page(report: str, page: Path = BENCH_PAGE) -> None:
    """Put ``report`` between the page's bench markers."""
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    text = page.read_text()
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    page.write_text(f"{before}{start}\n{report}\n{end}{after}")


if __name__ == "__main__":
    if sys.argv[1:] == ["writes"]:  # the writes against 2a3e967 alone, the page left as it is
        print("\n".join(writes_table(time_writes())))
    else:
        main()
