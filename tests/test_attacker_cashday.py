"""The attacker, the clumsy admin and the tax inspector on the cash day's latest features
(issues 19 to 21): attendants and handovers, the float left and the discrepancy at start, the
accountant's files and the replica. Each test is a finding, or a promise that held."""

import sqlite3
import time
from contextlib import closing
from decimal import Decimal as D

import pytest

from app.machinery import replica
from app.machinery.backup import sqlite_file
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Manager
from app.people import managers, passwords
from app.people.cashiers import set_enabled
from app.sessions.service import force_close
from tests.helpers import (
    CLOSE,
    CREATE,
    PASSWORD,
    SECRET,
    LiveServer,
    close_shift,
    fire_together,
    move,
    open_shift,
    report,
    sqlite_only,
)
from tests.journaling import instance  # noqa: F401  (a fixture)
from tests.test_accounting import SIREN, by_account, cli, datev_rows, export, fec_rows, ok
from tests.test_attendants import hand_over, handover_url, join, join_url, refused
from tests.test_journal import entries, plain_sql
from tests.test_replica import flask as replica_flask

pytestmark = pytest.mark.usefixtures("instance")


def test_the_ledger_s_drawer_and_safe_follow_the_float_left_and_the_discrepancy_at_start(
    runner, client, headers, profile, make_profile, store, tmp_path
):
    # Z 1: 100 in, 50 sold, bob takes the drawer counting 150, 150 counted: 100 left in the
    # drawer, 50 to the safe. Z 2 opens with 98 (short by 2 against the float), sells 10 and
    # leaves 100 of its 108: 8 to the safe.
    bob = make_profile(store, name="bob")
    first = open_shift(client, headers, profile, cash=100)["id"]
    move(client, headers, first, "sale", 50)
    assert hand_over(client, headers, first, bob, 150).status_code == 201
    close_shift(client, headers, bob, cash=150, floatLeft=100)
    second = open_shift(client, headers, profile, cash=98)
    assert second["discrepancyAtStart"] == -2
    move(client, headers, second["id"], "sale", 10)
    close_shift(client, headers, profile, cash=108, floatLeft=100)
    ok(cli(runner, "settings", "--store", store, "--siren", SIREN, "--confirm"))

    ok(export(runner, store, "fec", tmp_path / "fec.txt"))

    net = by_account(fec_rows((tmp_path / "fec.txt").read_bytes()))
    assert net["707"] == -60
    # The drawer held 100 before and 100 after; 58 went to the safe; 2 went missing between
    # the Zs, which the ledger must say too, or its cash is 60 where the box has 0 and 58.
    assert (net["530"], net["531"], net["658"]) == (0, 58, 2)


