"""The board, the sessions pages (with the force-close form) and the terminals page."""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest

import app.backoffice.sessions as sessions_module
from app import management
from app.database import UnitOfWork
from app.extensions import db
from app.models import ApiToken, PosSession
from tests.helpers import HISTORY, hidden_fields, move, open_shift, report, sign_in, submit, text


@pytest.fixture
def manager(app, store):
    with app.app_context():
        management.update_store(UnitOfWork(), store, name="Main Street", timezone="Europe/Paris")
        return management.create_manager(UnitOfWork(), "Olga", "manager-pw", [store])


@pytest.fixture
def signed_in(client, manager):
    sign_in(client)
    return client


def board_url(store):
    return f"/backoffice/stores/{store}/"


def session_url(store, session_id):
    return f"/backoffice/stores/{store}/sessions/{session_id}"


# Board


def test_board_empty_state_says_what_to_do(signed_in, store):
    page = text(signed_in.get(board_url(store)))
    assert "No cashier yet. Add the first one on the Cashiers page" in page


def test_board_shows_who_works_with_terminal_float_and_expected_cash(
    app, signed_in, headers, store, profile, make_profile
):
    make_profile(store, "bea")
    opened = open_shift(signed_in, headers, profile, cash=100)
    move(signed_in, headers, opened["id"], "sale", D("1234.5"))

    page = signed_in.get(board_url(store))
    words = text(page)
    assert page.status_code == 200
    assert "1 of 2 cashiers working now" in words
    assert re.search(r"alice Open since \d\d:\d\d, 0 min terminal-1 100.00 EUR 1,334.50 EUR", words)
    assert "bea Closed" in words and "Times are in Europe/Paris" in words
    html = page.get_data(as_text=True)
    assert 'src="/backoffice/static/board.js"' in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'data-refresh="/backoffice/stores/' in html

    # The fragment the script swaps in follows the terminal at once.
    move(signed_in, headers, opened["id"], "refund", D("34.50"))
    table = signed_in.get(f"/backoffice/stores/{store}/board-table")
    assert table.status_code == 200 and "<html" not in table.get_data(as_text=True)
    assert "1,300.00 EUR" in text(table)


def test_board_flags_stale_sessions_and_lists_forced_closes_of_today(
    app, signed_in, headers, store, profile
):
    opened = open_shift(signed_in, headers, profile)
    with app.app_context():
        row = db.session.get(PosSession, opened["id"])
        row.created_at -= timedelta(hours=17)
        db.session.commit()
    assert "Stale: open over 16 h" in text(signed_in.get(board_url(store)))

    force(signed_in, store, opened["id"], counted="14999.95", reason="forgot")
    words = text(signed_in.get(board_url(store)))
    assert "Closed by force today" in words
    assert "alice's session was closed by Olga at" in words and "short by 0.05 EUR" in words
    assert "Stale" not in words


def test_board_without_a_sign_in_sends_to_the_sign_in(client, manager, store):
    for url in (board_url(store), f"/backoffice/stores/{store}/board-table"):
        assert client.get(url).location.startswith("/backoffice/login")


# Sessions


def force(client, store, session_id, **fields):
    url = session_url(store, session_id)
    return submit(client, url, url + "/force-close", **fields)


def test_session_page_is_the_x_report_then_the_z_report(signed_in, headers, store, profile):
    opened = open_shift(signed_in, headers, profile, cash=100)
    move(signed_in, headers, opened["id"], "sale", 20)
    url = session_url(store, opened["id"])

    x = text(signed_in.get(url))
    assert "X-report · alice" in x and "Expected cash in the drawer now 120.00 EUR" in x
    assert "Close this session for alice" in x

    done = force(signed_in, store, opened["id"], counted="122", reason="went home ill")
    assert done.status_code == 302 and done.location == url
    z = text(signed_in.get(url))
    assert "Session closed by force: over by 2.00 EUR" in z
    assert "Z-report · alice" in z and "+2.00 EUR over by 2.00 EUR" in z
    assert "Counted cash 122.00 EUR" in z and "Yes, by Olga: went home ill" in z
    assert "Close this session" not in z and "Signature" in z


def test_force_close_errors_sit_next_to_the_field_and_keep_what_was_typed(
    signed_in, headers, store, profile
):
    opened = open_shift(signed_in, headers, profile)
    page = force(signed_in, store, opened["id"], counted="12,3.4.5", reason="")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert re.search(r'id="counted-error">Enter an amount such as 152.30', html)
    assert 'id="reason-error"' in html and 'value="12,3.4.5"' in html
    assert report(signed_in, headers, opened["id"])["closing"] is None


def test_a_double_submitted_force_close_acts_once(signed_in, headers, store, profile):
    opened = open_shift(signed_in, headers, profile)
    url = session_url(store, opened["id"])
    fields = hidden_fields(signed_in.get(url).get_data(as_text=True), url + "/force-close")
    sent = {**fields, "counted": "150", "reason": "forgot"}
    assert signed_in.post(url + "/force-close", data=sent).location == url
    again = signed_in.post(url + "/force-close", data=sent, follow_redirects=True)
    assert "already sent, so nothing was done a second time" in text(again)
    # A second form from the page still open elsewhere finds the session closed.
    stale = signed_in.post(url + "/force-close", data={**sent, "once": "x" * 20})
    assert "already closed" in text(signed_in.get(stale.location))


