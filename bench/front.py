"""The front's numbers (docs/front.md): slow clients, keep-alive, memory.

Run with `.venv/bin/python bench/front.py` (nginx from Debian installed). The database and the
servers are bench/run.py's (gunicorn.conf.py, 4 workers, 200 profiles); each setup is started
in turn and measured the same way:

- slow clients: 64 connections (a third trickling header lines, a third trickling a body, a
  byte or line every half second, a third connected and silent; each one the server closes
  is opened again) while one terminal
  polls session-status, a new connection per poll, for BENCH_FRONT_SECONDS; its latencies,
  and the same poll with no slow client, in one run;
- keep-alive: one terminal polling session-status as fast as it can, over one connection and
  with a new connection per poll;
- memory: the RSS of nginx (master and worker) and of each gunicorn worker, after the runs.

Timeouts are the production defaults (POS_CLIENT_TIMEOUT, POS_KEEPALIVE_TIMEOUT).
"""

import http.client
import os
import selectors
import shutil
import socket
import statistics
import tempfile
import time
from pathlib import Path

import run

from app.machinery.front import nginx_path

SECONDS = float(os.environ.get("BENCH_FRONT_SECONDS", "12"))
SLOW = 64
TRICKLE_EVERY = 0.5
POLL_TIMEOUT = 5
SETUPS = {
    "gunicorn alone, 4 sync workers": {"POS_FRONT": "none"},
    "gunicorn alone, 4 gthread workers x 16 threads": {
        "POS_FRONT": "none",
        "GUNICORN_CMD_ARGS": "--worker-class gthread --threads 16",
    },
    "nginx front, 4 sync workers": {"POS_FRONT": "nginx"},
}


class SlowClients:
    """SLOW connections that never finish a request; reopened when the server closes them."""

    STARTS = {
        "header": b"GET /pos-session/profiles HTTP/1.1\r\nHost: box\r\n",
        "body": b"POST /pos-session/create-session HTTP/1.1\r\nHost: box\r\n"
        b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{",
        "silent": b"",
    }

    def __init__(self, port: int):
        self.port = port
        self.selector = selectors.DefaultSelector()
        self.closed = 0
        self.last_step = time.monotonic()
        for i in range(SLOW):
            self.open(list(self.STARTS)[i % 3])

    def open(self, kind: str):
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setblocking(False)
        if self.STARTS[kind]:
            sock.send(self.STARTS[kind])
        self.selector.register(sock, selectors.EVENT_READ, kind)

    def step(self):
        """Every TRICKLE_EVERY seconds, one more line or byte on each, and reopen those the
        server closed."""
        if time.monotonic() - self.last_step < TRICKLE_EVERY:
            return
        self.last_step = time.monotonic()
        for key in list(self.selector.get_map().values()):
            sock, kind = key.fileobj, key.data
            try:
                if kind == "header":
                    sock.send(b"X-Slow: 1\r\n")
                elif kind == "body":
                    sock.send(b" ")
                closed = sock.recv(4096) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            if closed:
                self.selector.unregister(sock)
                sock.close()
                self.closed += 1
                self.open(kind)

    def close(self):
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()


def poll(port: int, path: str, headers: dict, seconds: float, keep_alive: bool, between=None):
    """Latencies (s) of sequential GETs for ``seconds``; None for a poll with no answer in time.
    ``between`` runs after each poll (the slow clients' next step)."""
    latencies, conn = [], None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=POLL_TIMEOUT)
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
        latencies.append(time.perf_counter() - started if ok else None)
        if not (keep_alive and ok):
            conn.close()
            conn = None
        if between:
            between()
    return latencies


def summary(latencies, seconds: float) -> dict:
    """Quantiles over every poll, an unanswered one counted as POLL_TIMEOUT."""
    answered = [x for x in latencies if x is not None]
    every = sorted(POLL_TIMEOUT * 1000 if x is None else x * 1000 for x in latencies)
    q = statistics.quantiles(every, n=100, method="inclusive") if len(every) > 1 else every * 99
    return {
        "polls": len(latencies),
        "unanswered": len(latencies) - len(answered),
        "p50": q[49],
        "p99": q[98],
        "max": every[-1],
        "rps": len(answered) / seconds,
    }


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def memory(server) -> dict:
    nginx, workers = [], []
    for pid in children(server.process.pid):
        if b"nginx" in Path(f"/proc/{pid}/cmdline").read_bytes():
            nginx += [pid, *children(pid)]
        else:
            workers.append(pid)
    return {
        "nginx_kib": sum(rss_kib(p) for p in nginx),
        "worker_kib": statistics.median(rss_kib(p) for p in workers),
    }


