"""What the hot path keeps per worker never changes an answer."""

from datetime import datetime

from flask import request
from flask.sessions import SecureCookieSessionInterface

from app.pos_session.schemas import ProfileSchema, RowsShapedOnce


def test_rows_shaped_once_answer_what_the_schema_would_for_every_change():
    schema = ProfileSchema()
    shaped = RowsShapedOnce(schema, size=2)
    row = {
        "id": "p1",
        "store_id": "s1",
        "name": "alice",
        "created_at": datetime(2026, 1, 1),
        "updated_at": datetime(2026, 1, 1),
        "open_session_id": None,
        "is_opened": False,
    }
    opened = {**row, "open_session_id": "x1", "is_opened": True}
    renamed = {**row, "name": "bob"}

    for rows in ([row], [row, opened], [opened, renamed, row], [renamed]):
        assert shaped.dump(rows) == [schema.dump(r) for r in rows]


def test_a_session_cookie_still_opens_as_with_flask_own_interface(app):
    signed = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"user": "x"})
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/backoffice/", headers={"Cookie": f"{name}={signed}"}):
        assert dict(app.session_interface.open_session(app, request)) == {"user": "x"}
    with app.test_request_context("/backoffice/", headers={"Cookie": f"{name}=forged"}):
        assert dict(app.session_interface.open_session(app, request)) == {}
    with app.test_request_context():
        assert dict(app.session_interface.open_session(app, request)) == {}
