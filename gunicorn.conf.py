"""Gunicorn settings for the box; ``POS_BIND``, ``POS_WORKERS`` and the front's ``POS_FRONT``,
``POS_CLIENT_TIMEOUT`` and ``POS_KEEPALIVE_TIMEOUT`` override the defaults."""

import os

from app.machinery import front, logs, replica

wsgi_app = "wsgi:app"
bind = os.environ.get("POS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("POS_WORKERS", "4"))
# No preload: each worker opens its own database connections after the fork.
preload_app = False
timeout = 30
graceful_timeout = 10
# The box is managed by systemd signals; gunicorn's control socket ($HOME/.gunicorn) is not used.
control_socket_disable = True

# Every log line is one JSON object on stderr (journald keeps it); gunicorn's access log is off,
# the app logs each request itself (app/machinery/logs.py).
accesslog = None
logger_class = logs.GunicornLogger
logconfig_dict = logs.GUNICORN_LOGCONFIG

# A request gunicorn cannot parse, or a worker timeout, is answered in the app's error format.
front.json_errors()

# The buffering front (app/machinery/front.py): nginx takes the terminals' connections on
# POS_BIND and hands whole requests to gunicorn on a private socket. POS_FRONT: "nginx" requires
# it (deploy/), "none" runs gunicorn alone, "auto" (the default) uses nginx when it is installed.
front_nginx = front.nginx_path(os.environ.get("POS_FRONT", "auto"))
# Seconds a client has to send its headers, and may pause within its body or while reading the
# answer; then the seconds an idle keep-alive connection is kept.
client_timeout = int(os.environ.get("POS_CLIENT_TIMEOUT", "10"))
keepalive_timeout = int(os.environ.get("POS_KEEPALIVE_TIMEOUT", "15"))

if front_nginx:
    front_bind = bind
    front_dir = front.folder(front_bind)
    front_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    bind = f"unix:{front_dir / 'gunicorn.sock'}"
    # nginx's limits apply (8 KiB request line and header lines, 32 KiB in all); gunicorn's
    # tighter ones would refuse what nginx let through.
    limit_request_line = 0
    limit_request_fields = 32768
    limit_request_field_size = 0

    def when_ready(server):
        # Two seconds under gunicorn's timeout: nginx answers 504 before the worker is killed.
        upstream_timeout = max(1, server.cfg.timeout - 2)
        text = front.config(
            front_dir, front_bind, client_timeout, keepalive_timeout, upstream_timeout
        )
        front.start(front_nginx, front_dir, text)
        server.log.info("front: nginx on %s, gunicorn on %s", front_bind, bind)

    def stop_front():
        front.stop(front_dir)

else:

    def when_ready(server):
        server.log.warning("no front: gunicorn alone on %s, slow clients can hold workers", bind)

    def stop_front():
        pass


# The replica (app/machinery/replica.py): POS_REPLICA, read through the app's config, starts
# Litestream before the workers, once the database is known to be the replica's or to follow
# from it; it stops after gunicorn, shipping what it has not yet.
if os.environ.get("POS_REPLICA"):
    from app import create_app, journal

    replicated = replica.configured(create_app())

    def on_starting(server):
        replica.start(*replicated, journal.not_the_replicas, server.log.warning)
        server.log.info("replica: litestream replicates %s to %s", *replicated)

    def on_exit(server):
        stop_front()
        replica.stop(replicated[0])

else:

    def on_exit(server):
        stop_front()
