"""journal verify's fast path: the texts it splices equal the canonical JSON they stand for,
and it cross-checks Z numbers and approvals too."""

import re
from decimal import Decimal

import pytest

from app import journal
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import CashMovement, Store
from app.people import managers
from tests.helpers import POSTGRES_URL, close_shift, move, open_shift, sqlite_only
from tests.journaling import instance  # noqa: F401  (a fixture)
from tests.test_journal import failure, tamper  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("instance")

NOTES = [
    None,
    "",
    "plain",
    "Café Müller, 5 €",
    "日本語のメモ 🧾",
    'quote " and backslash \\ and slash /',
    "tab\tnewline\ncarriage\r bell\x07 del\x7f",
    "\u2028 line separator, \ufeff bom",
]
# NUL is refused as input on PostgreSQL (its text cannot hold it); SQLite stores it.
if not POSTGRES_URL:
    NOTES.append("nul\x00 inside")
AMOUNTS = ["0.01", "0.10", "1.00", "12.50", "999999.99", "123456789012.34"]


def test_cents_is_money_of_the_stored_cents():
    for value in [*range(-1001, 1001), 10**15 + 7, -(10**15) - 7]:
        assert journal.cents(value) == journal.money(Decimal(value) / 100)


def test_the_spliced_movement_is_its_canonical_json(app, client, headers, profile, store):
    session_id = open_shift(client, headers, profile)["id"]
    with app.app_context():
        for i, (note, amount) in enumerate(zip(NOTES * 2, AMOUNTS * 3, strict=False)):
            db.session.add(
                CashMovement(
                    pos_session_id=session_id,
                    store_id=store,
                    type=("sale", "refund", "pay_in", "pay_out")[i % 4],
                    amount=Decimal(amount),
                    note=note,
                    created_by=NOTES[(i + 3) % len(NOTES)] or "bob",
                )
            )
        db.session.commit()
        facts = journal.fact_texts(db.session.connection(), store, journal.MOVEMENT)
        spliced = {row_id: fact for fact, (_family, row_id) in facts.items()}
        rows = db.session.query(CashMovement).filter_by(store_id=store).all()
        assert len(rows) == len(spliced) == min(len(NOTES) * 2, len(AMOUNTS) * 3)
        for m in rows:
            assert spliced[m.id] == (
                session_id,
                "cash_movement",
                journal.timestamp(m.created_at),
                journal.canonical(journal.MOVEMENT.data(m)),
            )


def test_a_timestamp_as_sqlite_keeps_it():
    assert journal.stored_timestamp("2025-01-01 10:00:02.123456") == "2025-01-01T10:00:02.123Z"
    assert journal.stored_timestamp("2025-01-01 10:00:02") == "2025-01-01T10:00:02.000Z"


@sqlite_only
def test_a_gap_in_the_z_numbers(app, client, headers, profile, store):
    for _ in range(3):
        open_shift(client, headers, profile)
        close_shift(client, headers, profile, cash=100)
    with app.app_context():
        connection = db.session.connection()
        assert journal.z_problems(connection, store) == []
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS pos_closing_no_update")
        connection.exec_driver_sql("UPDATE pos_closing SET z_number = 4 WHERE z_number = 2")
        [gap] = journal.z_problems(connection, store)
        assert gap.message == "Z numbers jump from 1 to 3"
        db.session.rollback()


@pytest.fixture
def approved(app, client, headers, profile, runner, store):
    """A close over the store's limit, approved by a manager: its approval is entry 3."""
    with app.app_context():
        managers.create(UnitOfWork(), "Mia", "manager-pw", store_ids=[store])
        db.session.get(Store, store).max_unapproved_difference = Decimal(5)
        db.session.commit()
    open_shift(client, headers, profile, cash=100)
    closing_id = close_shift(client, headers, profile, cash=50)["closing"]["id"]
    args = ["session", "approve", closing_id, "--manager", "Mia", "--note", "recounted"]
    assert runner.invoke(args=args).exit_code == 0
    assert runner.invoke(args=["journal", "verify"]).exit_code == 0
    return store


@sqlite_only
def test_an_approval_edited(approved, tamper, runner):  # noqa: F811
    tamper("UPDATE closing_approval SET note = 'nothing to see'")
    line = failure(runner, approved)
    assert "seq 3: closing_approval row" in line
    assert "data.note is 'recounted' in the entry, 'nothing to see' in the row" in line


@sqlite_only
def test_an_approval_deleted(approved, tamper, runner):  # noqa: F811
    tamper("DELETE FROM closing_approval")
    assert "seq 3: no closing_approval row" in failure(runner, approved)


@sqlite_only
def test_each_z_s_grand_totals_are_the_previous_plus_its_own(app, client, headers, profile, store):
    for cash in (100, 110, 120):
        session_id = open_shift(client, headers, profile, cash=cash)["id"]
        assert move(client, headers, session_id, "sale", 10).status_code == 201
        close_shift(client, headers, profile, cash=cash + 10)
    with app.app_context():
        connection = db.session.connection()
        assert journal.z_problems(connection, store) == []
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS pos_closing_no_update")
        connection.exec_driver_sql(
            "UPDATE pos_closing SET grand_sales = 500, grand_refunds = 7 WHERE z_number = 1"
        )
        [first] = journal.z_problems(connection, store)
        assert re.fullmatch(
            r"Z 1 \(closing \w{24}\): grand total sales is 5\.00, not 10\.00 \(the first Z: this "
            r"closing's 10\.00\); grand total refunds is 0\.07, not 0\.00 \(the first Z: this "
            r"closing's 0\.00\)",
            first.message,
        ), first.message
        db.session.rollback()
