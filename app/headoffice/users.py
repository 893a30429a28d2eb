"""Head office's users: the managers' life (app.people.managers: a name unique whatever its
case, a password, disabled and enabled, unlocked) in head office's own tables. A new password
or disabling signs the user out of every browser, as it does a manager."""

from ..exceptions import UserNotFound
from ..people.managers import Managers
from .models import Signin, User


class Users(Managers):
    people, signins, not_found = User, Signin, UserNotFound

    def new(self, tx) -> User:
        return User()


_life = Users()
create, get, rename = _life.create, _life.get, _life.rename
set_password, set_enabled, unlock = _life.set_password, _life.set_enabled, _life.unlock
