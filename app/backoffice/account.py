"""Signing in and out of the back office, and a manager's own sign-ins (ending one signs
its browser out: the sign-ins are kept on the server, ``signins``)."""

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from ..exceptions import DomainError, InvalidInput, InvalidPassword, TooManyAttempts
from ..machinery.database import UnitOfWork
from ..models import BackofficeSignin, Manager
from ..owner_input import SignInSchema
from ..people import signin
from . import signins
from .views import is_a_click, last_store, load_form, status_of

bp = Blueprint("account", __name__)


class SignedIn(UserMixin):
    """The signed-in manager. The cookie holds the id of the sign-in kept on the server
    (Flask-Login's "alternative tokens"), not the manager's: ending that sign-in signs this
    browser out, whatever copies of the cookie exist."""

    def __init__(self, signin: BackofficeSignin, manager: Manager):
        self.signin = signin
        self.manager = manager

    def get_id(self) -> str:
        return self.signin.id


def load_manager(signin_id: str) -> SignedIn | None:
    found = signins.resume(signin_id, click=is_a_click())
    return SignedIn(*found) if found else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("backoffice.board.index"))
    if request.method == "GET":
        return render_template("backoffice/login.html", errors={}, values={})
    name = request.form.get("name", "")
    try:
        manager = signin.authenticate(**load_form(SignInSchema()))
    except (InvalidInput, InvalidPassword, TooManyAttempts) as err:
        return _login_refused(err, name)
    session.clear()  # nothing from before the sign-in carries over
    login_user(SignedIn(signins.start(manager, request.user_agent.string), manager))
    session.permanent = True
    return redirect(url_for("backoffice.board.index"))


def _login_refused(err: DomainError, name: str):
    status, headers = status_of(err), {}
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
    g.store = last_store()  # for the navigation, as on the store's own pages
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