@pytest.mark.parametrize("route", ["join", "handover", "open"])
def test_a_cashier_disabled_during_its_password_check_neither_joins_nor_takes_the_drawer(
    app, client, headers, profile, make_profile, store, monkeypatch, route
):
    # The manager disables bob while bcrypt checks his password, between the read that found
    # him enabled and the write: under the lock he must be found disabled.
    bob = make_profile(store, name="bob")
    session_id = open_shift(client, headers, profile, cash=100)["id"]
    checkpw = passwords.bcrypt.checkpw

    def disabled_meanwhile(password, hashed):
        with app.app_context():
            set_enabled(UnitOfWork(), bob, False)
        return checkpw(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", disabled_meanwhile)
    if route == "join":
        response = join(client, headers, session_id, bob)
    elif route == "open":  # create-session, the same check
        body = {"profileId": bob, "openningCash": 1, "password": PASSWORD}
        response = client.post(CREATE, json=body, headers=headers)
    else:
        response = hand_over(client, headers, session_id, bob, 100)

    refused(response, 400, "Profile is disabled")
    assert report(client, headers, session_id)["attendance"] == []


def test_hostile_bodies_on_join_leave_handover_and_movements_change_nothing(
    runner, client, headers, profile, make_profile, make_store, make_token, store
):
    other_store = make_store()
    stranger = make_profile(other_store, name="stranger")
    their_headers = {
        "Authorization": f"Bearer {make_token(other_store)}",
        "x-store-id": other_store,
    }
    their_session = open_shift(client, their_headers, stranger, cash=5)["id"]
    bob = make_profile(store, name="bob")
    session_id = open_shift(client, headers, profile, cash=100)["id"]
    answers = {
        "another store's cashier joins": join(client, headers, session_id, stranger),
        "another store's cashier takes the drawer": hand_over(
            client, headers, session_id, stranger, 100
        ),
        "another store's session": join(client, headers, their_session, bob),
        "another store's cashier leaves": client.post(
            f"/pos-session/sessions/{session_id}/attendants/{stranger}/leave", headers=headers
        ),
        "a movement by another store's cashier": move(
            client, headers, session_id, "sale", 1, attendantId=stranger
        ),
    }
    for raw in ("1e400", "-1e-400", "NaN", "1E+999999999999"):
        body = f'{{"profileId": "{bob}", "password": "{PASSWORD}", "countedCash": {raw}}}'
        answers[f"countedCash {raw}"] = client.post(
            handover_url(session_id), data=body, content_type="application/json", headers=headers
        )
    for money in (-1, "1e400", 10**20, 0.001, True, "100", None, [100], {"a": 1}):
        answers[f"countedCash {money!r}"] = hand_over(client, headers, session_id, bob, money)
    for count in (
        [{"value": "50.00", "count": -2}],
        [{"value": "50.00", "count": 10**30}],
        [{"value": "0.03", "count": 1}],  # no such coin
        [{"value": "50.00", "count": 1.5}],
        [{"value": "50.00", "count": 1}, {"value": "50.00", "count": 1}],
        [{"value": "50.00"}],
        "50",
    ):
        answers[f"cashCount {count!r}"] = hand_over(
            client, headers, session_id, bob, None, cashCount=count
        )
    for name in ("\u0000", "\u202e", "x" * 65, "", " "):
        answers[f"profileId {name!r}"] = join(client, headers, session_id, name)
    for what, response in answers.items():
        assert 400 <= response.status_code < 500, (what, response.get_json())
        assert response.status_code != 500
    shown = report(client, headers, session_id)
    assert (shown["attendance"], shown["holder"], shown["attending"]) == ([], profile, [])
    assert report(client, their_headers, their_session)["attendance"] == []
    # Negative zero is a count of nothing, journaled as the row keeps it.
    body = f'{{"profileId": "{bob}", "password": "{PASSWORD}", "countedCash": -0.00}}'
    handed = client.post(
        handover_url(session_id), data=body, content_type="application/json", headers=headers
    ).get_json()["data"]
    assert (handed["countedCash"], handed["difference"]) == (0, -100)
    ok(runner.invoke(args=["journal", "verify"]))


def test_no_text_of_the_fec_is_read_as_a_formula(runner, client, headers, profile, store, tmp_path):
    # An accountant opens the FEC in a spreadsheet: a tender named like a formula is its
    # account's title (CompteLib) and in every line's label.
    ok(runner.invoke(args=["store", "tender", "add", store, "card", '=HYPERLINK("http://x")']))
    session_id = open_shift(client, headers, profile, cash=100)["id"]
    move(client, headers, session_id, "sale", 5, tender="card")
    close_shift(client, headers, profile, cash=100)
    ok(cli(runner, "settings", "--store", store, "--siren", SIREN, "--confirm"))

    ok(export(runner, store, "fec", tmp_path / "fec.txt"))

    rows = fec_rows((tmp_path / "fec.txt").read_bytes())
    titles = {row["CompteLib"] for row in rows}
    assert '\'=HYPERLINK("http://x")' in titles
    for row in rows:
        for column in ("JournalLib", "CompteLib", "EcritureLib"):
            assert not row[column].startswith(("=", "+", "-", "@")), row[column]


@sqlite_only  # the tamper is in SQLite's SQL (json_set); the check it meets is the same on both
def test_an_export_refuses_journal_entries_changed_behind_the_box_s_back(
    app, runner, client, headers, profile, store, tmp_path
):
    # The files are read from the journal and cite each Z's entry hash: an entry rewritten
    # consistently (the sale and its Z made 1000 more) must not be exported under its old hash.
    session_id = open_shift(client, headers, profile, cash=100)["id"]
    move(client, headers, session_id, "sale", 50)
    close_shift(client, headers, profile, cash=150)
    ok(cli(runner, "settings", "--store", store, "--siren", SIREN, "--confirm"))
    with closing(plain_sql(app)) as connection:
        connection.execute("DROP TRIGGER journal_entry_no_update")
        for kind, key in (("cash_movement", "amount"), ("session_closed", "sales")):
            connection.execute(
                f"UPDATE journal_entry SET data = json_set(data, '$.{key}', '1050.00') "
                "WHERE kind = ?",
                (kind,),
            )
        for key in ("closingCash", "expectedCash"):
            connection.execute(
                f"UPDATE journal_entry SET data = json_set(data, '$.{key}', '1150.00') "
                "WHERE kind = 'session_closed'"
            )
        connection.commit()

    result = export(runner, store, "fec", tmp_path / "fec.txt")

    assert result.exit_code == 1, result.output
    assert "Nothing was written" in result.output and "journal verify" in result.output
    assert not (tmp_path / "fec.txt").exists()


@sqlite_only  # a replica is of a SQLite file
def test_restore_from_a_replica_that_is_a_file_or_missing_folder_touches_nothing(
    app, store, tmp_path
):
    database = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    env = {
        "POS_JOURNAL_DIR": app.config["JOURNAL_DIR"],
        "POS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "POS_SECRET_KEY": SECRET,
    }
    (tmp_path / "a-file").write_text("not a replica")
    before = database.read_bytes()
    for setting in (tmp_path / "a-file", tmp_path / "no" / "such" / "folder", database):
        done = replica_flask({**env, "POS_REPLICA": str(setting)}, "restore", "--from-replica")
        assert (done.returncode, done.stdout) == (1, ""), (setting, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("Error: "), done.stderr
    assert database.read_bytes() == before
    assert (tmp_path / "a-file").read_text() == "not a replica"


@sqlite_only  # a replica is of a SQLite file
def test_restore_from_another_box_s_replica_is_refused_without_new_head(
    app, client, headers, profile, store, tmp_path, template_database
):
    # The admin points POS_REPLICA at the NAS folder of another box (here: a box with no
    # store yet), whose journal lacks every store this box signed.
    other_box = tmp_path / "other" / "pos.sqlite3"
    other_box.parent.mkdir()
    with closing(sqlite3.connect(template_database)) as source:
        with closing(sqlite3.connect(other_box)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=WAL")
    nas = tmp_path / "other-nas"
    nas.mkdir()
    shipper = replica.start(other_box, nas.as_uri(), lambda live, copy: [], print)
    try:
        deadline = time.monotonic() + 30
        while not replica.fetch_latest(nas.as_uri(), tmp_path / "scratch.sqlite3"):
            assert time.monotonic() < deadline, "the other box never replicated"
            time.sleep(0.3)
    finally:
        replica.stop(other_box)
        shipper.wait(10)
        replica.remove(tmp_path / "scratch.sqlite3")
    open_shift(client, headers, profile, cash=100)  # this box's journal, signed
    database = sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    env = {
        "POS_REPLICA": str(nas),
        "POS_JOURNAL_DIR": app.config["JOURNAL_DIR"],
        "POS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "POS_SECRET_KEY": SECRET,
    }
    before = database.read_bytes()

    done = replica_flask(env, "restore", "--from-replica")

    assert done.returncode == 1, done.stderr
    assert "would break the journal's signed head" in done.stderr, done.stderr
    assert database.read_bytes() == before


def test_joins_handovers_opens_and_a_close_at_once_keep_each_cashier_on_one_session(
    app, client, headers, profile, make_profile, store, runner, tmp_path, monkeypatch
):
    bob, carol, dave, eve, frank = (
        make_profile(store, name) for name in ("bob", "carol", "dave", "eve", "frank")
    )
    first = open_shift(client, headers, profile, cash=100)["id"]
    second = open_shift(client, headers, eve, cash=50)["id"]
    monkeypatch.setenv("POS_JOURNAL_DIR", app.config["JOURNAL_DIR"])
    server = LiveServer(app, tmp_path / "gunicorn.log", workers=4)
    on = {"password": PASSWORD}
    sent = [
        *[(join_url(first), {"profileId": bob} | on)] * 3,
        *[(join_url(second), {"profileId": bob} | on)] * 3,
        (handover_url(first), {"profileId": carol, "countedCash": 100} | on),
        (handover_url(first), {"profileId": dave, "countedCash": 100} | on),
        (CLOSE, {"profileId": profile, "closingCash": 100} | on),
        (CREATE, {"profileId": frank, "openningCash": 1} | on),
        (join_url(second), {"profileId": frank} | on),
    ]
    try:
        answers = fire_together(
            [server.url + url for url, _ in sent], headers, [body for _, body in sent]
        )
    finally:
        server.stop()
    codes = [r.status_code for r in answers]
    assert 500 not in codes, server.log()

    handovers, closed = codes[6:8], codes[8] == 200
    # bob: on one session at a time. Once on ``first``, he is free again only if it is closed,
    # so a second join (to ``second``) may follow that close; never two joins of one session.
    joined = [codes[:3].count(201), codes[3:6].count(201)]
    assert joined in ([1, 0], [0, 1]) or (closed and joined == [1, 1]), codes
    if joined == [1, 1]:  # in the journal's order: joined first, first closed, joined second
        order = [
            (e["kind"], e["sessionId"], e["data"].get("profileId"))
            for e in entries(client, headers)
            if e["kind"] in ("attendant_joined", "session_closed")
        ]
        first_closed = next(i for i, f in enumerate(order) if f[:2] == ("session_closed", first))
        on_first = order.index(("attendant_joined", first, bob))
        assert on_first < first_closed < order.index(("attendant_joined", second, bob)), order
    # The close comes first and no one takes the drawer, or a handover first and the opener
    # holds no drawer to close.
    assert closed == (handovers.count(201) == 0), codes
    frank_on = [codes[9] == 200, codes[10] == 201]
    assert frank_on.count(True) == 1, codes
    on_sessions = []
    for session_id in (first, second):
        shown = report(client, headers, session_id)
        if shown["holder"]:
            on_sessions += [shown["holder"], *shown["attending"]]
    assert len(on_sessions) == len(set(on_sessions)), on_sessions
    result = runner.invoke(args=["journal", "verify"])
    assert result.exit_code == 0, result.output


def test_a_forced_close_leaving_a_float_then_an_opening_over_it_balance_in_datev(
    app, runner, client, headers, profile, store, tmp_path
):
    with app.app_context():
        olga = managers.create(UnitOfWork(), "Olga", "manager-pw", store_ids=[store])
    first = open_shift(client, headers, profile, cash=100)["id"]
    move(client, headers, first, "sale", 20)
    with app.app_context():
        manager = db.session.get(Manager, olga)
        force_close(UnitOfWork(), store, first, D(117), "left", manager, float_left=D(80))
    opened = open_shift(client, headers, profile, cash=D("80.40"))  # 0.40 over the float
    assert opened["discrepancyAtStart"] == D("0.4")
    close_shift(client, headers, profile, cash=D("80.40"), floatLeft=D("80.40"))
    args = ["--store", store, "--chart", "SKR03", "--datev-consultant", "29098"]
    ok(cli(runner, "settings", *args, "--datev-client", "55003", "--confirm"))

    ok(export(runner, store, "datev", tmp_path / "batch.csv"))

    net = {}
    for booking in datev_rows((tmp_path / "batch.csv").read_bytes())[2]:
        amount = D(booking["Umsatz (ohne Soll/Haben-Kz)"].replace(",", "."))
        net[booking["Konto"]] = net.get(booking["Konto"], 0) + amount
        net[booking["Gegenkonto (ohne BU-Schlüssel)"]] = (
            net.get(booking["Gegenkonto (ohne BU-Schlüssel)"], 0) - amount
        )
    # The drawer from 100 to the 80.40 left; 37 to the safe; short 3 at the forced close,
    # over 0.40 at the next opening.
    assert (net["1000"], net["1010"]) == (D("-19.60"), 37)
    assert (net["8400"], net["4900"], net["2700"]) == (-20, 3, D("-0.40"))
    assert sum(net.values()) == 0
