"""Tenders (issue 19): cash always, the owner's card, voucher, cheque and other tenders; a
movement names its tender, only cash moves the expected cash, close-session counts the
others, and every figure says per tender what was expected, counted and the difference."""

import csv
import io
import json
import re
import sqlite3
from contextlib import closing
from decimal import Decimal as D

import pytest
from markupsafe import escape
from sqlalchemy import text

from app import reports
from app.exceptions import TenderDisabled, UnknownTender
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Store
from app.sessions import service
from app.stores import update_store
from tests.helpers import (
    CLOSE,
    close_body,
    close_shift,
    move,
    open_shift,
    report,
    sign_in,
    sqlite_only,
    submit,
)
from tests.helpers import (
    text as page_text,
)
from tests.test_journal import verify


def add(runner, store, kind, name, *more) -> str:
    result = runner.invoke(args=["store", "tender", "add", store, kind, name, *more])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.fixture
def card(runner, store):
    return add(runner, store, "card", "Card terminal")


@pytest.fixture
def session_id(client, headers, profile, card):
    return open_shift(client, headers, profile, cash=100)["id"]


def line(lines, code):
    return next(one for one in lines if one["tender"] == code)


def test_only_cash_moves_the_expected_cash(client, headers, session_id):
    assert move(client, headers, session_id, "sale", 10).status_code == 201
    answer = move(client, headers, session_id, "sale", D("30.5"), tender="card")
    assert answer.status_code == 201
    assert answer.get_json()["data"]["tender"] == "card"
    assert move(client, headers, session_id, "refund", 5, tender="card").status_code == 201

    summary = report(client, headers, session_id)["summary"]
    assert (summary["sales"], summary["expectedCash"]) == (10, 110)  # cash only, as before
    assert summary["tenders"] == [
        {"tender": "cash", "expected": 110, "counted": None, "difference": None},
        {"tender": "card", "expected": D("25.5"), "counted": None, "difference": None},
    ]


def test_the_close_counts_each_tender_and_a_missing_count_is_not_zero(
    client, headers, profile, runner, store, session_id
):
    add(runner, store, "voucher", "Lunch vouchers", "--code", "lunch")
    move(client, headers, session_id, "sale", 40, tender="card")
    move(client, headers, session_id, "sale", 12, tender="lunch")

    closed = close_shift(client, headers, profile, cash=100, countedTenders={"card": D("39.5")})

    tenders = closed["closing"]["tenders"]
    assert tenders == [
        {"tender": "cash", "expected": 100, "counted": 100, "difference": 0},
        {"tender": "card", "expected": 40, "counted": D("39.5"), "difference": D("-0.5")},
        {"tender": "lunch", "expected": 12, "counted": None, "difference": None},
    ]
    assert report(client, headers, session_id)["summary"]["tenders"] == tenders
    assert report(client, headers, session_id)["closing"]["tenders"] == tenders


@pytest.mark.parametrize(
    "tender, message",
    [
        ("visa", "Unknown tender"),
        ("Card!", "Invalid value for tender"),
        # The whole text is the code: not one that merely starts like one.
        ("card!", "Invalid value for tender"),
        ("card\n", "Invalid value for tender"),
        (7, "Invalid value for tender"),
    ],
)
def test_a_movement_s_tender_must_be_the_store_s(client, headers, session_id, tender, message):
    response = move(client, headers, session_id, "sale", 1, tender=tender)
    assert response.status_code == 400
    assert response.get_json()["message"] == message
    assert response.get_json()["statusCode"] == 400
    assert report(client, headers, session_id)["movements"] == []


def test_a_disabled_tender_takes_no_movement_but_may_still_be_counted(
    client, headers, profile, runner, store, session_id
):
    move(client, headers, session_id, "sale", 8, tender="card")
    assert runner.invoke(args=["store", "tender", "disable", store, "card"]).exit_code == 0

    response = move(client, headers, session_id, "sale", 1, tender="card")
    assert response.get_json() == {"message": "Tender is disabled", "statusCode": 400}
    # The session moved it: its slip is counted all the same.
    closed = close_shift(client, headers, profile, cash=100, countedTenders={"card": 8})
    assert line(closed["closing"]["tenders"], "card")["difference"] == 0

    assert runner.invoke(args=["store", "tender", "enable", store, "card"]).exit_code == 0
    next_one = open_shift(client, headers, profile)["id"]
    assert move(client, headers, next_one, "sale", 1, tender="card").status_code == 201


