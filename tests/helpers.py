"""What the tests share: constants, URLs and request helpers. Fixtures are in conftest.py."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest
import requests

from app.machinery import front

# Set (by `make test-postgres`) to run the whole suite against PostgreSQL instead of SQLite.
POSTGRES_URL = os.environ.get("POS_TEST_DATABASE_URL", "")
sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="checks SQLite's own machinery")

SECRET = "test-secret-that-is-long-enough-for-hs256!"
PASSWORD = "s3cret-pin"
ROOT = Path(__file__).resolve().parent.parent
# The rules' modules: handed typed values and a unit of work by the edges.
RULES = [
    ROOT / "app/stores.py",
    ROOT / "app/reports.py",
    *sorted((ROOT / "app").glob("sessions/*.py")),
    *sorted((ROOT / "app").glob("people/*.py")),
    *sorted((ROOT / "app").glob("journal/*.py")),
    *sorted((ROOT / "app").glob("accounting/*.py")),
]
PROFILES = "/pos-session/profiles"
REQUESTS = 50  # simultaneous requests in the concurrency tests

CREATE = "/pos-session/create-session"
CLOSE = "/pos-session/close-session"
HISTORY = "/pos-session/sessions"
ID = re.compile(r"^[a-z][a-z0-9]{23}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def movements_url(session_id: str) -> str:
    return f"/pos-session/sessions/{session_id}/cash-movements"


def report_url(session_id: str) -> str:
    return f"/pos-session/sessions/{session_id}"


def open_shift(client, headers, profile_id, cash=15000, **extra) -> dict:
    body = {"profileId": profile_id, "openningCash": cash, "password": PASSWORD, **extra}
    response = client.post(CREATE, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"][0]


def close_body(profile_id, cash=15000, **extra) -> dict:
    return {"profileId": profile_id, "closingCash": cash, "password": PASSWORD, **extra}


def close_shift(client, headers, profile_id, cash=15000, **extra) -> dict:
    response = client.post(CLOSE, json=close_body(profile_id, cash, **extra), headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def move(client, headers, session_id, kind, amount, **extra):
    body = {"type": kind, "amount": amount, **extra}
    return client.post(movements_url(session_id), json=body, headers=headers)


def report(client, headers, session_id) -> dict:
    response = client.get(report_url(session_id), headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def fire_together(
    url: str | list[str], headers: dict | list[dict], bodies: list[dict]
) -> list[requests.Response]:
    """POST every body at once: each thread waits at a barrier, then all send.

    ``url`` and ``headers`` are each one for all, or a list with each request's own.
    """
    barrier = threading.Barrier(len(bodies))
    each = headers if isinstance(headers, list) else [headers] * len(bodies)
    urls = url if isinstance(url, list) else [url] * len(bodies)

    def post(request):
        to, body, request_headers = request
        barrier.wait()
        return requests.post(to, json=body, headers=request_headers, timeout=60)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, zip(urls, bodies, each, strict=True)))


def write_transactions(statements) -> list[list[str]]:
    """Each IMMEDIATE transaction's writes, by their first three words."""
    found = []
    for start, statement in enumerate(statements):
        if statement == "BEGIN IMMEDIATE":
            body = statements[start + 1 : statements.index("COMMIT", start)]
            writes = [" ".join(s.split()[:3]) for s in body if s.startswith(("INSERT", "UPDATE"))]
            found.append(writes)
    return found


@dataclass(frozen=True)
class Process:
    pid: int
    parent: int
    session: int
    command: str

    def __str__(self):
        return f"{self.pid} (parent {self.parent}): {self.command}"


