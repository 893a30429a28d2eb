"""The float on the back office: the force-close form leaves one, the board and the X/Z page
show the discrepancy at start, the day report and its CSV both figures (the API's, to the
cent)."""

import csv
import io
import re
from decimal import Decimal as D

import pytest

from app import reports
from app.machinery.extensions import db
from app.models import Store
from tests.helpers import (
    close_shift,
    hidden_fields,
    move,
    open_shift,
    report,
    sign_in,
    submit,
    text,
)

pytestmark = pytest.mark.usefixtures("manager")


def session_url(store, session_id):
    return f"/backoffice/stores/{store}/sessions/{session_id}"


def check(client, store, session_id, **fields):
    url = session_url(store, session_id)
    return submit(client, url, url + "/force-close/check#force-title", **fields)


def test_the_force_close_form_leaves_a_float_and_the_z_shows_it(client, headers, profile, store):
    opened = open_shift(client, headers, profile, cash=100)
    move(client, headers, opened["id"], "sale", 20)
    sign_in(client)

    checked = check(client, store, opened["id"], counted="120", reason="ill", float_left="100")
    words = text(checked)
    assert checked.status_code == 200
    assert "Float left in the drawer 100.00 EUR To the safe 20.00 EUR Reason ill" in words
    assert report(client, headers, opened["id"])["closing"] is None  # nothing closed yet
    action = session_url(store, opened["id"]) + "/force-close"
    done = client.post(action, data=hidden_fields(checked.get_data(as_text=True), action))

    assert done.status_code == 302
    z = text(client.get(session_url(store, opened["id"])))
    assert "Float left in the drawer 100.00 EUR To the safe 20.00 EUR" in z
    closing = report(client, headers, opened["id"])["closing"]
    assert (closing["floatLeft"], closing["toSafe"]) == (100, 20)


def test_the_force_close_form_without_a_float_is_as_before(client, headers, profile, store):
    opened = open_shift(client, headers, profile, cash=100)
    sign_in(client)
    checked = check(client, store, opened["id"], counted="100", reason="ill", float_left=" ")
    assert checked.status_code == 200 and "Float left in the drawer" not in text(checked)
    action = session_url(store, opened["id"]) + "/force-close"
    client.post(action, data=hidden_fields(checked.get_data(as_text=True), action))

    closing = report(client, headers, opened["id"])["closing"]
    assert closing["forced"] and (closing["floatLeft"], closing["toSafe"]) == (None, None)


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("120.01", "Must be at most the cash counted (120.00)"),
        ("-5", "Must be between 0"),
        ("lots", "Enter an amount such as 152.30."),
    ],
)
def test_a_float_beyond_the_count_is_refused_next_to_its_field(
    client, headers, profile, store, typed, said
):
    opened = open_shift(client, headers, profile, cash=100)
    sign_in(client)

    page = check(client, store, opened["id"], counted="120", reason="ill", float_left=typed)

    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert re.search(rf'id="float_left-error">{re.escape(said)}', html)
    assert f'name="float_left" type="text" value="{typed}"' in html  # what was typed stays
    assert report(client, headers, opened["id"])["closing"] is None


def test_the_board_and_the_x_report_show_the_discrepancy_at_start(client, headers, profile, store):
    open_shift(client, headers, profile, cash=100)
    close_shift(client, headers, profile, cash=300, floatLeft=D("100.50"))
    opened = open_shift(client, headers, profile, cash=100)
    sign_in(client)

    board = text(client.get(f"/backoffice/stores/{store}/"))
    assert "100.00 EUR -0.50 EUR: short by 0.50 EUR" in board
    x = text(client.get(session_url(store, opened["id"])))
    assert "Discrepancy at start (opening − float left) -0.50 EUR: short by 0.50 EUR" in x


def test_the_day_report_and_its_csv_show_the_floats_as_the_api(
    app, client, headers, profile, store, runner
):
    assert runner.invoke(args=["store", "tender", "add", store, "card", "Card"]).exit_code == 0
    first = open_shift(client, headers, profile, cash=100)["id"]
    move(client, headers, first, "sale", D("5.25"), tender="card")
    close_shift(client, headers, profile, cash=D("352.35"), floatLeft=D("100.10"))
    second = open_shift(client, headers, profile, cash=D("101.30"))["id"]
    close_shift(client, headers, profile, cash=D("101.30"), floatLeft=D("101.30"))
    third = open_shift(client, headers, profile, cash=D("101.29"))["id"]  # short: "-0.01"
    sign_in(client)
    with app.app_context():
        day = reports.today(db.session.get(Store, store)).isoformat()
    url = f"/backoffice/stores/{store}/days/{day}"

    page = text(client.get(url))
    table = client.get(url + ".csv").get_data(as_text=True)

    first_row, second_row, third_row = page.split("Sessions Cashier", 1)[1].split(" alice ")[1:]
    # The first: nothing to compare with, a float left; the second: all it counted left.
    assert "At start" not in first_row and "Float left 100.10, to the safe 252.25" in first_row
    assert "At start: over by 1.20 against the float left Float left 101.30, to the safe 0.00" in (
        second_row
    )
    assert "At start: short by 0.01 against the float left" in third_row
    header = table.splitlines()[0].split(",")
    # After the fixed columns it had, before the tenders' (as many as the sessions have).
    at = header.index("no_sales")
    assert header[at + 1 : at + 4] == ["float_left", "to_safe", "discrepancy_at_start"]
    assert header[at + 4 : at + 7] == ["card_expected", "card_counted", "card_difference"]
    rows = {row["session_id"]: row for row in csv.DictReader(io.StringIO(table))}
    assert [rows[s]["discrepancy_at_start"] for s in (first, second, third)] == [
        "",
        "1.20",
        "-0.01",
    ]
    for session_id, row in rows.items():  # the API's figures, to the cent
        shown = report(client, headers, session_id)
        closing = shown["closing"] or {}
        for column, value in (
            ("float_left", closing.get("floatLeft")),
            ("to_safe", closing.get("toSafe")),
            ("discrepancy_at_start", shown["discrepancyAtStart"]),
        ):
            assert row[column] == ("" if value is None else f"{D(str(value)):.2f}"), column
            # Figures of the box only, never text: nothing a spreadsheet would run.
            assert re.fullmatch(r"(-?\d+\.\d\d)?", row[column])
