"""The accountant's files on the day and month pages: a FEC, DATEV or DSFinV-K file of a range
of business days, downloaded (and journaled as handed out), and the exports made so far."""

from datetime import date

from flask import Blueprint, Response, flash, g, redirect, request, url_for
from flask_login import current_user

from ..accounting.exports import FORMATS, exports_of, prepare, record_export
from ..errors import answer_for
from ..exceptions import DomainError, InvalidInput
from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from .days import typed_day
from .filters import DAY_EXAMPLE, day_text
from .views import store_view

bp = Blueprint("accounting", __name__)

# Each file's own encoding (fec.ENCODING, DATEV's cp1252), as its IANA name; sent as the whole
# Content-Type, so Flask adds no charset of its own.
CONTENT_TYPES = {
    "fec": "text/plain; charset=ISO-8859-15",
    "datev": "text/csv; charset=windows-1252",
    "dsfinvk": "application/zip",
}
LABELS = {"fec": "FEC (France)", "datev": "DATEV (Germany)", "dsfinvk": "DSFinV-K (Germany)"}


@bp.app_template_global("accounting_exports")
def shown_exports() -> list[dict]:
    """The store's last exports, newest first, each marked current when no later one covers
    the same format and days."""
    seen, shown = set(), []
    for row in exports_of(db.session, g.store.id, limit=10):
        key = (row.format, row.first_day, row.last_day)
        first, last = (day_text(date.fromisoformat(day)) for day in (row.first_day, row.last_day))
        days = first if first == last else f"{first} to {last}"
        shown.append({"row": row, "current": key not in seen, "days": days})
        seen.add(key)
    return shown


@bp.app_template_global("accounting_formats")
def formats() -> dict:
    return {fmt: LABELS[fmt] for fmt in FORMATS}


@bp.post("/stores/<store_id>/accounting/export")
@store_view
def export(store_id):
    """The file as an attachment; refused, the page it came from says why."""
    first, last = typed_day(request.form.get("from")), typed_day(request.form.get("to"))
    back = request.form.get("day")
    try:
        if first is None or last is None:
            raise InvalidInput({"from": [f"Enter the first and last days, as in {DAY_EXAMPLE}."]})
        prepared = prepare(db.session, store_id, request.form.get("format", ""), first, last)
        record_export(UnitOfWork(), store_id, prepared, current_user.manager.name)
    except DomainError as err:
        details = err.errors.values() if isinstance(err, InvalidInput) else ()
        message = answer_for(err).message.format(err=err)
        flash(" ".join([message + ".", *(text for texts in details for text in texts)]), "error")
        if day := typed_day(back):
            return redirect(url_for("backoffice.days.day", store_id=store_id, day=day.isoformat()))
        return redirect(url_for("backoffice.journal.periods", store_id=store_id))
    disposition = f'attachment; filename="{prepared.file_name}"'
    return Response(
        prepared.data,
        content_type=CONTENT_TYPES[prepared.format],
        headers={"Content-Disposition": disposition},
    )
