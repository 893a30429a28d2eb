"""closings, cash movements, idempotency keys; session note and closed_by

Revision ID: 0002
Revises: 0001
Money columns hold integer cents. pos_session only gains columns and indexes, which SQLite
does in place: no table rebuild, so it is quick on a large history and safe with foreign keys on.
pos_session.pos_closing_id stays a plain column (see the model).

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pos_closing",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("pos_session_id", sa.String(length=24), nullable=False),
        sa.Column("pos_profile_id", sa.String(length=24), nullable=False),
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("closing_cash", sa.BigInteger(), nullable=False),
        sa.Column("expected_cash", sa.BigInteger(), nullable=False),
        sa.Column("difference", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("closed_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["pos_profile_id"], ["pos_profile.id"]),
        sa.ForeignKeyConstraint(["pos_session_id"], ["pos_session.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pos_session_id", name="uq_pos_closing_session"),
    )
    with op.batch_alter_table("pos_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=120), nullable=True))
        batch_op.drop_index("ix_pos_session_store_created")
        batch_op.create_index(
            "ix_pos_session_store_created_id", ["store_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_pos_session_profile_created_id",
            ["pos_profile_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_pos_session_store_open_created_id",
            ["store_id", "created_at", "id"],
            unique=False,
            sqlite_where=sa.text("pos_closing_id IS NULL"),
            postgresql_where=sa.text("pos_closing_id IS NULL"),
        )

    op.create_table(
        "cash_movement",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("pos_session_id", sa.String(length=24), nullable=False),
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "type IN ('sale', 'refund', 'pay_in', 'pay_out')", name="ck_cash_movement_type"
        ),
        sa.CheckConstraint("amount > 0", name="ck_cash_movement_amount_positive"),
        sa.ForeignKeyConstraint(["pos_session_id"], ["pos_session.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cash_movement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cash_movement_session_created", ["pos_session_id", "created_at"], unique=False
        )

    op.create_table(
        "idempotency_key",
        sa.Column("token_jti", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_jti", "key", name="pk_idempotency_key"),
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_key_created", ["created_at"], unique=False)


def downgrade():
    op.drop_table("idempotency_key")
    op.drop_table("cash_movement")
    op.drop_table("pos_closing")
    with op.batch_alter_table("pos_session", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_pos_session_store_open_created_id",
            sqlite_where=sa.text("pos_closing_id IS NULL"),
            postgresql_where=sa.text("pos_closing_id IS NULL"),
        )
        batch_op.drop_index("ix_pos_session_profile_created_id")
        batch_op.drop_index("ix_pos_session_store_created_id")
        batch_op.create_index(
            "ix_pos_session_store_created", ["store_id", "created_at"], unique=False
        )
        batch_op.drop_column("closed_by")
        batch_op.drop_column("note")
