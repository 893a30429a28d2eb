"""One life for someone with a password, cashier or manager: created with a name and a
password, renamed, given a new password, disabled and enabled, unlocked; the password check
itself, with its lockout, is ``app.people.passwords``.

The edges load what was typed (``app.owner_input``) and hand these rules typed values: a name
trimmed, a password that meets the rule. A write reads and writes through the unit of work it
is handed and tells it when it is done (``uow.done()``); ``get`` is a read for the edges, in the
request's session. A kind of person says how one is found (``find``), where a name must be
unique (``check_name_free``) and what else a new password or disabling ends (``end_signins``).
"""

from flask import current_app
from sqlalchemy import delete

from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import PasswordAttempts
from .passwords import hash_password


class Life:
    """The rules for one kind of person; ``where`` narrows the search (a cashier's store)."""

    def find(self, tx, who: str, **where):
        """The person, or the kind's "not found" error."""
        raise NotImplementedError

    def new(self, tx, **where):
        """A person not yet named nor added, with what the kind requires (checked)."""
        raise NotImplementedError

    def check_name_free(self, tx, person, name: str) -> None:
        """Raise NameTaken if another person of the kind is called ``name``."""
        raise NotImplementedError

    def give_name(self, person, name: str) -> None:
        person.name = name

    def end_signins(self, tx, person) -> None:
        """What a new password or disabling ends besides; nothing by default."""

    def get(self, who: str, **where):
        return self.find(db.session, who, **where)

    def create(self, uow: UnitOfWork, name: str, password: str, **where) -> str:
        hashed = _hash(password)
        with uow:
            person = self.new(uow.session, **where)
            self.check_name_free(uow.session, person, name)
            self.give_name(person, name)
            person.password_hash = hashed
            uow.session.add(person)
            uow.done()
        return person.id

    def rename(self, uow: UnitOfWork, who: str, name: str, **where):
        with uow:
            person = self.find(uow.session, who, **where)
            self.check_name_free(uow.session, person, name)
            self.give_name(person, name)
            uow.done()
        return person

    def set_password(self, uow: UnitOfWork, who: str, password: str, **where) -> None:
        """The new password works at once and the old one stops at once, in every worker: both
        are checked against the hash in the database, never a cached copy."""
        hashed = _hash(password)
        with uow:
            person = self.find(uow.session, who, **where)
            person.password_hash = hashed
            self.end_signins(uow.session, person)
            uow.done()

    def set_enabled(self, uow: UnitOfWork, who: str, enabled: bool, **where):
        """Disable or enable; enabling signs nobody in."""
        with uow:
            person = self.find(uow.session, who, **where)
            person.enabled = enabled
            if not enabled:
                self.end_signins(uow.session, person)
            uow.done()
        return person

    def unlock(self, uow: UnitOfWork, who: str, **where) -> None:
        """Clear the count of wrong passwords, so the person may try again at once."""
        with uow:
            person = self.find(uow.session, who, **where)
            uow.session.execute(
                delete(PasswordAttempts).where(PasswordAttempts.profile_id == person.id)
            )
            uow.done()


def end_signins_in(tx, signins, person_id: str, signin_id: str | None = None) -> None:
    """Sign the person out of the browser whose sign-in (a row of ``signins``: the back office's
    or head office's) is ``signin_id``, else of every one."""
    # Deleted, not marked: a sign-in not in the table is refused (app.backoffice.signins).
    ended = delete(signins).where(signins.owner == person_id)
    if signin_id is not None:
        ended = ended.where(signins.id == signin_id)
    tx.execute(ended)


def _hash(password: str) -> bytes:
    # Outside any transaction: bcrypt is slow on purpose and must not hold the write lock.
    return hash_password(password, current_app.config["BCRYPT_ROUNDS"])
