"""Thin views: parse with a schema, call the service, shape the answer with a schema."""

from flask import g, request

from ..auth import store_scoped
from . import bp, service
from .schemas import (
    CreateSessionResponse,
    CreateSessionSchema,
    CurrentSessionResponse,
    SessionStatusResponse,
    dump_profiles,
)

# Built once: a schema keeps no state between dumps, and building one (deep-copying its
# fields, and its nested schemas on first use) cost more than the dump itself.
create_session_body = CreateSessionSchema()
create_session_response = CreateSessionResponse()
session_status_response = SessionStatusResponse()
current_session_response = CurrentSessionResponse()


def json_body() -> dict:
    return request.get_json()


@bp.post("/create-session")
@store_scoped
def create_session():
    body = create_session_body.load(json_body())
    opened = service.open_session(
        g.store_id, body["profile_id"], body["password"], body["opening_cash"], g.actor
    )
    return create_session_response.dump(
        {"message": "session has been started", "success": True, "data": [opened]}
    )


@bp.get("/session-status/<profile_id>")
@store_scoped
def session_status(profile_id):
    session = service.current_session(g.store_id, profile_id)
    return session_status_response.dump(
        {"has_open_session": session is not None, "session": session}
    )


@bp.get("/current-session/<profile_id>")
@store_scoped
def current_session(profile_id):
    session = service.current_session(g.store_id, profile_id)
    return current_session_response.dump({"success": True, "data": session})


@bp.get("/profiles")
@store_scoped
def profiles():
    return dump_profiles(service.profiles_with_status(g.store_id))
