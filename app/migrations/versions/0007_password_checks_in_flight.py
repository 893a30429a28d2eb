"""password checks in flight and bcrypt work per second, on the lockout's row

Revision ID: 0007
Revises: 0006

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (see 0004); a row made before counted no check in flight.
    op.add_column(
        "password_attempt",
        sa.Column("checking", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("password_attempt", sa.Column("checking_until", sa.DateTime(), nullable=True))
    op.add_column("password_attempt", sa.Column("work_second", sa.DateTime(), nullable=True))
    op.add_column(
        "password_attempt",
        sa.Column("work", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade():
    for column in ("work", "work_second", "checking_until", "checking"):
        op.drop_column("password_attempt", column)
