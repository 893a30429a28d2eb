"""The owner's rules: store settings, the cashier's whole life, managers and their sign-in.

The back-office page and the CLI call these functions with what a person typed: each one
validates it with the schemas below; each write goes through the unit of work it is handed and
owns its commit, as the session rules do. Refusals are domain errors (``app.exceptions``):
``InvalidInput`` carries a message per field, for the page to show next to the field. Nothing
is ever deleted: a cashier or manager who left is disabled, and keeps the history.
"""

import re
from datetime import timedelta
from functools import cache
from typing import NamedTuple
from zoneinfo import available_timezones

import bcrypt
from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import and_, delete, select
from sqlalchemy.orm import selectinload

from .database import UnitOfWork
from .exceptions import (
    InvalidInput,
    InvalidPassword,
    ManagerNotFound,
    NameTaken,
    ProfileNotFound,
    StoreNotFound,
)
from .extensions import db
from .models import (
    BackofficeSignin,
    Manager,
    PasswordAttempts,
    PosProfile,
    PosSession,
    Store,
    clean_name,
    utcnow,
)
from .passwords import hash_password, password_problem, verify_password

NAME_MAX = 120


# Schemas: the page's forms and the CLI's arguments go through the same ones.


class Name(fields.String):
    """A person's or store's name: trimmed, not empty, at most 120 characters."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(1, NAME_MAX, error=_NAME_LENGTH), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        return clean_name(super()._deserialize(value, attr, data, **kwargs))


_NAME_LENGTH = f"Enter a name of 1 to {NAME_MAX} characters."


class Password(fields.String):
    """The one password rule of ``app.passwords``, for a password being set."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        value = super()._deserialize(value, attr, data, **kwargs)
        if problem := password_problem(value, new=True):
            raise ValidationError(problem)
        return value


class DayStart(fields.Field):
    """When the business day starts: "HH:MM" or a number of minutes after midnight."""

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        text = str(value).strip()
        if match := re.fullmatch(r"(\d{1,2}):(\d{2})", text):
            hours, minutes = map(int, match.groups())
            if hours < 24 and minutes < 60:
                return hours * 60 + minutes
        elif text.isdigit() and int(text) < 24 * 60:
            return int(text)
        raise ValidationError("Enter a time of day such as 04:00.")


# Names unlike the API's schemas: marshmallow (and so /openapi.json) knows schemas by class name.
class NewCashierSchema(Schema):
    name = Name(required=True)
    password = Password(required=True)


class RenameSchema(Schema):
    name = Name(required=True)


class PasswordSchema(Schema):
    password = Password(required=True)


class SignInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, error="Enter your name."))
    password = Password(required=True)


class ManagerSchema(Schema):
    name = Name(required=True)
    password = Password(required=True)
    stores = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class StoreSettingsSchema(Schema):
    """A store's settings; every field has its default when a store is created."""

    name = Name(required=True)
    timezone = fields.String(load_default="UTC")
    day_start_minutes = DayStart(data_key="day_start", load_default=0)
    stale_after_hours = fields.Integer(
        load_default=16,
        validate=validate.Range(1, 168, error="Enter a number of hours from 1 to 168."),
    )
    # Display only: amounts are plain decimals everywhere else. EUR as the default because the
    # box has to show some code and most of its first shops are in the euro area; `store set`
    # changes it.
    currency = fields.String(load_default="EUR")

    @validates("timezone")
    def _zone(self, value, **kwargs):
        if value not in _zones():
            raise ValidationError("Enter a time zone such as Europe/Paris or America/New_York.")

    @validates("currency")
    def _currency(self, value, **kwargs):
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValidationError("Enter a three-letter currency code such as EUR or USD.")


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _load(schema: Schema, data: dict, partial: bool = False) -> dict:
    try:
        return schema.load(data, partial=partial)
    except ValidationError as err:
        errors = {field: list(messages) for field, messages in err.normalized_messages().items()}
        raise InvalidInput(errors) from None


def _hash(password: str) -> bytes:
    # Outside any transaction: bcrypt is slow on purpose and must not hold the write lock.
    return hash_password(password, current_app.config["BCRYPT_ROUNDS"])


# Stores


