"""The float (issue 19, drawer events): a closing may leave some of the cash counted in the
drawer for the next opening (``floatLeft``) and the rest goes to the safe (``toSafe``); the next
opening on the same terminal (the token that opened the session) says how far its opening cash
is from that float (``discrepancyAtStart``). Journaled, verified, exported; the upgrade keeps a
box with history verifiable."""

import sqlite3
from contextlib import closing
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Manager
from app.people import managers
from app.sessions import service
from tests.helpers import (
    CLOSE,
    HISTORY,
    PASSWORD,
    close_body,
    close_shift,
    move,
    open_shift,
    report,
    sqlite_only,
)
from tests.test_journal import box_at_0003_with_history, entries, plain_sql, verify
from tests.test_journal_export import verify_export


def closed_leaving(client, headers, profile, cash, float_left, opening=100):
    open_shift(client, headers, profile, cash=opening)
    return close_shift(client, headers, profile, cash=cash, floatLeft=float_left)


def test_the_float_left_and_the_rest_to_the_safe_then_the_discrepancy_at_start(
    client, headers, profile
):
    first = closed_leaving(client, headers, profile, cash=D("352.50"), float_left=100)

    assert (first["closing"]["floatLeft"], first["closing"]["toSafe"]) == (100, D("252.5"))
    assert first["discrepancyAtStart"] is None  # no float before it

    opened = open_shift(client, headers, profile, cash=D("98.75"))

    assert opened["discrepancyAtStart"] == D("-1.25")  # the drawer holds 1.25 less than left
    shown = report(client, headers, opened["id"])
    assert shown["discrepancyAtStart"] == D("-1.25")
    history = client.get(HISTORY, headers=headers).get_json()["data"]
    assert [s["discrepancyAtStart"] for s in history] == [D("-1.25"), None]
    assert history[1]["closing"]["toSafe"] == D("252.5")
    # Session status and current session keep the reference's object.
    status = client.get(f"/pos-session/session-status/{profile}", headers=headers).get_json()
    assert "discrepancyAtStart" not in status["session"]


@pytest.mark.parametrize(("left", "to_safe"), [(0, 80), (80, 0)])
def test_a_float_of_nothing_or_of_everything(client, headers, profile, left, to_safe):
    closed = closed_leaving(client, headers, profile, cash=80, float_left=left)

    assert (closed["closing"]["floatLeft"], closed["closing"]["toSafe"]) == (left, to_safe)
    assert open_shift(client, headers, profile, cash=80)["discrepancyAtStart"] == 80 - left


def test_without_a_float_the_closing_and_next_opening_are_as_before(client, headers, profile):
    open_shift(client, headers, profile)
    closed = close_shift(client, headers, profile)

    assert (closed["closing"]["floatLeft"], closed["closing"]["toSafe"]) == (None, None)
    assert open_shift(client, headers, profile)["discrepancyAtStart"] is None
    new_keys = {"floatLeft", "toSafe", "discrepancyAtStart"}
    assert not any(new_keys & set(entry["data"]) for entry in entries(client, headers))


def test_the_terminal_is_the_token_that_opened_the_session(
    client, headers, make_token, make_profile, profile, store
):
    other = {**headers, "Authorization": f"Bearer {make_token(store, name='terminal-1')}"}
    bea = make_profile(store, "bea")
    # Opened on the first terminal, closed from the other: the float is the first's drawer's.
    open_shift(client, headers, profile, cash=50)
    close_shift(client, other, profile, cash=70, floatLeft=60)

    # The other token (though named alike) is another terminal: it has no float to compare.
    assert open_shift(client, other, bea, cash=60)["discrepancyAtStart"] is None
    assert open_shift(client, headers, profile, cash=61)["discrepancyAtStart"] == 1


def test_the_last_closed_session_of_the_terminal_gives_the_float(
    client, headers, make_profile, profile, store
):
    bea = make_profile(store, "bea")
    closed_leaving(client, headers, profile, cash=200, float_left=150)
    closed_leaving(client, headers, bea, cash=90, float_left=90)
    open_shift(client, headers, bea, cash=10)  # still open: its closing has not come yet

    assert open_shift(client, headers, profile, cash=90)["discrepancyAtStart"] == 0


