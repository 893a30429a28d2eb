"""The journal page: the store's last verification and one on demand; its monthly and yearly
closings (read only); approvals of closings whose difference was over the store's limit
(listed on the board)."""

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import journal, reports
from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import ClosingApproval, PeriodClosing, PosClosing, PosProfile
from ..sessions import service
from .forms import once
from .views import store_view

bp = Blueprint("journal", __name__)

NOTE_MAX = 500  # closing_approval.note


def pending_approvals(store_id: str) -> list:
    """``(closing, cashier name)`` of the store's closings waiting for a manager, oldest first."""
    return db.session.execute(
        select(PosClosing, PosProfile.name)
        .join(PosProfile, PosProfile.id == PosClosing.pos_profile_id)
        .outerjoin(ClosingApproval)
        .where(
            PosClosing.store_id == store_id,
            PosClosing.needs_approval,
            ClosingApproval.closing_id.is_(None),
        )
        .order_by(PosClosing.z_number)
    ).all()


@bp.get("/stores/<store_id>/journal")
@store_view
def journal_page(store_id):
    last = journal.last_verifications(journal.folder()).get(store_id)
    # The last time the signed head was started anew (a restore of another box's backup, or
    # `journal sign-head`): what it held before matters as much as any verification.
    started = (journal.head_log(journal.folder()) or [None])[-1]
    for shown in (last, started):
        if shown:
            shown["at"] = datetime.fromisoformat(shown["at"])  # shown in store time
    entries = journal.count_entries(db.session.connection(), store_id)
    return render_template("backoffice/journal.html", last=last, started=started, entries=entries)


@bp.get("/stores/<store_id>/journal/periods")
@store_view
def periods(store_id):
    closings = db.session.scalars(
        select(PeriodClosing)
        .where(PeriodClosing.store_id == store_id)
        .order_by(PeriodClosing.kind, PeriodClosing.number.desc())
    ).all()
    return render_template(
        "backoffice/periods.html", closings=closings, month=_last_month(closings)
    )


def _last_month(closings) -> tuple[date, date]:
    """The first and last days of the newest month closed, else of this month so far."""
    months = [c.period for c in closings if c.kind == "month"]
    if not months:
        today = reports.today(g.store)
        return today.replace(day=1), today
    year, month = map(int, max(months).split("-"))
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


@bp.post("/stores/<store_id>/journal/verify")
@store_view
@once(".journal_page")
def verify_journal(store_id):
    folder = journal.folder()
    try:
        heads = journal.read_signed_heads(folder, journal.signing_key(folder).public_key())
    except journal.JournalError as err:
        heads = None
        flash(f"The signed head could not be read: {err}", "error")
    result = journal.verify(db.session.connection(), [store_id], heads)
    last = journal.record_verification(folder, store_id, current_user.manager.name, result)
    if last["ok"]:
        flash(f"The journal holds: {last['entries']} entries checked, nothing changed.", "done")
    else:
        flash(f"The journal does not hold: {last['problem']}", "error")
    return redirect(url_for(".journal_page", store_id=store_id))


@bp.post("/stores/<store_id>/approvals/<closing_id>")
@store_view
@once("backoffice.board.board")
def approve(store_id, closing_id):
    if closing_id not in {closing.id for closing, _name in pending_approvals(store_id)}:
        abort(404)  # another store's, or approved already
    note = request.form.get("note", "").strip() or None
    if note and len(note) > NOTE_MAX:
        flash(f"The note is longer than {NOTE_MAX} characters, so nothing was approved.", "error")
    else:
        service.approve_closing(UnitOfWork(), closing_id, current_user.manager, note)
        flash("Approved. The approval is in the journal and on the Z-report.", "done")
    return redirect(url_for("backoffice.board.board", store_id=store_id))