def create_store(uow: UnitOfWork, **settings) -> str:
    values = _load(StoreSettingsSchema(), settings)
    with uow:
        store = Store(**values)
        uow.session.add(store)
        uow.commit()
    return store.id


def update_store(uow: UnitOfWork, store_id: str, **settings) -> Store:
    """Change the settings given; the others keep their value."""
    given = {k: v for k, v in settings.items() if v is not None}
    values = _load(StoreSettingsSchema(), given, partial=True)
    with uow:
        store = _store(uow.session, store_id)
        for key, value in values.items():
            setattr(store, key, value)
        uow.commit()
    return store


def get_store(store_id: str) -> Store:
    return _store(db.session, store_id)


def _store(tx, store_id: str) -> Store:
    store = tx.get(Store, store_id)
    if store is None:
        raise StoreNotFound()
    return store


# Cashiers (POS profiles)


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


def get_profile(profile_id: str, store_id: str | None = None) -> PosProfile:
    return _profile(db.session, profile_id, store_id)


def _profile(tx, profile_id: str, store_id: str | None) -> PosProfile:
    """The profile, within ``store_id`` when given: another store's is "not found" too."""
    profile = tx.get(PosProfile, profile_id)
    if profile is None or store_id not in (None, profile.store_id):
        raise ProfileNotFound()
    return profile


def _check_name_free(tx, store_id: str, name: str, profile_id: str | None = None) -> None:
    # Case-insensitive in Python (SQLite's lower() knows only ASCII); a store has few cashiers.
    # On PostgreSQL the store's row lock serialises two adds of the same name.
    tx.execute(select(Store.id).where(Store.id == store_id).with_for_update())
    names = tx.execute(
        select(PosProfile.name).where(PosProfile.store_id == store_id, PosProfile.id != profile_id)
    ).scalars()
    if any(taken.casefold() == name.casefold() for taken in names):
        raise NameTaken()


def create_profile(uow: UnitOfWork, store_id: str, name: str, password: str) -> str:
    values = _load(NewCashierSchema(), {"name": name, "password": password})
    hashed = _hash(values["password"])
    with uow:
        _store(uow.session, store_id)
        _check_name_free(uow.session, store_id, values["name"])
        profile = PosProfile(store_id=store_id, name=values["name"], password_hash=hashed)
        uow.session.add(profile)
        uow.commit()
    return profile.id


def rename_profile(
    uow: UnitOfWork, profile_id: str, name: str, store_id: str | None = None
) -> PosProfile:
    values = _load(RenameSchema(), {"name": name})
    with uow:
        profile = _profile(uow.session, profile_id, store_id)
        _check_name_free(uow.session, profile.store_id, values["name"], profile_id)
        profile.name = values["name"]
        uow.commit()
    return profile


def set_profile_password(
    uow: UnitOfWork, profile_id: str, password: str, store_id: str | None = None
) -> None:
    """The new password works at once and the old one stops at once, in every worker: both
    are checked against the hash in the database, never a cached copy."""
    values = _load(PasswordSchema(), {"password": password})
    hashed = _hash(values["password"])
    with uow:
        _profile(uow.session, profile_id, store_id).password_hash = hashed
        uow.commit()


def set_profile_enabled(
    uow: UnitOfWork, profile_id: str, enabled: bool, store_id: str | None = None
) -> PosProfile:
    """Disable or enable; a disabled cashier can still close the session it has open."""
    with uow:
        profile = _profile(uow.session, profile_id, store_id)
        profile.enabled = enabled
        uow.commit()
    return profile


def unlock_profile(uow: UnitOfWork, profile_id: str, store_id: str | None = None) -> None:
    """Clear the count of wrong passwords, so the cashier may try again at once."""
    with uow:
        _profile(uow.session, profile_id, store_id)
        _clear_attempts(uow.session, profile_id)
        uow.commit()


def _clear_attempts(tx, subject_id: str) -> None:
    tx.execute(delete(PasswordAttempts).where(PasswordAttempts.profile_id == subject_id))


# Managers


def _name_key(name: str) -> str:
    return clean_name(name).casefold()


