"""Head office's ingest: a chain of shops followed into PostgreSQL, and the follow lag under load.

1,000 simulated shops (one HTTP server answering GET /pos-session/journal for all of them, from
valid chains built with app.journal's own code) and head office's real follower
(``flask --app headoffice_wsgi headoffice follow``) on a throwaway PostgreSQL (.ci/postgres).

1. Backlog: each shop has BENCH_HO_ENTRIES entries (1,000: a tenth of the 10,000 a shop makes in
   a day, so each poll's page is full, as a day's are); one ``follow --once`` reads, verifies
   and stores them all. Its rate gives the time a day of the whole chain (1,000 x 10,000 =
   10,000,000 entries) takes, extrapolated.
2. Lag: the follower running (``--interval 1``) while the shops append entries at ten times the
   chain's average rate (10,000,000 a day is 116 a second: 1,157 a second, a peak hour's);
   each entry's lag is from when its shop had it to when head office had stored it.

Writes its table into docs/chain.md.
"""

import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process, Value
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from run import LOAD_BEFORE, ROOT, machine, write_bench_page

sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from app.journal.entry import canonical, chained_row, genesis, wire_entry  # noqa: E402
from tests.helpers import free_port, throwaway_postgres  # noqa: E402

SHOPS = int(os.environ.get("BENCH_HO_SHOPS", "1000"))
ENTRIES = int(os.environ.get("BENCH_HO_ENTRIES", "1000"))
PER_DAY = 10_000  # entries a shop makes in a day
LIVE_RATE = 10 * SHOPS * PER_DAY / 86_400  # entries a second across the chain, a peak hour's
LIVE_SECONDS = int(os.environ.get("BENCH_HO_LIVE_SECONDS", "30"))
WORKERS = 8
INTERVAL = 1.0
TARGET_SECONDS = 600
PAGE = Path(ROOT) / "docs" / "chain.md"
SECRET = "bench-" + "s" * 42
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC).replace(tzinfo=None)


def store_ids() -> list[str]:
    return [f"b{n:023d}" for n in range(SHOPS)]


def ident(store_id: str, n: int) -> str:
    """An id like the box's, the same in every run."""
    return "m" + hashlib.sha1(f"{store_id}/{n}".encode()).hexdigest()[:23]


def chain(store_id: str, count: int) -> list[str]:
    """``count`` valid entries of a shop (an opening, then sales), each as its JSON text."""
    texts, prev, session = [], genesis(store_id), ident(store_id, 0)
    for seq in range(1, count + 1):
        at = START + timedelta(seconds=seq)
        if seq == 1:
            kind = "session_opened"
            data = {
                "by": "till-1",
                "note": None,
                "openingCash": "100.00",
                "profileId": ident(store_id, -1),
            }
        else:
            kind = "cash_movement"
            amount = f"{seq % 50 + 1}.{seq % 100:02d}"
            data = {
                "amount": amount,
                "by": "till-1",
                "movementId": ident(store_id, seq),
                "note": None,
            }
            data["type"] = "sale"
        row = chained_row(seq, prev, store_id, kind, at, session, data)
        prev = row["hash"]
        texts.append(canonical(wire_entry(row)))
    return texts


def live_schedule(j: int) -> tuple[int, int]:
    """The live phase's entry j: its shop's index and seq; it appears at j / LIVE_RATE."""
    return j % SHOPS, ENTRIES + 1 + j // SHOPS


