"""What the hot path keeps per worker never changes an answer."""

import json
from datetime import datetime

from flask import request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import create_engine, literal, select

from app.api.schemas import ProfileSchema, RowsShapedOnce


def test_rows_shaped_once_answer_what_the_schema_would_for_every_change(app):
    schema = ProfileSchema()
    shaped = RowsShapedOnce(schema, size=2)
    engine = create_engine("sqlite://")

    def row(name="alice", open_session_id=None):
        columns = {
            "id": "p1",
            "store_id": "s1",
            "name": name,
            "created_at": datetime(2026, 1, 1),
            "updated_at": datetime(2026, 1, 1),
            "open_session_id": open_session_id,
            "is_opened": open_session_id is not None,
        }
        with engine.connect() as connection:
            return connection.execute(
                select(*(literal(value).label(key) for key, value in columns.items()))
            ).one()

    first, opened, renamed = row(), row(open_session_id="x1"), row(name="bob")
    with app.app_context():
        for rows in ([first], [first, opened], [opened, renamed, first], [renamed], []):
            expected = [schema.dump(r._mapping) for r in rows]
            assert json.loads(shaped.json(rows)) == expected
            assert shaped.json(rows) == app.json.dumps(expected)  # the same bytes


def test_a_session_cookie_still_opens_as_with_flask_own_interface(app):
    signed = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"user": "x"})
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/backoffice/", headers={"Cookie": f"{name}={signed}"}):
        assert dict(app.session_interface.open_session(app, request)) == {"user": "x"}
    with app.test_request_context("/backoffice/", headers={"Cookie": f"{name}=forged"}):
        assert dict(app.session_interface.open_session(app, request)) == {}
    with app.test_request_context():
        assert dict(app.session_interface.open_session(app, request)) == {}
