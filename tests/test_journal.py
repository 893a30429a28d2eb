"""The journal: its chain, the triggers that make the cash tables append-only, verification
that catches each kind of tampering, and the import of an existing history."""

import hashlib
import os
import re
import sqlite3
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import journal
from app.api.auth import issue_token
from app.journal import appending
from app.machinery.extensions import db
from app.models import utcnow
from tests.helpers import (
    CLOSE,
    CREATE,
    POSTGRES_URL,
    close_body,
    move,
    open_shift,
    report,
    sqlite_only,
)
from tests.journaling import a_day, ended_periods, instance  # noqa: F401  (instance: a fixture)

JOURNAL = "/pos-session/journal"
pytestmark = pytest.mark.usefixtures("instance")


def entries(client, headers) -> list[dict]:
    response = client.get(JOURNAL, headers=headers, query_string={"limit": 1000})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def verify(runner, *args):
    return runner.invoke(args=["journal", "verify", *args])


def test_a_shift_is_five_chained_entries(app, client, headers, profile, store):
    session_id = a_day(client, headers, profile)

    found = entries(client, headers)

    assert [e["seq"] for e in found] == [1, 2, 3, 4, 5]
    assert [e["kind"] for e in found] == [
        "session_opened",
        "cash_movement",
        "cash_movement",
        "cash_movement",
        "session_closed",
    ]
    assert found[0]["prevHash"] == hashlib.sha256(store.encode()).hexdigest()
    assert all(e["storeId"] == store and e["sessionId"] == session_id for e in found)
    assert found[0]["data"]["openingCash"] == "150.00"
    assert [e["data"]["amount"] for e in found[1:4]] == ["12.50", "2.00", "20.25"]
    assert {k: found[4]["data"][k] for k in ("closingCash", "expectedCash", "difference")} == {
        "closingCash": "140.00",
        "expectedCash": "140.25",
        "difference": "-0.25",
    }
    for previous, entry in zip(found, found[1:], strict=False):
        assert entry["prevHash"] == previous["hash"]
    assert all("imported" not in e for e in found)


def test_verify_passes_with_a_one_line_summary(app, client, headers, profile, runner):
    a_day(client, headers, profile)

    result = verify(runner)

    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert "5 entries" in result.stdout and "1 store(s) checked against the signed head" in (
        result.stdout
    )


def test_the_signed_head_is_written_at_each_closing(app, client, headers, profile):
    a_day(client, headers, profile)
    with app.app_context():
        key = journal.signing_key(journal.folder(app))
        heads = journal.read_signed_heads(journal.folder(app), key.public_key())
        assert heads == journal.database_heads(db.session.connection())
    assert os.stat(Path(journal.folder(app), journal.KEY_FILE)).st_mode & 0o777 == 0o600


def test_movements_are_signed_within_the_interval_without_a_closing(app, client, headers, profile):
    app.config["JOURNAL_SIGN_INTERVAL_SECONDS"] = 0.3
    session_id = open_shift(client, headers, profile)["id"]  # the worker's first: at once
    assert move(client, headers, session_id, "sale", 1).status_code == 201
    with app.app_context():
        key = journal.signing_key(journal.folder(app)).public_key()
        signed = journal.read_signed_heads(journal.folder(app), key)
        assert [seq for seq, _hash in signed.values()] == [1]
        time.sleep(0.6)
        signed = journal.read_signed_heads(journal.folder(app), key)
        assert [seq for seq, _hash in signed.values()] == [2]


FACTS = ["pos_session", "cash_movement", "pos_closing", "journal_entry"]


def counts(app) -> list[int]:
    with app.app_context():
        return [db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in FACTS]


