"""Drawer events: drops to the safe, no-sale openings, and the store's pay-in and pay-out
reasons (issue 19). The API's answers, the rule below HTTP, the journal and the upgrade."""

import csv
import io
import sqlite3
from contextlib import closing
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import journal, reports
from app.exceptions import DrawerWouldGoNegative, UnknownReason
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Store
from app.sessions import service
from app.stores import add_reason
from tests.helpers import (
    close_shift,
    move,
    movements_url,
    open_shift,
    report,
    sign_in,
    sqlite_only,
    submit,
    text,
)
from tests.test_journal import box_at_0003_with_history, entries, plain_sql, verify

D = Decimal


@pytest.fixture
def session_id(client, headers, profile):
    return open_shift(client, headers, profile, cash=100)["id"]


@pytest.fixture
def bank_run(app, store):
    with app.app_context():
        add_reason(UnitOfWork(), store, "Bank run")
    return "Bank run"


def refused(response, status=400) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["statusCode"] == status
    return body


# --- Drops --------------------------------------------------------------------------------------


def test_a_drop_lowers_the_expected_cash_and_says_who_and_why(
    client, make_token, store, session_id
):
    headers = {"Authorization": f"Bearer {make_token(store, name='till-7')}", "x-store-id": store}
    response = move(client, headers, session_id, "drop", 60, reason="over the limit")

    assert response.status_code == 201
    movement = response.get_json()["data"]
    assert (movement["type"], movement["amount"], movement["reason"]) == (
        "drop",
        60,
        "over the limit",
    )
    assert movement["createdBy"] == "till-7"
    summary = report(client, headers, session_id)["summary"]
    assert (summary["drops"], summary["expectedCash"]) == (60, 40)


def test_a_drop_needs_a_reason(client, headers, session_id):
    for extra in ({}, {"reason": ""}, {"reason": "   "}, {"reason": None}):
        body = refused(move(client, headers, session_id, "drop", 10, **extra))
        assert body["message"] == "Missing data"
        assert body["errors"] == {"reason": ["Missing data"]}


def test_a_drop_cannot_take_more_than_the_drawer_holds(client, headers, session_id):
    assert move(client, headers, session_id, "drop", 100, reason="all of it").status_code == 201

    body = refused(move(client, headers, session_id, "drop", D("0.01"), reason="one more"))

    assert "a drawer cannot go below zero" in body["message"]
    assert report(client, headers, session_id)["summary"]["expectedCash"] == 0


def test_a_closing_expects_the_cash_after_the_drops(client, headers, profile, session_id):
    move(client, headers, session_id, "sale", 50)
    move(client, headers, session_id, "drop", 120, reason="safe")

    closed = close_shift(client, headers, profile, cash=30)

    assert (closed["closing"]["expectedCash"], closed["closing"]["difference"]) == (30, 0)


