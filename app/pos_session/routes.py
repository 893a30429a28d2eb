"""Thin views: parse with a schema, call the service, shape the answer with a schema.

Each view's docstring ends in its OpenAPI operation (after ``---``): what only it can say. The
document adds the rest: path parameters, tags, and from ``@idempotent`` and ``@raises`` the
Idempotency-Key header and the error responses, read from the error table.
"""

from flask import Blueprint, current_app, g, request

from ..auth import store_scoped
from ..conditional import conditional
from ..database import single_statement
from ..errors import raises
from ..exceptions import (
    NoOpenSession,
    ProfileDisabled,
    ProfileNotFound,
    SessionAlreadyOpen,
    SessionClosed,
    SessionNotFound,
)
from ..idempotency import idempotent
from ..passwords import PASSWORD_CHECK_ERRORS
from . import queries, service
from .schemas import (
    CashMovementResponse,
    CashMovementSchema,
    CloseSessionResponse,
    CloseSessionSchema,
    CreateSessionResponse,
    CreateSessionSchema,
    CurrentSessionResponse,
    HistoryQuerySchema,
    ProfileSchema,
    RowsShapedOnce,
    SessionHistoryResponse,
    SessionReportResponse,
    SessionStatusResponse,
)

# Built once per worker: a schema keeps no state between calls, and building one (copying its
# fields) cost more than dumping a reference endpoint's answer.
cash_movement_response = CashMovementResponse()
cash_movement_schema = CashMovementSchema()
close_session_response = CloseSessionResponse()
close_session_schema = CloseSessionSchema()
create_session_response = CreateSessionResponse()
create_session_schema = CreateSessionSchema()
current_session_response = CurrentSessionResponse()
history_query_schema = HistoryQuerySchema()
session_history_response = SessionHistoryResponse()
session_report_response = SessionReportResponse()
session_status_response = SessionStatusResponse()
profile_list = RowsShapedOnce(ProfileSchema())

bp = Blueprint("pos_session", __name__, url_prefix="/pos-session")


def json_body() -> dict:
    return request.get_json()


@bp.post("/create-session")
@store_scoped
@idempotent
@raises(ProfileNotFound, ProfileDisabled, *PASSWORD_CHECK_ERRORS, SessionAlreadyOpen)
def create_session(uow):
    """Open a cash session for a profile, checked by the profile's password.
    ---
    post:
      summary: Open a session
      description: >
        A profile has at most one open session. Send the opening cash as `openningCash` (the
        reference spelling) or `openingCash`; sending both with different values is refused.
        Checks run in this order: body, profile in this store, profile enabled, password, no
        session open.
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
    """
    body = create_session_schema.load(json_body())
    opened = service.open_session(uow, g.store_id, g.actor, **body)
    return create_session_response.dump(
        {"message": "session has been started", "success": True, "data": [opened]}
    )


@bp.post("/close-session")
@store_scoped
@idempotent
@raises(ProfileNotFound, *PASSWORD_CHECK_ERRORS, NoOpenSession)
def close_session(uow):
    """Close the profile's open session with the counted cash.
    ---
    post:
      summary: Close the open session with the counted cash (a blind count)
      description: >
        The answer reveals the expected cash (opening + sales - refunds + pay-ins - pay-outs)
        and the difference (counted - expected). A disabled profile can still close the session
        it has open. A retry with the same Idempotency-Key and body replays the first answer.
      requestBody:
        required: true
        content:
          application/json:
            schema: CloseSessionSchema
      responses:
        200:
          description: Session closed
          content:
            application/json:
              schema: CloseSessionResponse
    """
    body = close_session_schema.load(json_body())
    closed = service.close_session(uow, g.store_id, g.actor, **body)
    return close_session_response.dump(
        {"message": "session has been closed", "success": True, "data": closed}
    )


@bp.post("/sessions/<session_id>/cash-movements")
@store_scoped
@idempotent
@raises(SessionNotFound, SessionClosed)
def record_cash_movement(session_id, uow):
    """Record cash in or out of an open session's drawer.
    ---
    post:
      summary: Record a sale, refund, pay-in or pay-out in cash
      description: The amount is positive; the type gives the sign in the expected cash.
      requestBody:
        required: true
        content:
          application/json:
            schema: CashMovementSchema
      responses:
        201:
          description: Movement recorded
          content:
            application/json:
              schema: CashMovementResponse
    """
    body = cash_movement_schema.load(json_body())
    movement = service.record_movement(uow, g.store_id, g.actor, session_id, **body)
    answer = {"message": "cash movement recorded", "success": True, "data": movement}
    return cash_movement_response.dump(answer), 201


@bp.get("/sessions")
@conditional
@store_scoped
def session_history():
    """The store's sessions, newest first, a page at a time.
    ---
    get:
      summary: Session history with filters and cursor pagination
      description: >
        Pass the answer's nextCursor as cursor to get the next page; null means the last page.
        Sessions created while paging never shift or repeat a page.
      parameters:
        - {in: query, schema: HistoryQuerySchema}
      responses:
        200:
          description: One page of sessions, each with its closing (null while open)
          content:
            application/json:
              schema: SessionHistoryResponse
    """
    query = history_query_schema.load(request.args.to_dict())
    page, next_cursor = queries.session_history(g.store_id, **query)
    return session_history_response.dump(
        {"success": True, "data": page, "next_cursor": next_cursor}
    )


@bp.get("/sessions/<session_id>")
@conditional
@store_scoped
@raises(SessionNotFound)
def session_report(session_id):
    """One session with its closing, its movements and its cash summary.
    ---
    get:
      summary: A session's X-report (while open) or Z-report (once closed)
      responses:
        200:
          description: >
            The session, its movements oldest first, and the summary; closingCash and
            difference are null while the session is open
          content:
            application/json:
              schema: SessionReportResponse
    """
    report = queries.session_report(g.store_id, session_id)
    return session_report_response.dump({"success": True, "data": report})


@bp.get("/session-status/<profile_id>")
@conditional
@single_statement
@store_scoped
def session_status(profile_id):
    """Whether a profile has an open session, and which.
    ---
    get:
      summary: Session status of a profile
      description: An unknown profile, or one of another store, has no open session.
      responses:
        200:
          description: The open session, or `hasOpenSession` false and `session` null.
          content:
            application/json:
              schema: SessionStatusResponse
    """
    session = queries.current_session(g.store_id, profile_id)
    return session_status_response.dump(
        {"has_open_session": session is not None, "session": session}
    )


@bp.get("/current-session/<profile_id>")
@conditional
@single_statement
@store_scoped
def current_session(profile_id):
    """The open session of a profile.
    ---
    get:
      summary: Current session of a profile
      description: An unknown profile, or one of another store, has no open session.
      responses:
        200:
          description: The open session in `data`, or `data` null.
          content:
            application/json:
              schema: CurrentSessionResponse
    """
    session = queries.current_session(g.store_id, profile_id)
    return current_session_response.dump({"success": True, "data": session})


@bp.get("/profiles")
@conditional
@single_statement
@store_scoped
def profiles():
    """Every enabled profile of the store, oldest first, with its open session if any.
    ---
    get:
      summary: Profiles of the store
      description: A disabled profile is left out (it cannot open a session).
      responses:
        200:
          description: A bare array of profiles; never a password hash.
          content:
            application/json:
              schema:
                type: array
                items: ProfileSchema
    """
    body = queries.profile_list(g.store_id, profile_list.json)
    return current_app.response_class(body, mimetype="application/json")
