"""The board, the sessions pages (with the force-close form) and the terminals page."""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest

import app.backoffice.sessions as sessions_module
from app import reports
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import ApiToken, PosSession, Store
from app.people import managers
from app.stores import update_store
from tests.helpers import (
    HISTORY,
    PASSWORD,
    hidden_fields,
    move,
    open_shift,
    report,
    sign_in,
    submit,
    text,
)

# A time as every list and report writes it: the day, then the time ("3 Dec 2026 08:02").
WHEN = r"\d\d? [A-Z][a-z]{2} \d{4} \d\d:\d\d"


@pytest.fixture
def manager(app, store):
    with app.app_context():
        update_store(UnitOfWork(), store, name="Main Street", timezone="Europe/Paris")
        return managers.create(UnitOfWork(), "Olga", "manager-pw", store_ids=[store])


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
    assert re.search(
        r"alice Open since \d\d:\d\d, 0 min terminal-1 100.00 EUR no float left 1,334.50 EUR",
        words,
    )
    assert "bea Closed" in words and "Times are in Europe/Paris" in words
    # A cashier without a drawer says so once, in words, not with a dash per column.
    bea_row = re.search(r"<tr[^>]*>\s*<td data-label=\"Name\">bea</td>.*?</tr>", page.text, re.S)
    assert "Closed: no drawer open" in bea_row.group(0) and ">-<" not in bea_row.group(0)
    html = page.get_data(as_text=True)
    assert 'src="/backoffice/static/board.js"' in html and "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert 'data-refresh="/backoffice/stores/' in html

    # The fragment the script swaps in follows the terminal at once.
    move(signed_in, headers, opened["id"], "refund", D("34.50"))
    table = signed_in.get(f"/backoffice/stores/{store}/board-table")
    assert table.status_code == 200 and "<html" not in table.get_data(as_text=True)
    assert "1,300.00 EUR" in text(table)


def test_board_names_the_cashiers_on_a_drawer_another_opened(
    signed_in, headers, store, profile, make_profile
):
    """An attendant and a handover's taker work on the opener's drawer: the board says so on
    both rows, and counts them working, rather than "Closed: no drawer open"."""
    bea, cyd = make_profile(store, "bea"), make_profile(store, "cyd")
    opened = open_shift(signed_in, headers, profile, cash=100)
    on_drawer = f"/pos-session/sessions/{opened['id']}"
    body = {"profileId": bea, "password": PASSWORD}
    assert signed_in.post(f"{on_drawer}/attendants", json=body, headers=headers).status_code == 201
    words = text(signed_in.get(board_url(store)))
    assert "2 of 3 cashiers working now" in words
    assert "bea On alice's drawer" in words and "cyd Closed: no drawer open" in words
    assert "Drawer held by" not in words

    body = {"profileId": cyd, "password": PASSWORD, "countedCash": 100}
    assert signed_in.post(f"{on_drawer}/handover", json=body, headers=headers).status_code == 201
    words = text(signed_in.get(f"/backoffice/stores/{store}/board-table"))
    assert "3 of 3 cashiers working now" in words
    assert re.search(r"alice Open since .* Drawer held by cyd terminal-1 100.00 EUR", words)
    assert "bea On alice's drawer" in words and "cyd Holds alice's drawer" in words


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


CHECK = "/force-close/check#force-title"  # the form comes back scrolled to itself


def check(client, store, session_id, **fields):
    """The force-close form sent: the figures to confirm, or the form with its messages."""
    url = session_url(store, session_id)
    return submit(client, url, url + CHECK, **fields)


def force(client, store, session_id, **fields):
    """The force-close form sent, then its figures confirmed."""
    checked = check(client, store, session_id, **fields)
    if checked.status_code != 200:
        return checked
    action = session_url(store, session_id) + "/force-close"
    return client.post(action, data=hidden_fields(checked.get_data(as_text=True), action))


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
    assert "Session closed by force: over by 2.00 EUR. Z-report 1 is below" in z
    assert "Z-report · alice" in z and "+2.00 EUR over by 2.00 EUR" in z
    assert "Counted cash 122.00 EUR" in z and "Yes, by Olga: went home ill" in z
    assert "Close this session" not in z and "Signature" in z
    # The long id and hash, folded on screen: one tap away, never across a phone's width.
    html = signed_in.get(url).get_data(as_text=True)
    hash_ = signed_in.get(HISTORY, headers=headers).get_json()["data"][0]["closing"]["hash"]
    folded = re.search(r'<details class="fine no-print">(.*?)</details>', html, re.S).group(1)
    assert f"Session {opened['id']}" in folded and f"Journal hash {hash_}" in folded
    assert opened["id"] not in re.search(r'<p class="lead">(.*?)</p>', html).group(1)


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


@pytest.mark.parametrize("counted", ["", "   ", "abc", "12 EUR", "1,50", ".5"])
def test_force_close_says_in_its_own_words_that_counted_cash_is_missing_or_not_a_number(
    signed_in, headers, store, profile, counted
):
    opened = open_shift(signed_in, headers, profile)
    url = session_url(store, opened["id"])
    # The page's message, not the browser's: the form does not stop at the browser's check.
    form = re.search(
        r"<form[^>]*force-close/check[^>]*>", signed_in.get(url).get_data(as_text=True)
    )
    assert "novalidate" in form.group(0)

    page = check(signed_in, store, opened["id"], counted=counted, reason="went home")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'aria-invalid="true" aria-describedby="counted-hint counted-error"' in html
    assert re.search(r'id="counted-error">Enter an amount such as 152.30', html)
    assert f'name="counted" type="text" value="{counted}"' in html
    assert 'value="went home"' in html  # what was typed stays
    assert report(signed_in, headers, opened["id"])["closing"] is None


