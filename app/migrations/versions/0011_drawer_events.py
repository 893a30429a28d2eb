"""drawer events: drops and no-sales, movement reasons and the store's list of them

Revision ID: 0011
Revises: 0010

Cash movements gain two types (``drop``: cash to the safe; ``no_sale``: the drawer opened,
amount 0) and a ``reason`` (required on those two). The type and amount checks change with
them, so on SQLite the table is rebuilt (its rows copied as they are) and its append-only
triggers, dropped with the old table, are made again; PostgreSQL alters the table in place and
keeps them. Existing rows have no reason: their journal entries stay what they were. The store
gains its list of pay-in and pay-out reasons.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

REFUSED = "cash records are append-only: corrections are new facts"  # as in 0006
OLD_TYPES = "type IN ('sale', 'refund', 'pay_in', 'pay_out')"
NEW_TYPES = "type IN ('sale', 'refund', 'pay_in', 'pay_out', 'drop', 'no_sale')"
AMOUNT = "(type = 'no_sale' AND amount = 0) OR (type <> 'no_sale' AND amount > 0)"
REASON = "reason IS NOT NULL OR type NOT IN ('drop', 'no_sale')"

# The table as 0002 made it and 0010 added its tender to: SQLite's rebuild copies it from this,
# not from reflection, so every column must be here (a missing one would be dropped, its data lost).
OLD_MOVEMENTS = sa.Table(
    "cash_movement",
    sa.MetaData(),
    sa.Column("id", sa.String(length=24), nullable=False),
    sa.Column("pos_session_id", sa.String(length=24), nullable=False),
    sa.Column("store_id", sa.String(length=24), nullable=False),
    sa.Column("type", sa.String(length=16), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.Column("note", sa.String(length=500), nullable=True),
    sa.Column("created_by", sa.String(length=120), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("tender", sa.String(32), server_default="cash", nullable=False),
    sa.CheckConstraint(OLD_TYPES, name="ck_cash_movement_type"),
    sa.CheckConstraint("amount > 0", name="ck_cash_movement_amount_positive"),
    sa.ForeignKeyConstraint(["pos_session_id"], ["pos_session.id"]),
    sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_cash_movement_session_created", "pos_session_id", "created_at"),
)


def _sqlite_append_only() -> None:
    """0006's triggers on cash_movement, which SQLite dropped with the table it rebuilt."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER cash_movement_no_{event.lower()} BEFORE {event} ON cash_movement "
            f"BEGIN SELECT RAISE(ABORT, 'cash_movement: {REFUSED}'); END"
        )


def upgrade():
    op.create_table(
        "movement_reason",
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("store_id", "name"),
    )
    with op.batch_alter_table("cash_movement", copy_from=OLD_MOVEMENTS) as batch:
        batch.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
        batch.drop_constraint("ck_cash_movement_type", type_="check")
        batch.drop_constraint("ck_cash_movement_amount_positive", type_="check")
        batch.create_check_constraint("ck_cash_movement_type", NEW_TYPES)
        batch.create_check_constraint("ck_cash_movement_amount", AMOUNT)
        batch.create_check_constraint("ck_cash_movement_reason", REASON)
    _sqlite_append_only()


def downgrade():
    # Refused by the checks if a drop or no-sale was recorded: history is never rewritten.
    op.drop_table("movement_reason")
    new = OLD_MOVEMENTS.to_metadata(sa.MetaData())
    new.append_column(sa.Column("reason", sa.String(length=500), nullable=True))
    for constraint in list(new.constraints):
        if isinstance(constraint, sa.CheckConstraint):
            new.constraints.remove(constraint)
    new.append_constraint(sa.CheckConstraint(NEW_TYPES, name="ck_cash_movement_type"))
    new.append_constraint(sa.CheckConstraint(AMOUNT, name="ck_cash_movement_amount"))
    new.append_constraint(sa.CheckConstraint(REASON, name="ck_cash_movement_reason"))
    with op.batch_alter_table("cash_movement", copy_from=new) as batch:
        batch.drop_constraint("ck_cash_movement_reason", type_="check")
        batch.drop_constraint("ck_cash_movement_amount", type_="check")
        batch.drop_constraint("ck_cash_movement_type", type_="check")
        batch.drop_column("reason")
        batch.create_check_constraint("ck_cash_movement_type", OLD_TYPES)
        batch.create_check_constraint("ck_cash_movement_amount_positive", "amount > 0")
    _sqlite_append_only()
