"""Adding a kind of cash fact is one definition: a kind of the test's own, over a table of its
own, is appended by its rule's one line, verified (its row edited or deleted is found), and
exported; and what verify expects of every kind's rows is the canonical JSON of its data."""

import json
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app import journal
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import MoneyColumn, new_id, utcnow
from app.sessions import periods
from tests.helpers import PASSWORD, move, open_shift, sqlite_only
from tests.journaling import a_day, instance  # noqa: F401  (instance: a fixture)
from tests.test_force_close import olga  # noqa: F401  (a fixture)
from tests.test_journal import failure, tamper, verify  # noqa: F401  (tamper: a fixture)
from tests.test_journal_export import verify_export
from tests.test_journal_verify import approved  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("instance")

COUNTS = sa.Table(
    "drawer_count",
    sa.MetaData(),
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("pos_session_id", sa.String(24), nullable=False),
    sa.Column("store_id", sa.String(24), nullable=False),
    sa.Column("counted", MoneyColumn(), nullable=False),
    sa.Column("counted_by", sa.String(120), nullable=False),
    sa.Column("note", sa.String(500)),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)
# The whole of the new kind:
COUNTED = journal.Fact(
    "drawer_counted",
    COUNTS,
    {"countId": "id", "counted": "counted", "by": "counted_by", "note": "note"},
    subject="countId",
)


def count_drawer(session_id: str, store_id: str, counted: str) -> str:
    """The new kind's rule: its row, and its one journal line, in one transaction."""
    row = SimpleNamespace(
        id=new_id(),
        pos_session_id=session_id,
        store_id=store_id,
        counted=Decimal(counted),
        counted_by="bob",
        note="mid-shift",
        created_at=utcnow(),
    )
    with UnitOfWork() as uow:
        uow.session.execute(COUNTS.insert().values(**vars(row)))
        journal.record(uow.session, COUNTED, row)
        uow.commit()
    return row.id


@pytest.fixture
def counted(app, client, headers, profile, store, monkeypatch):
    """A day of five facts, then a drawer counted in its (closed) session: entry 6. Gives the
    store and the count's id."""
    monkeypatch.setitem(journal.FACTS, COUNTED.kind, COUNTED)
    with app.app_context():
        COUNTS.create(db.engine)
    session_id = a_day(client, headers, profile)
    with app.app_context():
        count_id = count_drawer(session_id, store, "140.00")
    yield store, count_id
    with app.app_context():
        COUNTS.drop(db.engine)


def test_a_new_kind_is_appended_verified_and_exported(counted, runner, tmp_path):
    store, count_id = counted
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "1 store(s), 6 entries, every chain intact" in result.stdout

    out = tmp_path / "journal.jsonl"
    result = runner.invoke(args=["journal", "export", "--store", store, str(out)])
    assert result.exit_code == 0, result.output
    entry = json.loads(out.read_text(encoding="utf-8").splitlines()[5])
    assert (entry["seq"], entry["kind"]) == (6, "drawer_counted")
    assert entry["data"] == {
        "countId": count_id,
        "counted": "140.00",
        "by": "bob",
        "note": "mid-shift",
    }
    key = runner.invoke(args=["journal", "public-key"]).stdout.strip()
    checked = verify_export(out, key)  # a process that knows no kind of fact
    assert checked.returncode == 0, checked.stderr
    assert f"valid: store {store}, seqs 1 to 6 (6 entries)" in checked.stdout


@sqlite_only
def test_a_new_kind_s_row_edited_or_deleted_is_found(counted, runner, tamper):  # noqa: F811
    store, count_id = counted
    tamper("UPDATE drawer_count SET counted = 15000")
    line = failure(runner, store)
    assert f"seq 6: drawer_count row {count_id} differs" in line
    assert "data.counted is '140.00' in the entry, '150.00' in the row" in line
    tamper("DELETE FROM drawer_count")
    assert "seq 6: no drawer_count row" in failure(runner, store)


@pytest.mark.usefixtures("approved", "olga")  # a closing over the limit, approved; a manager
def test_what_verify_expects_is_each_kind_s_canonical_data(
    app, client, headers, profile, runner, store, monkeypatch, tmp_path, make_profile
):
    session_id = open_shift(client, headers, profile, cash=50)["id"]
    assert move(client, headers, session_id, "sale", 2).status_code == 201
    assert move(client, headers, session_id, "drop", 1, reason="to the safe").status_code == 201
    bob = {"profileId": make_profile(store, "bob"), "password": PASSWORD}
    attendants = f"/pos-session/sessions/{session_id}/attendants"
    assert client.post(attendants, json=bob, headers=headers).status_code == 201
    left = client.post(f"{attendants}/{bob['profileId']}/leave", headers=headers)
    assert left.status_code == 201
    handover = {**bob, "cashCount": [{"value": "50.00", "count": 1}]}
    handed = client.post(
        f"/pos-session/sessions/{session_id}/handover", json=handover, headers=headers
    )
    assert handed.status_code == 201
    args = ["session", "force-close", session_id, "--counted", "51", "--reason", "forgot"]
    assert runner.invoke(args=[*args, "--manager", "olga"]).exit_code == 0
    monkeypatch.setattr(periods, "utcnow", lambda: utcnow() + timedelta(days=400))
    with app.app_context():
        periods.close_periods(UnitOfWork(), store, None, None, "bob")  # each ended since
    today = f"{utcnow():%Y-%m-%d}"
    settings = ["accounting", "settings", "--store", store, "--siren", "732829320", "--confirm"]
    assert runner.invoke(args=settings).exit_code == 0
    export = ["--format", "fec", "--from", today, "--to", today, str(tmp_path / "fec.txt")]
    assert runner.invoke(args=["accounting", "export", "--store", store, *export]).exit_code == 0
    with app.app_context():
        connection = db.session.connection()
        for fact in journal.FACTS.values():
            found = journal.fact_texts(connection, store, fact)
            rows = connection.execute(sa.select(fact.table).where(fact.table.c.store_id == store))
            by_id = {getattr(row, fact.key.name): row for row in rows}
            assert found, fact.kind  # one of each kind at least
            for (_session, kind, _at, text), (_family, row_id) in found.items():
                assert text == journal.canonical(fact.data(by_id[row_id])), kind