@pytest.mark.parametrize(
    "counted, status, message",
    [
        ({"visa": 1}, 400, "Unknown tender"),
        ({"card": -1}, 400, "Invalid value for countedTenders"),
        ({"card": "1"}, 400, "Invalid value for countedTenders"),
        ({"card": D("0.001")}, 400, "Invalid value for countedTenders"),
        ({"cash": 100}, 400, "Invalid value for countedTenders"),
        ({"card,x": 1}, 400, "Invalid value for countedTenders"),
        ([{"tender": "card", "counted": 1}], 400, "Invalid value for countedTenders"),
    ],
)
def test_counts_are_strict(client, headers, profile, session_id, counted, status, message):
    response = client.post(
        CLOSE, json=close_body(profile, 100, countedTenders=counted), headers=headers
    )
    assert response.status_code == status
    assert response.get_json()["message"] == message
    assert report(client, headers, session_id)["closing"] is None  # still open


def test_a_disabled_tender_the_session_did_not_move_cannot_be_counted(
    client, headers, profile, runner, store, session_id
):
    runner.invoke(args=["store", "tender", "disable", store, "card"])
    response = client.post(
        CLOSE, json=close_body(profile, 100, countedTenders={"card": 0}), headers=headers
    )
    assert response.get_json() == {"message": "Tender is disabled", "statusCode": 400}


def test_another_store_s_tender_is_unknown(client, headers, make_store, runner, session_id):
    add(runner, make_store("other"), "cheque", "Cheques")
    response = move(client, headers, session_id, "sale", 1, tender="cheque")
    assert response.get_json()["message"] == "Unknown tender"


