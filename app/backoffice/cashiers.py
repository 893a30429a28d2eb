"""The cashiers' page: add, rename, a new password, disable and enable, unlock."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from ..exceptions import InvalidInput
from ..machinery.database import UnitOfWork
from ..owner_input import NewCashierSchema, PasswordSchema, RenameSchema
from ..people import cashiers as profiles
from .forms import once
from .views import load_form, status_of, store_view, typed

bp = Blueprint("cashiers", __name__)


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
        profiles.create(UnitOfWork(), **load_form(NewCashierSchema()), store_id=store_id)
    except InvalidInput as err:
        return _cashiers_page(status_of(err), err.errors, typed())
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
        name = load_form(RenameSchema())["name"]
        new = profiles.rename(UnitOfWork(), profile_id, name, store_id=store_id).name
    except InvalidInput as err:
        profile = profiles.get(profile_id, store_id=store_id)
        return _cashier_page(profile, status_of(err), {"rename": err.errors}, typed())
    flash(f"{old} is now called {new}.", "done")
    return redirect(url_for(".cashiers", store_id=store_id))


@bp.post("/stores/<store_id>/cashiers/<profile_id>/password")
@store_view
@once(".cashiers")
def reset_password(store_id, profile_id):
    profile = profiles.get(profile_id, store_id=store_id)
    try:
        password = load_form(PasswordSchema())["password"]
        profiles.set_password(UnitOfWork(), profile_id, password, store_id=store_id)
    except InvalidInput as err:
        return _cashier_page(profile, status_of(err), {"password": err.errors})
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
