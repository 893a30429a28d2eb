"""Thin views: ``@operation`` loads the input and shapes the answer with the schemas it
declares, and the view calls the service in between.

The declaration is also the view's OpenAPI operation: what only it can say. The document adds
the rest: path parameters, tags, and from ``@idempotent`` and ``@raises`` the Idempotency-Key
header and the error responses, read from the error table.
"""

from flask import Blueprint, current_app, g
from flask_jwt_extended import get_jwt

from ..errors import raises
from ..exceptions import (
    AlreadyOnSession,
    DrawerHeldByAnother,
    DrawerWouldGoNegative,
    HolderCannotLeave,
    NoOpenSession,
    NotOnSession,
    OnAnotherSession,
    ProfileDisabled,
    ProfileNotFound,
    SessionAlreadyOpen,
    SessionClosed,
    SessionNotFound,
    TenderDisabled,
    UnknownDenomination,
    UnknownReason,
    UnknownTender,
)
from ..machinery.database import single_statement
from ..people.passwords import PASSWORD_CHECK_ERRORS
from ..sessions import attendants, queries, service
from ..stores import store_tenders
from .auth import store_scoped
from .conditional import conditional
from .idempotency import idempotent
from .operation import operation
from .schemas import (
    AttendanceResponse,
    CashMovementResponse,
    CashMovementSchema,
    CloseSessionResponse,
    CloseSessionSchema,
    CreateSessionResponse,
    CreateSessionSchema,
    CurrentSessionResponse,
    HandoverSchema,
    HistoryQuerySchema,
    JoinSessionSchema,
    ProfileSchema,
    RowsShapedOnce,
    SessionHistoryResponse,
    SessionReportResponse,
    SessionStatusResponse,
    TendersResponse,
    count_not_the_amount,
)

# Schemas are built once per worker, in the declarations: a schema keeps no state between
# calls, and building one (copying its fields) cost more than dumping a reference endpoint's
# answer.
profile_list = RowsShapedOnce(ProfileSchema(many=True))

bp = Blueprint("pos_session", __name__, url_prefix="/pos-session")


@bp.post("/create-session")
@store_scoped
@idempotent
@raises(
    UnknownDenomination,
    ProfileNotFound,
    ProfileDisabled,
    *PASSWORD_CHECK_ERRORS,
    SessionAlreadyOpen,
)
@operation(
    "Open a session",
    description="A profile has at most one open session. Send the opening cash as "
    "`openningCash` (the reference spelling) or `openingCash`; sending both with different "
    "values is refused. `cashCount` counts the drawer by note and coin: its sum must equal the "
    "opening cash, or gives it when that is not sent. Checks run in this order: body, the "
    "count's notes and coins, profile in this store, profile enabled, password, no session "
    "open. The answer's `discrepancyAtStart` is the opening cash minus the float left in the "
    "drawer by this terminal's (this token's) last closed session: null when there is none or "
    "it left no float.\n",
    body=CreateSessionSchema(),
    also={400: f"`{count_not_the_amount('openningCash')}`"},
    example={
        "profileId": "zty59yo3tsz0uv5tacg1i5my",
        "openningCash": 15000,
        "password": "profile-password",
    },
    answer=CreateSessionResponse(),
    answered="The session was opened.",
)
def create_session(uow, body):
    """Open a cash session for a profile, checked by the profile's password."""
    # The terminal is the token: its drawer's float is compared at the next opening.
    opened = service.open_session(uow, g.store_id, g.actor, terminal=get_jwt()["jti"], **body)
    return {"message": "session has been started", "success": True, "data": [opened]}