def test_the_api_lists_the_store_s_tenders(client, headers, runner, store, card):
    runner.invoke(args=["store", "tender", "disable", store, card])
    response = client.get("/pos-session/tenders", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["data"] == [
        {"code": "cash", "kind": "cash", "name": "Cash", "enabled": True},
        {"code": "card", "kind": "card", "name": "Card terminal", "enabled": False},
    ]


def test_the_rules_refuse_below_http(app, store, profile, session_id):
    def sale(tender):
        movement = {"kind": "sale", "amount": D(1), "note": None, "tender": tender}
        return service.record_movement(UnitOfWork(), store, "t", session_id, **movement)

    with app.app_context():
        with pytest.raises(UnknownTender):
            sale("x")
        db.session.execute(text("UPDATE tender SET enabled = false"))
        db.session.commit()
        with pytest.raises(TenderDisabled):
            sale("card")


# The CLI


def test_cli_adds_lists_and_refuses(runner, store, card):
    assert card == "card"
    second = runner.invoke(args=["store", "tender", "add", store, "card", "Another"])
    assert second.exit_code == 1 and "code: This code is already taken." in second.output
    cash = runner.invoke(args=["store", "tender", "add", store, "other", "Cash", "--code", "cash"])
    assert cash.exit_code == 1
    bad = runner.invoke(args=["store", "tender", "add", store, "other", "X", "--code", "Bad Code"])
    assert bad.exit_code == 1 and "code: Enter a code" in bad.output
    # $ would let a trailing line break through: a code no terminal could send.
    newline = runner.invoke(args=["store", "tender", "add", store, "other", "X", "--code", "x\n"])
    assert newline.exit_code == 1 and "code: Enter a code" in newline.output
    assert runner.invoke(args=["store", "tender", "add", store, "gold", "Gold"]).exit_code == 2
    unknown = runner.invoke(args=["store", "tender", "disable", store, "nope"])
    assert unknown.exit_code == 1 and "Unknown tender" in unknown.output

    listed = runner.invoke(args=["store", "tender", "list", store]).stdout.splitlines()
    assert listed[1].split()[:2] == ["cash", "cash"]
    assert listed[2].split() == ["card", "card", "Card", "terminal", "yes"]


# The journal


def entries(app, store) -> list[dict]:
    with app.app_context():
        rows = db.session.execute(
            text("SELECT kind, data FROM journal_entry WHERE store_id = :s ORDER BY seq"),
            {"s": store},
        )
        return [(kind, json.loads(data)) for kind, data in rows]


def test_the_journal_has_the_tender_only_where_it_is_not_cash(
    app, client, headers, profile, runner, store, session_id
):
    move(client, headers, session_id, "sale", 3)
    move(client, headers, session_id, "sale", 4, tender="card")
    close_shift(client, headers, profile, cash=103, countedTenders={"card": 4})
    open_shift(client, headers, profile)
    close_shift(client, headers, profile)

    found = entries(app, store)
    assert [kind for kind, _data in found] == [
        "session_opened",
        "cash_movement",
        "cash_movement",
        "session_closed",
        "session_opened",
        "session_closed",
    ]
    assert "tender" not in found[1][1]  # as every cash movement's entry before tenders
    assert found[2][1]["tender"] == "card"
    assert found[3][1]["tenders"] == {
        "card": {"expected": "4.00", "counted": "4.00", "difference": "0.00"}
    }
    assert "tenders" not in found[5][1]  # cash only: as before tenders
    result = verify(runner)
    assert result.exit_code == 0, result.output


@sqlite_only
def test_verify_finds_a_tender_changed(app, client, headers, profile, runner, store, session_id):
    move(client, headers, session_id, "sale", 4, tender="card")
    close_shift(client, headers, profile, cash=100, countedTenders={"card": 4})
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as connection:
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            connection.execute(f"DROP TRIGGER {name}")
        connection.execute("UPDATE cash_movement SET tender = 'cash'")
        connection.commit()
    result = verify(runner)
    assert result.exit_code == 1
    assert "cash_movement row" in result.stdout and "differs" in result.stdout


@sqlite_only
def test_a_tender_is_never_deleted_nor_its_code_changed(app, card):
    with app.app_context():
        for statement in ("DELETE FROM tender", "UPDATE tender SET code = 'visa'"):
            with pytest.raises(Exception, match="a tender is disabled, never deleted"):
                db.session.execute(text(statement))
            db.session.rollback()
        db.session.execute(text("UPDATE tender SET enabled = false, name = 'Card'"))
        db.session.commit()


# The page and the day report


@pytest.fixture
def day_with_tenders(client, headers, profile, runner, store, session_id):
    """A card sale counted short, a voucher sale not counted, and a second session open."""
    add(runner, store, "voucher", "Vouchers")
    move(client, headers, session_id, "sale", 40, tender="card")
    move(client, headers, session_id, "sale", 12, tender="voucher")
    close_shift(client, headers, profile, cash=100, countedTenders={"card": D("39.5")})
    return session_id


@pytest.mark.usefixtures("manager")
def test_the_z_page_and_the_day_page_show_each_tender(app, client, store, day_with_tenders):
    sign_in(client)
    z = page_text(client.get(f"/backoffice/stores/{store}/sessions/{day_with_tenders}"))
    assert "By tender" in z  # each as the owner named it, not by the code terminals send
    assert "Card terminal 40.00 EUR 39.50 EUR short by 0.50 EUR" in z
    assert "Vouchers 12.00 EUR not counted not counted" in z
    assert "Sale (Card terminal)" in z

    day = page_text(client.get(f"/backoffice/stores/{store}/days/{today_of(app, store)}"))
    assert "Cash 100.00 EUR 100.00 EUR even" in day
    assert "Card terminal 40.00 EUR 39.50 EUR short by 0.50 EUR" in day
    assert "Vouchers 12.00 EUR not counted not counted" in day


def test_report_day_on_the_command_line_lists_each_tender_as_the_day_page(
    app, runner, store, day_with_tenders
):
    result = runner.invoke(args=["report", "day", "--store", store])
    assert result.exit_code == 0, result.output
    tenders = result.stdout.split("\nTENDER ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert [line.split() for line in tenders] == [
        ["cash", "100.00", "100.00", "0.00"],
        ["card", "40.00", "39.50", "-0.50"],
        ["voucher", "12.00", "not", "counted", "not", "counted"],
    ]


@pytest.mark.usefixtures("manager")
def test_the_x_page_says_still_open_not_not_counted(client, headers, store, session_id):
    # As the API's null and the CSV's empty cell while open: "not counted" is a closing's word.
    move(client, headers, session_id, "sale", 40, tender="card")
    sign_in(client)
    x = page_text(client.get(f"/backoffice/stores/{store}/sessions/{session_id}"))
    assert "Cash 100.00 EUR still open still open" in x
    assert "Card terminal 40.00 EUR still open still open" in x
    assert "not counted" not in x


def today_of(app, store) -> str:
    with app.app_context():
        return reports.today(db.session.get(Store, store)).isoformat()


@pytest.mark.usefixtures("manager")
def test_the_csv_has_three_columns_per_tender_and_says_not_counted(
    app, client, headers, profile, store, day_with_tenders
):
    open_shift(client, headers, profile, cash=5)  # open: nothing counted yet, nor "not counted"
    sign_in(client)
    body = client.get(f"/backoffice/stores/{store}/days/{today_of(app, store)}.csv")
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True))))
    closed, still_open = rows
    assert (closed["card_expected"], closed["card_counted"], closed["card_difference"]) == (
        "40.00",
        "39.50",
        "-0.50",
    )
    assert (closed["voucher_expected"], closed["voucher_counted"]) == ("12.00", "not counted")
    assert closed["voucher_difference"] == ""
    assert (still_open["card_expected"], still_open["card_counted"]) == ("0.00", "")


