"""Gunicorn settings for the box; ``POS_BIND`` and ``POS_WORKERS`` override the defaults."""

import os

wsgi_app = "wsgi:app"
bind = os.environ.get("POS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("POS_WORKERS", "4"))
# No preload: each worker opens its own database connections after the fork.
preload_app = False
# Several instances may run on one box (tests, a second shop); none needs gunicornc.
control_socket_disable = True
timeout = 30
graceful_timeout = 10
# The box is managed by systemd signals; gunicorn's control socket ($HOME/.gunicorn) is not used.
control_socket_disable = True

# Every log line is one JSON object on stderr (journald keeps it). The app logs each request
# itself, with its request id and store, so gunicorn's own access log is switched off.
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": ["discard"], "propagate": False},
        # The health check reads the schema revision through Alembic, which says so at INFO.
        "alembic": {"level": "WARNING"},
    },
}
