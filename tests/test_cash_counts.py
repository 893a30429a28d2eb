"""Counting by note and coin (issue 19): opening and closing may send ``cashCount``, whose sum
must equal the amount sent (or gives it), each value one of the store's notes and coins; the
count is stored, journaled and shown on the X/Z report."""

import re
from contextlib import closing
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.backoffice.views import CONTENT_SECURITY_POLICY
from app.exceptions import InvalidInput, UnknownDenomination
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Manager, Store
from app.sessions import service
from app.stores import COMMON, parse_denominations, shown_denominations, update_store
from tests.helpers import (
    CLOSE,
    CREATE,
    PASSWORD,
    close_body,
    close_shift,
    hidden_fields,
    move,
    open_shift,
    report,
    sign_in,
    submit,
)
from tests.helpers import text as page_text
from tests.test_journal import box_at_0003_with_history, entries, plain_sql, verify

COUNT = [{"value": "50.00", "count": 3}, {"value": 0.5, "count": 4}, {"value": 20, "count": 0}]
STORED = [
    {"value": "50.00", "count": 3},
    {"value": "20.00", "count": 0},
    {"value": "0.50", "count": 4},
]
SHOWN = [{"value": 50, "count": 3}, {"value": 20, "count": 0}, {"value": 0.5, "count": 4}]


def opened(client, headers, profile, **body):
    body = {"profileId": profile, "password": PASSWORD, **body}
    return client.post(CREATE, json=body, headers=headers)


def test_a_count_alone_gives_the_amount_and_is_on_the_report(client, headers, profile, runner):
    answer = opened(client, headers, profile, cashCount=COUNT)
    assert answer.status_code == 200, answer.get_json()
    session = answer.get_json()["data"][0]
    assert session["openingCash"] == 152
    assert "cashCount" not in session  # the reference's session object keeps its shape

    closed = close_shift(client, headers, profile, cash=152, cashCount=COUNT)

    assert closed["cashCount"] == SHOWN
    assert closed["closing"]["cashCount"] == SHOWN
    z = report(client, headers, session["id"])
    assert z["cashCount"] == SHOWN and z["closing"]["cashCount"] == SHOWN
    assert z["summary"]["closingCash"] == 152
    opening, closing = (e for e in entries(client, headers) if e["kind"] != "cash_movement")
    assert opening["data"]["cashCount"] == STORED
    assert closing["data"]["cashCount"] == STORED
    after = verify(runner)
    assert after.exit_code == 0, after.output


def test_without_a_count_the_entries_are_as_before(client, headers, profile, runner):
    session = open_shift(client, headers, profile, cash=100)
    closed = close_shift(client, headers, profile, cash=100)

    assert closed["cashCount"] is None and closed["closing"]["cashCount"] is None
    assert report(client, headers, session["id"])["cashCount"] is None
    assert all("cashCount" not in e["data"] for e in entries(client, headers))
    assert verify(runner).exit_code == 0


def test_a_count_that_does_not_add_up_is_refused(client, headers, profile):
    answer = opened(client, headers, profile, openningCash=150, cashCount=COUNT)
    assert answer.status_code == 400
    assert answer.get_json()["message"] == (
        "cashCount adds up to 152.00, not the openningCash sent (150.00)."
    )
    open_shift(client, headers, profile, cash=152, cashCount=COUNT)
    closing = client.post(CLOSE, json=close_body(profile, 1, cashCount=COUNT), headers=headers)
    assert closing.status_code == 400
    assert "adds up to 152.00, not the closingCash sent (1.00)" in closing.get_json()["message"]


@pytest.mark.parametrize(
    "count",
    [
        [{"value": 50, "count": -1}],
        [{"value": 50, "count": 1.5}],
        [{"value": 50, "count": D("1.0")}],
        [{"value": 50, "count": "1"}],
        [{"value": 50, "count": True}],
        [{"value": 50}],
        [{"value": "50.001", "count": 1}],
        [{"value": "5e1", "count": 1}],
        [{"value": "fifty", "count": 1}],
        [{"value": 0, "count": 1}],
        [{"value": -50, "count": 1}],
        [{"value": 50, "count": 1, "extra": 1}],
        [{"value": 50, "count": 1}, {"value": "50.00", "count": 2}],
        {"50": 1},
    ],
)
def test_strict_input(client, headers, profile, count):
    answer = opened(client, headers, profile, openningCash=50, cashCount=count)
    body = answer.get_json()
    assert answer.status_code == 400, body
    assert body["statusCode"] == 400 and body["message"]


