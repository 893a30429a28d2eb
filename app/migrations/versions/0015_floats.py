"""floats: the cash a closing leaves in the drawer and drops to the safe, and the next opening's
discrepancy at start on the same terminal

Revision ID: 0015
Revises: 0013

Columns are added with ALTER TABLE ADD COLUMN, never by recreating a table, so pos_session and
pos_closing keep their triggers (0006) and no row is rewritten. Every existing closing left no
float and every existing session has no terminal nor discrepancy (null), which is what their
journal entries say by leaving the keys out, so the journal verifies as before. A session's
discrepancy and terminal are fixed once written, as its opening cash is (0006's trigger, made
again with them).
"""

import sqlalchemy as sa
from alembic import op

from app.models import MoneyColumn

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ADDED = {
    "pos_session": ("terminal", "discrepancy_at_start"),
    "pos_closing": ("float_left", "to_safe"),
}
INDEX = "ix_pos_session_store_terminal_created"
FIXED = "pos_session_figures_fixed"
REFUSED = "cash records are append-only: corrections are new facts"
# 0006's condition, then this revision's columns.
CHANGED = {
    "sqlite": (
        "NEW.opening_cash IS NOT OLD.opening_cash OR (OLD.pos_closing_id IS NOT NULL AND "
        "NEW.pos_closing_id IS NOT OLD.pos_closing_id)",
        " OR NEW.{0} IS NOT OLD.{0}",
    ),
    "postgresql": (
        "NEW.opening_cash IS DISTINCT FROM OLD.opening_cash OR (OLD.pos_closing_id IS NOT NULL "
        "AND NEW.pos_closing_id IS DISTINCT FROM OLD.pos_closing_id)",
        " OR NEW.{0} IS DISTINCT FROM OLD.{0}",
    ),
}


def _figures_fixed(columns: tuple[str, ...]) -> None:
    """pos_session's UPDATE trigger, refusing a change to its figures and to ``columns``."""
    dialect = op.get_bind().dialect.name
    changed, each = CHANGED[dialect]
    when = changed + "".join(each.format(column) for column in columns)
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER {FIXED} ON pos_session")
        op.execute(
            f"CREATE TRIGGER {FIXED} BEFORE UPDATE ON pos_session FOR EACH ROW WHEN ({when}) "
            "EXECUTE FUNCTION pos_refuse_change()"
        )
    else:
        op.execute(f"DROP TRIGGER {FIXED}")
        op.execute(
            f"CREATE TRIGGER {FIXED} BEFORE UPDATE ON pos_session FOR EACH ROW WHEN {when} "
            f"BEGIN SELECT RAISE(ABORT, 'pos_session: {REFUSED}'); END"
        )


def upgrade():
    op.add_column("pos_session", sa.Column("terminal", sa.String(36), nullable=True))
    op.add_column("pos_session", sa.Column("discrepancy_at_start", MoneyColumn(), nullable=True))
    op.add_column("pos_closing", sa.Column("float_left", MoneyColumn(), nullable=True))
    op.add_column("pos_closing", sa.Column("to_safe", MoneyColumn(), nullable=True))
    op.create_index(INDEX, "pos_session", ["store_id", "terminal", "created_at"])
    _figures_fixed(ADDED["pos_session"])


def downgrade():
    _figures_fixed(())
    op.drop_index(INDEX, table_name="pos_session")
    # ALTER TABLE, not a batch: a batch recreates the table on SQLite, without 0006's triggers.
    for table, columns in ADDED.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
