"""The sessions: the history with filters, each session's X- or Z-report, and the force-close."""

from datetime import date, timedelta

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from .. import management, reports
from ..database import UnitOfWork
from ..exceptions import InvalidInput, SessionClosed
from ..pos_session import queries, service
from ..pos_session.schemas import HistoryQuerySchema, SessionHistoryResponse
from . import bp
from .filters import difference_words
from .forms import once
from .routes import store_view

PAGE = 25
FILTERS = ("cashier", "status", "from", "to")
history_query = HistoryQuerySchema()
next_cursor = SessionHistoryResponse().fields["next_cursor"]


def _history_query(args) -> tuple[dict, dict]:
    """The API's history query from the page's filters (dates are business days in store
    time, both included), and the messages by filter."""
    query, errors = {"limit": PAGE}, {}
    for name, key in (("cashier", "profileId"), ("status", "status"), ("cursor", "cursor")):
        if args.get(name):
            query[key] = args[name]
    for name, after in (("from", 0), ("to", 1)):
        if args.get(name):
            try:
                day = date.fromisoformat(args[name]) + timedelta(days=after)
            except ValueError:
                errors[name] = ["Enter a date such as 2025-03-31."]
                continue
            query[name] = reports.day_bounds(g.store, day)[0].isoformat()
    if errors:
        return {}, errors
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
    cashiers = {row.profile.id: row.profile for row in management.list_profiles(store_id)}
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


def _session_page(store_id, session_id, status=200, errors=None, values=None):
    report = queries.session_report(store_id, session_id)
    cashier = management.get_profile(report.session.pos_profile_id, store_id)
    page = render_template(
        "backoffice/session.html",
        report=report,
        cashier=cashier,
        errors=errors or {},
        values=values or {},
    )
    return page, status


@bp.get("/stores/<store_id>/sessions/<session_id>")
@store_view
def session_page(store_id, session_id):
    return _session_page(store_id, session_id)


@bp.post("/stores/<store_id>/sessions/<session_id>/force-close")
@store_view
@once(".sessions")
def force_close(store_id, session_id):
    counted, reason = request.form.get("counted", ""), request.form.get("reason", "")
    try:
        closed = service.force_close(
            UnitOfWork(), store_id, session_id, counted, reason, current_user.manager
        )
    except InvalidInput as err:
        typed = {"counted": counted, "reason": reason}
        return _session_page(store_id, session_id, 400, err.errors, typed)
    except SessionClosed:
        flash("This session was already closed, so nothing was changed.", "info")
    else:
        in_words = difference_words(closed.closing.difference, g.store.currency)
        flash(
            f"Session closed by force: {in_words}. Its Z-report is below, ready to print; "
            "the cashier can open a new session now.",
            "done",
        )
    return redirect(url_for(".session_page", store_id=store_id, session_id=session_id))
