"""accounting: a store's accounting settings, and the exports handed out

Revision ID: 0017
Revises: 0013

Two new tables. accounting_export is append-only as pos_closing is (0006's triggers' pattern):
each row is a journaled fact. No existing row changes, so a box with history verifies as before.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

REFUSED = "cash records are append-only: corrections are new facts"


def upgrade():
    op.create_table(
        "accounting_settings",
        sa.Column("store_id", sa.String(24), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("chart", sa.String(8), nullable=False),
        sa.Column("accounts", sa.Text(), nullable=False),
        sa.Column("journal_code", sa.String(8), nullable=False),
        sa.Column("siren", sa.String(9), nullable=True),
        sa.Column("company_name", sa.String(120), nullable=True),
        sa.Column("street", sa.String(120), nullable=True),
        sa.Column("postcode", sa.String(16), nullable=True),
        sa.Column("city", sa.String(120), nullable=True),
        sa.Column("tax_number", sa.String(32), nullable=True),
        sa.Column("vat_id", sa.String(32), nullable=True),
        sa.Column("datev_consultant", sa.Integer(), nullable=True),
        sa.Column("datev_client", sa.Integer(), nullable=True),
        sa.Column("confirmed_by", sa.String(120), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("store_id"),
    )
    op.create_table(
        "accounting_export",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("store_id", sa.String(24), nullable=False),
        sa.Column("pos_session_id", sa.String(24), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("first_day", sa.String(10), nullable=False),
        sa.Column("last_day", sa.String(10), nullable=False),
        sa.Column("first_z", sa.Integer(), nullable=False),
        sa.Column("last_z", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(120), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("exported_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.ForeignKeyConstraint(["pos_session_id"], ["pos_session.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for name, event, each in (
            ("accounting_export_append_only", "UPDATE OR DELETE", "ROW"),
            ("accounting_export_no_truncate", "TRUNCATE", "STATEMENT"),
        ):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON accounting_export FOR EACH {each} "
                "EXECUTE FUNCTION pos_refuse_change()"
            )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER accounting_export_no_{event.lower()} BEFORE {event} ON "
                f"accounting_export BEGIN SELECT RAISE(ABORT, 'accounting_export: {REFUSED}'); END"
            )


def downgrade():
    op.drop_table("accounting_export")  # its triggers go with it
    op.drop_table("accounting_settings")
