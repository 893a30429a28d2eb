"""Backups taken while gunicorn writes are consistent; restore refuses what is not ours."""

import os
import pty
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app import create_app, journal
from app.machinery import revisions
from app.machinery.backup import BackupError, sqlite_file
from app.machinery.extensions import db
from app.models import Store
from tests.helpers import CREATE, PASSWORD, ROOT, SECRET, close_shift, open_shift
from tests.journaling import a_day

PROFILES = 400


@pytest.fixture(autouse=True)
def sqlite_only(app):
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        pytest.skip("backup and restore are for SQLite; PostgreSQL has pg_dump and pg_restore")


def rows(path: Path, table: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def fresh_app(tmp_path, name="fresh.sqlite3"):
    journal_dir = tmp_path / f"journal-{name}"
    journal_dir.mkdir(exist_ok=True)
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / name}",
            "SECRET_KEY": SECRET,
            "TESTING": True,
            "JOURNAL_DIR": str(journal_dir),
        }
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

    result = fresh.test_cli_runner().invoke(
        args=["restore", "--keep-secret", str(tmp_path / "old.sqlite3")]
    )

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


def only_a_first_version(tmp_path) -> Path:
    path = tmp_path / "first.sqlite3"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('0001')")
        connection.commit()
    return path


def test_a_first_revision_file_without_tables_is_refused_in_one_line(app, runner, tmp_path):
    result = runner.invoke(args=["restore", "--keep-secret", str(only_a_first_version(tmp_path))])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [error] = [line for line in result.output.splitlines() if not line.startswith("INFO ")]
    assert error.startswith("Error: ")
    assert "not a POS session database (no such table" in error


def live_names(database: Path, tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "link.sqlite3").symlink_to(database)
    os.link(database, tmp_path / "hard.sqlite3")
    (tmp_path / "linked-folder").symlink_to(database.parent)
    return {
        "the file": database,
        "a relative path": Path(os.path.relpath(database)),
        "a symlink": tmp_path / "link.sqlite3",
        "a hard link": tmp_path / "hard.sqlite3",
        "through a linked folder": tmp_path / "linked-folder" / database.name,
        "its -wal": Path(f"{database}-wal"),
        "its -shm": Path(f"{database}-shm"),
        "its -journal": Path(f"{database}-journal"),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "the file",
        "a relative path",
        "a symlink",
        "a hard link",
        "through a linked folder",
        "its -wal",
        "its -shm",
        "its -journal",
    ],
)
def test_backup_refuses_the_live_database_before_writing_anything(
    app, runner, client, headers, store, tmp_path, kind
):
    database = database_of(app)
    assert client.get("/pos-session/profiles", headers=headers).status_code == 200  # -wal, -shm
    target = live_names(database, tmp_path)[kind]
    before = {p.name: p.read_bytes() for p in database.parent.glob("pos.sqlite3*")}

    result = runner.invoke(args=["backup", str(target)])

    assert result.exit_code == 1
    assert "is the live database (or one of its files)" in result.output
    assert {p.name: p.read_bytes() for p in database.parent.glob("pos.sqlite3*")} == before
    assert not list(tmp_path.rglob("*.partial"))
    assert client.get("/pos-session/profiles", headers=headers).status_code == 200


def test_backup_into_a_missing_folder_names_it(runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "x.sqlite3")])

    assert result.exit_code == 1
    assert f"folder {tmp_path / 'no' / 'such'} does not exist" in result.output


def test_a_backup_is_private_and_carries_the_secret_which_restore_leaves_out(app, runner, tmp_path):
    backup_file = _backup(runner, tmp_path)

    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    assert rows(backup_file, "pos_backup_secret") == [(SECRET,)]
    assert runner.invoke(args=["restore", str(backup_file)]).exit_code == 0
    with closing(sqlite3.connect(database_of(app))) as live:
        names = {row[0] for row in live.execute("SELECT name FROM sqlite_master")}
    assert "pos_backup_secret" not in names


def test_restore_never_revives_a_revoked_token(app, runner, client, store, make_token, tmp_path):
    token = make_token(store)
    headers = {"Authorization": f"Bearer {token}", "x-store-id": store}
    backup_file = _backup(runner, tmp_path)
    with app.app_context():
        [jti] = [row[0] for row in rows(database_of(app), "api_token")]
    assert runner.invoke(args=["token", "revoke", jti]).exit_code == 0  # stolen, say

    assert runner.invoke(args=["restore", str(backup_file)]).exit_code == 0

    response = client.get("/pos-session/profiles", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["message"] == "Token has been revoked"


def box(tmp_path, monkeypatch, name):
    """An app as deployed: its own instance folder, the secret generated there."""
    monkeypatch.delenv("POS_SECRET_KEY", raising=False)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / name))
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / name / 'pos.sqlite3'}", "TESTING": True}
    app = create_app(config)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


def test_restore_on_a_new_box_installs_the_secret_the_backup_was_made_with(tmp_path, monkeypatch):
    old = box(tmp_path, monkeypatch, "old")
    store = old.test_cli_runner().invoke(args=["store", "create", "Main"]).stdout.strip()
    token = old.test_cli_runner().invoke(args=["token", "issue", "--store", store]).stdout.strip()
    backup_file = _backup(old.test_cli_runner(), tmp_path)
    new = box(tmp_path, monkeypatch, "new")
    assert new.config["SECRET_KEY"] != old.config["SECRET_KEY"]

    result = new.test_cli_runner().invoke(args=["restore", str(backup_file)])

    assert result.exit_code == 0, result.output
    assert "signing secret restored from the backup" in result.output
    assert (tmp_path / "new" / "secret_key").read_text() == old.config["SECRET_KEY"]
    restarted = create_app({"DATABASE_URL": new.config["DATABASE_URL"], "TESTING": True})
    headers = {"Authorization": f"Bearer {token}", "x-store-id": store}
    assert restarted.test_client().get("/pos-session/profiles", headers=headers).status_code == 200


