"""The sessions: the history with filters, each session's X- or Z-report, and the force-close."""

from datetime import timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from .. import reports
from ..api.schemas import ForceCloseSchema, HistoryQuerySchema, SessionHistoryResponse
from ..exceptions import InvalidInput, SessionClosed
from ..machinery.database import UnitOfWork
from ..owner_input import load
from ..people import cashiers as profiles
from ..people.cashiers import list_profiles
from ..sessions import queries, service
from .days import DAY_ERROR, typed_day
from .filters import difference_words
from .forms import once
from .views import store_view

bp = Blueprint("sessions", __name__)

PAGE = 25
FILTERS = ("cashier", "status", "from", "to")
history_query = HistoryQuerySchema()
next_cursor = SessionHistoryResponse().fields["next_cursor"]


def _history_query(args) -> tuple[dict, dict]:
    """The API's history query from the page's filters (days are business days in store time,
    both included, typed as the pages write them), and the messages by filter."""
    query, errors = {"limit": PAGE}, {}
    for name, key in (("cashier", "profileId"), ("status", "status"), ("cursor", "cursor")):
        if args.get(name):
            query[key] = args[name]
    days = {}
    for name in ("from", "to"):
        if args.get(name):
            days[name] = typed_day(args[name])
            if days[name] is None:
                errors[name] = [DAY_ERROR]
    if days.get("from") and days.get("to") and days["to"] < days["from"]:
        errors["to"] = ["The last day comes before the first."]
    if errors:
        return {}, errors
    for name, day in days.items():
        after = timedelta(days=1 if name == "to" else 0)
        query[name] = reports.day_bounds(g.store, day + after)[0].isoformat()
    try:
        return history_query.load(query), {}
    except ValidationError as err:
        named = {"profileId": "cashier", "cursor": "page"}
        return {}, {named.get(k, k): v for k, v in err.normalized_messages().items()}


@bp.get("/stores/<store_id>/sessions")
@store_view
def sessions(store_id):
    query, errors = _history_query(request.args)
    page, cursor = queries.session_history(store_id, **query) if not errors else ([], None)
    cashiers = {row.profile.id: row.profile for row in list_profiles(store_id)}
    filters = {k: request.args[k] for k in FILTERS if request.args.get(k)}
    more = {**filters, "cursor": next_cursor._serialize(cursor, None, None)} if cursor else None
    page_html = render_template(
        "backoffice/sessions.html",
        sessions=page,
        cashiers=cashiers,
        filters=filters,
        errors=errors,
        more=more,
        paged="cursor" in request.args,
    )
    return page_html, 400 if errors else 200


def _session_page(store_id, session_id, status=200, errors=None, values=None, check=None):
    """The X- or Z-report; ``check``: the force-close's figures to confirm, by name."""
    report = queries.session_report(store_id, session_id)
    cashier = profiles.get(report.session.pos_profile_id, store_id=store_id)
    page = render_template(
        "backoffice/session.html",
        report=report,
        cashier=cashier,
        names=queries.profile_names(store_id),
        errors=errors or {},
        values=values or {},
        check=check,
    )
    return page, status


@bp.get("/stores/<store_id>/sessions/<session_id>")
@store_view
def session_page(store_id, session_id):
    return _session_page(store_id, session_id)


# Closing a forgotten session by force: the form, then the figures it will write to confirm
# (a step that changes nothing), then the close itself.


def _typed_close() -> dict:
    return {k: request.form.get(k, "") for k in ("counted", "reason", "float_left")}


@bp.post("/stores/<store_id>/sessions/<session_id>/force-close/check")
@store_view
def check_force_close(store_id, session_id):
    if "change" in request.form:  # back to the form, with what was typed
        return _session_page(store_id, session_id, values=_typed_close())
    return _confirm_force_close(store_id, session_id)


def _confirm_force_close(store_id, session_id, moved=False):
    """The figures the close would write, in words, with the button that writes them; or the
    form again, its messages next to the fields. ``moved``: the figures confirmed before
    changed since (a movement came in), so they are shown again."""
    typed = _typed_close()
    try:
        values = load(ForceCloseSchema(), typed)
    except InvalidInput as err:
        return _session_page(store_id, session_id, 400, err.errors, typed)
    counted, float_left = values["counted"], values["float_left"]
    expected = queries.session_report(store_id, session_id).summary["expected_cash"]
    check = {
        "counted": counted,
        "expected": expected,
        "difference": counted - expected,
        "float_left": float_left,
        "to_safe": None if float_left is None else counted - float_left,
        "moved": moved,
    }
    return _session_page(store_id, session_id, values=typed, check=check)


@bp.post("/stores/<store_id>/sessions/<session_id>/force-close")
@store_view
@once(".sessions")
def force_close(store_id, session_id):
    report = queries.session_report(store_id, session_id)
    confirmed = request.form.get("expected")
    # Not confirmed yet, or confirmed on figures that have moved since: confirm (again). A
    # session closed meanwhile goes on, to say so.
    if report.session.closing is None and confirmed != f"{report.summary['expected_cash']:.2f}":
        return _confirm_force_close(store_id, session_id, moved=confirmed is not None)
    typed = _typed_close()
    try:
        values = load(ForceCloseSchema(), typed)
        closed = service.force_close(
            UnitOfWork(),
            store_id,
            session_id,
            values["counted"],
            values["reason"],
            current_user.manager,
            values["float_left"],
        )
    except InvalidInput as err:
        return _session_page(store_id, session_id, 400, err.errors, typed)
    except SessionClosed:
        flash("This session was already closed, so nothing was changed.", "info")
    else:
        in_words = difference_words(closed.closing.difference, g.store.currency)
        flash(
            f"Session closed by force: {in_words}. Z-report {closed.closing.z_number} is below, "
            "ready to print; the cashier can open a new session now.",
            "done",
        )
    return redirect(url_for(".session_page", store_id=store_id, session_id=session_id))
