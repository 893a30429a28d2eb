"""The stores and their settings (name, time zone, business day, staleness, currency, the
reasons a pay-in or pay-out may name).

The edges load the settings (``app.owner_input.StoreSettingsSchema``) and hand these rules the
typed values; a write reads and writes through the unit of work it is handed and tells it when
it is done (``uow.done()``). ``get_store`` is a read for the pages, in the request's session.
"""

from sqlalchemy import select

from .exceptions import StoreNotFound
from .machinery.database import UnitOfWork
from .machinery.extensions import db
from .models import MovementReason, Store


def create_store(uow: UnitOfWork, **settings) -> str:
    """A new store with the settings given; the others take the model's defaults."""
    with uow:
        store = Store(**settings)
        uow.session.add(store)
        uow.done()
    return store.id


def update_store(uow: UnitOfWork, store_id: str, **settings) -> Store:
    """Change the settings given; the others keep their value."""
    with uow:
        store = find_store(uow.session, store_id)
        for key, value in settings.items():
            setattr(store, key, value)
        uow.done()
    return store


def get_store(store_id: str) -> Store:
    return find_store(db.session, store_id)


def find_store(tx, store_id: str) -> Store:
    store = tx.get(Store, store_id)
    if store is None:
        raise StoreNotFound()
    return store


def add_reason(uow: UnitOfWork, store_id: str, name: str) -> None:
    """Add a reason to the store's list (the edges load ``ReasonSchema``); one already there
    stays as it is."""
    with uow:
        find_store(uow.session, store_id)
        if uow.session.get(MovementReason, (store_id, name)) is None:
            uow.session.add(MovementReason(store_id=store_id, name=name))
        uow.done()


def remove_reason(uow: UnitOfWork, store_id: str, name: str) -> bool:
    """Take a reason off the list: movements that named it keep it. False if it was not there."""
    with uow:
        reason = uow.session.get(MovementReason, (find_store(uow.session, store_id).id, name))
        if reason is not None:
            uow.session.delete(reason)
        uow.done()
    return reason is not None


def movement_reasons(store_id: str) -> list[str]:
    """The store's reasons, alphabetical."""
    query = select(MovementReason.name).where(MovementReason.store_id == store_id)
    return list(db.session.scalars(query.order_by(MovementReason.name)))