@bp.post("/close-session")
@store_scoped
@idempotent
@raises(
    UnknownDenomination,
    ProfileNotFound,
    *PASSWORD_CHECK_ERRORS,
    NoOpenSession,
    DrawerHeldByAnother,
    UnknownTender,
    TenderDisabled,
)
@operation(
    "Close the open session with the counted cash (a blind count)",
    description="The answer reveals the expected cash (opening + sales - refunds + pay-ins - "
    "pay-outs, in cash) and the difference (counted - expected). `countedTenders` counts "
    "the other tenders, by code; the closing's `tenders` lists each with its expected total, "
    "its count and difference (null: not counted). `cashCount` counts the cash by note and "
    "coin: its sum must equal `closingCash`, or gives it when that is not sent. `floatLeft` "
    "is the cash left in the drawer for the next opening (at most `closingCash`); the "
    "closing's `toSafe` is the rest, dropped to the safe. A count "
    "names a tender of the store that is enabled or that the session moved. A disabled "
    "profile can still close the session it has open. The profile closes the session whose "
    "drawer it holds: the one it opened, unless it handed it over (then 409), or one handed "
    "to it. A retry with the same Idempotency-Key and body replays the first answer.\n",
    body=CloseSessionSchema(),
    also={400: f"`{count_not_the_amount('closingCash')}`"},
    answer=CloseSessionResponse(),
    answered="Session closed",
)
def close_session(uow, body):
    """Close the profile's open session with the counted cash."""
    closed = service.close_session(uow, g.store_id, g.actor, **body)
    return {"message": "session has been closed", "success": True, "data": closed}


@bp.post("/sessions/<session_id>/cash-movements")
@store_scoped
@idempotent
@raises(
    SessionNotFound,
    SessionClosed,
    NotOnSession,
    UnknownTender,
    TenderDisabled,
    UnknownReason,
    DrawerWouldGoNegative,
)
@operation(
    "Record a sale, refund, pay-in, pay-out, drop or no-sale, in cash or another tender",
    description="The amount is positive; the type gives the sign. `tender` (default cash) "
    "names an enabled tender of the store; only cash moves the expected cash, the others "
    "their own expected total. A `drop` takes cash from the drawer to the safe (it lowers the "
    "expected cash, and cannot take more than the drawer should hold) and says why in "
    "`reason`. A `no_sale` is the drawer opened without a sale: no amount (or 0), a `reason`, "
    "and nothing changes in the expected cash. Both are the drawer's, so cash only. A "
    "`pay_in` or `pay_out` may name one of the store's reasons. `attendantId` names the cashier "
    "on the session who made it (the drawer's holder if absent).\n",
    body=CashMovementSchema(),
    answer=CashMovementResponse(),
    answered="Movement recorded",
    status=201,
)
def record_cash_movement(session_id, uow, body):
    """Record cash in or out of an open session's drawer."""
    movement = service.record_movement(uow, g.store_id, g.actor, session_id, **body)
    return {"message": "cash movement recorded", "success": True, "data": movement}


# Several cashiers on one drawer (app.sessions.attendants).
TAKING_PART = (
    SessionNotFound,
    SessionClosed,
    ProfileNotFound,
    ProfileDisabled,
    *PASSWORD_CHECK_ERRORS,
    AlreadyOnSession,
    OnAnotherSession,
)


@bp.post("/sessions/<session_id>/attendants")
@store_scoped
@idempotent
@raises(*TAKING_PART)
@operation(
    "Join an open session as another cashier",
    description="Another cashier of the store joins the session with its own password (the "
    "same lockout and bcrypt budget as create-session); its movements name it in "
    "`attendantId`. A profile is on one open session at most: the one it opened (until it is "
    "closed), or one it holds or attends. Checks run in this order: body, session open, "
    "profile in this store, profile enabled, password, not on this session, not on another.\n",
    body=JoinSessionSchema(),
    answer=AttendanceResponse(),
    answered="Joined",
    status=201,
)
def join_session(session_id, uow, body):
    """Another cashier joins the session."""
    joined = attendants.join(uow, g.store_id, g.actor, session_id, **body)
    return {"message": "attendant joined", "success": True, "data": joined}


@bp.post("/sessions/<session_id>/attendants/<profile_id>/leave")
@store_scoped
@idempotent
@raises(SessionNotFound, SessionClosed, ProfileNotFound, HolderCannotLeave, NotOnSession)
@operation(
    "Leave a session a cashier joined",
    description="No body and no password: leaving takes nothing away. The drawer's holder "
    "leaves by a handover (or by closing the session).\n",
    answer=AttendanceResponse(),
    answered="Left",
    status=201,
)
def leave_session(session_id, profile_id, uow):
    """An attendant leaves the session."""
    left = attendants.leave(uow, g.store_id, g.actor, session_id, profile_id)
    return {"message": "attendant left", "success": True, "data": left}


