"""profile list versions: a per-store version the database moves whenever the terminals' profile
list may change

Revision ID: 0008
Revises: 0007

Each worker keeps the profile list it last answered per store, with the version it was read at,
and reads the list again only when the version has moved (docs/bench.md). Triggers, not the
code, bump it: whatever changes a profile or a session (the API, the CLI, the back office, a
restore, plain SQL) moves the version in the same transaction, so a kept list is never stale.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("pos_profile", "pos_session")
# A random version, not a count: a database restored in place, then changed, would count to a
# number a worker already keeps for another list. A given version is one content, ever.
RANDOM = {"sqlite": "random()", "postgresql": "floor(random() * 9e18)::bigint"}
BUMP = (
    "INSERT INTO profile_list_version (store_id, version) VALUES ({row}.store_id, {random}) "
    "ON CONFLICT (store_id) DO UPDATE SET version = excluded.version"
)


def upgrade():
    op.create_table(
        "profile_list_version",
        sa.Column("store_id", sa.String(24), sa.ForeignKey("store.id"), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        postgresql_triggers()
    else:
        sqlite_triggers()


def sqlite_triggers():
    # A row that moves to another store changes both stores' lists.
    rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}
    for table in TABLES:
        for event, changed in rows.items():
            bumps = "; ".join(BUMP.format(row=row, random=RANDOM["sqlite"]) for row in changed)
            op.execute(
                f"CREATE TRIGGER {table}_moves_profile_list_{event.lower()} AFTER {event} "
                f"ON {table} FOR EACH ROW BEGIN {bumps}; END"
            )


def postgresql_triggers():
    op.execute(
        "CREATE OR REPLACE FUNCTION pos_move_profile_list() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN "
        f"IF TG_OP <> 'INSERT' THEN {BUMP.format(row='OLD', random=RANDOM['postgresql'])}; END IF; "
        f"IF TG_OP <> 'DELETE' THEN {BUMP.format(row='NEW', random=RANDOM['postgresql'])}; END IF; "
        "RETURN NULL; END $$"
    )
    for table in TABLES:
        # Deferred to the commit: the counter's row is then the last lock a write takes, after
        # the journal's and the totals' rows, so two writes never wait on each other in a cycle.
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_moves_profile_list "
            f"AFTER INSERT OR UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION pos_move_profile_list()"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_moves_profile_list ON {table}")
        op.execute("DROP FUNCTION IF EXISTS pos_move_profile_list()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_moves_profile_list_{event}")
    op.drop_table("profile_list_version")
