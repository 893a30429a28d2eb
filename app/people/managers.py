"""The managers, who run the stores granted to them from the back-office page: the life of
``life`` addressed by name, unique whatever its case. A new password or disabling also signs
the manager out of every browser: whoever knew the old password may be signed in with it.
Head office's users live the same life, in its own tables (app/headoffice/users.py)."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..exceptions import ManagerNotFound, NameTaken, StoreNotFound
from ..machinery.extensions import db
from ..models import BackofficeSignin, Manager, Store, clean_name
from ..stores import find_store
from .life import Life, end_signins_in


def name_key(name: str) -> str:
    return clean_name(name).casefold()


class Managers(Life):
    """People found by a name unique whatever its case, who sign in to a page: of the table
    ``people``, their sign-ins in ``signins``, ``not_found`` raised for a name no one has."""

    people, signins, not_found = Manager, BackofficeSignin, ManagerNotFound

    def find(self, tx, name: str):
        person = tx.scalar(select(self.people).where(self.people.name_key == name_key(name)))
        if person is None:
            raise self.not_found()
        return person

    def new(self, tx, store_ids: list[str]) -> Manager:
        return Manager(stores=[find_store(tx, store_id) for store_id in dict.fromkeys(store_ids)])

    def check_name_free(self, tx, person, name: str) -> None:
        people = self.people
        if tx.scalar(
            select(people.id).where(people.name_key == name_key(name), people.id != person.id)
        ):
            raise NameTaken()

    def give_name(self, person, name: str) -> None:
        person.name, person.name_key = name, name_key(name)

    def end_signins(self, tx, person) -> None:
        end_signins_in(tx, self.signins, person.id)


_life = Managers()
create, get, rename = _life.create, _life.get, _life.rename
set_password, set_enabled, unlock = _life.set_password, _life.set_enabled, _life.unlock


def list_managers() -> list[Manager]:
    return db.session.scalars(
        select(Manager).options(selectinload(Manager.stores)).order_by(Manager.name_key)
    ).all()


def granted_store(manager: Manager, store_id: str) -> Store:
    """The store if granted to the manager; any other is "not found", whether it exists or not."""
    for store in manager.stores:
        if store.id == store_id:
            return store
    raise StoreNotFound()
