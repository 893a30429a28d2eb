"""``GET /healthz`` for monitors and load balancers: no auth; 200 only when writes can succeed."""

import logging
import os
import time

from flask import Blueprint, current_app
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from ..api.operation import operation
from ..exceptions import (
    DatabaseCorrupt,
    DatabaseMissing,
    DatabaseReadOnly,
    DatabaseUnavailable,
    SchemaNotAtHead,
)
from . import dbfile, revisions
from .database import UnitOfWork
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
@operation(
    "Health check",
    tag="operations",
    answer=HealthSchema(),
    answered="The database answers, takes a write, passes PRAGMA quick_check (SQLite) and is "
    "at the latest schema revision.",
    also={
        503: "The database is missing, read-only, corrupt, does not answer, or its schema is "
        "not at the latest revision; the message says which."
    },
)
def healthz():
    """Whether this box can serve: the database file is there and writable, sound, at this
    release's schema."""
    problem = _file_problem()
    if problem is None:
        checked_at, problem, at = current_app.extensions.get("pos_health", (None, None, None))
        interval = current_app.config["HEALTH_CHECK_INTERVAL_SECONDS"]
        if checked_at is None or time.monotonic() - checked_at >= interval:
            problem, at = _database_problem()
            current_app.extensions["pos_health"] = (time.monotonic(), problem, at)
    if problem:
        raise problem.with_traceback(None)  # the verdict may be raised again and again
    return {"status": "ok", "database": "ok", "schema": at}


def _file_problem() -> DatabaseUnavailable | None:
    """On every call, as it costs two system calls: the file is there and this user may write."""
    path = dbfile.file_of(db.engine.url)
    if path is None:
        return None
    if dbfile.identity(path) is None:
        return DatabaseMissing()
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return DatabaseReadOnly()
    return None


def _database_problem() -> tuple[DatabaseUnavailable | None, str | None]:
    """On a schedule: the schema revision, then for SQLite PRAGMA quick_check and a write probe
    (user_version rewritten with its own value: one page into the WAL)."""
    sqlite = dbfile.file_of(db.engine.url) is not None
    try:
        db.session.rollback()
        connection = db.session.connection()
        at = revisions.current(connection)
        if sqlite:
            if connection.exec_driver_sql("PRAGMA quick_check").scalars().all() != ["ok"]:
                return DatabaseCorrupt(), at
            with UnitOfWork() as uow:  # IMMEDIATE: a stale read cannot upgrade
                probe = uow.session.connection()
                version = probe.exec_driver_sql("PRAGMA user_version").scalar()
                probe.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
                uow.commit()
    except (SQLAlchemyError, DatabaseUnavailable) as err:
        db.session.rollback()
        # The details stay in the server's log: a monitor only needs to know it is down.
        log.error("health check: database unavailable: %s", err)
        reason = str(err)
        if "readonly" in reason:
            return DatabaseReadOnly(), None
        if "malformed" in reason or "not a database" in reason:
            return DatabaseCorrupt(), None
        return DatabaseUnavailable(), None
    expected = revisions.head()
    if at != expected:
        return SchemaNotAtHead(at, expected), at
    return None, at
