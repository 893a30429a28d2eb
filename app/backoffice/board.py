"""The board: who is working right now and what each drawer should hold, updating itself."""

from datetime import timedelta
from typing import NamedTuple

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import reports
from ..models import Store, utcnow
from ..people.cashiers import ProfileRow, list_profiles
from ..people.managers import granted_store
from ..sessions import queries
from .journal import pending_approvals
from .views import last_store, store_view

bp = Blueprint("board", __name__)


class BoardRow(NamedTuple):
    row: ProfileRow
    expected_cash: object  # Decimal while a session is open, else None
    stale: bool
    held_by: str | None  # on an opener's row: who took its drawer over, if another
    on: tuple | None  # on another's drawer: (its session, its opener's name, holds it)


def _board(store: Store) -> dict:
    expected = queries.open_summaries(store.id)
    stale_before = utcnow() - timedelta(hours=store.stale_after_hours)
    profiles = list_profiles(store.id)
    names = {row.profile.id: row.profile.name for row in profiles}
    opened = {row.open_session.id: row.open_session for row in profiles if row.open_session}
    presences = queries.open_presences(store.id)
    on = {}  # a cashier on a drawer another opened: it works, though it opened none
    for session_id, presence in presences.items():
        session = opened[session_id]
        for profile_id in (presence.attendants | {presence.holder}) - {session.pos_profile_id}:
            on[profile_id] = (session, names[session.pos_profile_id], profile_id == presence.holder)
    rows = []
    for row in profiles:
        session = row.open_session
        holder = presences[session.id].holder if session and session.id in presences else None
        rows.append(
            BoardRow(
                row,
                expected.get(session.id) if session else None,
                session is not None and session.created_at < stale_before,
                names[holder] if holder not in (None, row.profile.id) else None,
                on.get(row.profile.id),
            )
        )
    # The working ones first, then the idle; by name within each (list_profiles' order).
    rows.sort(key=lambda board_row: board_row.row.open_session is None and board_row.on is None)
    working = sum(r.row.open_session is not None or r.on is not None for r in rows)
    return {"rows": rows, "working": working, "updated": utcnow()}


@bp.get("/")
@login_required
def index():
    """The store chosen in the switcher, else the last one used, else the first granted."""
    wanted = request.args.get("store")
    store = granted_store(current_user.manager, wanted) if wanted else last_store()
    if store is None:
        abort(404)
    return redirect(url_for(".board", store_id=store.id))


@bp.get("/stores/<store_id>/")
@store_view
def board(store_id):
    forced = queries.forced_closings(
        store_id, reports.day_bounds(g.store, reports.today(g.store))[0]
    )
    return render_template(
        "backoffice/board.html",
        forced=forced,
        pending=pending_approvals(store_id),
        **_board(g.store),
    )


@bp.get("/stores/<store_id>/board-table")
@store_view
def board_table(store_id):
    """The table alone, which the page's script swaps in every few seconds."""
    return render_template("backoffice/_board_table.html", **_board(g.store))