def create_manager(uow: UnitOfWork, name: str, password: str, store_ids: list[str]) -> str:
    values = _load(ManagerSchema(), {"name": name, "password": password, "stores": store_ids})
    hashed = _hash(values["password"])
    with uow:
        tx = uow.session
        stores = [_store(tx, store_id) for store_id in dict.fromkeys(values["stores"])]
        if tx.scalar(select(Manager.id).where(Manager.name_key == _name_key(values["name"]))):
            raise NameTaken()
        manager = Manager(
            name=values["name"],
            name_key=_name_key(values["name"]),
            password_hash=hashed,
            stores=stores,
        )
        tx.add(manager)
        uow.commit()
    return manager.id


def list_managers() -> list[Manager]:
    return db.session.scalars(
        select(Manager).options(selectinload(Manager.stores)).order_by(Manager.name_key)
    ).all()


def get_manager_by_name(name: str) -> Manager:
    return _manager(db.session, name)


def _manager(tx, name: str) -> Manager:
    manager = tx.scalar(select(Manager).where(Manager.name_key == _name_key(name)))
    if manager is None:
        raise ManagerNotFound()
    return manager


def rename_manager(uow: UnitOfWork, name: str, new_name: str) -> None:
    values = _load(RenameSchema(), {"name": new_name})
    with uow:
        tx = uow.session
        manager = _manager(tx, name)
        key = _name_key(values["name"])
        if tx.scalar(select(Manager.id).where(Manager.name_key == key, Manager.id != manager.id)):
            raise NameTaken()
        manager.name, manager.name_key = values["name"], key
        uow.commit()


def set_manager_password(uow: UnitOfWork, name: str, password: str) -> None:
    """Also signs the manager out of every browser: whoever knew the old password may be
    signed in with it."""
    values = _load(PasswordSchema(), {"password": password})
    hashed = _hash(values["password"])
    with uow:
        manager = _manager(uow.session, name)
        manager.password_hash = hashed
        _end_signins(uow.session, manager.id)
        uow.commit()


def set_manager_enabled(uow: UnitOfWork, name: str, enabled: bool) -> None:
    """Disabling also signs the manager out of every browser; enabling signs nobody in."""
    with uow:
        manager = _manager(uow.session, name)
        manager.enabled = enabled
        if not enabled:
            _end_signins(uow.session, manager.id)
        uow.commit()


def end_signins(uow: UnitOfWork, manager_id: str, signin_id: str | None = None) -> None:
    """Sign the manager out of the browser whose sign-in is ``signin_id``, else of every
    browser. Another manager's sign-in, or one already ended, is left as it is."""
    with uow:
        _end_signins(uow.session, manager_id, signin_id)
        uow.commit()


def _end_signins(tx, manager_id: str, signin_id: str | None = None) -> None:
    # Deleted, not marked: a sign-in not in the table is refused (app.backoffice.signins).
    ended = delete(BackofficeSignin).where(BackofficeSignin.manager_id == manager_id)
    if signin_id is not None:
        ended = ended.where(BackofficeSignin.id == signin_id)
    tx.execute(ended)


def unlock_manager(uow: UnitOfWork, name: str) -> None:
    with uow:
        _clear_attempts(uow.session, _manager(uow.session, name).id)
        uow.commit()


def authenticate_manager(name: str, password: str) -> Manager:
    """The manager, if enabled and the password is right; the cashiers' lockout applies.

    Raises InvalidPassword (an unknown or disabled name too: the page must not tell which
    names exist) or TooManyAttempts, both from ``app.passwords``."""
    values = _load(SignInSchema(), {"name": name, "password": password})
    manager = db.session.scalar(select(Manager).where(Manager.name_key == _name_key(name)))
    if manager is None or not manager.enabled:
        # As slow as a wrong password, so a name that exists cannot be told from one that does not.
        bcrypt.checkpw(
            values["password"].encode(), _unused_hash(current_app.config["BCRYPT_ROUNDS"])
        )
        raise InvalidPassword()
    verify_password(manager, values["password"])
    return db.session.get(Manager, manager.id)


@cache
def _unused_hash(rounds: int) -> bytes:
    return hash_password("no manager has this password", rounds)


def granted_store(manager: Manager, store_id: str) -> Store:
    """The store if granted to the manager; any other is "not found", whether it exists or not."""
    for store in manager.stores:
        if store.id == store_id:
            return store
    raise StoreNotFound()
