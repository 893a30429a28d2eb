"""Head office: every shop's journal followed into one PostgreSQL, and one view over all shops.

A service of its own in the same package (docs/chain.md): ``create_headoffice_app`` (gunicorn
serves ``headoffice_wsgi:app``), the pages' blueprint (``pages``), the CLI group ``headoffice``
(``cli``), the follower (``follow``), the figures (``figures``) and its own tables (``models``).
It shares the box's code, not its database: the journal's hash (app.journal), the sign-in with
its lockout and the managers' life for its users (app.people), the back office's sign-ins kept
on the server, cookie, CSRF check and security headers, the request log (app.machinery.logs).
"""

from pathlib import Path

from flask import Flask, redirect
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from .. import database_uri
from ..backoffice import SessionCookie
from ..backoffice.views import security_headers
from ..machinery import logs
from ..machinery.config import MIN_SECRET_BYTES, Config, load_secret
from ..machinery.extensions import db
from . import cli, pages

# Why not SQLite: said at start-up, when the URL is not PostgreSQL's.
SQLITE_REFUSED = (
    "head office runs on PostgreSQL only (HEADOFFICE_DATABASE_URL=postgresql://...): its "
    "followers write many shops' journals at once from several threads and its pages sum "
    "every shop's entries while they do, where SQLite allows one writer at a time on one "
    "machine's disk"
)


class HeadOfficeCookie(SessionCookie):
    prefix = pages.bp.url_prefix


def create_headoffice_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)  # the box's password rules and lockout settings
    app.config.update(
        TIMEZONE="UTC",  # HEADOFFICE_TIMEZONE: the chain's business day
        DAY_START=0,  # HEADOFFICE_DAY_START: minutes after midnight
        IDLE_MINUTES=30,
        FOLLOW_WORKERS=8,
        FOLLOW_INTERVAL_SECONDS=5.0,
    )
    app.config.from_prefixed_env("HEADOFFICE")
    app.config.update(config or {})
    uri = database_uri(app)
    if not uri.startswith("postgresql"):
        raise RuntimeError(SQLITE_REFUSED)
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    # One connection per follower thread, and the pages'.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": int(app.config["FOLLOW_WORKERS"]) + 4}
    # Its secret apart from a box's, should both run on one machine.
    folder = Path(app.instance_path) / "headoffice"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = app.config["SECRET_KEY"] or load_secret(str(folder), uri)
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(f"HEADOFFICE_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long")
    app.config["SECRET_KEY"] = secret
    app.config.update(
        SESSION_COOKIE_NAME="pos_headoffice",
        SESSION_COOKIE_PATH=pages.bp.url_prefix,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=60 * int(app.config["IDLE_MINUTES"]),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the signed-in session
    )
    # First, as in the box: its before_request starts every request's clock and id, also for
    # one CSRFProtect refuses.
    logs.init_app(app)  # the request's log line, its no-store and nosniff headers
    db.init_app(app)
    app.session_interface = HeadOfficeCookie()
    CSRFProtect(app)
    login = LoginManager(app)
    login.login_view = "headoffice.login"
    login.login_message = None  # the sign-in page says it
    login.user_loader(pages.load_user)
    app.register_blueprint(pages.bp)
    app.after_request(security_headers)
    app.add_url_rule("/", "root", lambda: redirect(pages.bp.url_prefix + "/"))
    app.cli.add_command(cli.cli)
    return app