@pytest.mark.usefixtures("manager")
def test_the_settings_page_adds_disables_and_enables_tenders(client, headers, store, session_id):
    sign_in(client)
    page = f"/backoffice/stores/{store}/settings"
    action = f"/backoffice/stores/{store}/tenders"
    added = submit(client, page, action, kind="cheque", tender_name="Cheques", code="")
    assert added.status_code == 302
    assert move(client, headers, session_id, "sale", 5, tender="cheque").status_code == 201

    refused = submit(client, page, action, kind="gold", tender_name="", code="Bad Code")
    assert refused.status_code == 400
    shown = page_text(refused)
    assert "Choose card, voucher, cheque or other." in shown and "Enter a code" in shown

    switch = f"/backoffice/stores/{store}/tenders/cheque"
    assert submit(client, page, switch, enabled="no").status_code == 302
    assert "Cheques cheque cheque Disabled" in page_text(client.get(page))
    assert move(client, headers, session_id, "sale", 5, tender="cheque").status_code == 400
    assert submit(client, page, switch, enabled="yes").status_code == 302
    assert move(client, headers, session_id, "sale", 5, tender="cheque").status_code == 201


@pytest.mark.usefixtures("manager")
def test_the_kind_is_chosen_from_a_list_and_checked_by_the_box(client, store):
    sign_in(client)
    page = f"/backoffice/stores/{store}/settings"
    action = f"/backoffice/stores/{store}/tenders"
    html = client.get(page).get_data(as_text=True)
    kinds = re.search(r'<select id="kind" name="kind">(.*?)</select>', html, re.S)
    assert re.findall(r'<option value="([^"]*)"', kinds.group(1)) == [
        "card",
        "voucher",
        "cheque",
        "other",
    ]

    for sent in ({"kind": "gold"}, {"kind": "cash"}, {}):  # a hand-made form
        refused = submit(client, page, action, tender_name="Bars", code="", **sent)
        assert refused.status_code == 400
        html = refused.get_data(as_text=True)
        assert re.search(
            r'<select id="kind" name="kind" aria-invalid="true" aria-describedby="kind-error">',
            html,
        )
        assert 'id="kind-error">Choose card, voucher, cheque or other.</p>' in html
        assert 'name="tender_name" type="text" value="Bars"' in html  # what was typed stays
    kept = submit(client, page, action, kind="voucher", tender_name="", code="")
    assert '<option value="voucher" selected>Voucher</option>' in kept.get_data(as_text=True)


HOSTILE = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>"


@pytest.mark.usefixtures("manager")
def test_the_settings_page_escapes_hostile_names_everywhere(client, store):
    with client.application.app_context():
        update_store(UnitOfWork(), store, name="Shop " + HOSTILE)
    sign_in(client)
    page = f"/backoffice/stores/{store}/settings"
    tenders = f"/backoffice/stores/{store}/tenders"
    shown = []  # each page after a change: its flash says the name too
    for action, fields in (
        (tenders, {"kind": "other", "tender_name": HOSTILE}),
        (f"{page}/reasons", {"reason": HOSTILE}),
        (f"{tenders}/other", {"enabled": "no"}),
        (f"{page}/reasons/remove", {"reason": HOSTILE}),
    ):
        done = submit(client, page, action, **fields)
        assert done.status_code == 302
        shown.append(client.get(done.location))
    submit(client, page, f"{page}/reasons", reason=HOSTILE)
    shown.append(submit(client, page, tenders, kind="x", tender_name=HOSTILE))  # kept as typed

    for response in shown:
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # As text: the store's name (title, header), the tender and the reason (each with its
    # button's hidden words), the tender once more in the accounting section (its account's
    # field); as an attribute's text, the field kept.
    assert page_text(shown[-1]).count(HOSTILE) == 7
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "an id twice: a part of the page shown twice"
    assert f'name="tender_name" type="text" value="{escape(HOSTILE)}"' in html