@bp.post("/sessions/<session_id>/handover")
@store_scoped
@idempotent
@raises(UnknownDenomination, *TAKING_PART)
@operation(
    "Hand the drawer over to another cashier, with a count at the change",
    description="The cashier taking the drawer sends its profile and password (as a join), "
    "and the cash counted at the change as `countedCash` and/or `cashCount` (as close-session "
    "takes them). The holder leaves, the taker holds the drawer (an attendant of the session "
    "may take it), and the count, the expected cash and their difference are recorded, one "
    "journal fact. Nothing is closed: the expected cash carries over, and the taker closes "
    "the session with close-session. `posProfileId` stays the opener's.\n",
    body=HandoverSchema(),
    also={400: f"`{count_not_the_amount('countedCash')}`"},
    answer=AttendanceResponse(),
    answered="Handed over",
    status=201,
)
def hand_over(session_id, uow, body):
    """The drawer changes hands."""
    handed = attendants.hand_over(uow, g.store_id, g.actor, session_id, **body)
    return {"message": "drawer handed over", "success": True, "data": handed}


@bp.get("/tenders")
@store_scoped
@operation(
    "The store's tenders",
    answer=TendersResponse(),
    answered="Cash first, then the tenders the owner added; a disabled one has enabled false",
)
def tenders():
    """The tenders a movement may name."""
    return {"success": True, "data": store_tenders(g.store_id, with_cash=True)}


@bp.get("/sessions")
@conditional
@store_scoped
@operation(
    "Session history with filters and cursor pagination",
    description="Pass the answer's nextCursor as cursor to get the next page; null means the "
    "last page. Sessions created while paging never shift or repeat a page.\n",
    query=HistoryQuerySchema(),
    answer=SessionHistoryResponse(),
    answered="One page of sessions, each with its closing (null while open)",
)
def session_history(query):
    """The store's sessions, newest first, a page at a time."""
    page, next_cursor = queries.session_history(g.store_id, **query)
    return {"success": True, "data": page, "next_cursor": next_cursor}


@bp.get("/sessions/<session_id>")
@conditional
@store_scoped
@raises(SessionNotFound)
@operation(
    "A session's X-report (while open) or Z-report (once closed)",
    answer=SessionReportResponse(),
    answered="The session, who is on it, its joins, leaves and handovers, its movements "
    "oldest first, and the summary; closingCash and difference are null while the session is "
    "open\n",
)
def session_report(session_id):
    """One session with its closing, its movements and its cash summary."""
    return {"success": True, "data": queries.session_report(g.store_id, session_id)}


@bp.get("/session-status/<profile_id>")
@conditional
@single_statement
@store_scoped
@operation(
    "Session status of a profile",
    description="An unknown profile, or one of another store, has no open session.",
    answer=SessionStatusResponse(),
    answered="The open session, or `hasOpenSession` false and `session` null.",
)
def session_status(profile_id):
    """Whether a profile has an open session, and which."""
    session = queries.current_session(g.store_id, profile_id)
    return {"has_open_session": session is not None, "session": session}


@bp.get("/current-session/<profile_id>")
@conditional
@single_statement
@store_scoped
@operation(
    "Current session of a profile",
    description="An unknown profile, or one of another store, has no open session.",
    answer=CurrentSessionResponse(),
    answered="The open session in `data`, or `data` null.",
)
def current_session(profile_id):
    """The open session of a profile."""
    return {"success": True, "data": queries.current_session(g.store_id, profile_id)}


@bp.get("/profiles")
@conditional
@single_statement
@store_scoped
@operation(
    "Profiles of the store",
    description="A disabled profile is left out (it cannot open a session).",
    answer=profile_list.schema,
    answered="A bare array of profiles; never a password hash.",
)
def profiles():
    """Every enabled profile of the store, oldest first, with its open session if any."""
    body = queries.profile_list(g.store_id, profile_list.json)
    return current_app.response_class(body, mimetype="application/json")
