"""journal: hash-chained cash facts per store, their heads, append-only triggers

Revision ID: 0006
Revises: 0005
The existing history is written into the journal (sessions opened, movements, closings in
creation order, per store), each entry marked imported, so an upgraded box verifies from its
first day; existing closings get their Z number, session totals and grand totals on the way.
Triggers then refuse UPDATE and DELETE of entries, closings, approvals and movements, DELETE of
sessions, any change to a session's opening cash or to its closing once set, and any Z number
or grand total going back. The store gains its approval limit.

"""

from decimal import Decimal
from itertools import groupby
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from app import journal
from app.models import MoneyColumn

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY = ("journal_entry", "pos_closing", "cash_movement", "closing_approval")
TOTALS = ("sales", "refunds", "pay_ins", "pay_outs")
GRAND = tuple(f"grand_{column}" for column in TOTALS)
# The store's Z number and grand totals only grow.
TOTALS_GO_BACK = " OR ".join(f"NEW.{c} < OLD.{c}" for c in ("z_number", *TOTALS))
REFUSED = "cash records are append-only: corrections are new facts"


def upgrade():
    entries = op.create_table(
        "journal_entry",
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.String(length=24), nullable=False),
        sa.Column("session_id", sa.String(length=24), nullable=False),
        sa.Column("imported", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("store_id", "seq", name="pk_journal_entry"),
    )
    op.create_index(
        "ix_journal_entry_store_session_seq", "journal_entry", ["store_id", "session_id", "seq"]
    )
    heads = op.create_table(
        "journal_head",
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("store_id"),
    )
    op.add_column("store", sa.Column("max_unapproved_difference", sa.BigInteger()))
    op.add_column("pos_closing", sa.Column("z_number", sa.Integer()))
    for column in (*TOTALS, *GRAND):
        op.add_column("pos_closing", sa.Column(column, sa.BigInteger()))
    op.add_column("pos_closing", sa.Column("journal_hash", sa.String(length=64)))
    op.add_column(
        "pos_closing",
        sa.Column("needs_approval", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "closing_approval",
        sa.Column("closing_id", sa.String(length=24), nullable=False),
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["closing_id"], ["pos_closing.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("closing_id"),
    )
    op.create_table(
        "store_totals",
        sa.Column("store_id", sa.String(length=24), nullable=False),
        sa.Column("z_number", sa.Integer(), nullable=False),
        *(sa.Column(column, sa.BigInteger(), nullable=False) for column in TOTALS),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.PrimaryKeyConstraint("store_id"),
    )
    import_history(op.get_bind(), entries, heads)
    if op.get_bind().dialect.name == "postgresql":
        postgresql_triggers()
    else:
        sqlite_triggers()


# The tables as this revision knows them, whatever the models become.
sessions = sa.table(
    "pos_session",
    *(sa.column(c) for c in ("id", "store_id", "pos_profile_id", "opened_by", "note")),
    sa.column("opening_cash", MoneyColumn()),
    sa.column("created_at", sa.DateTime()),
)
movements = sa.table(
    "cash_movement",
    *(sa.column(c) for c in ("id", "store_id", "pos_session_id", "type", "created_by", "note")),
    sa.column("amount", MoneyColumn()),
    sa.column("created_at", sa.DateTime()),
)
closings = sa.table(
    "pos_closing",
    *(sa.column(c) for c in ("id", "store_id", "pos_session_id", "pos_profile_id", "closed_by")),
    sa.column("note"),
    *(sa.column(c, MoneyColumn()) for c in ("closing_cash", "expected_cash", "difference")),
    sa.column("created_at", sa.DateTime()),
    sa.column("forced", sa.Boolean()),
    sa.column("reason"),
)
# What the import sets in each closing, by id.
z_columns = sa.table(
    "pos_closing",
    sa.column("id"),
    sa.column("z_number"),
    *(sa.column(c, MoneyColumn()) for c in (*TOTALS, *GRAND)),
    sa.column("journal_hash"),
)
store_totals = sa.table(
    "store_totals",
    sa.column("store_id"),
    sa.column("z_number"),
    *(sa.column(c, MoneyColumn()) for c in TOTALS),
)
SIGNS = {"sale": "sales", "refund": "refunds", "pay_in": "pay_ins", "pay_out": "pay_outs"}


def import_history(connection, entries, heads):
    facts = [
        (s.store_id, s.created_at, 0, s.id, journal.OPENED.kind, s.id, s)
        for s in connection.execute(sa.select(sessions))
    ]
    facts += [
        (m.store_id, m.created_at, 1, m.id, journal.MOVEMENT.kind, m.pos_session_id, m)
        for m in connection.execute(sa.select(movements))
    ]
    facts += [
        (c.store_id, c.created_at, 2, c.id, journal.closing_fact(c).kind, c.pos_session_id, c)
        for c in connection.execute(sa.select(closings))
    ]
    # Creation order; at the same millisecond a session opens before its movements, which
    # come before its closing.
    facts.sort(key=lambda fact: fact[:4])
    for store_id, store_facts in groupby(facts, key=lambda fact: fact[0]):
        seq, prev, rows, numbered = 0, journal.genesis(store_id), [], []
        grand = dict.fromkeys(TOTALS, Decimal(0))
        session_totals = {}
        for _store, at, _rank, _id, kind, session_id, row in store_facts:
            seq += 1
            if kind == journal.OPENED.kind:
                data = journal.OPENED.data(row)
            elif kind == journal.MOVEMENT.kind:
                data = journal.MOVEMENT.data(row)
                counted = session_totals.setdefault(session_id, dict.fromkeys(TOTALS, Decimal(0)))
                counted[SIGNS[row.type]] += row.amount
            else:
                session = session_totals.get(session_id, dict.fromkeys(TOTALS, Decimal(0)))
                for column in TOTALS:
                    grand[column] += session[column]
                z = {
                    "z_number": len(numbered) + 1,
                    **session,
                    **{f"grand_{column}": grand[column] for column in TOTALS},
                }
                row = SimpleNamespace(**row._asdict(), **z, needs_approval=False)
                data = journal.closing_fact(row).data(row)
            entry = journal.chained_row(
                seq, prev, store_id, kind, at, session_id, data, imported=True
            )
            if _rank == 2:  # a closing
                numbered.append({"closing": row.id, **z, "journal_hash": entry["hash"]})
            prev = entry["hash"]
            rows.append(entry)
        op.bulk_insert(entries, rows)
        op.bulk_insert(heads, [{"store_id": store_id, "seq": seq, "hash": prev}])
        if numbered:
            connection.execute(
                z_columns.update().where(z_columns.c.id == sa.bindparam("closing")), numbered
            )
            op.bulk_insert(
                store_totals, [{"store_id": store_id, "z_number": len(numbered), **grand}]
            )


def sqlite_triggers():
    def refuse(name, event, table, when=""):
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table} {when} "
            f"BEGIN SELECT RAISE(ABORT, '{table}: {REFUSED}'); END"
        )

    for table in APPEND_ONLY:
        refuse(f"{table}_no_update", "UPDATE", table)
        refuse(f"{table}_no_delete", "DELETE", table)
    refuse("pos_session_no_delete", "DELETE", "pos_session")
    refuse("store_totals_no_delete", "DELETE", "store_totals")
    refuse("store_totals_only_grow", "UPDATE", "store_totals", f"WHEN {TOTALS_GO_BACK}")
    refuse(
        "pos_session_figures_fixed",
        "UPDATE",
        "pos_session",
        "FOR EACH ROW WHEN NEW.opening_cash IS NOT OLD.opening_cash OR "
        "(OLD.pos_closing_id IS NOT NULL AND NEW.pos_closing_id IS NOT OLD.pos_closing_id)",
    )


