"""GET /healthz: 200 only when the database answers and is at this release's schema."""

from sqlalchemy import text

from app import create_app
from app.machinery import revisions
from app.machinery.extensions import db
from tests.helpers import SECRET, sqlite_only


def test_ok_without_auth(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "schema": revisions.head()}


def test_503_when_the_schema_is_behind(app, client):
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = 'old'"))
        db.session.commit()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {
        "message": f"Database schema is at old, expected {revisions.head()}: run init-db",
        "statusCode": 503,
    }


def test_503_when_the_database_was_never_initialised(app, client):
    with app.app_context():
        db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert "no revision" in response.get_json()["message"]


def test_503_when_the_database_file_is_missing(tmp_path):
    missing = tmp_path / "pos.sqlite3"
    unreachable = create_app({"DATABASE_URL": f"sqlite:///{missing}", "SECRET_KEY": SECRET})

    response = unreachable.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {
        "message": "Database file is missing: restore a backup or run init-db",
        "statusCode": 503,
    }
    assert not missing.exists()  # the server never creates the database; init-db does


def test_503_when_the_file_is_not_a_database(tmp_path, caplog):
    junk = tmp_path / "pos.sqlite3"
    junk.write_bytes(b"not a database" * 300)
    unreadable = create_app({"DATABASE_URL": f"sqlite:///{junk}", "SECRET_KEY": SECRET})

    response = unreadable.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"message": "Database is corrupt", "statusCode": 503}
    assert "file is not a database" in caplog.text  # the details are in the server's log


@sqlite_only
def test_503_when_quick_check_finds_broken_pages(app, client, make_store):
    for i in range(300):
        make_store(f"store number {i:04d} " + "x" * 200)
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with app.app_context():
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        root = db.session.execute(text("SELECT rootpage FROM sqlite_master WHERE name='store'"))
        page = root.scalar_one()
        db.engine.dispose()
    with open(path, "r+b") as f:  # garbage over the header of the store table's first page
        f.seek((page - 1) * 4096)
        f.write(b"\xff" * 16)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"message": "Database is corrupt", "statusCode": 503}


def test_the_database_checks_run_on_a_schedule_not_on_every_call(app, client):
    assert client.get("/healthz").status_code == 200
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = 'old'"))
        db.session.commit()

    assert client.get("/healthz").status_code == 200  # the verdict of a moment ago
    app.config["HEALTH_CHECK_INTERVAL_SECONDS"] = 0
    assert client.get("/healthz").status_code == 503
