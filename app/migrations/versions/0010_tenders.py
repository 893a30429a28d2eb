"""tenders: the store's ways of being paid besides cash, a movement's tender, a closing's
per-tender counts

Revision ID: 0010
Revises: 0009

Columns are added with ALTER TABLE ADD COLUMN, never by recreating a table: cash_movement and
pos_closing keep their append-only triggers (0006), and no row is rewritten. Every existing
movement is cash (the column's default) and every existing closing has no other tender (null),
which is what their journal entries say by leaving the keys out, so the journal verifies as
before. The tender table gets its own triggers: a tender is disabled, never deleted, and its
code (which movements name) and kind never change.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

REFUSED = "a tender is disabled, never deleted, and keeps its code and kind"
FIXED = ("store_id", "code", "kind")


def upgrade():
    op.create_table(
        "tender",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("store_id", sa.String(24), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('card', 'voucher', 'cheque', 'other')", name="ck_tender_kind"),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "code", name="uq_tender_store_code"),
    )
    op.add_column(
        "cash_movement",
        sa.Column("tender", sa.String(32), server_default="cash", nullable=False),
    )
    op.add_column("pos_closing", sa.Column("tenders", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _sqlite_triggers():
    changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in FIXED)
    for name, event, when in (
        ("tender_no_delete", "DELETE", ""),
        ("tender_fixed", "UPDATE", f"FOR EACH ROW WHEN {changed}"),
    ):
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON tender {when} "
            f"BEGIN SELECT RAISE(ABORT, 'tender: {REFUSED}'); END"
        )


def _postgresql_triggers():
    changed = " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in FIXED)
    for name, event, each, when in (
        ("tender_no_delete", "DELETE", "ROW", ""),
        ("tender_no_truncate", "TRUNCATE", "STATEMENT", ""),
        ("tender_fixed", "UPDATE", "ROW", f"WHEN ({changed})"),
    ):
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON tender FOR EACH {each} {when} "
            "EXECUTE FUNCTION pos_refuse_change()"
        )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("tender_no_delete", "tender_no_truncate", "tender_fixed"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON tender" if postgresql else ""))
    # ALTER TABLE, not a batch: a batch recreates the table on SQLite, without 0006's triggers.
    op.execute("ALTER TABLE pos_closing DROP COLUMN tenders")
    op.execute("ALTER TABLE cash_movement DROP COLUMN tender")
    op.drop_table("tender")
