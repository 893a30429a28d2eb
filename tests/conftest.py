import atexit
import sqlite3
from contextlib import closing
from uuid import uuid4

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, make_url

from app import create_app
from app.api.auth import issue_token
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PosProfile, Store
from app.people import managers
from app.people.passwords import hash_password
from tests.helpers import (
    MANAGER,
    MANAGER_PASSWORD,
    PASSWORD,
    POSTGRES_URL,
    SECRET,
    LiveServer,
    kill_all,
    left_behind,
)

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session", autouse=True)
def nothing_left_running(tmp_path_factory):
    """The run fails if a process it started outlives it (a server not stopped, an nginx worker
    whose master was killed, any child of this process); those are killed first."""
    yield
    left = kill_all(left_behind(tmp_path_factory.getbasetemp()))
    assert not left, "left running by the tests:\n" + "\n".join(map(str, left))


def _migrate(database_url, journal_dir):
    config = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "JOURNAL_DIR": str(journal_dir)}
    app = create_app({"TESTING": True, **config})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """The migrations, run once per session into a database each test copies (replaying
    eight migrations per test was most of the suite's set-up time)."""
    if not POSTGRES_URL:
        folder = tmp_path_factory.mktemp("template")
        path = folder / "pos.sqlite3"
        _migrate(f"sqlite:///{path}", folder)
        yield path
        return
    import psycopg

    name = f"pos_template_{uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    _migrate(url, tmp_path_factory.mktemp("template"))
    yield name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(tmp_path, template_database):
    """A new database for each test, at the latest schema and empty."""
    if not POSTGRES_URL:
        # A real file, not :memory:, so WAL and locking behave as in production; copied
        # with SQLite's backup API, so the copy is whole whatever the template's WAL holds.
        path = tmp_path / "pos.sqlite3"
        with closing(sqlite3.connect(template_database)) as source:
            with closing(sqlite3.connect(path)) as copy:
                source.backup(copy)
        yield f"sqlite:///{path}"
        return
    import psycopg

    name = f"pos_test_{uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def app(database_url, tmp_path):
    # The journal's key and signed head in the test's own folder: in the shared instance
    # folder one test's signed head would hold stores another test's database never had.
    journal_dir = tmp_path / "journal"
    journal_dir.mkdir(exist_ok=True)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "BCRYPT_ROUNDS": 4,
            "JOURNAL_DIR": str(journal_dir),
        }
    )
    yield app
    signer = app.extensions.get("pos_journal_signer")
    if signer:  # signs into the test's folder now, not at exit, when it may be gone
        signer.sign()
        atexit.unregister(signer.sign)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def sql_log(app):
    """What the app sends to the database: each statement (one line, upper case) and a
    "COMMIT" per commit. Clear it before the request under test."""
    seen = []

    def statement(conn, cursor, text, *args):
        seen.append(" ".join(text.split()).upper())

    def commit(conn):
        seen.append("COMMIT")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    yield seen
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "commit", commit)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def insert(app, row) -> str:
    with app.app_context():
        db.session.add(row)
        db.session.commit()
        return row.id


@pytest.fixture
def make_store(app):
    return lambda name="Main Street": insert(app, Store(name=name))


@pytest.fixture
def make_profile(app):
    def make(store_id, name="alice", password=PASSWORD):
        hashed = hash_password(password, 4)
        return insert(app, PosProfile(store_id=store_id, name=name, password_hash=hashed))

    return make


@pytest.fixture
def make_token(app):
    def make(*store_ids, name="terminal-1", days=365):
        with app.app_context():
            return issue_token(list(store_ids), name, days)

    return make


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def profile(make_profile, store):
    return make_profile(store)


@pytest.fixture
def headers(make_token, store):
    return {"Authorization": f"Bearer {make_token(store)}", "x-store-id": store}


@pytest.fixture
def open_body(profile):
    return {"profileId": profile, "openningCash": 15000, "password": PASSWORD}


@pytest.fixture
def live_server(app, tmp_path):
    server = LiveServer(app, tmp_path / "gunicorn.log")
    yield server
    server.stop()


@pytest.fixture
def manager(app, store):
    with app.app_context():
        return managers.create(UnitOfWork(), MANAGER, MANAGER_PASSWORD, store_ids=[store])