# --- Strict input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"floatLeft": D("150.01")}, "Must be at most the closingCash (150.00)"),
        ({"floatLeft": -1}, "Must be between 0"),
        ({"floatLeft": "10"}, "Must be a number."),
        ({"floatLeft": True}, "Must be a number."),
        ({"floatLeft": D("1.001")}, "Must have at most 2 decimal places."),
        # The cash counted by note and coin is the closingCash the float is part of.
        (
            {"closingCash": None, "cashCount": [{"value": 50, "count": 1}], "floatLeft": 51},
            "Must be at most the closingCash (50.00)",
        ),
    ],
)
def test_a_float_that_is_not_some_of_the_cash_counted_is_refused(
    client, headers, profile, extra, message
):
    session = open_shift(client, headers, profile)
    body = {k: v for k, v in (close_body(profile, 150) | extra).items() if v is not None}

    answer = client.post(CLOSE, json=body, headers=headers)

    refused = answer.get_json()
    assert answer.status_code == 400, refused
    assert refused["message"] == "Invalid value for floatLeft"
    assert refused["statusCode"] == 400
    assert message in refused["errors"]["floatLeft"][0]
    assert report(client, headers, session["id"])["closing"] is None


def test_a_float_of_null_is_no_float(client, headers, profile):
    open_shift(client, headers, profile)
    closed = close_shift(client, headers, profile, floatLeft=None)
    assert closed["closing"]["floatLeft"] is None


# --- The rules, below HTTP -----------------------------------------------------------------------


def test_the_rules_below_http(app, store, profile):
    def opened(cash, terminal):
        return service.open_session(
            UnitOfWork(),
            store,
            "t",
            profile_id=profile,
            password=PASSWORD,
            opening_cash=D(cash),
            terminal=terminal,
        )

    def closed(cash, float_left):
        return service.close_session(
            UnitOfWork(),
            store,
            "t",
            profile_id=profile,
            password=PASSWORD,
            closing_cash=D(cash),
            float_left=float_left,
        ).closing

    with app.app_context():
        assert opened("10", "jti-a").discrepancy_at_start is None
        closing = closed("300.10", D("100.00"))
        assert (closing.float_left, closing.to_safe) == (D("100.00"), D("200.10"))
        assert opened("100.05", "jti-a").discrepancy_at_start == D("0.05")
        closed("1", None)
        # The terminal's last closing left no float: nothing to compare with.
        assert opened("1", "jti-a").discrepancy_at_start is None
        closed("5", D("5"))
        assert opened("5", None).discrepancy_at_start is None  # no terminal (the CLI, a script)
        closed("5", None)
        assert opened("5", "jti-b").discrepancy_at_start is None


# --- Force-close: the CLI ------------------------------------------------------------------------


@pytest.fixture
def olga(app, store):
    with app.app_context():
        return managers.create(UnitOfWork(), "Olga", "manager-pw", store_ids=[store])


def force_close_args(session_id, *extra):
    typed = ["--counted", "152.30", "--reason", "forgot", "--manager", "Olga", *extra]
    return ["session", "force-close", session_id, *typed]


@pytest.mark.usefixtures("olga")
def test_cli_force_close_leaves_a_float(client, headers, profile, runner):
    opened = open_shift(client, headers, profile, cash=100)

    result = runner.invoke(args=force_close_args(opened["id"], "--float-left", "100"))

    assert result.exit_code == 0, result.output
    assert "float left 100.00, to the safe 52.30" in result.stderr
    closing = report(client, headers, opened["id"])["closing"]
    assert (closing["floatLeft"], closing["toSafe"]) == (100, D("52.3"))
    # The float is the drawer's of the terminal that opened the session.
    assert open_shift(client, headers, profile, cash=99)["discrepancyAtStart"] == -1


@pytest.mark.usefixtures("olga")
@pytest.mark.parametrize(
    ("typed", "status", "said"),
    [
        ("152.31", 1, "float_left: Must be at most the cash counted (152.30)"),
        # Not an amount at all: a usage error naming the option, as for --counted.
        ("-1", 2, "Invalid value for '--float-left': Must be between 0"),
    ],
)
def test_cli_force_close_refuses_a_float_beyond_the_count(
    client, headers, profile, runner, typed, status, said
):
    opened = open_shift(client, headers, profile)

    result = runner.invoke(args=force_close_args(opened["id"], "--float-left", typed))

    assert result.exit_code == status and not result.stdout
    assert said in result.output
    assert report(client, headers, opened["id"])["closing"] is None


def test_the_service_force_close_leaves_a_float(app, client, headers, profile, store, olga):
    opened = open_shift(client, headers, profile, cash=100)
    with app.app_context():
        manager = db.session.get(Manager, olga)
        closed = service.force_close(
            UnitOfWork(), store, opened["id"], D(30), "left", manager, D(20)
        )
    assert (closed.closing.float_left, closed.closing.to_safe) == (D(20), D(10))


