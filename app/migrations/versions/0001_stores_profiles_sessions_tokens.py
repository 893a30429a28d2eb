"""stores, profiles, sessions, tokens

Revision ID: 0001
Revises:
Money columns hold integer cents.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("jti", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("stores", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_table(
        "store",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "pos_profile",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "name", name="uq_pos_profile_store_name"),
    )
    with op.batch_alter_table("pos_profile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pos_profile_store_id"), ["store_id"], unique=False)

    op.create_table(
        "pos_session",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("pos_profile_id", sa.String(length=24), nullable=False),
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("opening_cash", sa.BigInteger(), nullable=False),
        sa.Column("pos_closing_id", sa.String(length=24), nullable=True),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pos_profile_id"],
            ["pos_profile.id"],
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pos_session", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pos_session_store_created", ["store_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_pos_session_one_open_per_profile",
            ["pos_profile_id"],
            unique=True,
            sqlite_where=sa.text("pos_closing_id IS NULL"),
            postgresql_where=sa.text("pos_closing_id IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("pos_session", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_pos_session_one_open_per_profile",
            sqlite_where=sa.text("pos_closing_id IS NULL"),
            postgresql_where=sa.text("pos_closing_id IS NULL"),
        )
        batch_op.drop_index("ix_pos_session_store_created")

    op.drop_table("pos_session")
    with op.batch_alter_table("pos_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pos_profile_store_id"))

    op.drop_table("pos_profile")
    op.drop_table("store")
    op.drop_table("api_token")
