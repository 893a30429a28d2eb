"""The cashiers (POS profiles) of a store: the life of ``life`` addressed by profile id, with
the store the id must belong to when given (``store_id=``: another store's is "not found" too).
A name is unique in its store whatever its case. A disabled cashier cannot open a session but
can still close the one it has open."""

from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import and_, select

from ..exceptions import NameTaken, ProfileNotFound
from ..machinery.extensions import db
from ..models import PasswordAttempts, PosProfile, PosSession, Store, utcnow
from ..stores import find_store, get_store
from .life import Life


class Cashiers(Life):
    def find(self, tx, profile_id: str, store_id: str | None = None) -> PosProfile:
        profile = tx.get(PosProfile, profile_id)
        if profile is None or store_id not in (None, profile.store_id):
            raise ProfileNotFound()
        return profile

    def new(self, tx, store_id: str) -> PosProfile:
        find_store(tx, store_id)
        return PosProfile(store_id=store_id)

    def check_name_free(self, tx, person: PosProfile, name: str) -> None:
        # Case-insensitive in Python (SQLite's lower() knows only ASCII); a store has few
        # cashiers. On PostgreSQL the store's row lock serialises two adds of the same name.
        tx.execute(select(Store.id).where(Store.id == person.store_id).with_for_update())
        names = tx.execute(
            select(PosProfile.name).where(
                PosProfile.store_id == person.store_id, PosProfile.id != person.id
            )
        ).scalars()
        if any(taken.casefold() == name.casefold() for taken in names):
            raise NameTaken()


_life = Cashiers()
create, get, rename = _life.create, _life.get, _life.rename
set_password, set_enabled, unlock = _life.set_password, _life.set_enabled, _life.unlock


class ProfileRow(NamedTuple):
    profile: PosProfile
    open_session: PosSession | None
    locked: bool


def list_profiles(store_id: str) -> list[ProfileRow]:
    """Every cashier of the store, disabled ones too, by name, with the open session if any."""
    get_store(store_id)
    attempts = PasswordAttempts
    rows = db.session.execute(
        select(PosProfile, PosSession, attempts)
        .outerjoin(
            PosSession,
            and_(PosSession.pos_profile_id == PosProfile.id, PosSession.pos_closing_id.is_(None)),
        )
        .outerjoin(attempts, attempts.profile_id == PosProfile.id)
        .where(PosProfile.store_id == store_id)
    ).all()
    listed = [ProfileRow(p, s, _is_locked(a)) for p, s, a in rows]
    return sorted(listed, key=lambda row: (row.profile.name.casefold(), row.profile.id))


def _is_locked(attempts: PasswordAttempts | None) -> bool:
    if attempts is None:
        return False
    window = timedelta(seconds=current_app.config["LOCKOUT_WINDOW_SECONDS"])
    return (
        attempts.attempts >= current_app.config["LOCKOUT_ATTEMPTS"]
        and utcnow() < attempts.window_started_at + window
    )