# --- The journal ---------------------------------------------------------------------------------


def test_the_new_figures_are_journaled_verified_and_exported(
    client, headers, profile, runner, store, tmp_path
):
    closed_leaving(client, headers, profile, cash=D("120.40"), float_left=D("80.20"))
    opened = open_shift(client, headers, profile, cash=80)
    move(client, headers, opened["id"], "sale", 1)
    close_shift(client, headers, profile, cash=81)

    found = entries(client, headers)

    assert [e["kind"] for e in found] == [
        "session_opened",
        "session_closed",
        "session_opened",
        "cash_movement",
        "session_closed",
    ]
    assert "discrepancyAtStart" not in found[0]["data"]  # nothing to compare: as before
    assert (found[1]["data"]["floatLeft"], found[1]["data"]["toSafe"]) == ("80.20", "40.20")
    assert found[2]["data"]["discrepancyAtStart"] == "-0.20"
    assert not {"floatLeft", "toSafe"} & set(found[4]["data"])  # no float said: as before
    result = verify(runner)
    assert result.exit_code == 0, result.output

    out = tmp_path / "journal.jsonl"
    exported = runner.invoke(args=["journal", "export", "--store", store, str(out)])
    assert exported.exit_code == 0, exported.output
    key = runner.invoke(args=["journal", "public-key"]).stdout.strip()
    offline = verify_export(out, key)
    assert offline.returncode == 0, offline.stderr
    assert '"floatLeft":"80.20"' in out.read_text()


@sqlite_only
@pytest.mark.parametrize(
    ("table", "column", "said"),
    [
        ("pos_closing", "to_safe", "data.toSafe is '40.20' in the entry, '0.01' in the row"),
        (
            "pos_session",
            "discrepancy_at_start",
            "data.discrepancyAtStart is '-0.20' in the entry, '0.01' in the row",
        ),
    ],
)
def test_a_float_changed_behind_the_box_s_back_is_found(
    app, client, headers, profile, runner, table, column, said
):
    closed_leaving(client, headers, profile, cash=D("120.40"), float_left=D("80.20"))
    open_shift(client, headers, profile, cash=D("80.00"))
    trigger = {"pos_closing": "pos_closing_no_update", "pos_session": "pos_session_figures_fixed"}
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(f"DROP TRIGGER {trigger[table]}")
        connection.execute(f"UPDATE {table} SET {column} = 1 WHERE {column} IS NOT NULL")
        connection.commit()

    result = verify(runner)

    assert result.exit_code == 1
    assert said in result.output


@pytest.mark.parametrize("column", ["discrepancy_at_start", "terminal"])
def test_a_session_s_discrepancy_and_terminal_are_fixed(app, client, headers, profile, column):
    closed_leaving(client, headers, profile, cash=50, float_left=50)
    open_shift(client, headers, profile, cash=40)
    with closing(plain_sql(app)) as connection, pytest.raises(Exception, match="append-only"):
        connection.execute(f"UPDATE pos_session SET {column} = NULL")


def test_the_upgrade_keeps_a_box_with_history_verifiable(app, runner):
    """A box with history from before floats upgrades: no closing left one, no session has a
    terminal nor a discrepancy, and every entry keeps its bytes."""
    ids = "0" * 22
    with app.app_context():
        box_at_0003_with_history(ids)
        upgrade(revision="0013")
        upgrade()
        with db.engine.connect() as connection:
            sessions = connection.execute(
                sa.text("SELECT terminal, discrepancy_at_start FROM pos_session")
            )
            assert list(sessions) == [(None, None), (None, None)]
            closings = connection.execute(sa.text("SELECT float_left, to_safe FROM pos_closing"))
            assert list(closings) == [(None, None)]
    after = verify(runner)
    assert after.exit_code == 0, after.output


def test_the_downgrade_then_the_upgrade_keep_the_journal(app, client, headers, profile, runner):
    """A box taken back to 0013 (the columns go, 0006's trigger comes back) and upgraded again
    verifies, and the session's trigger guards the new columns anew."""
    open_shift(client, headers, profile, cash=10)
    close_shift(client, headers, profile, cash=10)
    with app.app_context():
        downgrade(revision="0013")
        with db.engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("pos_closing")}
            assert "float_left" not in columns
        upgrade()
    assert verify(runner).exit_code == 0
    closed_leaving(client, headers, profile, cash=50, float_left=50)
    open_shift(client, headers, profile, cash=40)
    with closing(plain_sql(app)) as connection, pytest.raises(Exception, match="append-only"):
        connection.execute("UPDATE pos_session SET discrepancy_at_start = NULL")
