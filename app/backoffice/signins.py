"""Back-office sign-ins kept on the server: the signed cookie names a row of
``backoffice_signin``, and only a row that is there, not idle past the limit and of an enabled
manager signs the browser in. Ending a sign-in (app.people.signin.end_signins, a new password,
disabling) deletes its row, so every copy of the cookie stops working at once."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import BackofficeSignin, Manager, utcnow

# last_seen_at is written at most this often per sign-in, not at every click.
TOUCH_EVERY = timedelta(seconds=60)
USER_AGENT_MAX = 300


def _idle_since() -> datetime:
    """Sign-ins last seen before this are over. The record may lag the last click by up to
    TOUCH_EVERY, which is allowed for: the server never signs out before the idle time (the
    cookie's own expiry is exact)."""
    idle = timedelta(minutes=int(current_app.config["BACKOFFICE_IDLE_MINUTES"]))
    return utcnow() - idle - TOUCH_EVERY


def start(manager: Manager, user_agent: str) -> BackofficeSignin:
    printable = "".join(ch for ch in user_agent if ch.isprintable())[:USER_AGENT_MAX]
    with UnitOfWork() as uow:
        # Every manager's idle sign-ins go here: one statement, at a rare moment, keeps the
        # table to the sign-ins of the last idle period.
        uow.session.execute(
            delete(BackofficeSignin).where(BackofficeSignin.last_seen_at < _idle_since())
        )
        signin = BackofficeSignin(manager_id=manager.id, user_agent=printable)
        uow.session.add(signin)
        uow.commit()
    return signin


def resume(signin_id: str, click: bool) -> tuple[BackofficeSignin, Manager] | None:
    """The sign-in and its manager, or None when it has ended, is idle past the limit or its
    manager is disabled. A click (not the board's own refresh) counts as activity."""
    found = db.session.execute(
        select(BackofficeSignin, Manager)
        .join(Manager, Manager.id == BackofficeSignin.manager_id)
        .where(BackofficeSignin.id == signin_id)
    ).first()
    if found is None:
        return None
    signin, manager = found
    if not manager.enabled or signin.last_seen_at < _idle_since():
        return None
    now = utcnow()
    if click and now - signin.last_seen_at >= TOUCH_EVERY:
        # Not durable: a power cut losing it costs at most a minute of the idle time.
        with UnitOfWork(durable=False) as uow:
            uow.session.execute(
                update(BackofficeSignin)
                .where(BackofficeSignin.id == signin_id)
                .values(last_seen_at=now)
            )
            uow.commit()
    return signin, manager


def active(manager_id: str) -> list[BackofficeSignin]:
    """The manager's sign-ins not idle past the limit, the latest seen first."""
    return db.session.scalars(
        select(BackofficeSignin)
        .where(
            BackofficeSignin.manager_id == manager_id,
            BackofficeSignin.last_seen_at >= _idle_since(),
        )
        .order_by(BackofficeSignin.last_seen_at.desc(), BackofficeSignin.id)
    ).all()
