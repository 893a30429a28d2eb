"""A new release never loses data, and the migrations build exactly the schema the models describe.

The upgrade test is generic: it fills whatever tables the first revision has, from their
reflected columns, so it keeps working as revisions are added. A later revision that rewrites
existing values on purpose has to say so here.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask_migrate import upgrade

from app.machinery import revisions
from app.machinery.extensions import db

ROWS = 3


def first_revision() -> str:
    [base] = revisions.scripts().get_bases()
    return base


def reflect(connection) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(bind=connection)
    return metadata


def value_for(column: sa.Column, row: int, inserted: dict):
    """A plausible value of the column's type; row ``i`` references row ``i`` of its parent."""
    if column.foreign_keys:
        [key] = column.foreign_keys
        return inserted[key.column.table.name][row][key.column.name]
    if column.nullable and not column.primary_key and row == 0:
        return None
    kind = column.type.python_type
    if kind is str:
        text = f"r{row}{column.table.name}{column.name}".replace("_", "")
        return text[: column.type.length] if column.type.length else text
    if kind is bool:
        return row % 2 == 1
    if kind is int:
        return 1_500_000 + row
    if kind is Decimal:
        return Decimal("1234.56") + row
    if kind is float:
        return 12.5 + row
    if kind is datetime:
        return datetime(2025, 11, 8, 14, 2, 37, 527000) + timedelta(days=row)
    if kind is date:
        return date(2025, 11, 8) + timedelta(days=row)
    if kind is bytes:
        return b"$2b$04$" + bytes([row]) * 53
    raise NotImplementedError(f"no test value for {column.table.name}.{column.name} ({kind})")


@pytest.fixture
def first_release_db(app):
    """The app's database, emptied and rebuilt by the first release's migration."""
    with app.app_context():
        with db.engine.begin() as connection:
            reflect(connection).drop_all(bind=connection)
        upgrade(revision=first_revision())
    return app


def fill_every_table(connection) -> dict:
    inserted = {}
    for table in reflect(connection).sorted_tables:
        if table.name == "alembic_version":
            continue
        rows = []
        for row in range(ROWS):
            rows.append({})
            for column in table.columns:
                rows[-1][column.name] = value_for(column, row, inserted)
        connection.execute(table.insert(), rows)
        inserted[table.name] = rows
    return inserted


def test_upgrading_a_first_release_database_keeps_every_row(first_release_db, client):
    app = first_release_db
    with app.app_context():
        with db.engine.begin() as connection:
            assert revisions.current(connection) == first_revision()
            inserted = fill_every_table(connection)
        assert {"store", "pos_profile", "pos_session", "api_token"} <= set(inserted)

        upgrade()

        with db.engine.connect() as connection:
            assert revisions.current(connection) == revisions.head()
            tables = reflect(connection).tables
            for name, rows in inserted.items():
                table = tables[name]
                found = [dict(r._mapping) for r in connection.execute(sa.select(table))]
                assert len(found) == len(rows), name
                key = [c.name for c in table.primary_key.columns]
                by_key = {tuple(r[k] for k in key): r for r in found}
                for row in rows:
                    kept = by_key[tuple(row[k] for k in key)]
                    assert {c: kept[c] for c in row} == row, name

        # The models read every upgraded row (types, money, timestamps).
        for mapper in db.Model.registry.mappers:
            if mapper.local_table.name in inserted:
                assert len(db.session.scalars(sa.select(mapper.class_)).all()) == ROWS
    assert client.get("/healthz").status_code == 200


def test_init_db_upgrades_a_first_release_database(first_release_db, runner):
    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    with first_release_db.app_context(), db.engine.connect() as connection:
        assert revisions.current(connection) == revisions.head()


def test_migrations_build_what_the_models_describe(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []
