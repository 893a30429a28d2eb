"""Several cashiers on one drawer (issue 19): joining and leaving a session, a movement's
attendant, a handover with a count at the change, and the figures split by attendant. The
rules below HTTP, the API's answers and errors, the journal and the upgrade."""

import csv
import io
from contextlib import closing
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import journal, reports
from app.exceptions import (
    AlreadyOnSession,
    DrawerHeldByAnother,
    HolderCannotLeave,
    NotOnSession,
    OnAnotherSession,
    SessionAlreadyOpen,
)
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Store
from app.sessions import attendants, service
from tests.helpers import (
    CLOSE,
    CREATE,
    PASSWORD,
    close_body,
    close_shift,
    move,
    open_shift,
    report,
    sign_in,
    sqlite_only,
    text,
)
from tests.test_journal import box_at_0003_with_history, entries, plain_sql, verify

D = Decimal


def join_url(session_id: str) -> str:
    return f"/pos-session/sessions/{session_id}/attendants"


def leave_url(session_id: str, profile_id: str) -> str:
    return f"/pos-session/sessions/{session_id}/attendants/{profile_id}/leave"


def handover_url(session_id: str) -> str:
    return f"/pos-session/sessions/{session_id}/handover"


def join(client, headers, session_id, profile_id, password=PASSWORD):
    body = {"profileId": profile_id, "password": password}
    return client.post(join_url(session_id), json=body, headers=headers)


def hand_over(client, headers, session_id, profile_id, counted=None, **extra):
    body = {"profileId": profile_id, "password": PASSWORD, **extra}
    if counted is not None:
        body["countedCash"] = counted
    return client.post(handover_url(session_id), json=body, headers=headers)


def refused(response, status: int, message: str) -> None:
    body = response.get_json()
    assert (response.status_code, body) == (status, {"message": message, "statusCode": status})


@pytest.fixture
def bob(make_profile, store):
    return make_profile(store, "bob")


@pytest.fixture
def carol(make_profile, store):
    return make_profile(store, "carol")


@pytest.fixture
def session_id(client, headers, profile):
    return open_shift(client, headers, profile, cash=100)["id"]


# --- Joining and leaving ------------------------------------------------------------------------


def test_a_cashier_joins_with_its_password_and_its_movements_name_it(
    client, headers, profile, bob, session_id
):
    response = join(client, headers, session_id, bob)
    assert response.status_code == 201, response.get_json()
    joined = response.get_json()["data"]
    assert (joined["kind"], joined["profileId"], joined["createdBy"]) == (
        "joined",
        bob,
        "terminal-1",
    )
    assert joined["countedCash"] is None and joined["fromProfileId"] is None

    assert (
        move(client, headers, session_id, "sale", 10).get_json()["data"]["attendantId"] == profile
    )
    by_bob = move(client, headers, session_id, "sale", 5, attendantId=bob).get_json()["data"]
    assert (by_bob["attendantId"], by_bob["createdBy"]) == (bob, "terminal-1")
    move(client, headers, session_id, "refund", 2, attendantId=bob)

    found = report(client, headers, session_id)
    assert (found["holder"], found["attending"]) == (profile, [bob])
    assert [a["kind"] for a in found["attendance"]] == ["joined"]
    assert found["summary"]["sales"] == 15  # the session's figures are as before
    assert [(a["name"], a["sales"], a["refunds"]) for a in found["summary"]["byAttendant"]] == [
        ("alice", 10, 0),
        ("bob", 5, 2),
    ]


def test_the_figures_by_attendant_are_by_name_whatever_the_case(
    client, headers, make_profile, store, session_id
):
    zoe = make_profile(store, "Zoë")  # SQLite's own order puts "Z" before "a"
    assert join(client, headers, session_id, zoe).status_code == 201
    move(client, headers, session_id, "sale", 3, attendantId=zoe)
    move(client, headers, session_id, "sale", 1)
    by = report(client, headers, session_id)["summary"]["byAttendant"]
    assert [(a["name"], a["sales"]) for a in by] == [("alice", 1), ("Zoë", 3)]


