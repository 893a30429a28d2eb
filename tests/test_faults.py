"""Faults and admin mistakes lose nothing: every acknowledged write is kept, every other is
answered 503 in the error format, and the workers recover on their own once the cause is gone.

The first tests show each rule in one process; the last runs the production gunicorn under
write load and injects the faults one after another.
"""

import errno
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path
from uuid import uuid4

import pytest
import requests
from flask_jwt_extended import create_access_token
from flask_migrate import upgrade

from app import create_app
from app.api.auth import issue_token, revoke_tokens
from app.machinery.extensions import db
from app.models import PosProfile, Store
from app.people.passwords import hash_password
from tests.helpers import PASSWORD, SECRET, LiveServer, sqlite_only

pytestmark = sqlite_only
UNAVAILABLE = {"message": "Database unavailable", "statusCode": 503}


def database_of(app) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


def open_session(client, headers, profile) -> str:
    body = {"profileId": profile, "openningCash": 100, "password": PASSWORD}
    response = client.post("/pos-session/create-session", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"][0]["id"]


def sale(session_id: str) -> tuple[str, dict]:
    return f"/pos-session/sessions/{session_id}/cash-movements", {"type": "sale", "amount": 1}


def test_a_write_into_a_deleted_database_file_is_refused(app, client, headers, profile, tmp_path):
    path, body = sale(open_session(client, headers, profile))
    database = database_of(app)
    os.link(database, tmp_path / "kept.sqlite3")  # the admin's rm, undone below
    database.unlink()

    refused = client.post(path, json=body, headers=headers)

    assert (refused.status_code, refused.get_json()) == (503, UNAVAILABLE)
    assert not database.exists()  # not silently recreated empty
    os.rename(tmp_path / "kept.sqlite3", database)
    assert client.post(path, json=body, headers=headers).status_code == 201
    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT count(*) FROM cash_movement").fetchone() == (1,)


def test_a_worker_started_without_the_database_answers_503_and_creates_nothing(tmp_path):
    missing = tmp_path / "pos.sqlite3"
    worker = create_app({"DATABASE_URL": f"sqlite:///{missing}", "SECRET_KEY": SECRET})
    with worker.app_context():
        token = create_access_token("till", additional_claims={"stores": ["s"], "jti": "j"})
    headers = {"Authorization": f"Bearer {token}", "x-store-id": "s"}

    response = worker.test_client().post("/pos-session/create-session", json={}, headers=headers)

    assert (response.status_code, response.get_json()) == (503, UNAVAILABLE)
    assert list(tmp_path.iterdir()) == []


def test_a_token_from_before_init_db_made_a_new_database_says_so(app, runner, headers, tmp_path):
    database = database_of(app)
    for path in database.parent.glob("pos.sqlite3*"):
        path.rename(tmp_path / f"old-{path.name}")  # the database is gone
    assert runner.invoke(args=["init-db"]).exit_code == 0  # and made anew

    response = app.test_client().get("/pos-session/profiles", headers=headers)

    assert response.status_code == 401
    assert response.get_json() == {"message": "Token not known to this box", "statusCode": 401}


def test_a_status_poll_follows_the_database_file_it_polled_before(
    app, client, headers, profile, runner, tmp_path
):
    """The polls' connection is held across requests: it is never checked out of the pool again,
    so it must notice a deleted or replaced file by itself."""
    status = f"/pos-session/session-status/{profile}"
    assert client.get(status, headers=headers).status_code == 200
    database = database_of(app)
    os.link(database, tmp_path / "kept.sqlite3")
    database.unlink()

    assert (client.get(status, headers=headers).get_json()) == UNAVAILABLE
    assert not database.exists()
    os.rename(tmp_path / "kept.sqlite3", database)
    assert client.get(status, headers=headers).status_code == 200

    for path in database.parent.glob("pos.sqlite3*"):
        path.rename(tmp_path / f"old-{path.name}")
    assert runner.invoke(args=["init-db"]).exit_code == 0  # a new database in its place
    answer = client.get(status, headers=headers)
    assert (answer.status_code, answer.get_json()["message"]) == (
        401,
        "Token not known to this box",
    )


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """Gunicorn's workers wait at most 200 ms for the write lock (LiveServer passes the env on)."""
    monkeypatch.setenv("POS_SQLITE_BUSY_TIMEOUT_MS", "200")


def test_a_write_that_waits_too_long_for_the_lock_is_503_and_its_retry_succeeds_once(
    app, client, headers, profile, short_busy_timeout, tmp_path
):
    path, body = sale(open_session(client, headers, profile))
    keyed = {**headers, "Idempotency-Key": "sale-1"}
    server = LiveServer(app, tmp_path / "gunicorn.log", workers=2)
    try:
        with closing(sqlite3.connect(database_of(app), isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
            started = time.monotonic()
            busy = requests.post(server.url + path, json=body, headers=keyed, timeout=10)
            waited = time.monotonic() - started
            other.execute("ROLLBACK")
        first = requests.post(server.url + path, json=body, headers=keyed, timeout=10)
        again = requests.post(server.url + path, json=body, headers=keyed, timeout=10)
    finally:
        server.stop()

    assert busy.status_code == 503, busy.text
    assert busy.json() == {"message": "Database busy", "statusCode": 503}
    assert busy.headers["Retry-After"] == "1"
    assert 0.2 <= waited < 5  # it waited the busy timeout, not forever
    assert first.status_code == 201
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    with closing(sqlite3.connect(database_of(app))) as connection:
        assert connection.execute("SELECT count(*) FROM cash_movement").fetchone() == (1,)
    assert "Traceback" not in server.log()


def test_a_token_revoked_while_its_request_is_in_flight_writes_nothing(
    app, client, make_token, store, profile, tmp_path
):
    token = make_token(store)
    headers = {"Authorization": f"Bearer {token}", "x-store-id": store}
    path, body = sale(open_session(client, headers, profile))
    payload = json.dumps(body).encode()
    server = LiveServer(app, tmp_path / "gunicorn.log", workers=1)
    try:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: box\r\n{head}Content-Type: application/json"
                f"\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            )
            time.sleep(0.5)  # the token is checked; the worker waits for the body
            with app.app_context():
                assert len(revoke_tokens(store_id=store)) == 1
            sock.sendall(payload)
            answer = sock.makefile("rb").read().decode()
    finally:
        server.stop()

    assert answer.startswith("HTTP/1.1 401"), answer
    assert answer.endswith('{"message":"Token has been revoked","statusCode":401}')
    with closing(sqlite3.connect(database_of(app))) as connection:
        assert connection.execute("SELECT count(*) FROM cash_movement").fetchone() == (0,)


# --- under load, through real gunicorn ----------------------------------------------------------

WRITERS = 4


@pytest.fixture
def small_disk():
    """A 16 MiB tmpfs for the database."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("mounting a small disk needs root (and setpriv, to make file modes count)")
    folder = Path(tempfile.mkdtemp(prefix="pos-faults-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"mount is not permitted here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)
    folder.rmdir()


def fill(disk: Path) -> Path:
    """Write a file on ``disk`` until it is full (a real ENOSPC), however much room the writers
    left; returns the file, whose removal frees the room."""
    filler = disk / "filler"
    # Unbuffered: a buffered file keeps what a short write left over, and its close() tries to
    # write that again and raises ENOSPC.
    with open(filler, "wb", buffering=0) as file:
        try:
            while True:
                file.write(bytes(65536))
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return filler


def test_filling_the_disk_ends_full_whatever_room_was_left(small_disk):
    # Leave a page less than a whole number of 64 KiB writes: the last write is short by a page,
    # which a buffered file would keep.
    disk = os.statvfs(small_disk)
    room = disk.f_bavail * disk.f_frsize
    (small_disk / "taken").write_bytes(bytes(room % 65536 + disk.f_frsize))

    fill(small_disk)

    assert os.statvfs(small_disk).f_bavail == 0


@pytest.fixture
def modes_count(tmp_path, monkeypatch):
    """Gunicorn started without the capabilities that let root ignore file modes, as the box's
    own user is: then a read-only database file is read-only to the workers too."""
    wrapper = tmp_path / "python"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec setpriv --bounding-set=-dac_override,-dac_read_search -- {sys.executable} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(wrapper))  # what LiveServer starts


class Writers:
    """Threads recording cash movements with Idempotency-Keys, retrying a request the server
    dropped (a killed worker) with the same key, until stopped."""

    def __init__(self, url, headers, session_ids):
        self.url, self.headers = url, headers
        self.acknowledged: dict[str, str] = {}  # Idempotency-Key -> movement id
        self.phase = "start"  # the fault being injected
        self.errors: list[tuple[str, int, str, str]] = []  # phase, status, content type, body
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(s,)) for s in session_ids]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def run(self, session_id):
        path, body = sale(session_id)
        with requests.Session() as http:
            while not self.stop.is_set():
                key = str(uuid4())
                for _attempt in range(20):
                    headers = {**self.headers, "Idempotency-Key": key}
                    try:
                        response = http.post(
                            self.url + path, json=body, headers=headers, timeout=10
                        )
                    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                        time.sleep(0.05)
                        continue
                    if response.status_code in (502, 504):
                        # The front answering for a worker killed mid-request: whether the write
                        # happened is unknown, which a retry with the same key tells.
                        time.sleep(0.05)
                        continue
                    if response.status_code == 201:
                        self.acknowledged[key] = response.json()["data"]["id"]
                    else:
                        self.errors.append(
                            (
                                self.phase,
                                response.status_code,
                                response.headers["Content-Type"],
                                response.text,
                            )
                        )
                        time.sleep(0.02)
                    break

    def count(self) -> int:
        return len(self.acknowledged)

    def wait_for_more(self, more: int = 20, timeout: float = 15):
        target, deadline = self.count() + more, time.monotonic() + timeout
        while self.count() < target:
            assert time.monotonic() < deadline, f"writes did not resume: {self.errors[-3:]}"
            time.sleep(0.02)

    def wait_for_refusal(self, timeout: float = 15):
        """Until a write is refused in this phase: a busy machine may take a while to try one."""
        deadline = time.monotonic() + timeout
        while not any(error[0] == self.phase for error in self.errors):
            assert time.monotonic() < deadline, f"no write was refused while {self.phase}"
            time.sleep(0.02)


def health(url) -> tuple[int, dict]:
    response = requests.get(url + "/healthz", timeout=10)
    return response.status_code, response.json()


def healthy_again(url, timeout: float = 15):
    """Each worker repeats its database checks every few seconds, so a verdict heals."""
    deadline = time.monotonic() + timeout
    while (answer := health(url))[0] != 200:
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)


def seed(app) -> tuple[dict, list[str]]:
    with app.app_context():
        store = Store(name="Main Street")
        db.session.add(store)
        db.session.commit()
        profiles = []
        for i in range(WRITERS):
            profile = PosProfile(
                store_id=store.id, name=f"cashier-{i}", password_hash=hash_password(PASSWORD, 4)
            )
            db.session.add(profile)
            db.session.commit()
            profiles.append(profile.id)
        headers = {
            "Authorization": f"Bearer {issue_token([store.id], 'till', 30)}",
            "x-store-id": store.id,
        }
    client = app.test_client()
    return headers, [open_session(client, headers, p) for p in profiles]


def test_faults_under_write_load_lose_no_acknowledged_write(small_disk, modes_count, tmp_path):
    database = small_disk / "pos.sqlite3"
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": SECRET, "BCRYPT_ROUNDS": 4}
    )
    with app.app_context():
        upgrade()
    headers, session_ids = seed(app)
    with app.app_context():
        db.engine.dispose()
    server = LiveServer(app, tmp_path / "gunicorn.log")
    try:
        with Writers(server.url, headers, session_ids) as load:
            load.wait_for_more()

            # A worker killed mid-write: its requests are retried with their keys.
            for pid in server.workers()[:2]:
                os.kill(pid, 9)
            load.wait_for_more()

            # The database file deleted, then put back.
            load.phase = "deleted"
            os.link(database, small_disk / "kept")
            database.unlink()
            time.sleep(1)
            assert health(server.url) == (
                503,
                {
                    "message": "Database file is missing: restore a backup or run init-db",
                    "statusCode": 503,
                },
            )
            os.rename(small_disk / "kept", database)
            load.wait_for_more()

            # Read-only: the health check says so; new workers cannot write, then recover.
            load.phase = "read-only"
            database.chmod(0o400)
            for pid in server.workers():
                os.kill(pid, 9)
            time.sleep(1.5)
            assert health(server.url) == (
                503,
                {"message": "Database is read-only", "statusCode": 503},
            )
            database.chmod(0o600)
            load.wait_for_more()
            healthy_again(server.url)

            # A full disk: writes are refused until there is room again.
            load.phase = "disk full"
            filler = fill(small_disk)
            load.wait_for_refusal()
            filler.unlink()
            load.wait_for_more()

            load.phase = "backup onto the live file"
            refused = app.test_cli_runner().invoke(args=["backup", str(database)])
            assert refused.exit_code == 1 and "is the live database" in refused.output
            load.wait_for_more()
    finally:
        server.stop()

    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {row[0] for row in connection.execute("SELECT id FROM cash_movement")}
    assert set(load.acknowledged.values()) <= stored
    assert len(stored) == len(load.acknowledged)  # nothing written twice or unacknowledged
    for _phase, status, content_type, body in load.errors:
        assert (status, content_type) == (503, "application/json"), body
        assert json.loads(body) == UNAVAILABLE
    # Each fault was noticed: the writes it stopped were refused, not acknowledged.
    assert {"deleted", "read-only", "disk full"} <= {error[0] for error in load.errors}
