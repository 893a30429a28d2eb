"""One JSON line per request on stderr, tied together by a request id; the response headers
every answer carries.

The app only emits log records; the process decides where they go. Gunicorn does it with
``GUNICORN_LOGCONFIG``, which the box's gunicorn.conf.py and head office's
headoffice_gunicorn.conf.py both set, routing every record through ``JsonFormatter``.
"""

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from gunicorn import glogging

REQUEST_ID_HEADER = "X-Request-ID"
# What a caller may choose as its own request id: short and harmless in a log line or a header.
_CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

request_log = logging.getLogger("app.requests")


def _no_caller(stack_info=False, stacklevel=1):
    return "(unknown file)", 0, "(unknown function)", None


# A line names no thread, process or source line (JsonFormatter), so the record need not look them
# up. The request log does not look for its caller (Logger.findCaller): the stack walk cost ~8 us
# of every request; other loggers still do. The thread and process: the logging HOWTO's
# "Optimization" settings.
request_log.findCaller = _no_caller
logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message, the extra fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES)
        if "request_id" not in line and has_request_context() and "request_id" in g:
            line["request_id"] = g.request_id
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def init_app(app: Flask) -> None:
    """The one place that stamps every response with its headers and logs it."""

    @app.before_request
    def start():
        g.request_started = time.perf_counter()
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = sent if _CALLER_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex

    @app.after_request
    def finish(response):
        request_id, headers, status = g.request_id, response.headers, response.status_code
        headers["Cache-Control"] = "no-store"
        headers["X-Content-Type-Options"] = "nosniff"
        headers[REQUEST_ID_HEADER] = request_id
        if request_log.isEnabledFor(logging.INFO):
            method, path = request.method, request.path
            request_log.info(
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
                    "store_id": g.get("store_id"),
                    "request_id": request_id,
                },
            )
        return response


class GunicornLogger(glogging.Logger):
    # The app logs each request itself, with its request id and store, so gunicorn's access log
    # is off; with logconfig_dict set, gunicorn would still build its line on every request.
    access_log_enabled = False


GUNICORN_LOGCONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.machinery.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        # The health check reads the schema revision through Alembic, which says so at INFO.
        "alembic": {"level": "WARNING"},
    },
}
