"""The journal page (the last verification, one on demand) and approvals from the board."""

import getpass
import re
from decimal import Decimal

import pytest

from app import journal
from app.machinery.extensions import db
from app.models import Store
from tests.helpers import close_shift, open_shift, report, sqlite_only
from tests.journaling import a_day, instance  # noqa: F401  (a fixture)
from tests.test_backoffice_board_sessions import WHEN, manager, signed_in  # noqa: F401
from tests.test_backoffice_days import day_url, read_csv, today
from tests.test_backoffice_pages import hidden_fields, submit, text
from tests.test_journal import tamper  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("instance")


def journal_url(store):
    return f"/backoffice/stores/{store}/journal"


def verify_now(client, store):
    return submit(client, journal_url(store), f"{journal_url(store)}/verify")


def test_the_journal_page_verifies_on_demand_and_shows_the_last_result(
    signed_in,  # noqa: F811
    headers,
    profile,
    store,
):
    a_day(signed_in, headers, profile)
    page = signed_in.get(journal_url(store))
    assert page.status_code == 200 and "Not verified yet" in text(page)
    assert f'href="{journal_url(store)}" aria-current="page">Journal' in page.get_data(as_text=True)
    form = hidden_fields(page.get_data(as_text=True), f"{journal_url(store)}/verify")

    done = signed_in.post(f"{journal_url(store)}/verify", data=form, follow_redirects=True)

    words = text(done)
    assert "The journal holds: 5 entries checked" in words
    assert re.search(rf"Holds {WHEN}, by Olga: 5 entries, nothing changed", words), words
    again = signed_in.post(f"{journal_url(store)}/verify", data=form, follow_redirects=True)
    assert "already sent" in text(again)
    assert (
        signed_in.post(f"{journal_url(store)}/verify", data={"once": "x" * 20}).status_code == 400
    )


def test_a_verification_from_the_command_line_shows_on_the_page(
    signed_in,  # noqa: F811
    headers,
    profile,
    store,
    runner,
):
    a_day(signed_in, headers, profile)
    result = runner.invoke(args=["journal", "verify"])
    assert result.exit_code == 0, result.output

    page = signed_in.get(journal_url(store))
    words = text(page)

    by = f"the command line ({getpass.getuser()})"
    assert re.search(rf"Holds {WHEN}, by {re.escape(by)}: 5 entries, nothing changed", words)
    # The command with the store's long id, folded: it would run across a phone's width.
    folded = re.search(r"<details[^>]*>(.*?)</details>", page.get_data(as_text=True), re.S)
    assert f"journal verify --store {store}" in folded.group(1)


def test_a_signed_head_started_anew_shows_on_the_page(
    app,
    signed_in,  # noqa: F811
    headers,
    profile,
    store,
    runner,
):
    a_day(signed_in, headers, profile)
    assert "started anew" not in text(signed_in.get(journal_url(store)))
    assert runner.invoke(args=["journal", "sign-head"]).exit_code == 0

    words = text(signed_in.get(journal_url(store)))

    [started] = journal.head_log(journal.folder(app))
    by = re.escape(f"the command line ({getpass.getuser()})")
    assert re.search(
        rf"The signed head was started anew {WHEN} by {by}: journal sign-head\. The previous "
        rf"one, which held this store at seq 5, is kept as {re.escape(started['archived'])}\.",
        words,
    ), words


@sqlite_only
def test_a_tampered_journal_shows_its_first_bad_entry(
    signed_in,  # noqa: F811
    headers,
    profile,
    store,
    tamper,  # noqa: F811
):
    a_day(signed_in, headers, profile)
    tamper("UPDATE cash_movement SET amount = 1300 WHERE amount = 1250")
    assert verify_now(signed_in, store).status_code == 302
    words = text(signed_in.get(journal_url(store)))
    assert "Does not hold" in words and "first bad entry 2" in words
    assert "data.amount is '12.50' in the entry, '13.00' in the row" in words


@pytest.fixture
def pending(app, signed_in, headers, profile, store):  # noqa: F811
    """A close 50.00 short in a store whose limit is 5.00: waiting for approval."""
    with app.app_context():
        db.session.get(Store, store).max_unapproved_difference = Decimal(5)
        db.session.commit()
    open_shift(signed_in, headers, profile, cash=100)
    return close_shift(signed_in, headers, profile, cash=50)