def serve(port: int, live_started) -> None:
    """The shops' boxes: each store's entries up to the backlog, then the live ones as their
    time comes (time.time() >= live_started.value + j / LIVE_RATE)."""
    live_each = int(LIVE_RATE * LIVE_SECONDS / SHOPS) + 2
    feeds = {s: chain(s, ENTRIES + live_each) for s in store_ids()}
    index = {s: n for n, s in enumerate(store_ids())}

    class Box(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            query = parse_qs(urlsplit(self.path).query)
            store = self.headers["x-store-id"]
            after, limit = int(query["afterSeq"][0]), int(query["limit"][0])
            elapsed = time.time() - live_started.value
            live = max(int(elapsed * LIVE_RATE), 0) if elapsed > 0 else 0
            # Entries j < live have appeared: this shop's are j = n, n + SHOPS, ...
            n = index[store]
            mine = (live - n + SHOPS - 1) // SHOPS if live > n else 0
            have = ENTRIES + min(mine, live_each)
            page = feeds[store][after : min(after + limit, have)]
            more = after + limit < have
            next_after = after + len(page) if more else None
            body = (
                '{"success":true,"data":[' + ",".join(page) + '],"nextAfterSeq":'
                + json.dumps(next_after) + "}"
            ).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Boxes(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # the follower stopped at the end of a phase, its connections cut

    Boxes(("127.0.0.1", port), Box).serve_forever()


def flask(database: str, *args, **popen):
    env = {**os.environ, "HEADOFFICE_DATABASE_URL": database, "HEADOFFICE_SECRET_KEY": SECRET}
    command = [sys.executable, "-m", "flask", "--app", "headoffice_wsgi", "headoffice", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, **popen)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    port = free_port()
    live_started = Value("d", float("inf"))  # set once the backlog is in
    with throwaway_postgres("pos_bench_ho") as database:
        assert flask(database, "init-db").wait() == 0
        with psycopg.connect(database) as connection:
            connection.cursor().executemany(
                "INSERT INTO ho_shop (store_id, name, url, token, last_seq, created_at) "
                "VALUES (%s, %s, %s, 'bench', 0, now())",
                [(s, f"Shop {n}", f"http://127.0.0.1:{port}") for n, s in enumerate(store_ids())],
            )
        box = Process(target=serve, args=(port, live_started), daemon=True)
        box.start()
        try:
            _wait_for(port)
            backlog = _backlog(database)
            lags = _live(database, live_started)
        finally:
            box.terminate()
            box.join()
    write_bench_page(_report(backlog, lags), PAGE)
    print(PAGE.read_text().split("<!-- bench:start -->")[1].split("<!-- bench:end -->")[0])


def _wait_for(port: int) -> None:
    import socket

    deadline = time.monotonic() + 120  # the server builds every chain first
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("the shops' server did not start")


def _backlog(database: str) -> dict:
    cpu = children_cpu()
    started = time.perf_counter()
    follower = flask(database, "follow", "--once", "--workers", str(WORKERS))
    assert follower.wait() == 0
    wall = time.perf_counter() - started
    with psycopg.connect(database) as connection:
        stored = connection.execute("SELECT count(*) FROM ho_entry").fetchone()[0]
    assert stored == SHOPS * ENTRIES, stored
    return {"entries": stored, "wall": wall, "cpu": children_cpu() - cpu}


def _live(database: str, live_started) -> list[float]:
    live_started.value = started = time.time() + 2  # the follower started meanwhile
    follower = flask(database, "follow", "--interval", str(INTERVAL), "--workers", str(WORKERS))
    lags, seen = [], dict.fromkeys(store_ids(), ENTRIES)
    stop_at = started + LIVE_SECONDS
    try:
        with psycopg.connect(database, autocommit=True) as connection:
            while time.time() < stop_at + 10:
                now = time.time()
                for store, last_seq in connection.execute("SELECT store_id, last_seq FROM ho_shop"):
                    n = int(store[1:])
                    for seq in range(seen[store] + 1, last_seq + 1):
                        j = (seq - ENTRIES - 1) * SHOPS + n
                        appeared = started + j / LIVE_RATE
                        if appeared <= stop_at:
                            lags.append(now - appeared)
                    seen[store] = max(seen[store], last_seq)
                time.sleep(0.2)
    finally:
        follower.terminate()
        follower.wait()
    expected = int(LIVE_SECONDS * LIVE_RATE)
    assert len(lags) >= expected * 0.99, (len(lags), expected)
    return lags


def _report(backlog: dict, lags: list[float]) -> str:
    rate = backlog["entries"] / backlog["wall"]
    day = SHOPS * PER_DAY / rate
    met = "met" if day < TARGET_SECONDS else "MISSED"
    lags.sort()
    p50, p99 = statistics.median(lags), lags[int(len(lags) * 0.99)]
    lines = [
        "| measure | result | target |",
        "| --- | ---: | --- |",
        f"| backlog read, verified and stored: {SHOPS:,} shops x {ENTRIES:,} entries "
        f"| {backlog['entries']:,} entries in {backlog['wall']:.1f} s "
        f"(follower CPU {backlog['cpu']:.1f} s) | |",
        f"| **head-office ingest** | **{rate:,.0f} entries/s** | |",
        f"| **a day of the chain ({SHOPS:,} x {PER_DAY:,} = {SHOPS * PER_DAY:,} entries), "
        f"extrapolated** | **{day / 60:.1f} min** | under 10 min: {met} |",
        f"| follow lag at {LIVE_RATE:,.0f} entries/s (10 x the chain's average), "
        f"{len(lags):,} entries over {LIVE_SECONDS} s: median | {p50:.2f} s | |",
        f"| the same, 99th percentile / worst | {p99:.2f} s / {lags[-1]:.2f} s | |",
        "",
        f"The follower: `headoffice follow --workers {WORKERS}` (`--once` for the backlog, "
        f"`--interval {INTERVAL:g}` for the lag), pages of 1,000. The shops: one HTTP server "
        "process answering every shop's journal from valid chains built with app.journal, on "
        "the same machine as the follower and PostgreSQL (15, .ci/postgres: fsync off), so the "
        "three share the 2 cores. The day is extrapolated from the backlog's rate: the rate "
        "per entry does not depend on how many a shop has (each page is one request, one "
        f"transaction; the sample's pages are full, {min(ENTRIES, 1000):,} entries, as a day's "
        f"are). The table starts empty and ends with {SHOPS * ENTRIES:,} rows; a whole day's "
        f"{SHOPS * PER_DAY:,} deepen its primary key's index further, which the sample does not "
        "show. The lag is measured by polling the shops' "
        "last seq every 0.2 s. "
        f"Command: `make bench` (or `.venv/bin/python bench/bench_headoffice.py`). Machine: "
        f"{machine(server=False)}. Load average before: {LOAD_BEFORE}, after: "
        f"{os.getloadavg()[0]:.2f}. Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
