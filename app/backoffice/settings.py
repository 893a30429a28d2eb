"""The store's settings page: name, time zone, business day, stale sessions, currency, and the
reasons a pay-in or pay-out may name."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from ..exceptions import InvalidInput
from ..machinery.database import UnitOfWork
from ..owner_input import ReasonSchema, StoreSettingsSchema, load
from ..stores import add_reason, movement_reasons, remove_reason, update_store
from .forms import once
from .views import load_form, store_view, typed

bp = Blueprint("settings", __name__)


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
        **typed(),
    }
    reasons = movement_reasons(store.id)
    page = render_template(
        "backoffice/settings.html", errors=errors or {}, values=values, reasons=reasons
    )
    return page, status


@once(".settings")
def _save_settings(store_id):
    try:
        values = load(StoreSettingsSchema(), typed(), partial=True)
        update_store(UnitOfWork(), store_id, **values)
    except InvalidInput as err:
        return _settings_page(400, err.errors)
    flash("The store's settings were saved.", "done")
    return redirect(url_for(".settings", store_id=store_id))


@bp.post("/stores/<store_id>/settings/reasons")
@store_view
@once(".settings")
def add_movement_reason(store_id):
    try:
        name = load_form(ReasonSchema())["name"]
        add_reason(UnitOfWork(), store_id, name)
    except InvalidInput as err:
        return _settings_page(400, err.errors)
    flash(f"Pay-ins and pay-outs may now give the reason {name!r}.", "done")
    return redirect(url_for(".settings", store_id=store_id, _anchor="reasons"))


@bp.post("/stores/<store_id>/settings/reasons/remove")
@store_view
@once(".settings")
def remove_movement_reason(store_id):
    name = request.form.get("reason", "")
    if remove_reason(UnitOfWork(), store_id, name):
        flash(f"The reason {name!r} was taken off the list; past movements keep it.", "done")
    return redirect(url_for(".settings", store_id=store_id, _anchor="reasons"))
