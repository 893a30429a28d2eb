"""The stores and their settings (name, time zone, business day, staleness, currency).

The edges load the settings (``app.owner_input.StoreSettingsSchema``) and hand these rules the
typed values; a write reads and writes through the unit of work it is handed and tells it when
it is done (``uow.done()``). ``get_store`` is a read for the pages, in the request's session.
"""

from .exceptions import StoreNotFound
from .machinery.database import UnitOfWork
from .machinery.extensions import db
from .models import Store


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
