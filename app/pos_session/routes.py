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
    """Open a cash session for a profile, checked by the profile's password.
    ---
    post:
      summary: Open a session
      description: >
        A profile has at most one open session. Send the opening cash as `openningCash` (the
        reference spelling) or `openingCash`; sending both with different values is refused.
        Checks run in this order: body, profile in this store, password, no session open.
      tags: [pos-session]
      requestBody:
        required: true
        content:
          application/json:
            schema: CreateSessionSchema
            example:
              profileId: zty59yo3tsz0uv5tacg1i5my
              openningCash: 15000
              password: profile-password
      responses:
        200:
          description: The session was opened.
          content:
            application/json:
              schema: CreateSessionResponse
        400:
          description: >
            `Missing data`, `Invalid value for <fields>`, `Profile not found`,
            `Session already open`, `Store ID is required`, or a body that is not JSON.
        401:
          description: "`Invalid password`, or a missing, invalid, expired or revoked token."
    """
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
    """Whether a profile has an open session, and which.
    ---
    get:
      summary: Session status of a profile
      description: An unknown profile, or one of another store, has no open session.
      tags: [pos-session]
      responses:
        200:
          description: The open session, or `hasOpenSession` false and `session` null.
          content:
            application/json:
              schema: SessionStatusResponse
    """
    session = service.current_session(g.store_id, profile_id)
    return SessionStatusResponse().dump(
        {"has_open_session": session is not None, "session": session}
    )


@bp.get("/current-session/<profile_id>")
@store_scoped
def current_session(profile_id):
    """The open session of a profile.
    ---
    get:
      summary: Current session of a profile
      description: An unknown profile, or one of another store, has no open session.
      tags: [pos-session]
      responses:
        200:
          description: The open session in `data`, or `data` null.
          content:
            application/json:
              schema: CurrentSessionResponse
    """
    session = service.current_session(g.store_id, profile_id)
    return CurrentSessionResponse().dump({"success": True, "data": session})


@bp.get("/profiles")
@store_scoped
def profiles():
    """Every profile of the store, oldest first, with its open session if any.
    ---
    get:
      summary: Profiles of the store
      tags: [pos-session]
      responses:
        200:
          description: A bare array of profiles; never a password hash.
          content:
            application/json:
              schema:
                type: array
                items: ProfileSchema
    """
    return ProfileSchema(many=True).dump(service.profiles_with_status(g.store_id))
