"""floats: the cash a closing leaves in the drawer and drops to the safe, and the next opening's
discrepancy at start on the same terminal

Revision ID: 0015
Revises: 0013

Columns are added with ALTER TABLE ADD COLUMN, never by recreating a table, so pos_session and
pos_closing keep their triggers (0006) and no row is rewritten. Every existing closing left no
float and every existing session has no terminal nor discrepancy (null), which is what their
journal entries say by leaving the keys out, so the journal verifies as before.
"""

import sqlalchemy as sa
from alembic import op

from app.models import MoneyColumn

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

ADDED = {
    "pos_session": ("terminal", "discrepancy_at_start"),
    "pos_closing": ("float_left", "to_safe"),
}
INDEX = "ix_pos_session_store_terminal_created"


def upgrade():
    op.add_column("pos_session", sa.Column("terminal", sa.String(36), nullable=True))
    op.add_column("pos_session", sa.Column("discrepancy_at_start", MoneyColumn(), nullable=True))
    op.add_column("pos_closing", sa.Column("float_left", MoneyColumn(), nullable=True))
    op.add_column("pos_closing", sa.Column("to_safe", MoneyColumn(), nullable=True))
    op.create_index(INDEX, "pos_session", ["store_id", "terminal", "created_at"])


def downgrade():
    op.drop_index(INDEX, table_name="pos_session")
    # ALTER TABLE, not a batch: a batch recreates the table on SQLite, without 0006's triggers.
    for table, columns in ADDED.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
