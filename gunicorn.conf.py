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
accesslog = "-"
