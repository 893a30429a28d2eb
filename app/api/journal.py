"""``GET /pos-session/journal``: the store's journal a page at a time, for accounting systems
and head office (whose follower token opens this route and no other)."""

from flask import Blueprint, g
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..journal import wire_entry
from ..machinery.extensions import db
from ..models import JournalEntry
from .auth import follower_readable
from .operation import operation
from .schemas import StrictSchema

bp = Blueprint("journal", __name__, url_prefix="/pos-session")
PAGE_MAX = 1000


class JournalQuerySchema(StrictSchema):
    after_seq = fields.Integer(
        data_key="afterSeq", load_default=0, validate=validate.Range(min=0, max=2**62)
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=PAGE_MAX))


class JournalEntrySchema(Schema):
    """One entry exactly as hashed (docs/journal.md); ``imported`` only on imported history."""

    seq = fields.Integer(required=True)
    storeId = fields.String(required=True)
    kind = fields.String(required=True)
    at = fields.String(required=True, metadata={"example": "2025-11-08T14:02:37.527Z"})
    sessionId = fields.String(required=True)
    data = fields.Dict(required=True, metadata={"description": "Money as strings, e.g. 15000.00"})
    imported = fields.Boolean(metadata={"description": "Present (true) on imported history"})
    prevHash = fields.String(required=True)
    hash = fields.String(required=True)


class JournalPageResponse(Schema):
    success = fields.Boolean(required=True)
    data = fields.List(fields.Nested(JournalEntrySchema), required=True)
    nextAfterSeq = fields.Integer(
        required=True, allow_none=True, metadata={"description": "afterSeq of the next page"}
    )


_entries = JournalEntry.__table__


@bp.get("/journal")
@follower_readable
@operation(
    "Follow the store's hash-chained journal of cash facts",
    description="Pass nextAfterSeq as afterSeq for the next page; null means there is no more "
    "yet. docs/journal.md says how to check each entry's hash and the chain.\n",
    tag="journal",
    query=JournalQuerySchema(),
    answer=JournalPageResponse(),
    answered="Up to limit entries, oldest first",
    also={400: "Invalid value for afterSeq or limit"},
)
def journal(query):
    """The store's journal entries after a seq, oldest first."""
    rows = db.session.execute(
        select(_entries)
        .where(_entries.c.store_id == g.store_id, _entries.c.seq > query["after_seq"])
        .order_by(_entries.c.seq)
        .limit(query["limit"] + 1)
    ).all()
    page = [wire_entry(row) for row in rows[: query["limit"]]]
    more = len(rows) > query["limit"]
    return {"success": True, "data": page, "nextAfterSeq": page[-1]["seq"] if more else None}