def keep_alive(port: int, path: str, headers: dict, front: bool, rounds: int = 6) -> dict:
    """Polls/s and latencies with and without keep-alive, alternating one-second runs so that
    load from elsewhere falls alike on both; medians over the rounds."""
    runs = {"keepalive_on": [], "keepalive_off": []} if front else {"keepalive_off": []}
    for _ in range(rounds):
        for name in runs:
            runs[name].append(summary(poll(port, path, headers, 1, name == "keepalive_on"), 1))
    return {
        name: {k: statistics.median(r[k] for r in results) for k in ("rps", "p50", "p99")}
        for name, results in runs.items()
    }


def measure_setup(name: str, env: dict, database: Path, work: Path, ids: dict) -> dict:
    server = run.Server(database, work / "front.log")
    server.env.update(env)
    port = int(server.url.rsplit(":", 1)[1])
    path = f"/pos-session/session-status/{ids['profiles'][0]}"
    headers = {"Authorization": f"Bearer {ids['token']}", "x-store-id": ids["store"]}
    with server:
        poll(port, path, headers, 1, keep_alive=False)  # warm every worker
        half = SECONDS / 2
        quiet = summary(poll(port, path, headers, half, keep_alive=False), half)
        slow = SlowClients(port)
        try:
            loaded = summary(poll(port, path, headers, SECONDS, False, slow.step), SECONDS)
            loaded["slow_closed"] = slow.closed
        finally:
            slow.close()
        time.sleep(0.5)
        row = {"name": name, "quiet": quiet, "slow": loaded}
        row.update(keep_alive(port, path, headers, env["POS_FRONT"] != "none"))
        row.update(memory(server))
    run.log(f"{name}: {row}")
    return row


def measure() -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="pos-bench-front-"))
    try:
        database = work / "bench.sqlite3"
        app = run.bench_app(database)
        ids = run.fill(app)
        return [measure_setup(n, env, database, work, ids) for n, env in SETUPS.items()]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render(rows: list[dict]) -> str:
    def ms(s):
        p99 = f"{s['p99']:.1f}" if s["p99"] < POLL_TIMEOUT * 1000 else "unanswered"
        return f"{s['p50']:.1f} / {p99} / {s['max']:.0f}"

    lines = [
        f"With {SLOW} slow clients, one terminal polling session-status for {SECONDS:g} s"
        " (a new connection per poll; p50 / p99 / max in ms; a poll unanswered in"
        f" {POLL_TIMEOUT} s counts as unanswered):",
        "",
        "| setup | no slow client | 64 slow clients | unanswered | slow ones cut off |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {ms(r['quiet'])} | {ms(r['slow'])} |"
            f" {r['slow']['unanswered']} of {r['slow']['polls']} | {r['slow']['slow_closed']} |"
        )
    lines += [
        "",
        "One terminal polling session-status back to back, keep-alive and not in alternating"
        " one-second runs (medians of 6: polls/s; p50 / p99 ms):",
        "",
        "| setup | keep-alive | new connection per poll |",
        "| --- | --- | --- |",
    ]
    for r in rows:
        on = r.get("keepalive_on")
        on_text = f"{on['rps']:.0f}/s; {on['p50']:.2f} / {on['p99']:.2f}" if on else "n/a"
        off = r["keepalive_off"]
        lines.append(
            f"| {r['name']} | {on_text} | {off['rps']:.0f}/s; {off['p50']:.2f} / {off['p99']:.2f} |"
        )
    lines += ["", "| setup | nginx RSS (master + worker) | gunicorn worker RSS (median) |"]
    lines += ["| --- | --- | --- |"]
    for r in rows:
        front_rss = f"{r['nginx_kib'] / 1024:.1f} MiB" if r["nginx_kib"] else "none"
        lines.append(f"| {r['name']} | {front_rss} | {r['worker_kib'] / 1024:.1f} MiB |")
    return "\n".join(lines)


if __name__ == "__main__":
    nginx_path("nginx")  # refuses to go on without it
    print(render(measure()))