def test_an_empty_count_is_refused_and_the_drawer_stays_open(client, headers, profile):
    # [] sent alone would have closed the drawer as counted empty, 0.00: a terminal's bug
    # turned into the whole float short.
    refusal = {"cashCount": ["Name from 1 to 100 notes and coins."]}
    answer = opened(client, headers, profile, cashCount=[])
    assert (answer.status_code, answer.get_json()["errors"]) == (400, refusal)
    session_id = open_shift(client, headers, profile, cash=10)["id"]
    body = close_body(profile) | {"cashCount": []}
    del body["closingCash"]
    answer = client.post(CLOSE, json=body, headers=headers)
    assert (answer.status_code, answer.get_json()["errors"]) == (400, refusal)
    assert report(client, headers, session_id)["closing"] is None


def test_a_value_not_of_the_store_is_refused_before_the_profile(client, headers):
    answer = opened(client, headers, "nosuchprofile", cashCount=[{"value": 3, "count": 1}])
    assert answer.status_code == 400
    assert answer.get_json()["message"] == (
        "cashCount names a value that is not a note or coin of the store"
    )


def test_missing_amount_and_count_is_missing_data(client, headers, profile):
    assert opened(client, headers, profile).get_json()["message"] == "Missing data"
    body = close_body(profile)
    del body["closingCash"]
    assert client.post(CLOSE, json=body, headers=headers).get_json()["message"] == "Missing data"


def test_the_store_counts_with_its_own_list(client, headers, profile, runner, store):
    listed = runner.invoke(args=["store", "denominations", store, "0.5, 20,50"])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.split() == ["50.00", "20.00", "0.50"]
    refused = opened(client, headers, profile, cashCount=[{"value": 100, "count": 1}])
    assert refused.status_code == 400
    assert opened(client, headers, profile, cashCount=COUNT).status_code == 200

    default = runner.invoke(args=["store", "denominations", store, "default"])
    assert default.stdout.split()[:2] == ["500.00", "200.00"]


@pytest.mark.parametrize("typed", ["0.001", "50,x", "50,50.0", "0", "50,-5", "NaN"])
def test_a_list_the_currency_cannot_have_is_refused(runner, store, typed):
    result = runner.invoke(args=["store", "denominations", store, typed])
    assert result.exit_code == 1 and not result.stdout
    assert "denominations" in result.output


def test_the_rules_below_http(app, store, profile):
    assert parse_denominations("1,0.05,1e3", "CHF") == "1000,1,0.05"
    with pytest.raises(InvalidInput):
        parse_denominations("0.5", "JPY")  # the yen has no decimals
    with pytest.raises(InvalidInput):
        # The dinar has three, but the box keeps money in cents: no count could name it.
        parse_denominations("1,0.005", "KWD")
    with app.app_context(), pytest.raises(UnknownDenomination):
        service.open_session(
            UnitOfWork(),
            store,
            "t",
            profile_id=profile,
            password=PASSWORD,
            opening_cash=D("0.03"),
            cash_count=[{"value": D("0.03"), "count": 1}],
        )


def test_the_upgrade_keeps_a_box_with_history_verifiable(app, runner):
    """A box with history from before counts (0011) upgrades: no row has a count, and every
    entry keeps its bytes (verify recomputes each from its row)."""
    ids = "0" * 22
    with app.app_context():
        box_at_0003_with_history(ids)
        upgrade(revision="0011")
        upgrade()
        with db.engine.connect() as connection:
            sessions = connection.execute(sa.text("SELECT id, cash_count FROM pos_session"))
            assert sorted(sessions) == [(f"s1{ids}", None), (f"s2{ids}", None)]
            closings = connection.execute(sa.text("SELECT cash_count FROM pos_closing"))
            assert list(closings) == [(None,)]
            assert connection.scalar(sa.text("SELECT denominations FROM store")) is None
    after = verify(runner)
    assert after.exit_code == 0, after.output


