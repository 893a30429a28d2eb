"""One-time form tokens: a form sent twice (a double click, a reload) acts once.

Each form carries a random token in the hidden field ``once``. It is spent, in the database, in
a transaction of its own before the action runs: of two sends of the same form, in any worker,
only the first gets through. A form refused for bad input comes back with a new token.
"""

import secrets
from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, flash, redirect, request, url_for
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from ..machinery.database import UnitOfWork
from ..models import FormSubmission, utcnow

bp = Blueprint("forms", __name__)

FIELD = "once"
KEPT = timedelta(days=1)  # older tokens are forgotten; no page stays open that long


@bp.app_template_global("once_token")
def new_token() -> str:
    return secrets.token_urlsafe(24)


def spend(token: str) -> bool:
    """True the first time a token is sent, False ever after."""
    try:
        with UnitOfWork() as uow:
            tx = uow.session
            tx.execute(delete(FormSubmission).where(FormSubmission.created_at < utcnow() - KEPT))
            tx.add(FormSubmission(token=token))
            uow.commit()
    except IntegrityError:
        return False
    return True


def once(then: str):
    """Run the view for a form's first send only; a repeat goes to the page ``then``."""

    def decorate(view):
        @wraps(view)
        def wrapper(**kwargs):
            token = request.form.get(FIELD, "")
            if not 16 <= len(token) <= 64:
                abort(400)
            if not spend(token):
                flash("That form was already sent, so nothing was done a second time.", "info")
                return redirect(url_for(then, store_id=kwargs["store_id"]))
            return view(**kwargs)

        return wrapper

    return decorate
