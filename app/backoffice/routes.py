"""The page's views: thin, they load the form (app.owner_input), call the rules (app.stores,
app.people) and turn their domain errors into page messages: field errors next to their
field, anything not found (or not granted) a 404 page."""

from functools import wraps

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..database import UnitOfWork
from ..errors import answer_for
from ..exceptions import (
    DomainError,
    InvalidInput,
    InvalidPassword,
    ManagerNotFound,
    ProfileNotFound,
    StoreNotFound,
    TooManyAttempts,
)
from ..models import BackofficeSignin, Manager
from ..owner_input import (
    NewCashierSchema,
    PasswordSchema,
    RenameSchema,
    SignInSchema,
    StoreSettingsSchema,
    load,
)
from ..people import cashiers as profiles
from ..people import signin
from ..people.managers import granted_store
from ..stores import update_store
from . import CONTENT_SECURITY_POLICY, bp, csrf, is_a_click, login_manager, signins
from .forms import once

# Form fields kept when a form comes back with errors: never a password.
KEPT_FIELDS = ("name", "timezone", "day_start", "stale_after_hours", "currency")


class SignedIn(UserMixin):
    """The signed-in manager. The cookie holds the id of the sign-in kept on the server
    (Flask-Login's "alternative tokens"), not the manager's: ending that sign-in signs this
    browser out, whatever copies of the cookie exist."""

    def __init__(self, signin: BackofficeSignin, manager: Manager):
        self.signin = signin
        self.manager = manager

    def get_id(self) -> str:
        return self.signin.id


@login_manager.user_loader
def load_manager(signin_id: str) -> SignedIn | None:
    found = signins.resume(signin_id, click=is_a_click())
    return SignedIn(*found) if found else None


@bp.before_request
def check_csrf():
    csrf.protect()  # POST only; the page's GETs change nothing


@bp.after_request
def security_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.errorhandler(CSRFError)
def csrf_refused(err):
    message = "This page had expired, so nothing was changed. Reload it and try again."
    return render_template("backoffice/error.html", status=400, message=message), 400


@bp.errorhandler(HTTPException)
def http_error(err):
    return render_template("backoffice/error.html", status=err.code, message=err.name), err.code


def _status(err: DomainError) -> int:
    return answer_for(err).status


# A page names the thing it shows: when that is not there (or not granted), it is a 404.
NOT_FOUND = (StoreNotFound, ProfileNotFound, ManagerNotFound)


@bp.errorhandler(DomainError)
def refused(err):
    answer = answer_for(err)
    status = 404 if isinstance(err, NOT_FOUND) else answer.status
    message = answer.message.format(err=err)
    return render_template("backoffice/error.html", status=status, message=message), status


def store_view(view):
    """Signed in, and the store in the URL is one granted to this manager (else 404)."""

    @wraps(view)
    @login_required
    def wrapper(store_id, **kwargs):
        g.store = granted_store(current_user.manager, store_id)
        session["store_id"] = store_id
        return view(store_id=store_id, **kwargs)

    return wrapper


def _typed() -> dict:
    return {k: request.form[k] for k in KEPT_FIELDS if k in request.form}


def _form(schema) -> dict:
    """The form loaded by ``schema``, a field not sent taken as empty (else InvalidInput)."""
    keys = (field.data_key or name for name, field in schema.fields.items())
    return load(schema, {key: request.form.get(key, "") for key in keys})


# Sign-in


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(".index"))
    if request.method == "GET":
        return render_template("backoffice/login.html", errors={}, values={})
    name = request.form.get("name", "")
    try:
        manager = signin.authenticate(**_form(SignInSchema()))
    except (InvalidInput, InvalidPassword, TooManyAttempts) as err:
        return _login_refused(err, name)
    session.clear()  # nothing from before the sign-in carries over
    login_user(SignedIn(signins.start(manager, request.user_agent.string), manager))
    session.permanent = True
    return redirect(url_for(".index"))


