"""Sign-ins kept on the server: the signed cookie names a row of a sign-in table, and only a row
that is there, not idle past the limit and of an enabled person signs the browser in. Ending a
sign-in (app.people.signin.end_signins, a new password, disabling) deletes its row, so every
copy of the cookie stops working at once. The back office's managers sign in so, in
``backoffice_signin``; head office's users too, in its own table (app/headoffice)."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import BackofficeSignin, Manager, utcnow

# last_seen_at is written at most this often per sign-in, not at every click.
TOUCH_EVERY = timedelta(seconds=60)
USER_AGENT_MAX = 300


class Signins:
    """The sign-ins of one kind of person: rows of ``table`` (its ``owner`` the id of a row of
    ``people``), over after the config's ``idle_setting`` minutes without a click."""

    def __init__(self, table, people, idle_setting: str):
        self.table, self.people, self.idle_setting = table, people, idle_setting

    def _idle_since(self) -> datetime:
        """Sign-ins last seen before this are over. The record may lag the last click by up to
        TOUCH_EVERY, which is allowed for: the server never signs out before the idle time (the
        cookie's own expiry is exact)."""
        idle = timedelta(minutes=int(current_app.config[self.idle_setting]))
        return utcnow() - idle - TOUCH_EVERY

    def start(self, person, user_agent: str):
        printable = "".join(ch for ch in user_agent if ch.isprintable())[:USER_AGENT_MAX]
        with UnitOfWork() as uow:
            # Every person's idle sign-ins go here: one statement, at a rare moment, keeps the
            # table to the sign-ins of the last idle period.
            uow.session.execute(
                delete(self.table).where(self.table.last_seen_at < self._idle_since())
            )
            signin = self.table(owner=person.id, user_agent=printable)
            uow.session.add(signin)
            uow.commit()
        return signin

    def resume(self, signin_id: str, click: bool) -> tuple | None:
        """The sign-in and its person, or None when it has ended, is idle past the limit or its
        person is disabled. A click (not the board's own refresh) counts as activity."""
        found = db.session.execute(
            select(self.table, self.people)
            .join(self.people, self.people.id == self.table.owner)
            .where(self.table.id == signin_id)
        ).first()
        if found is None:
            return None
        signin, person = found
        if not person.enabled or signin.last_seen_at < self._idle_since():
            return None
        now = utcnow()
        if click and now - signin.last_seen_at >= TOUCH_EVERY:
            # Not durable: a power cut losing it costs at most a minute of the idle time.
            with UnitOfWork(durable=False) as uow:
                uow.session.execute(
                    update(self.table).where(self.table.id == signin_id).values(last_seen_at=now)
                )
                uow.commit()
        return signin, person

    def active(self, person_id: str) -> list:
        """The person's sign-ins not idle past the limit, the latest seen first."""
        return db.session.scalars(
            select(self.table)
            .where(self.table.owner == person_id, self.table.last_seen_at >= self._idle_since())
            .order_by(self.table.last_seen_at.desc(), self.table.id)
        ).all()


_managers = Signins(BackofficeSignin, Manager, "BACKOFFICE_IDLE_MINUTES")
start, resume, active = _managers.start, _managers.resume, _managers.active
