"""The one error envelope, ``{"message": ..., "statusCode": N}``, for every failure."""

import logging

from flask import jsonify
from gunicorn.http.errors import ParseException
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# The reference's answer when a required field is absent or empty.
MISSING = "Missing data"


class ApiError(Exception):
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
