"""The store's settings page: name, time zone, business day, stale sessions, currency."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from ..exceptions import InvalidInput
from ..machinery.database import UnitOfWork
from ..owner_input import StoreSettingsSchema, load
from ..stores import update_store
from .forms import once
from .views import store_view, typed

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
    return render_template("backoffice/settings.html", errors=errors or {}, values=values), status


@once(".settings")
def _save_settings(store_id):
    try:
        values = load(StoreSettingsSchema(), typed(), partial=True)
        update_store(UnitOfWork(), store_id, **values)
    except InvalidInput as err:
        return _settings_page(400, err.errors)
    flash("The store's settings were saved.", "done")
    return redirect(url_for(".settings", store_id=store_id))
