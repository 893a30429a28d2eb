"""managers, store settings, disabled profiles, one-time form tokens

Revision ID: 0004
Revises: 0003

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, not a batch: rebuilding these tables on SQLite would break the foreign
    # keys that point at them. Existing rows take the server defaults.
    for column in (
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("day_start_minutes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("stale_after_hours", sa.Integer(), nullable=False, server_default="16"),
        sa.Column("currency", sa.String(3), nullable=False, server_default="EUR"),
    ):
        op.add_column("store", column)
    op.add_column(
        "pos_profile", sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.create_table(
        "manager",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_key", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.LargeBinary(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_table(
        "manager_store",
        sa.Column("manager_id", sa.String(24), nullable=False),
        sa.Column("store_id", sa.String(24), nullable=False),
        sa.ForeignKeyConstraint(["manager_id"], ["manager.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("manager_id", "store_id"),
    )
    op.create_table(
        "form_submission",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_form_submission_created_at", "form_submission", ["created_at"])
    # The lockout now counts managers' attempts too: the same table without its foreign key
    # to pos_profile. Rebuilt by copy, which needs no constraint name on either database.
    _rebuild_password_attempt(foreign_key=False)


def downgrade():
    _rebuild_password_attempt(foreign_key=True)
    op.drop_index("ix_form_submission_created_at", "form_submission")
    op.drop_table("form_submission")
    op.drop_table("manager_store")
    op.drop_table("manager")
    op.drop_column("pos_profile", "enabled")
    for column in ("currency", "stale_after_hours", "day_start_minutes", "timezone"):
        op.drop_column("store", column)


def _rebuild_password_attempt(foreign_key: bool):
    key = [sa.ForeignKeyConstraint(["profile_id"], ["pos_profile.id"])] if foreign_key else []
    op.create_table(
        "password_attempt_new",
        sa.Column("profile_id", sa.String(24), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        *key,
        sa.PrimaryKeyConstraint("profile_id"),
    )
    copied = "SELECT profile_id, attempts, window_started_at FROM password_attempt"
    if foreign_key:  # a manager's count has no profile to point to
        copied += " WHERE profile_id IN (SELECT id FROM pos_profile)"
    op.execute(f"INSERT INTO password_attempt_new {copied}")
    op.drop_table("password_attempt")
    op.rename_table("password_attempt_new", "password_attempt")