@pytest.mark.parametrize("fact", ["open", "movement", "close"])
def test_a_failing_append_rolls_its_fact_back(
    app, client, headers, profile, open_body, runner, monkeypatch, fact
):
    session_id = open_shift(client, headers, profile)["id"] if fact != "open" else None
    before = counts(app)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(appending, "append", broken)
    response = {
        "open": lambda: client.post(CREATE, json=open_body, headers=headers),
        "movement": lambda: move(client, headers, session_id, "sale", 10),
        "close": lambda: client.post(CLOSE, json=close_body(profile), headers=headers),
    }[fact]()
    monkeypatch.undo()

    # The fact and its entry are one transaction: neither is written without the other.
    assert response.status_code == 500
    assert counts(app) == before
    assert verify(runner).exit_code == 0


def test_each_close_is_a_numbered_z_with_the_store_s_grand_totals(
    client, headers, profile, make_profile, store
):
    a_day(client, headers, profile)
    second = a_day(client, headers, make_profile(store, "bob"))

    z = report(client, headers, second)["closing"]
    closed = [e for e in entries(client, headers) if e["kind"] == "session_closed"]
    assert [e["data"]["zNumber"] for e in closed] == [1, 2]
    assert z["zNumber"] == 2 and z["hash"] == closed[1]["hash"]
    # Each day sold 12.50, refunded 2 and paid out 20.25: the grand totals count both.
    assert z["grandTotals"] == {"sales": 25, "refunds": 4, "payIns": 0, "payOuts": 40.5}
    assert closed[1]["data"]["grandTotals"] == {
        "sales": "25.00",
        "refunds": "4.00",
        "payIns": "0.00",
        "payOuts": "40.50",
    }
    assert closed[1]["data"]["sales"] == "12.50" and z["approval"] is None


# --- Triggers: refusals through plain SQL -----------------------------------------------------


REFUSED = [
    "UPDATE journal_entry SET kind = 'x'",
    "DELETE FROM journal_entry",
    "UPDATE cash_movement SET amount = 1",
    "DELETE FROM cash_movement",
    "UPDATE pos_closing SET closing_cash = 1",
    "DELETE FROM pos_closing",
    "DELETE FROM pos_session",
    "UPDATE pos_session SET opening_cash = opening_cash + 1",
    "UPDATE pos_session SET pos_closing_id = 'another00000000000000000'",
    "UPDATE pos_session SET pos_closing_id = NULL",
    "UPDATE store_totals SET sales = sales - 1",
    "UPDATE store_totals SET z_number = z_number - 1",
    "DELETE FROM store_totals",
]


def plain_sql(app):
    """A connection of the database's own driver, outside the app."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if POSTGRES_URL:
        import psycopg

        return psycopg.connect(
            sa.make_url(url).set(drivername="postgresql").render_as_string(False)
        )
    return sqlite3.connect(url.removeprefix("sqlite:///"))


@pytest.mark.parametrize("statement", REFUSED)
def test_the_database_refuses(app, client, headers, profile, statement):
    a_day(client, headers, profile)
    with closing(plain_sql(app)) as connection:
        with pytest.raises(Exception, match="append-only") as refused:
            connection.execute(statement)
        assert type(refused.value).__name__ in ("IntegrityError", "RaiseException")
        connection.rollback()
        # What stays allowed: closing an open session, and its closed_by and updated_at.
        connection.execute("UPDATE pos_session SET closed_by = 'manager', note = 'ok'")
        connection.commit()


def test_closing_an_open_session_is_allowed(app, client, headers, profile):
    session_id = open_shift(client, headers, profile)["id"]
    with closing(plain_sql(app)) as connection:
        connection.execute(
            f"UPDATE pos_session SET pos_closing_id = 'c0000000000000000000000x' "
            f"WHERE id = '{session_id}'"
        )
        connection.commit()


# --- Tampering, caught by verify --------------------------------------------------------------


@pytest.fixture
def tamper(app):
    """Run SQL through sqlite3 after dropping the triggers, as someone with a shell would."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")

    def run(*statements):
        with closing(sqlite3.connect(path)) as connection:
            triggers = connection.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
            for (name,) in triggers.fetchall():
                connection.execute(f"DROP TRIGGER {name}")
            for statement in statements:
                connection.execute(statement)
            connection.commit()

    return run