def processes() -> list[Process]:
    """Every process but zombies (which hold nothing), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
            state, parent, _group, session = stat.rsplit(")", 1)[1].split()[:4]
            if state != "Z":
                name = command.replace(b"\0", b" ").decode(errors="replace").strip()
                found.append(Process(int(entry.name), int(parent), int(session), name))
    return found


def kill_all(found: list[Process]) -> list[Process]:
    for process in found:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The sessions of the LiveServers not stopped (yet), whose processes the check at the end of the
# run (conftest.py) looks for.
RUNNING_SERVERS: set[int] = set()


class LiveServer:
    """Real gunicorn, production config, on a free 127.0.0.1 port, sharing the app's database.

    In a session of its own, so that all of it (workers, nginx, nginx's workers) can be found."""

    def __init__(self, app, log_path: Path, workers: int = 4, env: dict | None = None, port=None):
        port = port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        env = {
            **os.environ,
            "POS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "POS_SECRET_KEY": SECRET,
            "POS_BCRYPT_ROUNDS": "4",
            "POS_BIND": f"127.0.0.1:{port}",
            "POS_WORKERS": str(workers),
            **(env or {}),
        }
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=front.die_with_parent,  # should the tests be killed outright
        )
        RUNNING_SERVERS.add(self.process.pid)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()}")
            try:
                requests.get(self.url + "/", timeout=1)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start in time")

    def log(self) -> str:
        return self.log_path.read_text()

    def workers(self) -> list[int]:
        """gunicorn's workers (its other child is nginx)."""
        return [
            p.pid
            for p in processes()
            if p.parent == self.process.pid and not p.command.startswith("nginx")
        ]

    def stop(self):
        """Stop gunicorn as systemd does (SIGTERM); should any of its session outlive it, kill
        that and fail."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        finally:
            self._log.close()
            left = kill_all([p for p in processes() if p.session == self.process.pid])
            self.process.wait()
            RUNNING_SERVERS.discard(self.process.pid)
        assert not left, "still running after gunicorn stopped:\n" + "\n".join(map(str, left))


def left_behind(folder: Path) -> list[Process]:
    """What the tests started and is still running: a LiveServer's, a child of this process, or
    a process with a file, its working folder or an argument under ``folder`` (the run's
    temporary one; an nginx worker whose master died has parent 1 and a command line of its
    own, but its log is there)."""
    return [
        p
        for p in processes()
        if p.pid != os.getpid()
        and (p.session in RUNNING_SERVERS or p.parent == os.getpid() or _uses(p, folder))
    ]


def _uses(process: Process, folder: Path) -> bool:
    if any(Path(arg).is_relative_to(folder) for arg in process.command.split()):
        return True
    proc = Path(f"/proc/{process.pid}")
    try:
        links = [proc / "cwd", *(proc / "fd").iterdir()]
    except OSError:  # gone meanwhile
        return False
    for link in links:
        try:
            if Path(os.readlink(link)).is_relative_to(folder):
                return True
        except OSError:
            pass
    return False


class PostgresUnavailable(Exception):
    pass


@contextmanager
def throwaway_postgres(prefix: str = "pos_ho"):
    """The URL of a new PostgreSQL database, dropped at the end: in POS_TEST_DATABASE_URL's
    server when given, else in a server of its own that .ci/postgres starts on a free port
    (installing Debian's package when missing) and that is stopped at the end, also on failure.
    Raises PostgresUnavailable when PostgreSQL cannot be installed or started."""
    import psycopg
    from sqlalchemy import make_url

    port = None
    server = POSTGRES_URL
    if not server:
        port = free_port()
        started = subprocess.run(
            ["bash", ".ci/postgres"],
            cwd=ROOT,
            env={**os.environ, "PGPORT": str(port)},
            capture_output=True,
            text=True,
        )
        if started.returncode:
            _stop_postgres(port)
            raise PostgresUnavailable(started.stderr.strip()[-500:])
        server = started.stdout.strip()
    name = f"{prefix}_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    try:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        if port:
            _stop_postgres(port)


def _stop_postgres(port: int) -> None:
    """Stop the server .ci/postgres started on ``port`` (as its user, as it ran it)."""
    data = f"/tmp/pos-test-pg-{port}"
    as_owner = ["su", "postgres", "-s", "/bin/sh", "-c"] if os.getuid() == 0 else ["sh", "-c"]
    for pg_ctl in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"):  # the one it found
        subprocess.run(
            [*as_owner, f"{pg_ctl} -D {data} status && {pg_ctl} -D {data} stop -m fast"],
            capture_output=True,
        )
    shutil.rmtree(data, ignore_errors=True)


def chromium() -> str:
    """Debian's chromium; a test needing it skips where it is missing, unless REQUIRE_CHROMIUM
    is set (.ci/run sets it), where it fails."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail("REQUIRE_CHROMIUM is set but chromium is not installed")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return path


# The back office, through the test client.

MANAGER, MANAGER_PASSWORD = "Olga", "manager-pw"


def hidden_fields(html: str, action: str) -> dict:
    """The hidden inputs (CSRF and one-time tokens) of the form posting to ``action``."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


def submit(client, page: str, action: str, **fields):
    html = client.get(page).get_data(as_text=True)
    return client.post(action, data={**hidden_fields(html, action), **fields})


def sign_in(client, name=MANAGER, password=MANAGER_PASSWORD):
    return submit(client, "/backoffice/login", "/backoffice/login", name=name, password=password)


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))
