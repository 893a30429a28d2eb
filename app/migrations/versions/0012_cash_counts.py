"""cash counts: the notes and coins counted at opening and closing, a store's own denominations

Revision ID: 0012
Revises: 0011

Columns are added with ALTER TABLE ADD COLUMN, never by recreating a table, so pos_session and
pos_closing keep their triggers (0006) and no row is rewritten. Every existing session and
closing has no count (null), which is what their journal entries say by leaving the key out,
so the journal verifies as before. A store without its own list (null) counts with its
currency's common notes and coins (app.denominations).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("store", sa.Column("denominations", sa.Text(), nullable=True))
    op.add_column("pos_session", sa.Column("cash_count", sa.Text(), nullable=True))
    op.add_column("pos_closing", sa.Column("cash_count", sa.Text(), nullable=True))


def downgrade():
    # ALTER TABLE, not a batch: a batch recreates the table on SQLite, without 0006's triggers.
    for table in ("pos_closing", "pos_session", "store"):
        op.execute(
            f"ALTER TABLE {table} DROP COLUMN "
            + ("denominations" if table == "store" else "cash_count")
        )
