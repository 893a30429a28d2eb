"""back-office sign-ins kept on the server

Revision ID: 0009
Revises: 0008

Until now the back office's sign-in lived only in its signed cookie, so a copy of the cookie
kept working after sign-out. Each sign-in is now a row that the cookie names; ending the row
ends the sign-in. A plain table and index: the same statements on SQLite and PostgreSQL, with
no trigger or dialect-specific step (unlike 0008). The sign-ins of the cookies from before
this revision do not exist, so managers sign in once more after the upgrade.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "backoffice_signin",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("manager_id", sa.String(24), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(["manager_id"], ["manager.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_backoffice_signin_manager_id", "backoffice_signin", ["manager_id"])


def downgrade():
    op.drop_index("ix_backoffice_signin_manager_id", "backoffice_signin")
    op.drop_table("backoffice_signin")
