"""period closings: a store's monthly and yearly closings, summed from its Z closings

Revision ID: 0013
Revises: 0012

A new table, append-only as pos_closing is (0006's triggers' pattern). No existing row changes,
so a box with history verifies as before; its ended periods are closed by the first
`flask --app wsgi period close` after the upgrade.
"""

import sqlalchemy as sa
from alembic import op

from app.models import MoneyColumn

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

REFUSED = "cash records are append-only: corrections are new facts"
TOTALS = ("sales", "refunds", "pay_ins", "pay_outs")


def upgrade():
    op.create_table(
        "period_closing",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("store_id", sa.String(24), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("first_z", sa.Integer(), nullable=False),
        sa.Column("last_z", sa.Integer(), nullable=False),
        sa.Column("pos_session_id", sa.String(24), nullable=False),
        *(sa.Column(c, MoneyColumn(), nullable=False) for c in TOTALS),
        *(sa.Column(f"grand_{c}", MoneyColumn(), nullable=False) for c in TOTALS),
        sa.Column("closed_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('month', 'year')", name="ck_period_closing_kind"),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.ForeignKeyConstraint(["pos_session_id"], ["pos_session.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "kind", "period", name="uq_period_closing_period"),
        sa.UniqueConstraint("store_id", "kind", "number", name="uq_period_closing_number"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, event, each in (
            ("period_closing_append_only", "UPDATE OR DELETE", "ROW"),
            ("period_closing_no_truncate", "TRUNCATE", "STATEMENT"),
        ):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON period_closing FOR EACH {each} "
                "EXECUTE FUNCTION pos_refuse_change()"
            )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER period_closing_no_{event.lower()} BEFORE {event} ON "
                f"period_closing BEGIN SELECT RAISE(ABORT, 'period_closing: {REFUSED}'); END"
            )


def downgrade():
    op.drop_table("period_closing")  # its triggers go with it