def test_restore_refuses_a_secret_other_than_pos_secret_key_unless_told(tmp_path):
    made_elsewhere = fresh_app(tmp_path, "elsewhere.sqlite3")
    with made_elsewhere.app_context():
        upgrade()
    backup_file = _backup(made_elsewhere.test_cli_runner(), tmp_path)
    here = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'here.sqlite3'}",
            "SECRET_KEY": "h" * 32,
            "JOURNAL_DIR": str(tmp_path),
        }
    )

    refused = here.test_cli_runner().invoke(args=["restore", str(backup_file)])
    kept = here.test_cli_runner().invoke(args=["restore", "--keep-secret", str(backup_file)])

    assert refused.exit_code == 1
    assert "made with another signing secret than POS_SECRET_KEY" in refused.output
    assert kept.exit_code == 0, kept.output


def another_box_s_backup(tmp_path) -> tuple[Path, str]:
    """A backup of another box, whose one store has a shift journaled; and that store."""
    other = fresh_app(tmp_path, "other.sqlite3")
    other.config["BCRYPT_ROUNDS"] = 4  # the cashier's password checked within the budget
    with other.app_context():
        upgrade()
    cli = other.test_cli_runner()
    store = cli.invoke(args=["store", "create", "Elsewhere"]).stdout.strip()
    create = ["profile", "create", "--store", store, "--password", PASSWORD, "ana"]
    profile = cli.invoke(args=create).stdout.strip()
    token = cli.invoke(args=["token", "issue", "--store", store]).stdout.strip()
    a_day(other.test_client(), {"Authorization": f"Bearer {token}", "x-store-id": store}, profile)
    backup_file = tmp_path / "other-box.sqlite3"
    assert cli.invoke(args=["backup", str(backup_file)]).exit_code == 0
    return backup_file, store


def test_another_box_s_backup_is_refused_unless_told_to_start_a_new_signed_head(
    app, runner, client, headers, profile, store, tmp_path
):
    a_day(client, headers, profile)  # this box signs its store at seq 5
    folder = Path(app.config["JOURNAL_DIR"])
    signed = (folder / journal.HEAD_FILE).read_bytes()
    backup_file, theirs = another_box_s_backup(tmp_path)

    refused = runner.invoke(args=["restore", str(backup_file)])

    assert refused.exit_code == 1
    assert (
        f"Error: restoring {backup_file} would break the journal's signed head "
        f"({folder / journal.HEAD_FILE}): store {store} (signed at seq 5) is not in it. If this "
        "backup is to be the box's journal from now on (another box's backup, say), restore it "
        "with --new-head: the signed head is then kept beside it as journal_head.json.<UTC "
        "time> and the backup's heads are signed as a new one\n"
    ) in refused.output
    assert [row[0] for row in rows(database_of(app), "store")] == [store]
    assert (folder / journal.HEAD_FILE).read_bytes() == signed

    accepted = runner.invoke(args=["restore", "--new-head", str(backup_file)])

    assert accepted.exit_code == 0, accepted.output
    [archived] = folder.glob(f"{journal.HEAD_FILE}.*")
    assert archived.read_bytes() == signed
    assert (
        f"the journal's signed head was started anew; the old one is kept as {archived}"
        in accepted.output
    )
    verified = runner.invoke(args=["journal", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "1 store(s), 5 entries" in verified.stdout
    assert "1 store(s) checked against the signed head" in verified.stdout
    [started] = journal.head_log(str(folder))
    assert started["reason"] == f"restore of {backup_file}"
    assert (started["archived"], started["previous"]) == (archived.name, {store: 5})
    assert started["heads"] == {theirs: 5}


def in_a_terminal(args: list[str], env: dict) -> tuple[int, str]:
    """Run ``flask --app wsgi ARGS`` as an admin does, stderr on a terminal (a pseudo one);
    returns its exit status and what it wrote there."""
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal's other end closed: the process is done
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    return process.wait(timeout=60), seen.decode(errors="replace")


def test_long_commands_show_progress_in_a_terminal_and_none_in_scripts(
    app, client, headers, profile, tmp_path
):
    for _ in range(3):
        open_shift(client, headers, profile)
        close_shift(client, headers, profile)
    journal_dir = app.config["JOURNAL_DIR"]  # the in-process shifts signed their heads there
    env = {
        "PATH": os.environ["PATH"],
        "POS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "POS_SECRET_KEY": SECRET,
        "POS_JOURNAL_DIR": journal_dir,
    }
    with app.app_context():
        store = db.session.scalar(select(Store.id))
    backup_file = tmp_path / "b.sqlite3"
    commands = {
        "backing up": ["backup", str(backup_file)],
        "verifying": ["journal", "verify"],
        "exporting": ["journal", "export", "--store", store, str(tmp_path / "e.jsonl")],
        "restoring": ["restore", str(backup_file)],
    }
    for label, args in commands.items():
        status, shown = in_a_terminal(args, env)
        assert status == 0, shown
        # click's bar: the label, the count done of the whole, and the estimate
        assert re.search(rf"{label}.*\d+/\d+", shown), shown

        quiet = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert quiet.returncode == 0, quiet.stderr
        assert label not in quiet.stderr
