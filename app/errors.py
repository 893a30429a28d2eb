"""The one error envelope, ``{"message": ..., "statusCode": N}``, for every failure, and the
table that says how the API answers each domain error.

To add an error: a ``DomainError`` subclass in ``app/exceptions.py``, raised by the rule, and
one line in ``ANSWERS`` unless its parent's answer is the one; list it in the view's ``@raises``
so the OpenAPI document shows it. Every caller looks the table up through ``answer_for``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import jsonify
from gunicorn.http.errors import ParseException
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from .api.idempotency import HEADER as IDEMPOTENCY_KEY
from .api.idempotency import MAX_KEY_LENGTH
from .exceptions import (
    AccountingNotConfirmed,
    AccountingSettingsIncomplete,
    AccountingSettingsMissing,
    AlreadyOnSession,
    AuthorizationMissing,
    ClosingNotFound,
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseMissing,
    DatabaseReadOnly,
    DatabaseUnavailable,
    DomainError,
    DrawerHeldByAnother,
    DrawerWouldGoNegative,
    FormatNotForCountry,
    HolderCannotLeave,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    InvalidInput,
    InvalidPassword,
    ManagerDisabled,
    ManagerNotFound,
    NameTaken,
    NoOpenSession,
    NothingToApprove,
    NothingToPost,
    NotOnSession,
    NoZInRange,
    OnAnotherSession,
    PeriodAlreadyClosed,
    PeriodNotEnded,
    PeriodWithoutZ,
    PostingsUnbalanced,
    ProfileDisabled,
    ProfileNotFound,
    SchemaNotAtHead,
    SessionAlreadyOpen,
    SessionClosed,
    SessionNotFound,
    StoreAccessDenied,
    StoreIdRequired,
    StoreNotFound,
    TenderDisabled,
    TokenExpired,
    TokenInvalid,
    TokenNotKnown,
    TokenRevoked,
    TokenScopeDenied,
    TooManyAttempts,
    UnknownDenomination,
    UnknownReason,
    UnknownTender,
    UserNotFound,
)

log = logging.getLogger(__name__)

# The reference's answer when a required field is absent or empty.
MISSING = "Missing data"


@dataclass(frozen=True)
class Answer:
    status: int
    # May name the error's attributes, as ``{err.at}``.
    message: str
    # Response headers: name -> the value, computed from the error.
    headers: dict[str, Callable[[DomainError], str]] = field(default_factory=dict)


BEARER = {"WWW-Authenticate": lambda _err: "Bearer"}

ANSWERS: dict[type[DomainError], Answer] = {
    AuthorizationMissing: Answer(401, "Missing or malformed Authorization header", BEARER),
    TokenInvalid: Answer(401, "Invalid token", BEARER),
    TokenExpired: Answer(401, "Token has expired", BEARER),
    TokenRevoked: Answer(401, "Token has been revoked", BEARER),
    TokenNotKnown: Answer(401, "Token not known to this box", BEARER),
    StoreIdRequired: Answer(400, "Store ID is required"),
    StoreAccessDenied: Answer(403, "Access to this store is denied"),
    TokenScopeDenied: Answer(403, "This token may only read the journal"),
    ProfileNotFound: Answer(400, "Profile not found"),
    ProfileDisabled: Answer(400, "Profile is disabled"),
    InvalidPassword: Answer(401, "Invalid password"),
    TooManyAttempts: Answer(
        429,
        "Too many attempts",
        {"Retry-After": lambda err: str(err.retry_after_seconds)},
    ),
    SessionAlreadyOpen: Answer(400, "Session already open"),
    NoOpenSession: Answer(400, "No open session"),
    SessionNotFound: Answer(404, "Session not found"),
    SessionClosed: Answer(409, "Session is closed"),
    UnknownReason: Answer(400, "Unknown reason: not one of the store's pay-in and pay-out reasons"),
    DrawerWouldGoNegative: Answer(
        400,
        "A drop cannot take more than the cash expected in the drawer: a drawer cannot go "
        "below zero",
    ),
    UnknownTender: Answer(400, "Unknown tender"),
    TenderDisabled: Answer(400, "Tender is disabled"),
    UnknownDenomination: Answer(
        400, "cashCount names a value that is not a note or coin of the store"
    ),
    AlreadyOnSession: Answer(409, "Profile is on this session already"),
    OnAnotherSession: Answer(409, "Profile is on another open session"),
    NotOnSession: Answer(409, "Profile is not on this session"),
    HolderCannotLeave: Answer(409, "The drawer's holder leaves by a handover"),
    DrawerHeldByAnother: Answer(409, "Another cashier holds this session's drawer"),
    InvalidIdempotencyKey: Answer(
        400,
        f"{IDEMPOTENCY_KEY} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
    ),
    ClosingNotFound: Answer(404, "Closing not found"),
    NothingToApprove: Answer(409, "Closing has no pending approval"),
    PeriodAlreadyClosed: Answer(409, "This period is closed already"),
    PeriodNotEnded: Answer(409, "This period has not ended yet"),
    PeriodWithoutZ: Answer(409, "This period has no Z closing"),
    AccountingSettingsMissing: Answer(
        409, "The store has no accounting settings yet: save and confirm them first"
    ),
    AccountingNotConfirmed: Answer(
        409, "The accounting settings are not confirmed: confirm them before exporting"
    ),
    AccountingSettingsIncomplete: Answer(409, "The accounting settings lack {err.missing}"),
    FormatNotForCountry: Answer(409, "{err.format} is for a store whose country is {err.country}"),
    NoZInRange: Answer(409, "These days have no Z closing"),
    NothingToPost: Answer(409, "These days' Z closings moved no money: there is nothing to post"),
    PostingsUnbalanced: Answer(409, "Nothing was written: {err.reason}"),
    IdempotencyKeyReused: Answer(
        422, f"{IDEMPOTENCY_KEY} was already used for a different request"
    ),
    # The owner's rules: the back-office page and the CLI answer these.
    InvalidInput: Answer(400, "Some fields need attention"),
    NameTaken: Answer(409, "This name is already taken"),
    StoreNotFound: Answer(404, "Store not found"),
    ManagerNotFound: Answer(404, "Manager not found"),
    UserNotFound: Answer(404, "Head-office user not found"),
    # A temporary condition: the terminal retries, with its Idempotency-Key.
    DatabaseBusy: Answer(503, "Database busy", {"Retry-After": lambda _err: "1"}),
    DatabaseUnavailable: Answer(503, "Database unavailable"),
    # What /healthz says, for the owner.
    DatabaseMissing: Answer(503, "Database file is missing: restore a backup or run init-db"),
    DatabaseReadOnly: Answer(503, "Database is read-only"),
    DatabaseCorrupt: Answer(503, "Database is corrupt"),
    SchemaNotAtHead: Answer(
        503, "Database schema is at {err.at}, expected {err.expected}: run init-db"
    ),
    ManagerDisabled: Answer(403, "Manager is disabled"),
}


def answer_for(err: DomainError | type[DomainError]) -> Answer:
    """The answer to an error (or an error class): its class's, else its nearest ancestor's."""
    kind = err if isinstance(err, type) else type(err)
    for cls in kind.__mro__:
        if cls in ANSWERS:
            return ANSWERS[cls]
    raise KeyError(f"no answer for {kind.__name__} in app.errors.ANSWERS")


def raises(*errors: type[DomainError]):
    """Declare the domain errors a view may answer with, for the OpenAPI document."""

    def mark(view):
        view.raises = getattr(view, "raises", ()) + errors
        return view

    return mark


def error_response(status: int, message: str, errors: dict | None = None, headers=None):
    body = {"message": message, "statusCode": status}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.headers.extend(headers or {})
    return response


def _flatten(messages) -> list[str]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flatten(value)]
    if isinstance(messages, list):
        return [m for value in messages for m in _flatten(value)]
    return [str(messages)]


def validation_message(messages: dict) -> str:
    """The reference's "Missing data" when a field is absent, else name the invalid fields."""
    if MISSING in _flatten(messages):
        return MISSING
    if list(messages) == ["_schema"]:
        return _flatten(messages)[0]
    return "Invalid value for " + ", ".join(sorted(messages))


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        answer = answer_for(err)
        if answer.status >= 500 and str(err):
            log.error("%s: %s", answer.message, err)  # the reason, for the owner only
        headers = {name: value(err) for name, value in answer.headers.items()}
        return error_response(answer.status, answer.message.format(err=err), headers=headers)

    @app.errorhandler(ValidationError)
    def validation_error(err: ValidationError):
        return error_response(400, validation_message(err.messages), err.messages)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        # Werkzeug's descriptions of 400 and 415 say what was wrong with the body; for the
        # rest its short name reads better than its HTML-minded paragraph.
        message = err.description if err.code in (400, 415) else err.name
        headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
        return error_response(err.code or 500, message, headers=headers)

    @app.errorhandler(ParseException)
    def malformed_chunked_body(err: ParseException):
        # Gunicorn decodes a chunked body as the app reads it, so its parse errors land here.
        return error_response(400, f"Malformed chunked body: {err}")

    @app.errorhandler(Exception)
    def unexpected_error(err: Exception):
        log.exception("unhandled error")
        return error_response(500, "Internal server error")