@pytest.fixture
def journaled(app, client, headers, profile, make_profile, store):
    """Two shifts (ten entries) of two profiles, journaled."""
    a_day(client, headers, profile)
    a_day(client, headers, make_profile(store, "bob"))
    return store


def failure(runner, store) -> str:
    result = verify(runner)
    assert result.exit_code == 1, result.output
    [line] = result.stdout.splitlines()
    assert line.startswith(f"store {store}: ")
    return line


def second_shift_gone(store, session_id) -> list[str]:
    """The SQL that removes the second shift (seqs 6 to 10), rows and entries, and puts the
    head back to seq 5: consistent inside the database; only the signed head knows."""
    return [
        f"DELETE FROM journal_entry WHERE store_id = '{store}' AND seq > 5",
        f"DELETE FROM cash_movement WHERE pos_session_id = '{session_id}'",
        f"DELETE FROM pos_closing WHERE pos_session_id = '{session_id}'",
        f"DELETE FROM pos_session WHERE id = '{session_id}'",
        f"UPDATE journal_head SET seq = 5, hash = (SELECT hash {entry_sql(5, store)})",
    ]


def entry_sql(seq, store):
    return f"FROM journal_entry WHERE store_id = '{store}' AND seq = {seq}"


@sqlite_only
def test_a_movement_amount_edited(journaled, tamper, runner):
    tamper("UPDATE cash_movement SET amount = 1300 WHERE amount = 1250")
    assert "seq 2: cash_movement row" in (line := failure(runner, journaled))
    assert "data.amount is '12.50' in the entry, '13.00' in the row" in line


@sqlite_only
def test_an_amount_edited_in_the_entry(journaled, tamper, runner):
    tamper("UPDATE journal_entry SET data = replace(data, '12.50', '13.00') WHERE seq = 2")
    assert failure(runner, journaled).endswith("seq 2: hash does not match the entry's content")


@sqlite_only
def test_a_movement_row_deleted(journaled, tamper, runner):
    tamper("DELETE FROM cash_movement WHERE amount = 200")
    line = failure(runner, journaled)
    assert "seq 3: no cash_movement row" in line


@sqlite_only
def test_an_entry_deleted_from_the_middle(journaled, tamper, runner):
    tamper(f"DELETE {entry_sql(4, journaled)}")
    assert failure(runner, journaled).endswith("seq 4: entry 4 is missing (the next one is 5)")


@sqlite_only
def test_an_entry_inserted_at_the_end_fully_chained(app, journaled, tamper, runner):
    # A forger who recomputes hashes and moves the head still needs a row for the entry.
    with app.app_context():
        connection = db.session.connection()
        entry = journal.chained_row(
            11,
            journal.database_heads(connection)[journaled][1],
            journaled,
            "cash_movement",
            "2030-01-01T00:00:00.000Z",
            "s" * 24,
            {
                "movementId": "m" * 24,
                "type": "pay_out",
                "amount": "500.00",
                "by": "x",
                "note": None,
            },
        )
    values = ", ".join(repr(v) if isinstance(v, str) else str(int(v)) for v in entry.values())
    tamper(
        f"INSERT INTO journal_entry ({', '.join(entry)}) VALUES ({values})",
        f"UPDATE journal_head SET seq = 11, hash = '{entry['hash']}'",
    )
    assert "seq 11: no pos_session row ssssssssssssssssssssssss in this store" in failure(
        runner, journaled
    )