def test_joining_is_refused_as_each_error_says(
    app, client, headers, profile, bob, carol, session_id, make_store, make_profile, runner
):
    other_store = make_profile(make_store("Elsewhere"), "dan")
    refused(join(client, headers, "nosuchsessionxxxxxxxxxxx", bob), 404, "Session not found")
    refused(join(client, headers, session_id, other_store), 400, "Profile not found")
    refused(join(client, headers, session_id, "nosuchprofilexxxxxxxxxxx"), 400, "Profile not found")
    refused(join(client, headers, session_id, bob, "wrong-pin"), 401, "Invalid password")
    refused(join(client, headers, session_id, profile), 409, "Profile is on this session already")
    assert join(client, headers, session_id, bob).status_code == 201
    refused(join(client, headers, session_id, bob), 409, "Profile is on this session already")

    # A cashier is on one open session at most, opened, held or attended.
    carols = open_shift(client, headers, carol)["id"]
    refused(join(client, headers, carols, bob), 409, "Profile is on another open session")
    refused(join(client, headers, session_id, carol), 409, "Profile is on another open session")
    refused(
        client.post(
            CREATE,
            json={"profileId": bob, "openningCash": 1, "password": PASSWORD},
            headers=headers,
        ),
        400,
        "Session already open",
    )

    assert runner.invoke(args=["profile", "disable", carol]).exit_code == 0
    close_shift(client, headers, carol)
    refused(join(client, headers, session_id, carol), 400, "Profile is disabled")
    refused(join(client, headers, carols, profile), 409, "Session is closed")
    missing = client.post(join_url(session_id), json={"profileId": bob}, headers=headers)
    assert (missing.status_code, missing.get_json()["message"]) == (400, "Missing data")


