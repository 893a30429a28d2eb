"""Thin views: parse with a schema, call the service, shape the answer with a schema."""

from flask import g, request

from ..auth import store_scoped
from . import bp, service
from .schemas import (
    CreateSessionResponse,
    CreateSessionSchema,
    CurrentSessionResponse,
    ProfileSchema,
    SessionStatusResponse,
)


def json_body() -> dict:
    return request.get_json()


@bp.post("/create-session")
@store_scoped
def create_session():
    body = CreateSessionSchema().load(json_body())
    opened = service.open_session(
        g.store_id, body["profile_id"], body["password"], body["opening_cash"], g.actor
    )
    return CreateSessionResponse().dump(
        {"message": "session has been started", "success": True, "data": [opened]}
    )


@bp.get("/session-status/<profile_id>")
@store_scoped
def session_status(profile_id):
    session = service.current_session(g.store_id, profile_id)
    return SessionStatusResponse().dump(
        {"has_open_session": session is not None, "session": session}
    )


@bp.get("/current-session/<profile_id>")
@store_scoped
def current_session(profile_id):
    session = service.current_session(g.store_id, profile_id)
    return CurrentSessionResponse().dump({"success": True, "data": session})


@bp.get("/profiles")
@store_scoped
def profiles():
    return ProfileSchema(many=True).dump(service.profiles_with_status(g.store_id))