@sqlite_only
def test_an_entry_inserted_in_the_middle(journaled, tamper, runner):
    store = journaled
    tamper(
        # Room for it: every later entry moves up one seq.
        f"UPDATE journal_entry SET seq = seq + 1000 WHERE store_id = '{store}' AND seq > 3",
        f"UPDATE journal_entry SET seq = seq - 999 WHERE store_id = '{store}' AND seq > 1000",
        f"INSERT INTO journal_entry SELECT store_id, 4, kind, at, session_id, imported, data, "
        f"prev_hash, hash {entry_sql(3, store)}",
    )
    assert failure(runner, store).endswith("seq 4: prevHash is not entry 3's hash")


@sqlite_only
def test_two_entries_swapped(journaled, tamper, runner):
    store = journaled
    tamper(
        f"UPDATE journal_entry SET seq = 100 WHERE store_id = '{store}' AND seq = 2",
        f"UPDATE journal_entry SET seq = 2 WHERE store_id = '{store}' AND seq = 3",
        f"UPDATE journal_entry SET seq = 3 WHERE store_id = '{store}' AND seq = 100",
    )
    assert failure(runner, store).endswith("seq 2: prevHash is not entry 1's hash")


@sqlite_only
def test_a_closing_edited(journaled, tamper, runner):
    tamper("UPDATE pos_closing SET closing_cash = 14025, difference = 0")
    line = failure(runner, journaled)
    assert "seq 5: pos_closing row" in line
    assert "data.closingCash is '140.00' in the entry, '140.25' in the row" in line


@sqlite_only
def test_entries_removed_from_the_end_with_their_rows(app, journaled, tamper, runner):
    store = journaled
    with app.app_context():
        bob_session, head_hash = db.session.execute(
            sa.text(f"SELECT session_id, hash {entry_sql(6, store)}")
        ).one()
    # The second shift goes entirely, rows and entries, and the head is put back to seq 5:
    # consistent inside the database; only the signed head outside it knows.
    tamper(*second_shift_gone(store, bob_session))
    assert failure(runner, store).endswith(
        "seq 6: entries 6 to 10 are missing: the signed head kept outside the database says "
        "the journal reached seq 10"
    )


@sqlite_only
def test_new_facts_past_the_signed_seq_do_not_hide_a_truncation(
    app, client, headers, profile, journaled, tamper, runner
):
    # The second shift removed (or an older backup put back), then the box goes on working:
    # its new entries 6 to 15 pass seq 10 on another chain, so the signed head must not move
    # on to them (that would forget the old seq 10), or verify passes with the facts gone.
    store = journaled
    with app.app_context():
        bob_session = db.session.execute(sa.text(f"SELECT session_id {entry_sql(6, store)}"))
        bob_session = bob_session.scalar_one()
    tamper(
        *second_shift_gone(store, bob_session),
        "UPDATE store_totals SET (z_number, sales, refunds, pay_ins, pay_outs) = (SELECT"
        " z_number, grand_sales, grand_refunds, grand_pay_ins, grand_pay_outs FROM pos_closing)",
    )
    a_day(client, headers, profile)
    a_day(client, headers, profile)
    assert failure(runner, store).endswith("seq 10: hash differs from the one in the signed head")


@sqlite_only
def test_a_row_without_its_entry_even_with_the_head_re_signed(journaled, tamper, runner):
    # Someone who also holds the box's key re-signs the head: the closing still has no entry.
    tamper(
        f"DELETE {entry_sql(10, journaled)}",
        f"UPDATE journal_head SET seq = 9, hash = (SELECT hash {entry_sql(9, journaled)})",
    )
    assert runner.invoke(args=["journal", "sign-head"]).exit_code == 0
    line = failure(runner, journaled)
    assert re.search(r": pos_closing row \w{24} \(session \w{24}\) has no entry$", line), line


def test_verify_one_store_and_an_unknown_one(app, client, headers, profile, runner, store):
    a_day(client, headers, profile)
    assert verify(runner, "--store", store).exit_code == 0
    result = verify(runner, "--store", "nope")
    assert result.exit_code == 2 and "no store nope" in result.output