def test_an_attendant_leaves_and_then_makes_no_movement(client, headers, profile, bob, session_id):
    join(client, headers, session_id, bob)
    response = client.post(leave_url(session_id, bob), headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["kind"] == "left"
    refused(
        move(client, headers, session_id, "sale", 1, attendantId=bob),
        409,
        "Profile is not on this session",
    )
    refused(
        client.post(leave_url(session_id, bob), headers=headers),
        409,
        "Profile is not on this session",
    )
    refused(
        client.post(leave_url(session_id, profile), headers=headers),
        409,
        "The drawer's holder leaves by a handover",
    )
    refused(
        client.post(leave_url(session_id, "nosuchprofilexxxxxxxxxxx"), headers=headers),
        400,
        "Profile not found",
    )
    # Left, it may join again, or open its own session.
    assert join(client, headers, session_id, bob).status_code == 201
    assert client.post(leave_url(session_id, bob), headers=headers).status_code == 201
    open_shift(client, headers, bob)
    close_shift(client, headers, profile, cash=100)
    refused(client.post(leave_url(session_id, bob), headers=headers), 409, "Session is closed")


def test_a_movement_s_attendant_must_be_on_the_session(client, headers, bob, session_id):
    refused(
        move(client, headers, session_id, "sale", 1, attendantId=bob),
        409,
        "Profile is not on this session",
    )
    bad = move(client, headers, session_id, "sale", 1, attendantId="x" * 65)
    assert bad.status_code == 400 and "attendantId" in bad.get_json()["errors"]


# --- Handover -------------------------------------------------------------------------------------


def test_a_handover_records_the_count_and_the_expected_cash_carries_over(
    client, headers, profile, bob, session_id, runner
):
    move(client, headers, session_id, "sale", 50)
    response = hand_over(client, headers, session_id, bob, 148)
    assert response.status_code == 201, response.get_json()
    handed = response.get_json()["data"]
    assert (handed["kind"], handed["fromProfileId"], handed["profileId"]) == (
        "handover",
        profile,
        bob,
    )
    assert (handed["countedCash"], handed["expectedCash"], handed["difference"]) == (148, 150, -2)

    # The drawer is bob's: its movements name bob, alice is off the session.
    assert move(client, headers, session_id, "sale", 20).get_json()["data"]["attendantId"] == bob
    refused(
        move(client, headers, session_id, "sale", 1, attendantId=profile),
        409,
        "Profile is not on this session",
    )
    found = report(client, headers, session_id)
    assert (found["posProfileId"], found["holder"], found["attending"]) == (profile, bob, [])
    assert found["summary"]["expectedCash"] == 170  # 150 carried over, not the 148 counted

    # The seed's routes: the session stays its opener's until closed; its holder closes it.
    status = client.get(f"/pos-session/session-status/{profile}", headers=headers).get_json()
    assert (status["hasOpenSession"], status["session"]["id"]) == (True, session_id)
    refused(
        client.post(CLOSE, json=close_body(profile, 170), headers=headers),
        409,
        "Another cashier holds this session's drawer",
    )
    refused(
        client.post(
            CREATE,
            json={"profileId": profile, "openningCash": 1, "password": PASSWORD},
            headers=headers,
        ),
        400,
        "Session already open",
    )
    closing_ = close_shift(client, headers, bob, cash=170)["closing"]
    assert (closing_["posProfileId"], closing_["expectedCash"], closing_["difference"]) == (
        profile,
        170,
        0,
    )
    open_shift(client, headers, profile)  # closed: its opener may open again

    kinds = [e["kind"] for e in entries(client, headers)]
    assert kinds.count("drawer_handed_over") == 1
    result = verify(runner)
    assert result.exit_code == 0, result.output


def test_an_attendant_takes_the_drawer_and_the_old_holder_may_take_it_back(
    client, headers, profile, bob, session_id
):
    join(client, headers, session_id, bob)
    assert hand_over(client, headers, session_id, bob, 100).status_code == 201
    assert report(client, headers, session_id)["attending"] == []
    refused(
        hand_over(client, headers, session_id, bob, 100), 409, "Profile is on this session already"
    )
    assert hand_over(client, headers, session_id, profile, 100).status_code == 201
    assert report(client, headers, session_id)["holder"] == profile
    close_shift(client, headers, profile, cash=100)


def test_a_handover_counts_by_note_and_coin_and_is_refused_as_each_error_says(
    client, headers, profile, bob, carol, session_id
):
    count = [{"value": "50.00", "count": 2}]
    handed = hand_over(client, headers, session_id, bob, cashCount=count).get_json()["data"]
    assert (handed["countedCash"], handed["cashCount"]) == (100, [{"value": 50, "count": 2}])

    wrong = hand_over(client, headers, session_id, profile, 90, cashCount=count)
    assert wrong.status_code == 400 and "cashCount adds up to 100.00" in wrong.get_json()["message"]
    missing = hand_over(client, headers, session_id, profile)
    assert (missing.status_code, missing.get_json()["message"]) == (400, "Missing data")
    open_shift(client, headers, carol)
    refused(
        hand_over(client, headers, session_id, carol, 100),
        409,
        "Profile is on another open session",
    )
    refused(
        hand_over(client, headers, session_id, profile, 100, password="nope"),
        401,
        "Invalid password",
    )
    close_shift(client, headers, bob, cash=100)
    refused(hand_over(client, headers, session_id, profile, 100), 409, "Session is closed")


# --- The rules below HTTP -------------------------------------------------------------------------


def test_the_rules_keep_a_cashier_on_one_session_and_the_holder_closes(
    app, store, profile, bob, carol
):
    def opened(profile_id):
        return service.open_session(
            UnitOfWork(),
            store,
            "till-1",
            profile_id=profile_id,
            password=PASSWORD,
            opening_cash=D(100),
        )

    def taking(rule, session, profile_id, **extra):
        return rule(
            UnitOfWork(),
            store,
            "till-2",
            session.id,
            profile_id=profile_id,
            password=PASSWORD,
            **extra,
        )

    with app.app_context():
        first = opened(profile)
        joined = taking(attendants.join, first, bob)
        assert (joined.number, joined.kind, joined.created_by) == (1, "joined", "till-2")
        with pytest.raises(AlreadyOnSession):
            taking(attendants.join, first, bob)
        with pytest.raises(SessionAlreadyOpen):
            opened(bob)
        with pytest.raises(HolderCannotLeave):
            attendants.leave(UnitOfWork(), store, "till-2", first.id, profile)
        handed = taking(attendants.hand_over, first, bob, counted_cash=D("99.50"))
        assert (handed.number, handed.expected_cash, handed.difference) == (2, D(100), D("-0.5"))
        with pytest.raises(NotOnSession):
            service.record_movement(
                UnitOfWork(),
                store,
                "till-1",
                first.id,
                kind="sale",
                amount=D(1),
                note=None,
                attendant_id=profile,
            )
        carols = opened(carol)
        for profile_id in (bob, profile):  # its holder, and its opener until it is closed
            with pytest.raises(OnAnotherSession):
                taking(attendants.join, carols, profile_id)
        with pytest.raises(DrawerHeldByAnother):
            service.close_session(
                UnitOfWork(),
                store,
                "till-1",
                profile_id=profile,
                password=PASSWORD,
                closing_cash=D(100),
            )
        closed = service.close_session(
            UnitOfWork(), store, "till-1", profile_id=bob, password=PASSWORD, closing_cash=D(100)
        )
        assert closed.id == first.id and closed.closing.pos_profile_id == profile


# --- The pages and the CSV ----------------------------------------------------------------------


def test_the_x_z_page_and_the_day_report_split_the_figures_by_attendant(
    app, client, headers, manager, profile, bob, session_id, store
):
    join(client, headers, session_id, bob)
    move(client, headers, session_id, "sale", D("10.10"))
    move(client, headers, session_id, "sale", 5, attendantId=bob)
    move(client, headers, session_id, "no_sale", 0, reason="change", attendantId=bob)
    hand_over(client, headers, session_id, bob, D("114.10"))
    close_shift(client, headers, bob, cash=D("115.10"))
    sign_in(client)

    page = text(client.get(f"/backoffice/stores/{store}/sessions/{session_id}"))
    assert "By attendant Cashier Sales Refunds Pay-ins Pay-outs Drops No-sales" in page
    assert "alice 10.10 EUR 0.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR 0" in page
    assert "bob 5.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR 0.00 EUR 1" in page
    assert "bob joined (terminal terminal-1)" in page
    assert (
        "alice handed the drawer to bob, counted 114.10 EUR, expected 115.10 EUR: "
        "short by 1.00 EUR (terminal terminal-1)"
    ) in page

    with app.app_context():
        day = reports.today(db.session.get(Store, store)).isoformat()
    url = f"/backoffice/stores/{store}/days/{day}"
    day_page = text(client.get(url))
    assert "By attendant" in day_page
    assert "alice 10.10 0.00 0.00 0.00 0.00 0" in day_page  # the lead names the currency once
    lines = client.get(url + ".csv").get_data(as_text=True)
    header = lines.splitlines()[0].split(",")
    assert header[-7:] == [
        "attendants",
        "attendant_sales",
        "attendant_refunds",
        "attendant_pay_ins",
        "attendant_pay_outs",
        "attendant_drops",
        "attendant_no_sales",
    ]
    [row] = csv.DictReader(io.StringIO(lines))
    assert (row["cashier"], row["sales"]) == ("alice", "15.10")  # as before: the opener's row
    assert (row["attendants"], row["attendant_sales"], row["attendant_no_sales"]) == (
        "alice; bob",
        "10.10; 5.00",
        "0; 1",
    )
    by_api = report(client, headers, session_id)["summary"]["byAttendant"]  # to the cent
    assert "; ".join(f"{D(str(a['sales'])):.2f}" for a in by_api) == row["attendant_sales"]


def test_each_cashier_s_movements_in_each_tender_on_the_api_the_pages_the_csv_and_the_cli(
    app, client, headers, manager, profile, bob, session_id, store, runner
):
    """By attendant, each other tender besides the cash figures: alice sold 40.00 by card and
    refunded 2.50; bob only took vouchers and cards, so he is listed with no cash at all. Their
    shares add up to the session's own per tender."""
    for code, kind in (("card", "card"), ("lunch", "voucher")):
        tender = ["store", "tender", "add", store, kind, code.title(), "--code", code]
        added = runner.invoke(args=tender)
        assert added.exit_code == 0, added.output
    join(client, headers, session_id, bob)
    for kind, amount, extra in (
        ("sale", 10, {}),
        ("sale", 40, {"tender": "card"}),
        ("refund", D("2.50"), {"tender": "card"}),
        ("sale", 12, {"tender": "lunch", "attendantId": bob}),
        ("sale", D("7.25"), {"tender": "card", "attendantId": bob}),
    ):
        assert move(client, headers, session_id, kind, amount, **extra).status_code == 201

    summary = report(client, headers, session_id)["summary"]

    by = {a["name"]: (a["sales"], a["tenders"]) for a in summary["byAttendant"]}
    assert by == {
        "alice": (10, [{"tender": "card", "expected": D("37.5")}]),
        "bob": (
            0,
            [{"tender": "card", "expected": D("7.25")}, {"tender": "lunch", "expected": 12}],
        ),
    }
    expected = {line["tender"]: line["expected"] for line in summary["tenders"]}
    assert (expected["card"], expected["lunch"]) == (D("44.75"), 12)

    sign_in(client)
    page = text(client.get(f"/backoffice/stores/{store}/sessions/{session_id}"))
    assert "Pay-outs Drops No-sales Card Lunch alice 10.00 EUR" in page
    assert "EUR 0 37.50 EUR 0.00 EUR bob 0.00 EUR" in page
    assert "EUR 0 7.25 EUR 12.00 EUR" in page
    with app.app_context():
        day = reports.today(db.session.get(Store, store)).isoformat()
    url = f"/backoffice/stores/{store}/days/{day}"
    assert "No-sales Card Lunch alice 10.00 0.00 0.00 0.00 0.00 0 37.50 0.00 bob" in text(
        client.get(url)
    )
    lines = client.get(url + ".csv").get_data(as_text=True)
    [row] = csv.DictReader(io.StringIO(lines))
    assert lines.splitlines()[0].endswith(
        ",attendant_no_sales,attendant_card_expected,attendant_lunch_expected"
    )
    assert (row["attendants"], row["attendant_card_expected"]) == ("alice; bob", "37.50; 7.25")
    assert row["attendant_lunch_expected"] == "0.00; 12.00"
    printed = runner.invoke(args=["report", "day", "--store", store]).stdout.splitlines()
    [heading] = [line for line in printed if line.startswith("ATTENDANT")]
    assert heading.split()[-3:] == ["NO-SALES", "CARD", "LUNCH"]
    assert printed[printed.index(heading) + 2].split() == [
        "bob", "0.00", "0.00", "0.00", "0.00", "0.00", "0", "7.25", "12.00"
    ]  # fmt: skip


def test_the_z_names_the_cashier_who_held_the_drawer_at_the_close(
    client, headers, manager, bob, session_id, store
):
    assert report(client, headers, session_id)["closedByCashier"] is None  # open: nobody yet
    hand_over(client, headers, session_id, bob, 100)
    close_shift(client, headers, bob, cash=100)
    assert report(client, headers, session_id)["closedByCashier"] == bob
    sign_in(client)
    page = text(client.get(f"/backoffice/stores/{store}/sessions/{session_id}"))
    assert "by terminal-1, counted by bob" in page


# --- The journal, the tables' protection, the upgrade -------------------------------------------


def test_joins_leaves_and_handovers_are_journaled_and_append_only(
    app, client, headers, profile, bob, session_id, runner
):
    join(client, headers, session_id, bob)
    move(client, headers, session_id, "sale", 3, attendantId=bob)
    client.post(leave_url(session_id, bob), headers=headers)
    hand_over(client, headers, session_id, bob, 103)

    found = entries(client, headers)
    assert [e["kind"] for e in found[1:]] == [
        "attendant_joined",
        "cash_movement",
        "attendant_left",
        "drawer_handed_over",
    ]
    assert found[1]["data"] == {
        "attendanceId": found[1]["data"]["attendanceId"],
        "profileId": bob,
        "by": "terminal-1",
    }
    assert found[2]["data"]["attendantId"] == bob
    assert found[4]["data"]["expectedCash"] == "103.00" and "cashCount" not in found[4]["data"]
    result = verify(runner)
    assert result.exit_code == 0, result.output
    for statement in ("UPDATE pos_attendance SET counted_cash = 1", "DELETE FROM pos_attendance"):
        with closing(plain_sql(app)) as connection, pytest.raises(Exception, match="append-only"):
            connection.execute(statement)


@sqlite_only
def test_a_handover_s_count_changed_behind_the_box_s_back_is_found(
    app, client, headers, bob, session_id, runner
):
    hand_over(client, headers, session_id, bob, 90)
    with closing(plain_sql(app)) as connection:
        connection.execute("DROP TRIGGER pos_attendance_no_update")
        connection.execute("UPDATE pos_attendance SET counted_cash = 10000")
        connection.commit()

    result = verify(runner)
    assert result.exit_code == 1
    assert "data.countedCash is '90.00' in the entry, '100.00' in the row" in result.output


SALE_0013 = (
    "INSERT INTO cash_movement (id, pos_session_id, store_id, type, amount, note, created_by, "
    "created_at) VALUES ('m2{0}', 's2{0}', 'st{0}', 'sale', 700, NULL, 't', '2025-01-01 10:00:05')"
)


def test_the_upgrade_keeps_a_box_with_history_verifiable(app, runner):
    ids = "0" * 22
    with app.app_context():
        box_at_0003_with_history(ids)
        upgrade(revision="0013")
        with db.engine.begin() as connection:
            connection.execute(sa.text(SALE_0013.format(ids)))
        sale = dict(
            id=f"m2{ids}",
            pos_session_id=f"s2{ids}",
            store_id=f"st{ids}",
            type="sale",
            amount=D(7),
            note=None,
            created_by="t",
            created_at=datetime(2025, 1, 1, 10, 0, 5),
            tender="cash",
        )
        with db.session.begin():  # its entry, as 0013's service wrote it: no attendant
            journal.record(db.session, journal.MOVEMENT, SimpleNamespace(**sale))
        upgrade()
        with db.engine.connect() as connection:
            kept = connection.execute(sa.text("SELECT attendant_id FROM cash_movement"))
            assert {row[0] for row in kept} == {None}
    result = verify(runner)
    assert result.exit_code == 0, result.output
