"""session count fixed: a session's opening count by note and coin is fixed once written

Revision ID: 0019
Revises: 0018

0012 added ``pos_session.cash_count`` with ALTER TABLE, and no trigger guarded it: an UPDATE
went through, and only ``journal verify`` said the row no longer matched its entry. Its own
trigger refuses the change, as 0006's ``pos_session_figures_fixed`` (made again by 0015)
refuses one to the opening cash, the terminal and the discrepancy at start. No row changes.

Every other column the cash day added is guarded already: cash_movement (tender, reason,
attendant_id), pos_closing (tenders, cash_count, float_left, to_safe), pos_attendance and
period_closing refuse any UPDATE; a tender keeps its store, code and kind (0010), its name and
enabled being the owner's to change.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

NAME = "pos_session_count_fixed"
REFUSED = "cash records are append-only: corrections are new facts"  # as in 0006


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {NAME} BEFORE UPDATE ON pos_session FOR EACH ROW "
            "WHEN (NEW.cash_count IS DISTINCT FROM OLD.cash_count) "
            "EXECUTE FUNCTION pos_refuse_change()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {NAME} BEFORE UPDATE ON pos_session FOR EACH ROW "
            "WHEN NEW.cash_count IS NOT OLD.cash_count "
            f"BEGIN SELECT RAISE(ABORT, 'pos_session: {REFUSED}'); END"
        )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(f"DROP TRIGGER {NAME}" + (" ON pos_session" if postgresql else ""))