def test_sessions_list_filters_and_pages(
    monkeypatch, signed_in, headers, store, profile, make_profile
):
    bea = make_profile(store, "bea")
    first = open_shift(signed_in, headers, profile)
    force(signed_in, store, first["id"], counted="150", reason="forgot")
    open_shift(signed_in, headers, bea)
    url = f"/backoffice/stores/{store}/sessions"

    everything = text(signed_in.get(url))
    assert "alice" in everything and "bea" in everything and "Forced" in everything
    open_only = text(signed_in.get(url, query_string={"status": "open"}))
    assert "bea" in open_only and "Forced" not in open_only
    by_alice = text(signed_in.get(url, query_string={"cashier": profile}))
    assert "Forced" in by_alice and "Open" not in by_alice.split("Difference")[-1]
    none = signed_in.get(url, query_string={"from": "2001-01-01", "to": "2001-01-02"})
    assert "No session matches these filters" in text(none)
    bad = signed_in.get(url, query_string={"from": "yesterday", "to": "2001-01-02"})
    assert bad.status_code == 400 and "Enter a date such as" in text(bad)
    backwards = signed_in.get(url, query_string={"from": "2001-01-05", "to": "2001-01-02"})
    assert backwards.status_code == 400 and "Must not be before from." in text(backwards)

    monkeypatch.setattr(sessions_module, "PAGE", 1)
    page_one = signed_in.get(url).get_data(as_text=True)
    older = re.search(r'href="([^"]+cursor=[^"]+)"', page_one).group(1).replace("&amp;", "&")
    page_two = text(signed_in.get(older)).split("Difference")[-1]
    assert "alice" in page_two and "bea" not in page_two and "Newest" in page_two
    assert signed_in.get(url, query_string={"cursor": "junk"}).status_code == 400


def test_history_on_the_page_and_the_api_agree(signed_in, headers, store, profile):
    opened = open_shift(signed_in, headers, profile)
    force(signed_in, store, opened["id"], counted="100.05", reason="forgot")
    api = signed_in.get(HISTORY, headers=headers).get_json()["data"][0]["closing"]
    assert f"{api['difference']:+,.2f} EUR" in text(signed_in.get(session_url(store, opened["id"])))


def test_a_manager_of_store_a_sees_and_touches_nothing_of_store_b(
    app, signed_in, make_store, make_profile, make_token
):
    other = make_store("Harbour")
    theirs = make_profile(other, "zed")
    their_headers = {"Authorization": f"Bearer {make_token(other)}", "x-store-id": other}
    opened = open_shift(signed_in, their_headers, theirs)
    with app.app_context():
        jti = db.session.query(ApiToken).one().jti
    for url in (
        board_url(other),
        f"/backoffice/stores/{other}/board-table",
        f"/backoffice/stores/{other}/sessions",
        session_url(other, opened["id"]),
        f"/backoffice/stores/{other}/terminals",
    ):
        assert signed_in.get(url).status_code == 404, url
    # Their session under our store's URL is not found either; forms posted there change nothing.
    signed_in_store = management_store(app)
    url = session_url(signed_in_store, opened["id"])
    assert signed_in.get(url).status_code == 404
    assert signed_in.post(url + "/force-close", data={"once": "y" * 20}).status_code == 400
    assert report(signed_in, their_headers, opened["id"])["closing"] is None
    html = signed_in.get(f"/backoffice/stores/{signed_in_store}/terminals").get_data(as_text=True)
    assert jti not in html


def management_store(app):
    with app.app_context():
        return management.get_manager_by_name("Olga").stores[0].id


# Terminals


def test_terminals_issue_shows_the_token_once_and_revoke_refuses_it(signed_in, store, profile):
    url = f"/backoffice/stores/{store}/terminals"
    assert "No terminal yet" in text(signed_in.get(url))

    issued = submit(signed_in, url, url, name="Till 2", days="30")
    html = issued.get_data(as_text=True)
    assert issued.status_code == 200 and "it is shown only this once" in text(issued)
    token = re.search(r'id="issued-token" class="token" type="text" readonly value="([^"]+)"', html)
    assert token and 'src="/backoffice/static/terminals.js"' in html
    bearer = {"Authorization": f"Bearer {token.group(1)}", "x-store-id": store}
    assert signed_in.get("/pos-session/profiles", headers=bearer).status_code == 200
    listed = text(signed_in.get(url))
    assert "Till 2" in listed and "Active" in listed and token.group(1) not in listed

    page = signed_in.get(url).get_data(as_text=True)
    revoke = re.search(r'action="([^"]+/revoke)"', page).group(1)
    done = signed_in.post(revoke, data=hidden_fields(page, revoke), follow_redirects=True)
    assert "Till 2 is revoked: that terminal is refused from its next request" in text(done)
    assert "Revoked" in text(done)
    assert signed_in.get("/pos-session/profiles", headers=bearer).status_code == 401


def test_terminal_form_errors_sit_next_to_the_field(signed_in, store):
    url = f"/backoffice/stores/{store}/terminals"
    refused = submit(signed_in, url, url, name=" ", days="0")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="name-error"' in html and "Enter a number of days from 1 to 3650." in html
    assert "No terminal yet" in text(refused)
    missing = signed_in.post(
        f"{url}/nosuchjti/revoke",
        data=hidden_fields(signed_in.get(url).get_data(as_text=True), url),
    )
    assert missing.status_code == 404
