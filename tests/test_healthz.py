"""GET /healthz: 200 only when the database answers and is at this release's schema."""

from sqlalchemy import text

from app import create_app, revisions
from app.extensions import db
from tests.helpers import SECRET


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


def test_503_when_the_database_cannot_be_reached(tmp_path, caplog):
    missing = tmp_path / "missing-dir" / "pos.sqlite3"
    unreachable = create_app({"DATABASE_URL": f"sqlite:///{missing}", "SECRET_KEY": SECRET})

    response = unreachable.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"message": "Database unavailable", "statusCode": 503}
    # The reason is in the server's log, not in the answer.
    assert "unable to open database file" in caplog.text