# --- No-sales -----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [{}, {"amount": 0}, {"amount": D("0.00")}])
def test_a_no_sale_moves_nothing_but_is_counted_and_listed(client, headers, session_id, amount):
    body = {"type": "no_sale", "reason": "change for the parking meter", **amount}
    response = client.post(movements_url(session_id), json=body, headers=headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["amount"] == 0
    data = report(client, headers, session_id)
    assert (data["summary"]["noSales"], data["summary"]["expectedCash"]) == (1, 100)
    assert [(m["type"], m["reason"]) for m in data["movements"]] == [
        ("no_sale", "change for the parking meter")
    ]


@pytest.mark.parametrize("kind, amount", [("drop", 5), ("no_sale", 0)])
def test_a_drop_or_a_no_sale_is_the_drawer_s_so_cash_only(
    client, headers, session_id, kind, amount
):
    body = refused(move(client, headers, session_id, kind, amount, reason="x", tender="card"))
    assert body["errors"] == {"tender": ["Must be cash: a drop or a no-sale is the drawer's."]}


def test_a_no_sale_with_an_amount_is_refused(client, headers, session_id):
    body = refused(move(client, headers, session_id, "no_sale", 5, reason="oops"))
    assert body["errors"] == {"amount": ["Must be 0 or absent: a no_sale moves no cash."]}


def test_a_no_sale_needs_a_reason(client, headers, session_id):
    response = client.post(movements_url(session_id), json={"type": "no_sale"}, headers=headers)
    assert refused(response)["errors"] == {"reason": ["Missing data"]}


# --- Reasons from the store's list --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pay_in", "pay_out"])
def test_a_pay_in_or_out_may_name_one_of_the_store_s_reasons(
    client, headers, session_id, bank_run, kind
):
    response = move(client, headers, session_id, kind, 5, reason=bank_run, note="free text")

    assert response.status_code == 201
    assert (response.get_json()["data"]["reason"], response.get_json()["data"]["note"]) == (
        bank_run,
        "free text",
    )


def test_an_unknown_reason_is_refused(client, headers, session_id, bank_run):
    body = refused(move(client, headers, session_id, "pay_out", 5, reason="Lunch"))
    assert body["message"].startswith("Unknown reason")
    assert report(client, headers, session_id)["movements"] == []


def test_another_store_s_reason_is_unknown(app, client, headers, make_store, session_id):
    with app.app_context():
        add_reason(UnitOfWork(), make_store(), "Lunch")
    refused(move(client, headers, session_id, "pay_out", 5, reason="Lunch"))


@pytest.mark.parametrize("kind", ["sale", "refund"])
def test_a_sale_or_refund_has_no_reason(client, headers, session_id, kind):
    body = refused(move(client, headers, session_id, kind, 5, reason="because"))
    assert body["errors"] == {"reason": ["Must not be given for a sale or refund."]}


# --- The rule below HTTP ------------------------------------------------------------------------


def test_the_rule_refuses_an_unknown_reason_and_an_overdraft(app, store, session_id):
    def record(kind, amount, reason):
        return service.record_movement(
            UnitOfWork(), store, "t", session_id, kind=kind, amount=amount, note=None, reason=reason
        )

    with app.app_context():
        with pytest.raises(UnknownReason):
            record("pay_in", D(1), "nowhere")
        with pytest.raises(DrawerWouldGoNegative):
            record("drop", D("100.01"), "safe")
        assert record("drop", D(100), "safe").type == "drop"


# --- The journal ----------------------------------------------------------------------------------


def test_drops_and_no_sales_are_journaled_and_verify(
    client, headers, profile, runner, session_id, bank_run
):
    move(client, headers, session_id, "sale", 1)
    move(client, headers, session_id, "drop", 50, reason="safe")
    move(client, headers, session_id, "no_sale", 0, reason="check")
    move(client, headers, session_id, "pay_in", 2, reason=bank_run)
    close_shift(client, headers, profile, cash=53)

    found = entries(client, headers)

    # A movement without a reason keeps the kind and data it always had.
    assert [(e["kind"], e["data"].get("reason")) for e in found[1:5]] == [
        ("cash_movement", None),
        ("cash_movement_with_reason", "safe"),
        ("cash_movement_with_reason", "check"),
        ("cash_movement_with_reason", bank_run),
    ]
    # Its attendant (0014) is the one key it gained: the drawer's holder, here the opener.
    assert set(found[1]["data"]) == {"movementId", "type", "amount", "by", "note", "attendantId"}
    assert found[3]["data"]["amount"] == "0.00"
    result = verify(runner)
    assert result.exit_code == 0, result.output


@sqlite_only
def test_a_reason_changed_behind_the_box_s_back_is_found(app, client, headers, runner, session_id):
    move(client, headers, session_id, "drop", 50, reason="safe")
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("DROP TRIGGER cash_movement_no_update")
        connection.execute("UPDATE cash_movement SET reason = 'pocket'")
        connection.commit()

    result = verify(runner)
    assert result.exit_code == 1
    assert "data.reason is 'safe' in the entry, 'pocket' in the row" in result.output


def test_drops_stay_append_only(app, client, headers, session_id):
    move(client, headers, session_id, "drop", 50, reason="safe")
    with closing(plain_sql(app)) as connection, pytest.raises(Exception, match="append-only"):
        connection.execute("UPDATE cash_movement SET amount = 1")


# --- The upgrade --------------------------------------------------------------------------------

# A pay-out in the session still open, recorded after 0006 (so journaled as the service does);
# ids of 24 characters, as PostgreSQL holds the columns to.
PAY_OUT_0009 = (
    "INSERT INTO cash_movement (id, pos_session_id, store_id, type, amount, note, created_by, "
    "created_at) VALUES ('m2{0}', 's2{0}', 'st{0}', 'pay_out', 500, 'stamps', 't', '{t}5')"
)


CARD_SALE_0010 = (
    "INSERT INTO cash_movement (id, pos_session_id, store_id, type, amount, note, created_by, "
    "created_at, tender) VALUES ('m3{0}', 's2{0}', 'st{0}', 'sale', 300, 'stamps', 't', "
    "'{t}6', 'card')"
)


def test_the_upgrade_keeps_a_box_with_history_verifiable(app, runner):
    ids = "0" * 22
    with app.app_context():
        box_at_0003_with_history(ids)
        upgrade(revision="0009")
        with db.engine.begin() as connection:
            connection.execute(sa.text(PAY_OUT_0009.format(ids, t="2025-01-01 10:00:0")))
        pay_out = dict(
            id=f"m2{ids}",
            pos_session_id=f"s2{ids}",
            store_id=f"st{ids}",
            type="pay_out",
            amount=D(5),
            note="stamps",
            created_by="t",
            created_at=datetime(2025, 1, 1, 10, 0, 5),
        )
        with db.session.begin():  # its entry, as 0009's service wrote it (the same data)
            journal.record(db.session, journal.MOVEMENT, SimpleNamespace(**pay_out, tender="cash"))
        upgrade(revision="0010")
        # A card sale of 0010's: SQLite's rebuild in 0011 must keep its tender.
        with db.engine.begin() as connection:
            connection.execute(sa.text(CARD_SALE_0010.format(ids, t="2025-01-01 10:00:0")))
        card_sale = pay_out | {"id": f"m3{ids}", "type": "sale", "amount": D(3), "tender": "card"}
        card_sale["created_at"] = datetime(2025, 1, 1, 10, 0, 6)
        with db.session.begin():
            journal.record(db.session, journal.MOVEMENT, SimpleNamespace(**card_sale))
        upgrade()

        with db.engine.connect() as connection:
            kept = connection.execute(
                sa.text("SELECT type, amount, reason, tender FROM cash_movement")
            )
            assert sorted(kept) == [
                ("pay_out", 500, None, "cash"),
                ("sale", 300, None, "card"),
                ("sale", 1000, None, "cash"),
            ]
    after = verify(runner)
    assert after.exit_code == 0, after.output
    with closing(plain_sql(app)) as connection, pytest.raises(Exception, match="append-only"):
        connection.execute("DELETE FROM cash_movement")


# --- The reports: X/Z page, day report and its CSV ------------------------------------------------


def drawer_day(client, headers, profile):
    """One closed session with a sale, two drops and a no-sale; one open with a drop."""
    first = open_shift(client, headers, profile, cash=100)["id"]
    move(client, headers, first, "sale", D("20.50"))
    move(client, headers, first, "drop", 50, reason="safe")
    move(client, headers, first, "drop", D("10.25"), reason="safe again")
    move(client, headers, first, "no_sale", 0, reason="check")
    close_shift(client, headers, profile, cash=D("60.25"))
    second = open_shift(client, headers, profile, cash=40)["id"]
    move(client, headers, second, "drop", 5, reason="safe")
    return first, second


def test_the_session_page_shows_drops_and_no_sales(client, headers, manager, profile, store):
    first, _ = drawer_day(client, headers, profile)
    sign_in(client)

    page = text(client.get(f"/backoffice/stores/{store}/sessions/{first}"))

    assert "Drops to the safe 60.25 EUR" in page and "No-sale openings 1" in page
    assert "Drop to the safe safe" in page and "No sale check" in page


def test_the_day_report_and_its_csv_total_the_drops_and_count_the_no_sales(
    app, client, headers, manager, profile, runner, store
):
    first, second = drawer_day(client, headers, profile)
    sign_in(client)
    with app.app_context():
        day = reports.today(db.session.get(Store, store)).isoformat()
    url = f"/backoffice/stores/{store}/days/{day}"

    page = client.get(url).get_data(as_text=True)
    rows = {
        row["session_id"]: row
        for row in csv.DictReader(io.StringIO(client.get(url + ".csv").get_data(as_text=True)))
    }

    assert '<dd class="money" id="total-drops">65.25 EUR</dd>' in page
    assert '<dd id="total-no-sales">1</dd>' in page
    assert (rows[first]["drops"], rows[first]["no_sales"]) == ("60.25", "1")
    assert (rows[second]["drops"], rows[second]["no_sales"]) == ("5.00", "0")
    for session_id, row in rows.items():  # the CSV is the API's X/Z report, to the cent
        summary = report(client, headers, session_id)["summary"]
        assert row["drops"] == f"{D(str(summary['drops'])):.2f}"
        assert row["no_sales"] == str(summary["noSales"])
        assert row["expected_cash"] == f"{D(str(summary['expectedCash'])):.2f}"

    # The command line's day report: the same figures, at the end of each row as in the CSV.
    told = runner.invoke(args=["report", "day", "--store", store]).stdout
    store_row = told.split("\nSTORE ", 1)[1].splitlines()[1].split()
    assert store_row[-2:] == ["65.25", "1"]
    sessions = told.split("\nSESSION ", 1)[1].splitlines()[1:]
    assert {line.split()[0]: line.split()[-2:] for line in sessions} == {
        first: ["60.25", "1"],
        second: ["5.00", "0"],
    }


# --- The store's reasons: page and CLI ------------------------------------------------------------


def test_the_settings_page_adds_and_removes_reasons(
    app, client, headers, manager, session_id, store
):
    sign_in(client)
    url = f"/backoffice/stores/{store}/settings"
    added = submit(client, url, f"{url}/reasons", reason="  Bank run ")
    assert added.status_code == 302
    assert "Bank run" in text(client.get(url))
    assert move(client, headers, session_id, "pay_in", 5, reason="Bank run").status_code == 201
    empty = submit(client, url, f"{url}/reasons", reason="  ")
    assert empty.status_code == 400 and 'id="reason-error"' in empty.get_data(as_text=True)

    removed = submit(client, url, f"{url}/reasons/remove", reason="Bank run")

    assert removed.status_code == 302 and "No reasons yet." in text(client.get(url))
    refused(move(client, headers, session_id, "pay_in", 5, reason="Bank run"))
    # The movement that named it keeps it.
    assert report(client, headers, session_id)["movements"][0]["reason"] == "Bank run"


def test_the_cli_adds_lists_and_removes_reasons(client, headers, runner, session_id, store):
    assert runner.invoke(args=["store", "reason", "add", store, "Stamps"]).exit_code == 0
    assert runner.invoke(args=["store", "reason", "add", store, "Bank run"]).exit_code == 0
    listed = runner.invoke(args=["store", "reason", "list", store])
    assert listed.stdout == "Bank run\nStamps\n"
    assert move(client, headers, session_id, "pay_out", 1, reason="Stamps").status_code == 201

    assert runner.invoke(args=["store", "reason", "remove", store, "Stamps"]).exit_code == 0
    again = runner.invoke(args=["store", "reason", "remove", store, "Stamps"])
    assert again.exit_code == 1 and "has no reason 'Stamps'" in again.output
    assert runner.invoke(args=["store", "reason", "list", store]).stdout == "Bank run\n"
    unknown = runner.invoke(args=["store", "reason", "add", "nope", "x"])
    assert unknown.exit_code == 1 and "Store not found" in unknown.output
