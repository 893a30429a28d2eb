"""The one error envelope, ``{"message": ..., "statusCode": N}``, for every failure, and the
table that says how the API answers each domain error.

To add an error: a ``DomainError`` subclass in ``app/exceptions.py``, raised by the rule, and
one line in ``ANSWERS``; list it in the view's ``@raises`` so the OpenAPI document shows it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from .exceptions import (
    ClosingNotFound,
    DomainError,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    InvalidPassword,
    NoOpenSession,
    NothingToApprove,
    ProfileNotFound,
    SessionAlreadyOpen,
    SessionClosed,
    SessionNotFound,
    StoreAccessDenied,
    StoreIdRequired,
    TooManyAttempts,
)
from .idempotency import HEADER as IDEMPOTENCY_KEY
from .idempotency import MAX_KEY_LENGTH

log = logging.getLogger(__name__)

# The reference's answer when a required field is absent or empty.
MISSING = "Missing data"


@dataclass(frozen=True)
class Answer:
    status: int
    message: str
    # Response headers: name -> the value, computed from the error.
    headers: dict[str, Callable[[DomainError], str]] = field(default_factory=dict)


ANSWERS: dict[type[DomainError], Answer] = {
    StoreIdRequired: Answer(400, "Store ID is required"),
    StoreAccessDenied: Answer(403, "Access to this store is denied"),
    ProfileNotFound: Answer(400, "Profile not found"),
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
    InvalidIdempotencyKey: Answer(
        400,
        f"{IDEMPOTENCY_KEY} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
    ),
    ClosingNotFound: Answer(404, "Closing not found"),
    NothingToApprove: Answer(409, "Closing has no pending approval"),
    IdempotencyKeyReused: Answer(
        422, f"{IDEMPOTENCY_KEY} was already used for a different request"
    ),
}


def raises(*errors: type[DomainError]):
    """Declare the domain errors a view may answer with, for the OpenAPI document."""

    def mark(view):
        view.raises = getattr(view, "raises", ()) + errors
        return view

    return mark


class ApiError(Exception):
    """An answer decided at the HTTP edge itself (not a rule's refusal)."""

    def __init__(self, status: int, message: str, errors: dict | None = None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}


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
    @app.errorhandler(ApiError)
    def api_error(err: ApiError):
        return error_response(err.status, err.message, err.errors, err.headers)

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        answer = ANSWERS[type(err)]
        headers = {name: value(err) for name, value in answer.headers.items()}
        return error_response(answer.status, answer.message, headers=headers)

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

    @app.errorhandler(Exception)
    def unexpected_error(err: Exception):
        log.exception("unhandled error")
        return error_response(500, "Internal server error")
