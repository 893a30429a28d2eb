"""The back-office page at /backoffice/: managers run their stores from a browser.

Server-rendered HTML on the same rules as the CLI (``app.stores``, ``app.people``). It signs
in with a cookie of its own that names a sign-in kept on the server (``signins``), never with a
terminal's bearer token, and the terminal API never reads that cookie: the two doors stay apart.
"""

from datetime import timedelta

from flask import Blueprint, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from . import (
    account,
    accounting,
    board,
    cashiers,
    days,
    filters,
    forms,
    journal,
    sessions,
    settings,
    terminals,
    views,
)

bp = Blueprint(
    "backoffice",
    __name__,
    url_prefix="/backoffice",
    template_folder="templates",
    static_folder="static",
)
# Each part of the page is a blueprint of its own, registered here under /backoffice (its
# endpoints are "backoffice.<part>.<view>").
PARTS = (
    accounting,
    account,
    board,
    cashiers,
    days,
    filters,
    forms,
    journal,
    sessions,
    settings,
    terminals,
)
for part in PARTS:
    bp.register_blueprint(part.bp)
csrf = CSRFProtect()
views.attach(bp, csrf)

login_manager = LoginManager()
# Flask-Login's own init_app, given the blueprint: its remember-me hook runs after the page's
# requests only (after every API request it cost ~15 us and marked the session read, which sends
# Vary: Cookie), and current_user is in the page's templates. The app gets it in init_app below.
login_manager.init_app(bp)
login_manager.user_loader(account.load_manager)


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request came over HTTPS.

    It looks for the cookie before building its signer: the terminal API never sends one, and
    the signer cost a sixth of a no-op request. The board's own refresh does not renew it, so
    a board left open still signs its manager out after the idle time. Head office's pages
    use it under their own ``prefix`` (app/headoffice).
    """

    prefix = bp.url_prefix

    def open_session(self, app, request):
        if (
            not request.path.startswith(self.prefix)
            or self.get_cookie_name(app) not in request.cookies
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)
        # else Flask would only compute the cookie's settings, and set nothing

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure or super().get_cookie_secure(app)

    def should_set_cookie(self, app, session) -> bool:
        if not views.is_a_click():
            return False
        return super().should_set_cookie(app, session)


def init_app(app) -> None:
    app.config.setdefault("BACKOFFICE_IDLE_MINUTES", 30)  # POS_BACKOFFICE_IDLE_MINUTES
    app.config.update(
        SESSION_COOKIE_NAME="pos_backoffice",
        SESSION_COOKIE_PATH=bp.url_prefix,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # The signed cookie is refused once older than this, and re-signed on every request:
        # the manager is signed out after this long without a click.
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=int(app.config["BACKOFFICE_IDLE_MINUTES"])),
        # CSRF is checked by the page's own views only (see views.py), not the terminal API.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the signed-in session
    )
    app.session_interface = SessionCookie()
    csrf.init_app(app)
    app.login_manager = login_manager  # what LoginManager.init_app(app) would attach
    login_manager.login_view = "backoffice.account.login"
    login_manager.login_message = "Please sign in."
    login_manager.login_message_category = "info"

    app.register_blueprint(bp)