@pytest.mark.parametrize(
    ("count", "change"),
    [(COUNT, "'[]'"), (COUNT, "NULL"), (None, """'[{"value": "0.50", "count": 1}]'""")],
)
def test_an_opening_count_is_fixed_once_written(app, client, headers, profile, count, change):
    """The database refuses a change to the opening's count (migration 0019), as to the
    opening cash: made, cleared or set afterwards. Closing the session stays allowed."""
    body = {"cashCount": count} if count else {}
    open_shift(client, headers, profile, cash=152 if count else 1, **body)
    refused = f"UPDATE pos_session SET cash_count = {change}"
    with closing(plain_sql(app)) as connection, pytest.raises(Exception, match="append-only"):
        connection.execute(refused)
    close_shift(client, headers, profile, cash=1)
    # 0019 taken back, the same UPDATE goes through: its trigger is what refused it.
    with app.app_context():
        downgrade(revision="0018")
    with closing(plain_sql(app)) as connection:
        connection.execute(refused)
        connection.commit()
    with app.app_context():
        upgrade()
    with closing(plain_sql(app)) as connection, pytest.raises(Exception, match="append-only"):
        connection.execute("UPDATE pos_session SET cash_count = COALESCE(cash_count, '') || ' '")


@pytest.mark.usefixtures("manager")
def test_the_z_page_prints_each_count(client, headers, profile, store):
    session = open_shift(client, headers, profile, cash=152, cashCount=COUNT)
    sign_in(client)
    x = page_text(client.get(f"/backoffice/stores/{store}/sessions/{session['id']}"))
    assert "Opening count by note and coin" in x and "Closing count" not in x
    close_shift(client, headers, profile, cash=100, cashCount=[{"value": 100, "count": 1}])

    z = page_text(client.get(f"/backoffice/stores/{store}/sessions/{session['id']}"))

    assert "50.00 EUR × 3 = 150.00 EUR 20.00 EUR × 0 = 0.00 EUR 0.50 EUR × 4 = 2.00 EUR" in z
    assert "Counted 152.00 EUR" in z
    assert "Closing count by note and coin Value Count Total 100.00 EUR × 1 = 100.00 EUR" in z


def test_a_closing_with_tenders_and_a_count_verifies(client, headers, profile, runner, store):
    assert runner.invoke(args=["store", "tender", "add", store, "card", "Card"]).exit_code == 0
    open_shift(client, headers, profile, cash=0)
    closed = close_shift(
        client, headers, profile, cash=2, cashCount=COUNT[1:], countedTenders={"card": 1}
    )

    assert closed["closing"]["difference"] == 2
    closing = entries(client, headers)[-1]["data"]
    assert closing["cashCount"] == STORED[1:] and set(closing["tenders"]) == {"card"}
    after = verify(runner)
    assert after.exit_code == 0, after.output


@pytest.mark.usefixtures("manager")
def test_the_settings_page_sets_the_notes_and_coins(client, headers, profile, store):
    sign_in(client)
    page = f"/backoffice/stores/{store}/settings"
    action = f"{page}/denominations"
    assert "500.00, 200.00, 100.00" in client.get(page).get_data(as_text=True)

    refused = submit(client, page, action, denominations="50, 0.005")
    assert refused.status_code == 400
    assert "0.005 is not a EUR note or coin" in page_text(refused)
    saved = submit(client, page, action, denominations="0.5, 20, 50")
    assert saved.status_code == 302
    assert 'value="50.00, 20.00, 0.50"' in client.get(page).get_data(as_text=True)
    assert (
        opened(client, headers, profile, cashCount=[{"value": 100, "count": 1}]).status_code == 400
    )

    submit(client, page, action, denominations="")
    assert (
        opened(client, headers, profile, cashCount=[{"value": 100, "count": 1}]).status_code == 200
    )


