"""period totals: a period closing's drops, no-sales and figures per tender

Revision ID: 0016
Revises: 0015

Columns are added with ALTER TABLE ADD COLUMN, never by recreating the table, so
period_closing keeps its triggers (0013) and no row is rewritten. A closing made before has
none of them (null), which is what its journal entry says by leaving the keys out, so the
journal verifies as before.
"""

import sqlalchemy as sa
from alembic import op

from app.models import MoneyColumn

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = {"drops": MoneyColumn(), "no_sales": sa.Integer(), "tenders": sa.Text()}


def upgrade():
    for name, kind in COLUMNS.items():
        op.add_column("period_closing", sa.Column(name, kind, nullable=True))


def downgrade():
    # ALTER TABLE, not a batch: a batch recreates the table on SQLite, without 0013's triggers.
    for name in COLUMNS:
        op.execute(f"ALTER TABLE period_closing DROP COLUMN {name}")