# --- An upgraded box verifies from its first day ----------------------------------------------


# A 0003 history as the service wrote it before the journal: money in cents.
HISTORY_0003 = [
    "INSERT INTO store (id, name, created_at, updated_at) VALUES ('st{0}', 'Old', '{t}0', '{t}0')",
    "INSERT INTO pos_profile (id, store_id, name, password_hash, created_at, updated_at) "
    "VALUES ('pr{0}', 'st{0}', 'ana', :hash, '{t}0', '{t}0')",
    "INSERT INTO pos_session (id, pos_profile_id, store_id, opening_cash, pos_closing_id, note, "
    "opened_by, closed_by, created_at, updated_at) VALUES "
    "('s1{0}', 'pr{0}', 'st{0}', 15000, 'cl{0}', NULL, 't', 't', '{t}1', '{t}3')",
    "INSERT INTO cash_movement (id, pos_session_id, store_id, type, amount, note, created_by, "
    "created_at) VALUES ('mv{0}', 's1{0}', 'st{0}', 'sale', 1000, NULL, 't', '{t}2')",
    "INSERT INTO pos_closing (id, pos_session_id, pos_profile_id, store_id, closing_cash, "
    "expected_cash, difference, note, closed_by, created_at) VALUES "
    "('cl{0}', 's1{0}', 'pr{0}', 'st{0}', 16000, 16000, 0, NULL, 't', '{t}3')",
    # Still open at the upgrade.
    "INSERT INTO pos_session (id, pos_profile_id, store_id, opening_cash, pos_closing_id, note, "
    "opened_by, closed_by, created_at, updated_at) VALUES "
    "('s2{0}', 'pr{0}', 'st{0}', 16000, NULL, NULL, 't', NULL, '{t}4', '{t}4')",
]


def box_at_0003_with_history(ids: str) -> None:
    """The test's database taken back to migration 0003, holding HISTORY_0003 (in an app
    context): a box from before the journal, to upgrade."""
    with db.engine.begin() as connection:
        metadata = sa.MetaData()
        metadata.reflect(bind=connection)
        metadata.drop_all(bind=connection)
    upgrade(revision="0003")
    with db.engine.begin() as connection:
        for statement in HISTORY_0003:
            connection.execute(
                sa.text(statement.format(ids, t="2025-01-01 10:00:0")), {"hash": b"x"}
            )


def test_the_migration_imports_the_history(app, client, runner):
    with app.app_context():
        box_at_0003_with_history("0" * 22)
        upgrade()
        store_id = "st" + "0" * 22
        old = {"Authorization": f"Bearer {issue_token([store_id], 't', 1)}", "x-store-id": store_id}

    found = entries(client, old)
    # This first request closed the Z's month and year, and every one ended since (not
    # imported).
    closed = len(ended_periods(datetime(2025, 1, 1), utcnow()))
    assert [e["kind"] for e in found] == [
        "session_opened",
        "cash_movement",
        "session_closed",
        "session_opened",
        *["period_closed"] * closed,
    ]
    assert [e.get("imported") for e in found] == [True] * 4 + [None] * closed
    assert found[2]["data"]["closingCash"] == "160.00"
    assert verify(runner).exit_code == 0
    # Imported facts are protected like new ones.
    with closing(plain_sql(app)) as connection, pytest.raises(Exception, match="append-only"):
        connection.execute("DELETE FROM cash_movement")