def _login_refused(err: DomainError, name: str):
    status, headers = _status(err), {}
    if isinstance(err, InvalidInput):
        errors = err.errors
    elif isinstance(err, TooManyAttempts):
        minutes = -(-err.retry_after_seconds // 60)
        errors = {"form": [f"Too many wrong passwords. Try again in {minutes} min."]}
        headers = {"Retry-After": str(err.retry_after_seconds)}
    else:  # a wrong password, or a name that is not a manager's: the page does not say which
        errors = {"form": ["The name or the password is wrong."]}
    page = render_template("backoffice/login.html", errors=errors, values={"name": name})
    return page, status, headers


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        signin.end_signins(UnitOfWork(), current_user.manager.id, current_user.get_id())
    return _signed_out("You are signed out.")


def _signed_out(message: str):
    """This browser's cookie forgets the sign-in (ended on the server already)."""
    logout_user()
    session.clear()
    flash(message, "done")
    return redirect(url_for(".login"))


@bp.get("/signins")
@login_required
def signins_page():
    g.store = _last_store()  # for the navigation, as on the store's own pages
    rows = signins.active(current_user.manager.id)
    return render_template("backoffice/signins.html", rows=rows, this=current_user.get_id())


@bp.post("/signins/<signin_id>/end")
@login_required
def end_signin(signin_id):
    signin.end_signins(UnitOfWork(), current_user.manager.id, signin_id)
    if signin_id == current_user.get_id():
        return _signed_out("You are signed out.")
    flash("That sign-in has ended: its browser is signed out.", "done")
    return redirect(url_for(".signins_page"))


@bp.post("/signins/end-all")
@login_required
def end_all_signins():
    signin.end_signins(UnitOfWork(), current_user.manager.id)
    return _signed_out("You are signed out everywhere, in this browser too.")


@bp.get("/")
@login_required
def index():
    """The store chosen in the switcher, else the last one used, else the first granted."""
    wanted = request.args.get("store")
    store = granted_store(current_user.manager, wanted) if wanted else _last_store()
    if store is None:
        abort(404)
    return redirect(url_for(".board", store_id=store.id))


def _last_store():
    stores = current_user.manager.stores
    last = session.get("store_id")
    return next((s for s in stores if s.id == last), stores[0] if stores else None)


# Cashiers


def _cashiers_page(status=200, errors=None, values=None):
    rows = profiles.list_profiles(g.store.id)
    page = render_template(
        "backoffice/cashiers.html", rows=rows, errors=errors or {}, values=values or {}
    )
    return page, status


@bp.get("/stores/<store_id>/cashiers")
@store_view
def cashiers(store_id):
    return _cashiers_page()


@bp.post("/stores/<store_id>/cashiers")
@store_view
@once(".cashiers")
def add_cashier(store_id):
    name = request.form.get("name", "")
    try:
        profiles.create(UnitOfWork(), **_form(NewCashierSchema()), store_id=store_id)
    except InvalidInput as err:
        return _cashiers_page(_status(err), err.errors, _typed())
    flash(f"{name.strip()} was added and can open a session on a terminal now.", "done")
    return redirect(url_for(".cashiers", store_id=store_id))


def _cashier_page(profile, status=200, errors=None, values=None):
    page = render_template(
        "backoffice/cashier.html", profile=profile, errors=errors or {}, values=values or {}
    )
    return page, status


@bp.get("/stores/<store_id>/cashiers/<profile_id>")
@store_view
def cashier(store_id, profile_id):
    return _cashier_page(profiles.get(profile_id, store_id=store_id))


@bp.post("/stores/<store_id>/cashiers/<profile_id>/rename")
@store_view
@once(".cashiers")
def rename_cashier(store_id, profile_id):
    old = profiles.get(profile_id, store_id=store_id).name
    try:
        name = _form(RenameSchema())["name"]
        new = profiles.rename(UnitOfWork(), profile_id, name, store_id=store_id).name
    except InvalidInput as err:
        profile = profiles.get(profile_id, store_id=store_id)
        return _cashier_page(profile, _status(err), {"rename": err.errors}, _typed())
    flash(f"{old} is now called {new}.", "done")
    return redirect(url_for(".cashiers", store_id=store_id))


@bp.post("/stores/<store_id>/cashiers/<profile_id>/password")
@store_view
@once(".cashiers")
def reset_password(store_id, profile_id):
    profile = profiles.get(profile_id, store_id=store_id)
    try:
        password = _form(PasswordSchema())["password"]
        profiles.set_password(UnitOfWork(), profile_id, password, store_id=store_id)
    except InvalidInput as err:
        return _cashier_page(profile, _status(err), {"password": err.errors})
    flash(f"{profile.name}'s password was changed; the old one no longer works.", "done")
    return redirect(url_for(".cashiers", store_id=store_id))


@bp.post("/stores/<store_id>/cashiers/<profile_id>/<any(disable, enable):action>")
@store_view
@once(".cashiers")
def disable_or_enable_cashier(store_id, profile_id, action):
    enabled = action == "enable"
    name = profiles.set_enabled(UnitOfWork(), profile_id, enabled, store_id=store_id).name
    if action == "enable":
        flash(f"{name} is enabled and can open a session again.", "done")
    else:
        flash(
            f"{name} is disabled: no new session, but an open one can still be closed. "
            "Enable them again at any time.",
            "done",
        )
    return redirect(url_for(".cashiers", store_id=store_id))


@bp.post("/stores/<store_id>/cashiers/<profile_id>/unlock")
@store_view
@once(".cashiers")
def unlock_cashier(store_id, profile_id):
    profiles.unlock(UnitOfWork(), profile_id, store_id=store_id)
    name = profiles.get(profile_id, store_id=store_id).name
    flash(f"{name} is unlocked and may try the password again now.", "done")
    return redirect(url_for(".cashiers", store_id=store_id))


# Store settings


@bp.route("/stores/<store_id>/settings", methods=["GET", "POST"])
@store_view
def settings(store_id):
    if request.method == "GET":
        return _settings_page()
    return _save_settings(store_id=store_id)


def _settings_page(status=200, errors=None):
    store = g.store
    values = {
        "name": store.name,
        "timezone": store.timezone,
        "day_start": "{:02d}:{:02d}".format(*divmod(store.day_start_minutes, 60)),
        "stale_after_hours": store.stale_after_hours,
        "currency": store.currency,
        **_typed(),
    }
    return render_template("backoffice/settings.html", errors=errors or {}, values=values), status


@once(".settings")
def _save_settings(store_id):
    try:
        values = load(StoreSettingsSchema(), _typed(), partial=True)
        update_store(UnitOfWork(), store_id, **values)
    except InvalidInput as err:
        return _settings_page(400, err.errors)
    flash("The store's settings were saved.", "done")
    return redirect(url_for(".settings", store_id=store_id))
