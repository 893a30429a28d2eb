"""Backups taken while gunicorn writes are consistent; restore refuses what is not ours."""

import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from app import create_app, revisions
from app.backup import BackupError, sqlite_file
from app.extensions import db
from tests.helpers import CREATE, PASSWORD, SECRET

PROFILES = 400


@pytest.fixture(autouse=True)
def sqlite_only(app):
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        pytest.skip("backup and restore are for SQLite; PostgreSQL has pg_dump and pg_restore")


def rows(path: Path, table: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def fresh_app(tmp_path, name="fresh.sqlite3"):
    return create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / name}", "SECRET_KEY": SECRET, "TESTING": True}
    )


def database_of(app) -> Path:
    return sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])


class Writer(threading.Thread):
    """Opens a session for each profile in turn through the live server, until stopped."""

    def __init__(self, url: str, headers: dict, profiles: list[str]):
        super().__init__(daemon=True)
        self.url, self.headers, self.profiles = url, headers, profiles
        self.acknowledged: list[str] = []  # session ids, in the order the server confirmed them
        self.stop = threading.Event()

    def run(self):
        with requests.Session() as http:
            for profile in self.profiles:
                if self.stop.is_set():
                    return
                body = {"profileId": profile, "openningCash": 1, "password": PASSWORD}
                response = http.post(self.url + CREATE, json=body, headers=self.headers, timeout=30)
                response.raise_for_status()
                self.acknowledged.append(response.json()["data"][0]["id"])

    def wait_for(self, count: int):
        while len(self.acknowledged) < count:
            assert self.is_alive(), "the writer stopped early"
            time.sleep(0.01)


def test_backup_under_write_load_then_restore_loses_nothing(
    app, runner, live_server, headers, store, make_profile, tmp_path
):
    profiles = [make_profile(store, f"cashier-{i}") for i in range(PROFILES)]
    writer = Writer(live_server.url, headers, profiles)
    writer.start()
    writer.wait_for(20)
    confirmed_before = set(writer.acknowledged)

    result = runner.invoke(args=["backup", str(tmp_path / "backup.sqlite3")])

    # Writes went on after the backup, so it was taken in the middle of them.
    writer.wait_for(len(writer.acknowledged) + 20)
    writer.stop.set()
    writer.join()
    assert result.exit_code == 0, result.output
    backup_file = Path(result.stdout.strip())
    assert backup_file == tmp_path / "backup.sqlite3"
    assert not (tmp_path / "backup.sqlite3-wal").exists()
    saved = {row[0] for row in rows(backup_file, "pos_session")}
    assert confirmed_before <= saved <= set(writer.acknowledged)
    assert len(saved) < len(writer.acknowledged)

    fresh = fresh_app(tmp_path)
    restored = fresh.test_cli_runner().invoke(args=["restore", str(backup_file)])

    assert restored.exit_code == 0, restored.output
    for table in ("store", "pos_profile", "pos_session", "api_token", "alembic_version"):
        assert rows(database_of(fresh), table) == rows(backup_file, table), table
    client = fresh.test_client()
    assert client.get("/healthz").status_code == 200
    # The restored box answers the terminals as the old one did: same token, same sessions.
    status = client.get(f"/pos-session/session-status/{profiles[0]}", headers=headers).get_json()
    assert status["session"]["id"] == writer.acknowledged[0]


def test_backup_into_a_folder_makes_a_dated_file(runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path)])

    assert result.exit_code == 0, result.output
    written = Path(result.stdout.strip())
    assert written.parent == tmp_path and written.name.startswith("pos-")
    assert rows(written, "alembic_version") == [(revisions.head(),)]


def test_restore_replaces_the_live_data(app, runner, make_store, tmp_path):
    kept = make_store("before the backup")
    runner.invoke(args=["backup", str(tmp_path / "b.sqlite3")])
    make_store("after the backup")

    result = runner.invoke(args=["restore", str(tmp_path / "b.sqlite3")])

    assert result.exit_code == 0, result.output
    assert [row[:2] for row in rows(database_of(app), "store")] == [(kept, "before the backup")]


def test_restoring_a_first_release_backup_upgrades_it(tmp_path):
    old = fresh_app(tmp_path, "old.sqlite3")
    with old.app_context():
        [first] = revisions.scripts().get_bases()
        upgrade(revision=first)
        db.engine.dispose()
    fresh = fresh_app(tmp_path)

    result = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "old.sqlite3")])

    assert result.exit_code == 0, result.output
    assert rows(database_of(fresh), "alembic_version") == [(revisions.head(),)]
    assert rows(tmp_path / "old.sqlite3", "alembic_version") == [(first,)]  # left as it was


def corrupt_copy(source: Path, target: Path) -> Path:
    # A profile's name is stored in its table row and in the (store_id, name) index; changing
    # one copy leaves a file SQLite opens but whose integrity check finds the mismatch.
    data = source.read_bytes()
    assert data.count(b"alice") == 2
    target.write_bytes(data.replace(b"alice", b"alicf", 1))
    return target


def not_ours(tmp_path) -> Path:
    path = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        connection.commit()
    return path


def from_the_future(runner, tmp_path) -> Path:
    path = tmp_path / "future.sqlite3"
    runner.invoke(args=["backup", str(path)])
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
        connection.commit()
    return path


def only_a_version(tmp_path) -> Path:
    path = tmp_path / "empty.sqlite3"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES (?)", (revisions.head(),))
        connection.commit()
    return path


@pytest.mark.parametrize(
    ("make_bad_file", "reason"),
    [
        (lambda runner, tmp: tmp / "missing.sqlite3", "no such file"),
        (lambda runner, tmp: _write(tmp / "junk", b"not a database" * 300), "not a readable"),
        (
            lambda runner, tmp: corrupt_copy(_backup(runner, tmp), tmp / "corrupt.sqlite3"),
            "integrity",
        ),
        (lambda runner, tmp: not_ours(tmp), "no alembic_version"),
        (from_the_future, "not one this release knows"),
        (lambda runner, tmp: only_a_version(tmp), "not a POS session database"),
    ],
)
def test_restore_refuses_what_is_not_a_sound_backup_of_ours(
    app, runner, profile, tmp_path, make_bad_file, reason
):
    bad = make_bad_file(runner, tmp_path)
    before = rows(database_of(app), "store")

    result = runner.invoke(args=["restore", str(bad)])

    assert result.exit_code != 0
    assert reason in result.output
    assert rows(database_of(app), "store") == before
    assert not list(database_of(app).parent.glob(".restore-*"))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _backup(runner, tmp_path) -> Path:
    path = tmp_path / "good.sqlite3"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    return path


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://pos@db/pos", "sqlite://", "sqlite:///:memory:"]
)
def test_backup_and_restore_are_for_a_sqlite_file_only(url):
    with pytest.raises(BackupError, match="SQLite database file"):
        sqlite_file(url)


def test_a_database_that_stays_locked_is_a_clear_error(app, runner, tmp_path):
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = 50
    with closing(sqlite3.connect(database_of(app), isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")  # holds the lock a restore needs
        result = runner.invoke(args=["restore", str(_backup(runner, tmp_path))])

    assert result.exit_code == 1
    assert "Error: the database stayed locked" in result.output