@sqlite_only
def test_backup_and_restore_keep_a_verifiable_journal(
    app, client, headers, profile, runner, store, tmp_path
):
    a_day(client, headers, profile)
    backup = tmp_path / "backup.sqlite3"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    a_day(client, headers, profile)

    restored = runner.invoke(args=["restore", str(backup)])

    assert restored.exit_code == 0, restored.output
    # The restored journal is intact, but five entries the box had signed are gone: said so,
    # until the operator accepts the restored heads.
    assert (
        f"the backup is older than the journal's signed head: store {store} ends at seq 5 in "
        "it, at seq 10 in the head; journal verify reports the entries missing until "
        "`flask --app wsgi journal sign-head` accepts the restore\n" in restored.output
    )
    assert "entries 6 to 10 are missing" in verify(runner).stdout
    assert runner.invoke(args=["journal", "sign-head"]).exit_code == 0
    result = verify(runner)
    assert result.exit_code == 0 and "5 entries" in result.stdout


# --- What the signed head knows beyond the database -------------------------------------------


def every_row_of(app, store) -> list[str]:
    """DELETE statements for every row of ``store`` in every table, the store's own row last."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
        with_store = [
            table
            for table in tables
            if any(
                column[1] == "store_id"
                for column in connection.execute(f"PRAGMA table_info({table})")
            )
        ]
    return [f"DELETE FROM {t} WHERE store_id = '{store}'" for t in with_store] + [
        f"DELETE FROM store WHERE id = '{store}'"
    ]


@sqlite_only
def test_a_store_deleted_whole_fails_against_the_signed_head(
    app, client, journaled, make_store, make_profile, make_token, tamper, runner
):
    gone = make_store("Gone")
    a_day(
        client,
        {"Authorization": f"Bearer {make_token(gone)}", "x-store-id": gone},
        make_profile(gone, "carl"),
    )
    tamper(*every_row_of(app, gone))

    result = verify(runner)

    assert result.exit_code == 1, result.output
    assert result.stdout == (
        f"store {gone}: not in the database, but the signed head kept outside it says its "
        "journal reached seq 5\n"
    )
    assert verify(runner, "--store", gone).stdout == result.stdout


def test_verify_checks_every_store_the_signed_head_knows(app, journaled):
    ghost = "g" * 24
    with app.app_context():
        connection = db.session.connection()
        heads = journal.database_heads(connection) | {ghost: (6, "a" * 64)}
        result = journal.verify(connection, None, heads)
    assert (result.stores, result.entries, result.signed) == (2, 10, 2)
    assert [str(problem) for problem in result.problems] == [
        f"store {ghost}: not in the database, but the signed head kept outside it says its "
        "journal reached seq 6"
    ]


@sqlite_only
def test_grand_totals_lowered_then_a_z_printed_on_them(
    app, client, headers, profile, journaled, tamper, runner
):
    tamper("UPDATE store_totals SET sales = 0")
    a_day(client, headers, profile)  # Z 3: 12.50 sold, printed with grand total sales 12.50

    line = failure(runner, journaled)

    assert re.search(
        r": Z 3 \(closing \w{24}\): grand total sales is 12\.50, not 37\.50 "
        r"\(Z 2's 25\.00 plus this closing's 12\.50\)$",
        line,
    ), line


@sqlite_only
def test_grand_totals_lowered_before_the_next_z(journaled, tamper, runner):
    tamper("UPDATE store_totals SET sales = 0, pay_outs = 100")
    assert failure(runner, journaled).endswith(
        ": store_totals differs from Z 2: sales is 0.00 there, 25.00 in the Z; "
        "payOuts is 1.00 there, 40.50 in the Z"
    )


@pytest.mark.parametrize(
    "spoil, says",
    [
        (lambda head: head.write_text(""), "is not JSON"),
        (lambda head: head.write_text("{}"), "is not signed by this box's key"),
        (lambda head: (head.unlink(), head.mkdir()), "cannot be read (Is a directory)"),
    ],
    ids=["empty", "unsigned", "a-folder"],
)
def test_a_spoilt_signed_head_is_a_clear_refusal(app, journaled, runner, spoil, says):
    head = Path(journal.folder(app)) / journal.HEAD_FILE
    with app.app_context():
        journal.signer().sign()
    spoil(head)
    result = verify(runner)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert f"{head} {says}" in result.output