YEN = "10000, 5000, 2000, 1000, 500, 100, 50, 10, 5, 1"


@pytest.mark.usefixtures("manager")
def test_a_yen_list_is_shown_as_the_yen_is_written_and_saved_again_unchanged(
    client, headers, profile, store, runner
):
    """The yen has no decimals: the list is shown without them, so saving it again as shown is
    taken (it was refused as "10000.00 is not a JPY note or coin")."""
    assert runner.invoke(args=["store", "set", store, "--currency", "JPY"]).exit_code == 0
    sign_in(client)
    page = f"/backoffice/stores/{store}/settings"
    assert f'value="{YEN}"' in client.get(page).get_data(as_text=True)

    saved = submit(client, page, f"{page}/denominations", denominations=YEN)

    assert saved.status_code == 302
    assert f'value="{YEN}"' in client.get(page).get_data(as_text=True)
    listed = runner.invoke(args=["store", "denominations", store])
    assert listed.stdout.split() == YEN.split(", ")
    count = [{"value": 10000, "count": 1}, {"value": "1", "count": 3}]
    assert (
        opened(client, headers, profile, cashCount=count).get_json()["data"][0]["openingCash"]
        == 10003
    )


@pytest.mark.usefixtures("manager")
def test_a_currency_code_babel_does_not_know_is_refused(app, client, store, runner):
    said = "'XYZ' is not a currency code: enter one such as EUR, USD or JPY."
    refused = runner.invoke(args=["store", "set", store, "--currency", "XYZ"])
    assert refused.exit_code == 1 and said in refused.stderr
    sign_in(client)
    page = f"/backoffice/stores/{store}/settings"
    shown = submit(client, page, page, name="Main Street", currency="XYZ")
    assert shown.status_code == 400 and said in page_text(shown)
    with app.app_context():
        assert db.session.get(Store, store).currency == "EUR"


@pytest.mark.parametrize("currency", sorted(COMMON))
def test_each_currency_s_table_is_a_list_it_can_have(currency):
    """Largest first, each value once, none finer than the currency's digits: as it is shown
    (the settings page, the CLI), the list is taken back as it is."""
    shown = shown_denominations(currency, None)
    kept = parse_denominations(",".join(shown), currency)
    assert [D(value) for value in kept.split(",")] == list(COMMON[currency])


# The force-close's counting form (the session's page): the box adds the count up, so the page
# works without script; count.js adds it up as the manager types (test_backoffice_board_browser).


def force_close_url(store, session_id, step=""):
    return f"/backoffice/stores/{store}/sessions/{session_id}/force-close{step}"


def check_count(client, store, session_id, **fields):
    page = f"/backoffice/stores/{store}/sessions/{session_id}"
    return submit(client, page, force_close_url(store, session_id, "/check#force-title"), **fields)


@pytest.mark.usefixtures("manager")
def test_the_force_close_form_counts_by_note_and_coin_without_script(
    client, headers, profile, runner, store
):
    session = open_shift(client, headers, profile, cash=100)
    move(client, headers, session["id"], "sale", 20)
    sign_in(client)
    counts = {"count-50.00": "2", "count-10.00": " 1 ", "count-0.05": "0", "count-20.00": ""}

    checked = check_count(client, store, session["id"], counted="", reason="left", **counts)

    assert checked.status_code == 200
    words = page_text(checked)
    assert "Expected cash 120.00 EUR Cash counted 110.00 EUR" in words
    assert "50.00 EUR × 2 = 100.00 EUR 10.00 EUR × 1 = 10.00 EUR Counted 110.00 EUR" in words
    html = checked.get_data(as_text=True)
    again = hidden_fields(html, force_close_url(store, session["id"], "/check#force-title"))
    assert again["count-50.00"] == "2" and "count-20.00" not in again
    back = client.post(
        force_close_url(store, session["id"], "/check"), data={**again, "change": "1"}
    )
    assert 'name="count-50.00" type="text"' in back.get_data(as_text=True)
    assert 'value="2"' in back.get_data(as_text=True)

    confirm = hidden_fields(html, force_close_url(store, session["id"]))
    done = client.post(force_close_url(store, session["id"]), data=confirm, follow_redirects=True)

    assert "Session closed by force: short by 10.00 EUR" in page_text(done)
    assert "Closing count by note and coin" in page_text(done)
    closing = report(client, headers, session["id"])["closing"]
    assert closing["closingCash"] == 110 and closing["forced"] is True
    assert closing["cashCount"] == [{"value": 50, "count": 2}, {"value": 10, "count": 1}]
    entry = entries(client, headers)[-1]
    assert entry["kind"] == "session_force_closed"
    assert entry["data"]["cashCount"] == [
        {"value": "50.00", "count": 2},
        {"value": "10.00", "count": 1},
    ]
    after = verify(runner)
    assert after.exit_code == 0, after.output


