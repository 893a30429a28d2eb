"""The box's replica: Litestream ships every transaction of a real gunicorn box to a folder (a
NAS mount); a box killed outright and whose disk is lost comes back from it with everything
acknowledged before its last replicated transaction, and its journal verifies."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests

from app.machinery import replica
from app.machinery.backup import sqlite_file
from tests.helpers import (
    CREATE,
    PASSWORD,
    ROOT,
    SECRET,
    LiveServer,
    kill_all,
    movements_url,
    processes,
)

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("POS_TEST_DATABASE_URL")), reason="the replica is of a SQLite file"
)


def flask(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def ids(path: Path) -> set[str]:
    """The sessions and movements a database holds."""
    with closing(sqlite3.connect(path)) as connection:
        query = "SELECT id FROM pos_session UNION ALL SELECT id FROM cash_movement"
        return {row[0] for row in connection.execute(query)}


def wait_replicated(url: str, scratch: Path, wanted: str, timeout: float = 30) -> None:
    """Until the replica's last transaction holds ``wanted``, read back as a restore would."""
    deadline = time.monotonic() + timeout
    while not (replica.fetch_latest(url, scratch) and wanted in ids(scratch)):
        assert time.monotonic() < deadline, f"{wanted} not replicated within {timeout} s"
        time.sleep(0.3)
    replica.remove(scratch)


class Till:
    """A terminal: each write the box acknowledged, in order."""

    def __init__(self, url: str, headers: dict):
        self.url, self.headers, self.acknowledged = url, headers, []
        self.http = requests.Session()

    def post(self, path: str, body: dict) -> dict:
        response = self.http.post(self.url + path, json=body, headers=self.headers, timeout=30)
        assert response.status_code in (200, 201), response.text
        data = response.json()["data"]
        data = data[0] if isinstance(data, list) else data
        self.acknowledged.append(data["id"])
        return data

    def shift(self, profile: str, movements: int) -> str:
        body = {"profileId": profile, "openningCash": 10000, "password": PASSWORD}
        session = self.post(CREATE, body)["id"]
        for n in range(movements):
            self.post(movements_url(session), {"type": "sale", "amount": n + 1})
        return session


def kill_tree(server: LiveServer) -> None:
    """As a power cut: SIGKILL to every process of the box at once (gunicorn, its workers, nginx,
    litestream), nothing shipped or signed on the way out."""
    deadline = time.monotonic() + 10
    while kill_all([p for p in processes() if p.session == server.process.pid]):
        assert time.monotonic() < deadline, "still running after SIGKILL"
        time.sleep(0.05)
    server.process.wait(timeout=10)


def test_a_box_killed_and_its_disk_lost_comes_back_from_its_replica(
    app, make_profile, store, make_token, tmp_path
):
    database = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    profiles = [make_profile(store, name) for name in ("alice", "bob", "carol")]
    headers = {"Authorization": f"Bearer {make_token(store)}", "x-store-id": store}
    nas = tmp_path / "nas"
    nas.mkdir()
    env = {
        "POS_REPLICA": str(nas),
        "POS_JOURNAL_DIR": app.config["JOURNAL_DIR"],
        "POS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "POS_SECRET_KEY": SECRET,
    }
    url, scratch = nas.as_uri(), tmp_path / "scratch.sqlite3"

    server = LiveServer(app, tmp_path / "gunicorn.log", workers=2, env=env)
    try:
        till = Till(server.url, headers)
        for profile in profiles[:2]:
            till.shift(profile, movements=5)
        wait_replicated(url, scratch, till.acknowledged[-1])
        replicated = list(till.acknowledged)

        # The NAS stops taking writes (litestream paused); the box goes on, a shift closes
        # (which signs the journal's head at once), then the box dies with its disk.
        [shipper] = [p.pid for p in processes() if p.command.startswith(replica.binary())]
        os.kill(shipper, signal.SIGSTOP)
        till.shift(profiles[2], movements=3)
        close = {"profileId": profiles[0], "closingCash": 10015, "password": PASSWORD}
        till.post("/pos-session/close-session", close)
        kill_tree(server)
    finally:
        server.stop()
    for name in (database, *(Path(f"{database}{s}") for s in ("-wal", "-shm"))):
        name.unlink()
    replica.forget_state(database)

    # The new disk: systemd runs init-db, then the server, which refuses to replicate the
    # empty database over the replica's.
    assert flask(env, "init-db").returncode == 0
    with pytest.raises(RuntimeError, match="is not the replica's database"):
        LiveServer(app, tmp_path / "refused.log", workers=1, env=env).stop()

    restored = flask(env, "restore", "--from-replica")
    assert restored.returncode == 0, restored.stderr
    assert "not replicated and are lost" in restored.stderr
    assert "the old one is kept as" in restored.stderr

    # Everything acknowledged up to the last replicated write is back; what came after is lost
    # whole from some point on, never in the middle.
    back = ids(database) & set(till.acknowledged)
    kept = till.acknowledged[: len(back)]
    assert set(kept) == back
    assert set(replicated) <= back
    verified = flask(env, "journal", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The restored box serves, and replicates again from where the replica was.
    server = LiveServer(app, tmp_path / "gunicorn-again.log", workers=2, env=env)
    try:
        till = Till(server.url, headers)
        session = till.shift(profiles[2], movements=1)
        wait_replicated(url, scratch, till.acknowledged[-1])
        report = requests.get(f"{server.url}/pos-session/sessions/{session}", headers=headers)
        assert report.status_code == 200
    finally:
        server.stop()
    assert flask(env, "journal", "verify").returncode == 0


def test_restore_from_replica_refuses_before_touching_anything_without_a_replica(
    app, store, tmp_path
):
    database = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    env = {
        "POS_JOURNAL_DIR": app.config["JOURNAL_DIR"],
        "POS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "POS_SECRET_KEY": SECRET,
    }
    (tmp_path / "empty").mkdir()

    def state():
        return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))

    before = state()
    cases = {
        "": "no replica is configured: set POS_REPLICA",
        str(tmp_path / "empty"): f"the replica {(tmp_path / 'empty').as_uri()} is empty",
        "nas/pos": "POS_REPLICA must be an absolute folder or a URL",
    }
    for setting, said in cases.items():
        done = flask({**env, "POS_REPLICA": setting}, "restore", "--from-replica")
        assert (done.returncode, done.stdout) == (1, ""), done.stderr
        assert said in done.stderr
    neither = flask(env, "restore")
    assert neither.returncode == 2
    assert "give either a backup file PATH or --from-replica" in neither.stderr
    assert state() == before
    assert ids(database) == set()


def test_a_replica_out_of_reach_does_not_keep_the_box_from_selling(
    app, store, profile, make_token, tmp_path
):
    # A path that no replica can be read from, as a NAS or bucket out of reach at start.
    (tmp_path / "nas").write_text("not a folder")
    env = {"POS_REPLICA": str(tmp_path / "nas"), "POS_JOURNAL_DIR": app.config["JOURNAL_DIR"]}
    server = LiveServer(app, tmp_path / "gunicorn.log", workers=1, env=env)
    try:
        headers = {"Authorization": f"Bearer {make_token(store)}", "x-store-id": store}
        Till(server.url, headers).shift(profile, movements=1)
        assert "replicating without checking the database against the replica" in server.log()
    finally:
        server.stop()