def test_pending_approvals_are_on_the_board_and_approved_there(
    signed_in,  # noqa: F811
    pending,
    store,
    runner,
):
    board = f"/backoffice/stores/{store}/"
    session_page = f"/backoffice/stores/{store}/sessions/{pending['id']}"
    closing = pending["closing"]
    words = text(signed_in.get(board))
    assert re.search(rf"Z 1: alice closed at {WHEN}, short by 50.00 EUR, over", words), words
    z_report = text(signed_in.get(session_page))
    assert "Approval Pending: the difference is over the store's limit" in z_report
    assert f"Z 1 · journal hash {closing['hash']}" in z_report

    action = f"/backoffice/stores/{store}/approvals/{closing['id']}"
    done = submit(signed_in, board, action, note="Till recounted, é ok")

    assert done.status_code == 302
    words = text(signed_in.get(board))
    assert "Approved. The approval is in the journal" in words
    assert "Waiting for your approval" not in words
    assert re.search(
        rf"Approval Approved by Olga, {WHEN}: Till recounted, é ok",
        text(signed_in.get(session_page)),
    )
    assert runner.invoke(args=["journal", "verify"]).exit_code == 0
    # Approved already: the form is gone, and a forged post finds nothing to approve.
    assert signed_in.post(action, data={"once": "z" * 20}).status_code == 400
    assert (
        signed_in.post(action, data={**_tokens(signed_in, store), "once": "q" * 20}).status_code
        == 404
    )


def _tokens(client, store) -> dict:
    html = client.get(f"/backoffice/stores/{store}/journal").get_data(as_text=True)
    return hidden_fields(html, f"/backoffice/stores/{store}/journal/verify")


def test_a_note_too_long_approves_nothing(signed_in, pending, store):  # noqa: F811
    board = f"/backoffice/stores/{store}/"
    action = f"/backoffice/stores/{store}/approvals/{pending['closing']['id']}"
    submit(signed_in, board, action, note="x" * 501)
    words = text(signed_in.get(board))
    assert "longer than 500 characters" in words and "Waiting for your approval" in words


def test_store_b_s_journal_and_approvals_are_out_of_reach(
    app,
    signed_in,  # noqa: F811
    store,
    make_store,
    make_profile,
    make_token,
):
    other = make_store("Harbour")
    theirs = make_profile(other, "zed")
    their_headers = {"Authorization": f"Bearer {make_token(other)}", "x-store-id": other}
    with app.app_context():
        db.session.get(Store, other).max_unapproved_difference = Decimal(5)
        db.session.commit()
    open_shift(signed_in, their_headers, theirs, cash=100)
    closed = close_shift(signed_in, their_headers, theirs, cash=50)
    closing = closed["closing"]
    tokens = _tokens(signed_in, store)

    assert signed_in.get(journal_url(other)).status_code == 404
    assert signed_in.post(f"{journal_url(other)}/verify", data=tokens).status_code == 404
    # Their closing under our store's URL: not found, and still pending.
    ours = f"/backoffice/stores/{store}/approvals/{closing['id']}"
    assert signed_in.post(ours, data=tokens).status_code == 404
    assert "zed" not in text(signed_in.get(f"/backoffice/stores/{store}/"))
    with app.app_context():
        assert journal.last_verifications(journal.folder()) == {}
    assert report(signed_in, their_headers, closed["id"])["closing"]["approval"] == "pending"


def test_the_day_report_and_its_csv_show_the_approval_with_who_and_when(
    app,
    signed_in,  # noqa: F811
    pending,
    store,
):
    day = day_url(store, today(app, store))
    page = signed_in.get(day).get_data(as_text=True)
    assert "Approval pending" in page
    [row] = read_csv(signed_in.get(day + ".csv"))
    assert (row["z_number"], row["approval"], row["approved_by"]) == ("1", "pending", "")

    board = f"/backoffice/stores/{store}/"
    action = f"/backoffice/stores/{store}/approvals/{pending['closing']['id']}"
    assert submit(signed_in, board, action, note="<script>x()</script>=SUM(A1)").status_code == 302

    page = signed_in.get(day).get_data(as_text=True)
    assert "Approval pending" not in page
    # The day report names its year in the title: its times leave it out ("3 Dec 08:02").
    when = r"\d\d? [A-Z][a-z]{2} \d\d:\d\d"
    assert re.search(rf"Approved by Olga, {when}: &lt;script&gt;x\(\)&lt;/script&gt;", page)
    assert "<script>x()" not in page
    [row] = read_csv(signed_in.get(day + ".csv"))
    assert (row["approval"], row["approved_by"]) == ("approved", "Olga")
    assert row["approved_at"].startswith(today(app, store) + "T")
    assert row["approval_note"] == "<script>x()</script>=SUM(A1)"
