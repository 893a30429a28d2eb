"""The terminals: the store's API tokens, a new one issued (shown once), one revoked."""

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from ..api.auth import issue_token, revoke_tokens
from ..machinery.extensions import db
from ..models import ApiToken
from ..owner_input import Name
from .forms import once
from .views import store_view

bp = Blueprint("terminals", __name__)


class NewTerminalSchema(Schema):
    name = Name(required=True)
    days = fields.Integer(
        load_default=365,
        validate=validate.Range(1, 3650, error="Enter a number of days from 1 to 3650."),
        error_messages={"invalid": "Enter a number of days from 1 to 3650."},
    )


def _store_tokens(store_id: str) -> list[ApiToken]:
    """The tokens that grant this store, newest first (a store has a handful)."""
    tokens = db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc()))
    return [token for token in tokens if store_id in token.stores.split()]


def _terminals_page(status=200, errors=None, values=None, issued=None):
    page = render_template(
        "backoffice/terminals.html",
        tokens=_store_tokens(g.store.id),
        errors=errors or {},
        values=values or {"days": 365},
        issued=issued,
    )
    return page, status


@bp.get("/stores/<store_id>/terminals")
@store_view
def terminals(store_id):
    return _terminals_page()


@bp.post("/stores/<store_id>/terminals")
@store_view
@once(".terminals")
def issue_terminal(store_id):
    typed = {k: request.form.get(k, "") for k in ("name", "days")}
    try:
        values = NewTerminalSchema().load(typed)
    except ValidationError as err:
        return _terminals_page(400, err.normalized_messages(), typed)
    token = issue_token([store_id], values["name"], values["days"])
    db.session.rollback()  # a fresh read transaction: the list below must show the new token
    # Rendered, not redirected to: the token is shown this once and never stored in clear.
    return _terminals_page(issued={"name": values["name"], "token": token})


@bp.post("/stores/<store_id>/terminals/<jti>/revoke")
@store_view
@once(".terminals")
def revoke_terminal(store_id, jti):
    token = db.session.get(ApiToken, jti)
    if token is None or store_id not in token.stores.split():
        abort(404)
    if revoke_tokens(jti=jti):
        flash(
            f"{token.name} is revoked: that terminal is refused from its next request. "
            "Issue a new token to connect it again.",
            "done",
        )
    return redirect(url_for(".terminals", store_id=store_id))
