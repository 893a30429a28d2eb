"""fiscal year: the month a store's fiscal year starts in, for its accountant's files

Revision ID: 0020
Revises: 0019

A FEC is named after its fiscal year's last day, a FEC or DATEV batch stays within one fiscal
year, and DATEV's header names the year's first day (app.accounting). Every existing store's
year starts in January, as the files took it so far.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounting_settings") as batch:
        batch.add_column(
            sa.Column("fiscal_year_start", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade():
    with op.batch_alter_table("accounting_settings") as batch:
        batch.drop_column("fiscal_year_start")
