"""The store's settings page: name, time zone, business day, stale sessions, currency; its
tenders (cash, built in, and the ones added: added, disabled, enabled again); the notes and
coins a cash count may name; the reasons a pay-in or pay-out may name; and its accounting
settings (app.accounting), which the owner confirms before the first export."""

from calendar import month_name

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounting.settings import (
    CHARTS,
    FIGURES,
    confirm_settings,
    save_settings,
    settings_of,
    shown_settings,
    tender_accounts,
)
from ..exceptions import InvalidInput
from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import TENDER_KINDS
from ..owner_input import (
    AccountingSettingsSchema,
    ReasonSchema,
    StoreSettingsSchema,
    TenderSchema,
    load,
)
from ..stores import (
    add_reason,
    add_tender,
    movement_reasons,
    remove_reason,
    set_denominations,
    set_tender_enabled,
    shown_denominations,
    store_tenders,
    update_store,
)
from .forms import once
from .views import load_form, store_view, typed

bp = Blueprint("settings", __name__)


@bp.route("/stores/<store_id>/settings", methods=["GET", "POST"])
@store_view
def settings(store_id):
    if request.method == "GET":
        return _settings_page()
    return _save_settings(store_id=store_id)


def _settings_page(status=200, errors=None, tender_errors=None, accounting_errors=None):
    store = g.store
    values = {
        "name": store.name,
        "timezone": store.timezone,
        "day_start": "{:02d}:{:02d}".format(*divmod(store.day_start_minutes, 60)),
        "stale_after_hours": store.stale_after_hours,
        "currency": store.currency,
        "denominations": ", ".join(shown_denominations(store.currency, store.denominations)),
        **typed(),
    }
    tender_values = {k: request.form[k] for k in TENDER_FIELDS if k in request.form}
    page = render_template(
        "backoffice/settings.html",
        errors=errors or {},
        values=values,
        tenders=store_tenders(store.id, with_cash=True),
        tender_errors=tender_errors or {},
        tender_values=tender_values,
        reasons=movement_reasons(store.id),
        accounting=_accounting_section(accounting_errors),
        kinds=[(kind, kind.capitalize()) for kind in TENDER_KINDS],
    )
    return page, status


# The accounting section's fields besides the accounts, as the page names them.
ACCOUNTING_TEXTS = (
    "journal_code",
    "siren",
    "company_name",
    "street",
    "postcode",
    "city",
    "tax_number",
    "vat_id",
    "datev_consultant",
    "datev_client",
    "fiscal_year_start",
)
FIGURE_NAMES = {
    "sales": "Sales",
    "refunds": "Refunds",
    "pay_ins": "Pay-ins",
    "pay_outs": "Pay-outs",
    "drops": "Drops (the safe)",
    "over": "Cash over",
    "short": "Cash short",
}


def _accounting_section(errors=None) -> dict:
    """The settings in force (a new store's defaults until saved), each tender's account, and
    what was typed when refused."""
    row = shown_settings(db.session, g.store.id)
    tenders = tender_accounts(db.session, row)
    values = {f"account_{f}": row.accounts[f] for f in FIGURES}
    values |= {f"tender_account_{code}": account for code, (_name, account) in tenders.items()}
    values |= {key: str(getattr(row, key) or "") for key in ACCOUNTING_TEXTS}
    if errors:
        values |= {key: request.form[key] for key in values if key in request.form}
    return {
        "row": row,
        "saved": settings_of(db.session, g.store.id) is not None,
        "tenders": tenders,
        "figures": FIGURE_NAMES,
        "charts": CHARTS,
        "months": [(str(month), month_name[month]) for month in range(1, 13)],
        "typed": values,
        "errors": errors or {},
    }


@bp.post("/stores/<store_id>/settings/accounting")
@store_view
@once(".settings")
def save_accounting(store_id):
    form = request.form
    chart = form.get("chart", "")
    if chart and chart != shown_settings(db.session, store_id).chart:
        # The other chart's accounts: those shown were the old one's.
        values = {"chart": chart}
    else:
        values = {
            "accounts": {
                f: form[f"account_{f}"].strip() for f in FIGURES if form.get(f"account_{f}")
            },
            "tender_accounts": {
                key.removeprefix("tender_account_"): value.strip()
                for key, value in form.items()
                if key.startswith("tender_account_") and value.strip()
            },
            **{key: form[key].strip() or None for key in ACCOUNTING_TEXTS if key in form},
        }
    try:
        save_settings(UnitOfWork(), store_id, load(AccountingSettingsSchema(), values))
    except InvalidInput as err:
        return _settings_page(400, accounting_errors=err.errors)
    said = "with the chart's accounts: check them" if "chart" in values else "saved"
    flash(f"The accounting settings were {said}. Confirm them before the next export.", "done")
    return redirect(url_for(".settings", store_id=store_id, _anchor="accounting"))


@bp.post("/stores/<store_id>/settings/accounting/confirm")
@store_view
@once(".settings")
def confirm_accounting(store_id):
    confirm_settings(UnitOfWork(), store_id, current_user.manager.name)
    flash("The accounting settings are confirmed: the day and month pages export them.", "done")
    return redirect(url_for(".settings", store_id=store_id, _anchor="accounting"))


# The add form's fields, named apart from the store's own "name".
TENDER_FIELDS = {"kind": "kind", "tender_name": "name", "code": "code"}


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


@bp.post("/stores/<store_id>/settings/denominations")
@store_view
@once(".settings")
def denominations(store_id):
    typed_list = request.form.get("denominations", "").strip()
    try:
        set_denominations(UnitOfWork(), store_id, typed_list or None)
    except InvalidInput as err:
        return _settings_page(400, err.errors)
    said = "the store's own" if typed_list else "the currency's common ones"
    flash(f"Cash counts now name {said} notes and coins.", "done")
    return redirect(url_for(".settings", store_id=store_id, _anchor="denominations"))


@bp.post("/stores/<store_id>/settings/reasons/remove")
@store_view
@once(".settings")
def remove_movement_reason(store_id):
    name = request.form.get("reason", "")
    if remove_reason(UnitOfWork(), store_id, name):
        flash(f"The reason {name!r} was taken off the list; past movements keep it.", "done")
    return redirect(url_for(".settings", store_id=store_id, _anchor="reasons"))


@bp.post("/stores/<store_id>/tenders")
@store_view
@once(".settings")
def add(store_id):
    given = {
        key: request.form[field] for field, key in TENDER_FIELDS.items() if request.form.get(field)
    }
    try:
        tender = add_tender(UnitOfWork(), store_id, **load(TenderSchema(), given))
    except InvalidInput as err:
        named = {v: k for k, v in TENDER_FIELDS.items()}
        return _settings_page(
            400, tender_errors={named.get(k, k): v for k, v in err.errors.items()}
        )
    flash(f"The tender {tender.name} was added: terminals send it as {tender.code}.", "done")
    return redirect(url_for(".settings", store_id=store_id))


@bp.post("/stores/<store_id>/tenders/<code>")
@store_view
@once(".settings")
def switch(store_id, code):
    enabled = request.form.get("enabled") == "yes"
    tender = set_tender_enabled(UnitOfWork(), store_id, code, enabled)
    flash(f"The tender {tender.name} was {'enabled' if enabled else 'disabled'}.", "done")
    return redirect(url_for(".settings", store_id=store_id))
