"""A manager's sign-in to the back office: the password check, and signing out (the sign-ins
themselves are kept by ``app.backoffice.signins``)."""

from functools import cache

import bcrypt
from flask import current_app
from sqlalchemy import select

from ..exceptions import InvalidPassword
from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import BackofficeSignin, Manager
from .life import end_signins_in
from .managers import name_key
from .passwords import hash_password, verify_password


def authenticate(name: str, password: str, people=Manager) -> Manager:
    """The manager (or head office's user: ``people``), if enabled and the password is right;
    the cashiers' lockout applies.

    Raises InvalidPassword (an unknown or disabled name too: the page must not tell which
    names exist) or TooManyAttempts, both from ``app.people.passwords``."""
    manager = db.session.scalar(select(people).where(people.name_key == name_key(name)))
    if manager is None or not manager.enabled:
        # As slow as a wrong password, so a name that exists cannot be told from one that does not.
        bcrypt.checkpw(password.encode(), _unused_hash(current_app.config["BCRYPT_ROUNDS"]))
        raise InvalidPassword()
    verify_password(manager, password)
    return db.session.get(people, manager.id)


@cache
def _unused_hash(rounds: int) -> bytes:
    return hash_password("no manager has this password", rounds)


def end_signins(
    uow: UnitOfWork, manager_id: str, signin_id: str | None = None, signins=BackofficeSignin
) -> None:
    """Sign the manager (or head office's user: ``signins``, their sign-ins' table) out of the
    browser whose sign-in is ``signin_id``, else of every browser. Another's sign-in, or one
    already ended, is left as it is."""
    with uow:
        end_signins_in(uow.session, signins, manager_id, signin_id)
        uow.done()
