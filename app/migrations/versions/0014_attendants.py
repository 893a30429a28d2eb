"""attendants: cashiers joining and leaving a session, handovers of its drawer, a movement's
attendant

Revision ID: 0014
Revises: 0013

A new table, append-only as period_closing is (0013). cash_movement gains ``attendant_id``
with ALTER TABLE ADD COLUMN, never by recreating the table, so it keeps its triggers (0006)
and no row is rewritten: every existing movement has none (null: its session's opener made
it), which is what its journal entry says by leaving the key out, so the journal verifies as
before.
"""

import sqlalchemy as sa
from alembic import op

from app.models import MoneyColumn

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

REFUSED = "cash records are append-only: corrections are new facts"
HANDOVER = ("from_profile_id", "counted_cash", "expected_cash", "difference")


def upgrade():
    op.create_table(
        "pos_attendance",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("pos_session_id", sa.String(24), nullable=False),
        sa.Column("store_id", sa.String(24), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("pos_profile_id", sa.String(24), nullable=False),
        sa.Column("from_profile_id", sa.String(24), nullable=True),
        *(sa.Column(c, MoneyColumn(), nullable=True) for c in HANDOVER[1:]),
        sa.Column("cash_count", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('joined', 'left', 'handover')", name="ck_pos_attendance_kind"),
        sa.CheckConstraint(
            "(kind = 'handover') = (" + " AND ".join(f"{c} IS NOT NULL" for c in HANDOVER) + ")",
            name="ck_pos_attendance_handover",
        ),
        sa.ForeignKeyConstraint(["pos_session_id"], ["pos_session.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.ForeignKeyConstraint(["pos_profile_id"], ["pos_profile.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pos_session_id", "number", name="uq_pos_attendance_number"),
    )
    op.create_index("ix_pos_attendance_profile", "pos_attendance", ["pos_profile_id"])
    op.add_column("cash_movement", sa.Column("attendant_id", sa.String(24), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for name, event, each in (
            ("pos_attendance_append_only", "UPDATE OR DELETE", "ROW"),
            ("pos_attendance_no_truncate", "TRUNCATE", "STATEMENT"),
        ):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON pos_attendance FOR EACH {each} "
                "EXECUTE FUNCTION pos_refuse_change()"
            )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER pos_attendance_no_{event.lower()} BEFORE {event} ON "
                f"pos_attendance BEGIN SELECT RAISE(ABORT, 'pos_attendance: {REFUSED}'); END"
            )


def downgrade():
    # ALTER TABLE, not a batch: a batch recreates the table on SQLite, without 0006's triggers.
    op.execute("ALTER TABLE cash_movement DROP COLUMN attendant_id")
    op.drop_table("pos_attendance")  # its triggers and index go with it
