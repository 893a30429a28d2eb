"""``GET /healthz`` for monitors and load balancers: no auth, database reachable, schema at head."""

import logging

from flask import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from . import revisions
from .errors import ApiError
from .extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    database = fields.String(required=True, metadata={"example": "ok"})
    schema = fields.String(
        required=True, metadata={"description": "The schema revision", "example": "0001"}
    )


@bp.get("/healthz")
def healthz():
    """Whether this box can serve: the database answers and its schema is the one expected.
    ---
    get:
      summary: Health check
      tags: [operations]
      responses:
        200:
          description: The database answers and is at the latest schema revision.
          content:
            application/json:
              schema: HealthSchema
        503:
          description: The database does not answer, or its schema is not at the latest revision.
    """
    try:
        at = revisions.current(db.session.connection())
    except SQLAlchemyError:
        # The details stay in the server's log: a monitor only needs to know it is down.
        log.exception("health check: database unavailable")
        raise ApiError(503, "Database unavailable") from None
    expected = revisions.head()
    if at != expected:
        raise ApiError(
            503, f"Database schema is at {at or 'no revision'}, expected {expected}: run init-db"
        )
    return HealthSchema().dump({"status": "ok", "database": "ok", "schema": at})
