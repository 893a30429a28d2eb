"""What every page of the back office shares: the security headers and CSRF check, domain
errors and HTTP errors shown as pages, the store a page is about (``store_view``), and a form
loaded before the rules are called (app.owner_input)."""

from functools import wraps

from flask import g, render_template, request, session
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import answer_for
from ..exceptions import DomainError, ManagerNotFound, ProfileNotFound, StoreNotFound
from ..owner_input import load
from ..people.managers import granted_store
from ..sessions.periods import close_ended

# Only what the box serves: no inline script or style, no other origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# A page names the thing it shows: when that is not there (or not granted), it is a 404.
NOT_FOUND = (StoreNotFound, ProfileNotFound, ManagerNotFound)

# Form fields kept when a form comes back with errors: never a password.
KEPT_FIELDS = ("name", "timezone", "day_start", "stale_after_hours", "currency")


def attach(bp, csrf) -> None:
    """The page's hooks and error pages, on the back office's blueprint (every page's)."""
    bp.before_request(csrf.protect)  # POST only; the page's GETs change nothing
    bp.after_request(security_headers)
    bp.register_error_handler(CSRFError, csrf_refused)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(DomainError, refused)


def is_a_click() -> bool:
    """A request the manager made, not the board refreshing itself: only a click keeps the
    manager signed in."""
    return request.endpoint != "backoffice.board.board_table"


def security_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def csrf_refused(err):
    message = "This page had expired, so nothing was changed. Reload it and try again."
    return render_template("backoffice/error.html", status=400, message=message), 400


def http_error(err):
    return render_template("backoffice/error.html", status=err.code, message=err.name), err.code


def refused(err):
    answer = answer_for(err)
    status = 404 if isinstance(err, NOT_FOUND) else answer.status
    message = answer.message.format(err=err)
    return render_template("backoffice/error.html", status=status, message=message), status


def status_of(err: DomainError) -> int:
    return answer_for(err).status


def store_view(view):
    """Signed in, and the store in the URL is one granted to this manager (else 404)."""

    @wraps(view)
    @login_required
    def wrapper(store_id, **kwargs):
        g.store = granted_store(current_user.manager, store_id)
        session["store_id"] = store_id
        close_ended(store_id)  # a period that ended since this worker last looked
        return view(store_id=store_id, **kwargs)

    return wrapper


def last_store():
    """The store this manager last looked at, else the first granted (None: no store)."""
    stores = current_user.manager.stores
    last = session.get("store_id")
    return next((s for s in stores if s.id == last), stores[0] if stores else None)


def typed() -> dict:
    """What the manager typed in the fields worth showing again."""
    return {k: request.form[k] for k in KEPT_FIELDS if k in request.form}


def load_form(schema) -> dict:
    """The form loaded by ``schema``, a field not sent taken as empty (else InvalidInput)."""
    keys = (field.data_key or name for name, field in schema.fields.items())
    return load(schema, {key: request.form.get(key, "") for key in keys})
