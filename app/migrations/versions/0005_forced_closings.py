"""forced closings: a manager's close of a forgotten session, and why

Revision ID: 0005
Revises: 0004

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (see 0004); every existing closing was the cashier's own.
    op.add_column(
        "pos_closing",
        sa.Column("forced", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("pos_closing", sa.Column("reason", sa.String(500), nullable=True))


def downgrade():
    op.drop_column("pos_closing", "reason")
    op.drop_column("pos_closing", "forced")
