"""Gunicorn settings for head office's pages (docs/chain.md); ``HEADOFFICE_BIND`` and
``HEADOFFICE_WORKERS`` override the defaults.

Named with ``-c``: without it gunicorn reads ./gunicorn.conf.py, the box's, which would serve
the box's app and start its nginx on POS_BIND. Head office has no front of its own (the
chain's reverse proxy is in front of it) and no replica (PostgreSQL has its own).
"""

import os

from app.machinery import logs

wsgi_app = "headoffice_wsgi:app"
bind = os.environ.get("HEADOFFICE_BIND", "127.0.0.1:8100")
workers = int(os.environ.get("HEADOFFICE_WORKERS", "2"))
control_socket_disable = True  # as the box: systemd's signals, no $HOME/.gunicorn socket
# One JSON line per request and per message on stderr, as the box's.
logger_class, logconfig_dict = logs.GunicornLogger, logs.GUNICORN_LOGCONFIG
