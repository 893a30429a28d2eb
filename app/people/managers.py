"""The managers, who run the stores granted to them from the back-office page: the life of
``life`` addressed by name, unique whatever its case. A new password or disabling also signs
the manager out of every browser: whoever knew the old password may be signed in with it."""

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from ..exceptions import ManagerNotFound, NameTaken, StoreNotFound
from ..machinery.extensions import db
from ..models import BackofficeSignin, Manager, Store, clean_name
from ..stores import find_store
from .life import Life


def name_key(name: str) -> str:
    return clean_name(name).casefold()


class Managers(Life):
    def find(self, tx, name: str) -> Manager:
        manager = tx.scalar(select(Manager).where(Manager.name_key == name_key(name)))
        if manager is None:
            raise ManagerNotFound()
        return manager

    def new(self, tx, store_ids: list[str]) -> Manager:
        return Manager(stores=[find_store(tx, store_id) for store_id in dict.fromkeys(store_ids)])

    def check_name_free(self, tx, person: Manager, name: str) -> None:
        if tx.scalar(
            select(Manager.id).where(Manager.name_key == name_key(name), Manager.id != person.id)
        ):
            raise NameTaken()

    def give_name(self, person: Manager, name: str) -> None:
        person.name, person.name_key = name, name_key(name)

    def end_signins(self, tx, person: Manager) -> None:
        end_signins_in(tx, person.id)


_life = Managers()
create, get, rename = _life.create, _life.get, _life.rename
set_password, set_enabled, unlock = _life.set_password, _life.set_enabled, _life.unlock


def list_managers() -> list[Manager]:
    return db.session.scalars(
        select(Manager).options(selectinload(Manager.stores)).order_by(Manager.name_key)
    ).all()


def end_signins_in(tx, manager_id: str, signin_id: str | None = None) -> None:
    """Sign the manager out of the browser whose sign-in is ``signin_id``, else of every one."""
    # Deleted, not marked: a sign-in not in the table is refused (app.backoffice.signins).
    ended = delete(BackofficeSignin).where(BackofficeSignin.manager_id == manager_id)
    if signin_id is not None:
        ended = ended.where(BackofficeSignin.id == signin_id)
    tx.execute(ended)


def granted_store(manager: Manager, store_id: str) -> Store:
    """The store if granted to the manager; any other is "not found", whether it exists or not."""
    for store in manager.stores:
        if store.id == store_id:
            return store
    raise StoreNotFound()