def test_force_close_asks_to_confirm_the_figures_in_words_first(signed_in, headers, store, profile):
    opened = open_shift(signed_in, headers, profile, cash=100)
    move(signed_in, headers, opened["id"], "sale", 20)

    checked = check(signed_in, store, opened["id"], counted="119.95", reason="went home ill")
    words = text(checked)
    assert checked.status_code == 200
    assert "Check before you close. Closing now writes alice's Z-report" in words
    assert "it cannot be undone. alice can open a new session right after" in words
    assert "Expected cash 120.00 EUR Cash counted 119.95 EUR" in words
    assert "Difference -0.05 EUR: short by 0.05 EUR Reason went home ill" in words
    assert report(signed_in, headers, opened["id"])["closing"] is None  # nothing closed yet

    # "Change what I typed" comes back to the form, filled in.
    url = session_url(store, opened["id"])
    html = checked.get_data(as_text=True)
    change = hidden_fields(html, url + CHECK)
    again = signed_in.post(url + CHECK, data={**change, "change": "1"})
    assert 'value="119.95"' in again.get_data(as_text=True) and "Check before" not in text(again)

    # Cash moved since the check: the close does not go through on the old figures.
    confirm = hidden_fields(html, url + "/force-close")
    move(signed_in, headers, opened["id"], "sale", 1)
    moved = signed_in.post(url + "/force-close", data=confirm)
    assert "The expected cash changed since you checked" in text(moved)
    assert "Expected cash 121.00 EUR" in text(moved)
    assert report(signed_in, headers, opened["id"])["closing"] is None

    confirm = hidden_fields(moved.get_data(as_text=True), url + "/force-close")
    done = signed_in.post(url + "/force-close", data=confirm, follow_redirects=True)
    assert "Session closed by force: short by 1.05 EUR" in text(done)


def test_a_double_submitted_force_close_acts_once(signed_in, headers, store, profile):
    opened = open_shift(signed_in, headers, profile)
    url = session_url(store, opened["id"])
    checked = check(signed_in, store, opened["id"], counted="150", reason="forgot")
    sent = hidden_fields(checked.get_data(as_text=True), url + "/force-close")
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
    assert bad.status_code == 400 and "Enter a day as in 3 Dec 2026." in text(bad)
    backwards = signed_in.get(url, query_string={"from": "5 Jan 2001", "to": "2 Jan 2001"})
    assert backwards.status_code == 400
    assert "The last day comes before the first." in text(backwards)

    monkeypatch.setattr(sessions_module, "PAGE", 1)
    page_one = signed_in.get(url).get_data(as_text=True)
    older = re.search(r'href="([^"]+cursor=[^"]+)"', page_one).group(1).replace("&amp;", "&")
    page_two = text(signed_in.get(older)).split("Difference")[-1]
    assert "alice" in page_two and "bea" not in page_two and "Newest" in page_two
    assert signed_in.get(url, query_string={"cursor": "junk"}).status_code == 400


def test_sessions_list_gives_every_time_its_day_and_reads_days_as_the_pages_write_them(
    app, signed_in, headers, store, profile
):
    from app.backoffice.filters import day_text

    opened = open_shift(signed_in, headers, profile)
    force(signed_in, store, opened["id"], counted="15000", reason="forgot")
    url = f"/backoffice/stores/{store}/sessions"
    with app.app_context():
        day = reports.today(db.session.get(Store, store))

    page = signed_in.get(url)
    assert re.search(rf"alice {WHEN} {WHEN} Forced", text(page)), text(page)
    html = page.get_data(as_text=True)
    assert 'id="from" name="from" type="text"' in html and "As in 3 Dec 2026" in text(page)
    for typed in (day_text(day), day_text(day).upper(), day.isoformat()):
        found = signed_in.get(url, query_string={"from": typed, "to": typed})
        assert found.status_code == 200 and "alice" in text(found).split("Difference")[-1]
        assert f'value="{typed}"' in found.get_data(as_text=True)  # as typed
    ambiguous = signed_in.get(url, query_string={"from": day.strftime("%d/%m/%Y")})
    assert ambiguous.status_code == 400 and "Enter a day as in 3 Dec 2026." in text(ambiguous)


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
    signed_in_store = store_of_olga(app)
    url = session_url(signed_in_store, opened["id"])
    assert signed_in.get(url).status_code == 404
    assert signed_in.post(url + "/force-close", data={"once": "y" * 20}).status_code == 400
    assert report(signed_in, their_headers, opened["id"])["closing"] is None
    html = signed_in.get(f"/backoffice/stores/{signed_in_store}/terminals").get_data(as_text=True)
    assert jti not in html


def store_of_olga(app):
    with app.app_context():
        return managers.get("Olga").stores[0].id


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
    assert re.search(rf"Till 2 {WHEN} {WHEN} Active", listed)  # created, expires: one style

    page = signed_in.get(url).get_data(as_text=True)
    revoke = re.search(r'action="([^"]+/revoke)"', page).group(1)
    done = signed_in.post(revoke, data=hidden_fields(page, revoke), follow_redirects=True)
    assert "Till 2 is revoked: that terminal is refused from its next request" in text(done)
    assert "Revoked" in text(done)
    assert signed_in.get("/pos-session/profiles", headers=bearer).status_code == 401


def test_head_office_s_token_is_marked_as_such_among_the_terminals(signed_in, store, runner):
    follower = ["token", "issue", "--store", store, "--name", "headoffice", "--follower"]
    assert runner.invoke(args=follower).exit_code == 0
    listed = text(signed_in.get(f"/backoffice/stores/{store}/terminals"))
    # A manager tidying the list sees what it is before revoking it.
    assert "headoffice Head office: reads the journal only" in listed


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