def postgresql_triggers():
    op.execute(
        "CREATE OR REPLACE FUNCTION pos_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '% on %: {REFUSED}', TG_OP, TG_TABLE_NAME; END $$"
    )

    def refuse(name, event, table, each="ROW", when=""):
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH {each} {when} "
            "EXECUTE FUNCTION pos_refuse_change()"
        )

    for table in APPEND_ONLY:
        refuse(f"{table}_append_only", "UPDATE OR DELETE", table)
        refuse(f"{table}_no_truncate", "TRUNCATE", table, each="STATEMENT")
    refuse("pos_session_no_delete", "DELETE", "pos_session")
    refuse("pos_session_no_truncate", "TRUNCATE", "pos_session", each="STATEMENT")
    refuse("store_totals_no_delete", "DELETE", "store_totals")
    refuse("store_totals_no_truncate", "TRUNCATE", "store_totals", each="STATEMENT")
    refuse("store_totals_only_grow", "UPDATE", "store_totals", when=f"WHEN ({TOTALS_GO_BACK})")
    refuse(
        "pos_session_figures_fixed",
        "UPDATE",
        "pos_session",
        when="WHEN (NEW.opening_cash IS DISTINCT FROM OLD.opening_cash OR "
        "(OLD.pos_closing_id IS NOT NULL AND "
        "NEW.pos_closing_id IS DISTINCT FROM OLD.pos_closing_id))",
    )


TRIGGERS = {
    "sqlite": [f"{t}_no_{e}" for t in APPEND_ONLY for e in ("update", "delete")]
    + ["pos_session_no_delete", "pos_session_figures_fixed"]
    + ["store_totals_no_delete", "store_totals_only_grow"],
    "postgresql": [f"{t}_{e}" for t in APPEND_ONLY for e in ("append_only", "no_truncate")]
    + ["pos_session_no_delete", "pos_session_no_truncate", "pos_session_figures_fixed"]
    + ["store_totals_no_delete", "store_totals_no_truncate", "store_totals_only_grow"],
}


def downgrade():
    dialect = op.get_bind().dialect.name
    for name in TRIGGERS[dialect]:
        table = next(t for t in (*APPEND_ONLY, "pos_session", "store_totals") if name.startswith(t))
        op.execute(
            f"DROP TRIGGER IF EXISTS {name} ON {table}"
            if dialect == "postgresql"
            else f"DROP TRIGGER IF EXISTS {name}"
        )
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS pos_refuse_change()")
    op.drop_table("store_totals")
    op.drop_table("closing_approval")
    with op.batch_alter_table("pos_closing") as batch:
        for column in ("z_number", *TOTALS, *GRAND, "journal_hash", "needs_approval"):
            batch.drop_column(column)
    with op.batch_alter_table("store") as batch:
        batch.drop_column("max_unapproved_difference")
    op.drop_table("journal_head")
    op.drop_index("ix_journal_entry_store_session_seq", table_name="journal_entry")
    op.drop_table("journal_entry")
