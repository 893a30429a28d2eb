"""password attempts per profile, for the lockout

Revision ID: 0003
Revises: 0002

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "password_attempt",
        sa.Column("profile_id", sa.String(length=24), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["pos_profile.id"],
        ),
        sa.PrimaryKeyConstraint("profile_id"),
    )


def downgrade():
    op.drop_table("password_attempt")