@pytest.mark.usefixtures("manager")
def test_a_typed_amount_must_equal_the_count_with_the_message_beside_it(
    client, headers, profile, store
):
    session = open_shift(client, headers, profile, cash=100)
    sign_in(client)

    refused = check_count(
        client, store, session["id"], counted="100", reason="left", **{"count-50.00": "1"}
    )

    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert re.search(
        r'id="counted-error">The notes and coins add up to 50.00 EUR, not 100.00 EUR\.', html
    )
    assert 'value="100"' in html and 'name="count-50.00" type="text" inputmode="numeric"' in html
    assert report(client, headers, session["id"])["closing"] is None
    agreed = check_count(
        client, store, session["id"], counted="50.00", reason="left", **{"count-50.00": "1"}
    )
    assert agreed.status_code == 200 and "Cash counted 50.00 EUR" in page_text(agreed)


@pytest.mark.usefixtures("manager")
@pytest.mark.parametrize("count", ["2.5", "-1", "x", "３", "1e3", "12345678"])
def test_a_count_that_is_not_a_whole_number_is_refused_beside_it(
    client, headers, profile, store, count
):
    session = open_shift(client, headers, profile, cash=100)
    sign_in(client)

    refused = check_count(
        client, store, session["id"], counted="", reason="left", **{"count-0.50": count}
    )

    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="count-0.50-error">Enter how many, as a whole number such as 3' in html
    assert 'id="counted-error"' not in html  # the count is what is wrong, not a missing amount
    assert report(client, headers, session["id"])["closing"] is None


@pytest.mark.usefixtures("manager")
def test_the_form_adds_up_with_the_box_s_own_script_under_the_same_policy(
    client, headers, profile, store
):
    session = open_shift(client, headers, profile, cash=100)
    sign_in(client)

    page = client.get(f"/backoffice/stores/{store}/sessions/{session['id']}")

    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = page.get_data(as_text=True)
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/backoffice/static/count.js" defer>'
    ]
    script = client.get("/backoffice/static/count.js")
    assert script.status_code == 200 and "javascript" in script.content_type
    names = re.findall(r'<input id="(count-[^"]+)" name="\1"', html)
    assert names == [f"count-{value:.2f}" for value in COMMON["EUR"]]
    # A currency without notes and coins: the amount alone, as before, and no script.
    with client.application.app_context():
        update_store(UnitOfWork(), store, currency="XAF")
    plain = client.get(f"/backoffice/stores/{store}/sessions/{session['id']}")
    assert "<script" not in plain.get_data(as_text=True)
    assert "Count by note and coin" not in page_text(plain)


def test_a_force_close_names_only_the_store_s_notes_and_coins(app, store, profile, manager):
    with app.app_context():
        opened = service.open_session(
            UnitOfWork(), store, "t", profile_id=profile, password=PASSWORD, opening_cash=D(1)
        )
        with pytest.raises(UnknownDenomination):
            service.force_close(
                UnitOfWork(),
                store,
                opened.id,
                D("0.03"),
                "left",
                db.session.get(Manager, manager),
                cash_count=[{"value": D("0.03"), "count": 1}],
            )
