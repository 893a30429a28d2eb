"""The schema revisions this release knows, read from its own Alembic scripts."""

from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent.parent / "migrations"


@cache
def scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def head() -> str:
    return scripts().get_current_head()


def is_known(revision: str) -> bool:
    return any(script.revision == revision for script in scripts().walk_revisions())


def current(connection: Connection) -> str | None:
    """The revision the database is at; None when it has no ``alembic_version`` table."""
    return MigrationContext.configure(connection).get_current_revision()
