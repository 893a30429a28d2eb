"""Head office's pages and CSVs through Flask's test client, on a real PostgreSQL: each shop's
journal fed to head office's tables as the follower stores a verified page
(app.headoffice.follow.store), with no box and no follower running."""

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape

import psycopg
import pytest
from sqlalchemy import insert, select, update

from app.headoffice import create_headoffice_app
from app.headoffice.follow import store
from app.headoffice.models import Schema, Shop, Signin
from app.journal.entry import chained_row, genesis, wire_entry
from app.machinery.extensions import db
from app.models import utcnow
from tests import test_headoffice_chain as chain
from tests.helpers import SECRET, hidden_fields

postgres = chain.postgres  # the module's PostgreSQL: POS_TEST_DATABASE_URL's server, else its own
USER, PASSWORD = chain.HEAD_OFFICE_USER, chain.HEAD_OFFICE_PASSWORD
A, B = "a" * 24, "b" * 24
DAY = datetime(2026, 12, 1, 9)


@pytest.fixture
def office(postgres):
    """Head office, with its schema made afresh and one user."""
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    app = create_headoffice_app(
        {"DATABASE_URL": postgres, "SECRET_KEY": SECRET, "BCRYPT_ROUNDS": 4}
    )
    runner = app.test_cli_runner()
    assert runner.invoke(args=["headoffice", "init-db"]).exit_code == 0
    created = runner.invoke(args=["headoffice", "user", "create", USER, "--password", PASSWORD])
    assert created.exit_code == 0, created.output
    yield app
    with app.app_context():
        db.engine.dispose()


def sign_in(app, name=USER, password=PASSWORD):
    """A browser, and the answer to its sign-in."""
    browser = app.test_client()
    fields = hidden_fields(browser.get("/headoffice/login").text, "/headoffice/login")
    return browser, browser.post(
        "/headoffice/login", data=fields | {"name": name, "password": password}
    )


@pytest.fixture
def browser(office):
    browser, signed_in = sign_in(office)
    assert signed_in.status_code == 302
    return browser


def follow(app, store_id: str, name: str, facts: list[tuple], **shop) -> None:
    """The shop followed, its journal's entries ``facts`` (kind, at, session id, data) stored
    as the follower stores a verified page; ``shop``: its follow's state."""
    entries, prev = [], genesis(store_id)
    for seq, (kind, at, session_id, data) in enumerate(facts, 1):
        row = chained_row(seq, prev, store_id, kind, at, session_id, data)
        entries.append(wire_entry(row))
        prev = row["hash"]
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(insert(Shop), [dict(store_id=store_id, name=name, url="", token="")])
        if entries:
            assert store(connection, store_id, entries, 0)
        if shop:
            connection.execute(update(Shop).where(Shop.store_id == store_id).values(**shop))


def sale(at, amount, kind="sale", tender=None, session="s" * 24, reason=None):
    data = {"movementId": "m" * 24, "type": kind, "amount": amount, "by": "till-1", "note": None}
    if tender:
        data["tender"] = tender
    if reason:
        return ("cash_movement_with_reason", at, session, data | {"reason": reason})
    return ("cash_movement", at, session, data)


def rows_of(html: str) -> list[list[str]]:
    """The cells of a page's table body rows, as text."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.text)))


def test_the_shops_page_and_csv_give_each_shop_s_state_last_seq_and_lag(office, browser):
    caught_up = utcnow() - timedelta(seconds=90)
    follow(office, A, "Ash", [sale(DAY, "1.00"), sale(DAY, "2.00")], caught_up_at=caught_up)
    follow(office, B, "Birch", [sale(DAY, "3.00")], error="the box did not answer: refused")
    red = "seq 2: the entry's hash is not the hash of its content"
    follow(office, "c" * 24, "Cedar", [], stopped_reason=red, stopped_at=DAY)

    page = rows_of(browser.get("/headoffice/").text)[:3]
    assert [row[:4] for row in page] == [
        ["Ash", A, "Following", "2"],
        ["Birch", B, "Not answering", "1"],
        ["Cedar", "c" * 24, "Stopped", "0"],
    ]
    assert page[0][4] == f"{caught_up:%Y-%m-%d %H:%M:%S} UTC"
    assert 90 <= int(page[0][5].removesuffix(" s")) < 100
    assert [row[4:] for row in page[1:]] == [
        ["never", "", "the box did not answer: refused"],
        ["never", "", red],
    ]

    header, *shops = csv_of(browser.get("/headoffice/shops.csv"))
    assert header[:6] == [
        "shop", "store_id", "state", "last_verified_seq", "caught_up_at", "lag_seconds"
    ]  # fmt: skip
    assert [row[:4] for row in shops] == [
        ["Ash", A, "ok", "2"],
        ["Birch", B, "not answering", "1"],
        ["Cedar", "c" * 24, "red", "0"],
    ]
    assert shops[0][4] == caught_up.isoformat(timespec="seconds") + "+00:00"
    assert 90 <= int(shops[0][5]) < 100
    assert shops[1][4:7] == ["", "", "the box did not answer: refused"]
    assert shops[2][7] == red


def takings_journals(office) -> None:
    """Ash and Birch's movements on 30 November, 1 and 2 December (the chain's days are UTC's)."""
    follow(
        office,
        A,
        "Ash",
        [
            sale(datetime(2026, 11, 30, 23, 59), "100.00"),
            sale(DAY, "12.50"),
            sale(DAY, "20.00", tender="card"),
            sale(DAY, "2.50", kind="refund"),
            sale(DAY, "5.00", kind="pay_in"),
            sale(DAY, "3.00", kind="pay_out", reason="Milk"),
            sale(DAY, "40.00", kind="drop", reason="To the safe"),
            sale(DAY, "0.00", kind="no_sale", reason="Change"),
            sale(datetime(2026, 12, 2, 23, 59), "7.25"),
        ],
    )
    follow(
        office, B, "Birch", [sale(DAY, "3.00"), sale(datetime(2026, 12, 2), "1.00", kind="refund")]
    )


ASH_DAY = ["12.50", "2.50", "10.00", "5.00", "3.00", "40.00"]


def test_the_day_page_and_csv_sum_each_shop_per_tender_then_all_shops(office, browser):
    takings_journals(office)
    page = rows_of(browser.get("/headoffice/day?day=2026-12-01").text)
    assert page == [
        ["Ash", "cash", *ASH_DAY, "1"],
        ["Ash", "card", "20.00", "0.00", "20.00", "0.00", "0.00", "0.00", "0"],
        ["Birch", "cash", "3.00", "0.00", "3.00", "0.00", "0.00", "0.00", "0"],
        ["All shops", "cash", "15.50", "2.50", "13.00", "5.00", "3.00", "40.00", "1"],
        ["All shops", "card", "20.00", "0.00", "20.00", "0.00", "0.00", "0.00", "0"],
    ]
    header, *day = csv_of(browser.get("/headoffice/day.csv?day=2026-12-01"))
    assert header == ["period", "shop", "store_id", "tender", "sales", "refunds", "net"] + [
        "pay_ins", "pay_outs", "drops", "no_sales"
    ]  # fmt: skip
    assert [row[1:] for row in day] == [
        [shop, store_id, *rest]
        for (shop, *rest), store_id in zip(page, [A, A, B, "", ""], strict=True)
    ]
    assert {row[0] for row in day} == {"2026-12-01"}
    assert rows_of(browser.get("/headoffice/day?day=2026-11-29").text) == [["Nothing recorded."]]
    assert browser.get("/headoffice/day?day=2026-12-32").status_code == 400


def test_the_month_page_and_csv_hold_the_month_s_days_only(office, browser):
    takings_journals(office)
    page = rows_of(browser.get("/headoffice/month?month=2026-12").text)
    assert page == [
        ["Ash", "cash", "19.75", "2.50", "17.25", "5.00", "3.00", "40.00", "1"],
        ["Ash", "card", "20.00", "0.00", "20.00", "0.00", "0.00", "0.00", "0"],
        ["Birch", "cash", "3.00", "1.00", "2.00", "0.00", "0.00", "0.00", "0"],
        ["All shops", "cash", "22.75", "3.50", "19.25", "5.00", "3.00", "40.00", "1"],
        ["All shops", "card", "20.00", "0.00", "20.00", "0.00", "0.00", "0.00", "0"],
    ]
    response = browser.get("/headoffice/month.csv?month=2026-12")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="headoffice-month-2026-12.csv"'
    )
    header, *month = csv_of(response)
    assert header[:4] == ["period", "shop", "store_id", "tender"]
    assert [row[:4] for row in month] == [
        ["2026-12", "Ash", A, "cash"],
        ["2026-12", "Ash", A, "card"],
        ["2026-12", "Birch", B, "cash"],
        ["2026-12", "All shops", "", "cash"],
        ["2026-12", "All shops", "", "card"],
    ]
    assert [row[4:] for row in month] == [row[2:] for row in page]
    november = rows_of(browser.get("/headoffice/month?month=2026-11").text)
    assert november[0] == ["Ash", "cash", "100.00", "0.00", "100.00", "0.00", "0.00", "0.00", "0"]
    assert browser.get("/headoffice/month?month=2026-13").status_code == 400


def opened(session, profile, at=DAY):
    data = {"profileId": profile, "openingCash": "100.00", "by": "till-1", "note": None}
    return ("session_opened", at, session, data)


def attendance(kind, session, profile, **count):
    data = {"attendanceId": "t" * 24, "profileId": profile, "by": "till-1"} | count
    return (kind, DAY, session, data)


def handover(session, giver, taker, difference):
    counted = f"{Decimal(100) + Decimal(difference):.2f}"
    return attendance(
        "drawer_handed_over", session, taker, fromProfileId=giver, countedCash=counted,
        expectedCash="100.00", difference=difference,
    )  # fmt: skip


def closed(session, profile, difference, forced=False):
    kind = "session_force_closed" if forced else "session_closed"
    data = {"closingId": "c" * 24, "profileId": profile, "closingCash": "100.00"}
    return (kind, DAY, session, data | {"expectedCash": "100.00", "difference": difference})


# Profiles by short ids, for reading: the journal names them by id only.
ASH_SESSIONS = [
    opened("s1", "ana"),
    attendance("attendant_joined", "s1", "bob"),
    attendance("attendant_joined", "s1", "cy"),
    opened("s2", "ben"),
    attendance("attendant_left", "s1", "cy"),
    handover("s2", "ben", "eve", "0.50"),
    handover("s1", "ana", "zoe", "-1.00"),
    closed("s2", "ben", "-1.50"),
]


def test_open_now_names_who_holds_the_drawer_and_who_else_is_on_it(office, browser):
    follow(office, A, "Ash", ASH_SESSIONS)
    follow(office, B, "Birch", [opened("s3", "dan", at=DAY + timedelta(hours=1))])
    index = browser.get("/headoffice/").text
    assert "the journal names them by id, not by name" in index
    assert rows_of(index.split("<h2>Open now</h2>")[1]) == [
        ["Ash", "ana", "till-1", "2026-12-01 09:00:00 UTC", "100.00", "zoe", "bob"],
        ["Birch", "dan", "till-1", "2026-12-01 10:00:00 UTC", "100.00", "dan", ""],
    ]
    header, *open_now = csv_of(browser.get("/headoffice/open.csv"))
    assert header[3:] == [
        "profile_id", "opened_by", "opened_at", "opening_cash", "holder_profile_id",
        "attendant_profile_ids",
    ]  # fmt: skip
    assert [row[:3] + row[3:4] + row[7:] for row in open_now] == [
        ["Ash", A, "s1", "ana", "zoe", "bob"],
        ["Birch", B, "s3", "dan", "dan", ""],
    ]


def test_variances_give_the_differences_counted_at_handovers_to_who_handed_over(office, browser):
    follow(office, A, "Ash", ASH_SESSIONS)
    follow(office, B, "Birch", [opened("s4", "dan"), closed("s4", "dan", "2.00", forced=True)])
    page = rows_of(browser.get("/headoffice/variances?month=2026-12").text)
    assert page == [
        ["Ash", "ana", "0", "0", "0.00", "0.00", "0.00", "1", "-1.00"],
        ["Ash", "ben", "1", "0", "-1.50", "-1.50", "0.00", "1", "0.50"],
        ["Birch", "dan", "1", "1", "2.00", "0.00", "2.00", "0", "0.00"],
    ]
    header, *rows = csv_of(browser.get("/headoffice/variances.csv?month=2026-12"))
    assert header[-2:] == ["handovers", "handover_difference"]
    assert [row[1:3] + row[4:] for row in rows] == [
        [shop, store_id, *rest] for (shop, _, *rest), store_id in zip(page, [A, A, B], strict=True)
    ]
    assert [row[3] for row in rows] == ["ana", "ben", "dan"]


# Sign-ins: the back office's, kept on the server (app/backoffice/signins.py).

COOKIE = "pos_headoffice"


def copy_of(office, browser):
    """Another browser holding a copy of ``browser``'s cookie."""
    thief = office.test_client()
    thief.set_cookie(
        COOKIE, browser.get_cookie(COOKIE, path="/headoffice").value, path="/headoffice"
    )
    assert thief.get("/headoffice/").status_code == 200
    return thief


def signed_out(browser) -> bool:
    answer = browser.get("/headoffice/day")
    return answer.status_code == 302 and answer.location.startswith("/headoffice/login")


def post_form(browser, action):
    fields = hidden_fields(browser.get("/headoffice/").text, "/headoffice/logout")
    return browser.post(action, data=fields)


def signins(office) -> list[Signin]:
    with office.app_context():
        return db.session.scalars(select(Signin)).all()


def test_signing_out_ends_the_sign_in_on_the_server_so_a_copied_cookie_is_refused(office, browser):
    thief = copy_of(office, browser)
    other, _ = sign_in(office)  # another browser of the same user
    assert post_form(browser, "/headoffice/logout").location == "/headoffice/login"
    assert signed_out(browser) and signed_out(thief)
    assert not signed_out(other)

    browser, _ = sign_in(office)
    thief = copy_of(office, browser)
    post_form(other, "/headoffice/logout-everywhere")
    assert signed_out(other) and signed_out(browser) and signed_out(thief)
    assert signins(office) == []


def test_a_new_password_signs_the_user_out_of_every_browser(office, browser):
    thief = copy_of(office, browser)
    runner = office.test_cli_runner()
    changed = runner.invoke(args=["headoffice", "user", "password", USER, "--password", "new-pw-1"])
    assert changed.exit_code == 0, changed.output
    assert signed_out(browser) and signed_out(thief)
    assert sign_in(office)[1].status_code == 401  # the old password
    assert sign_in(office, password="new-pw-1")[1].status_code == 302
    unknown = runner.invoke(
        args=["headoffice", "user", "password", "Nobody", "--password", "x" * 8]
    )
    assert unknown.exit_code == 1 and "Head-office user not found" in unknown.output


def test_disabling_the_user_signs_them_out_and_enabling_signs_nobody_in(office, browser):
    runner = office.test_cli_runner()
    assert runner.invoke(args=["headoffice", "user", "disable", USER]).exit_code == 0
    assert signed_out(browser)
    assert sign_in(office)[1].status_code == 401
    assert runner.invoke(args=["headoffice", "user", "enable", USER]).exit_code == 0
    assert signed_out(browser)
    assert sign_in(office)[1].status_code == 302


def test_sign_in_is_locked_after_too_many_wrong_passwords(office):
    for _ in range(office.config["LOCKOUT_ATTEMPTS"]):
        assert sign_in(office, password="wrong-pw")[1].status_code == 401
    _, locked = sign_in(office)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many wrong passwords" in locked.text
    runner = office.test_cli_runner()
    assert runner.invoke(args=["headoffice", "user", "unlock", USER]).exit_code == 0
    assert sign_in(office)[1].status_code == 302


def move_last_seen(office, **back):
    """As if the sign-ins had last been seen that long earlier."""
    with office.app_context():
        db.session.execute(
            update(Signin).values(last_seen_at=Signin.last_seen_at - timedelta(**back))
        )
        db.session.commit()


def test_an_idle_sign_in_is_refused_on_the_server(office, browser):
    assert office.config["IDLE_MINUTES"] == 30
    move_last_seen(office, minutes=29)
    assert not signed_out(browser)  # a click: seen now
    move_last_seen(office, minutes=29)
    assert not signed_out(browser)
    move_last_seen(office, minutes=32)  # the cookie is fresh; the server says no
    assert signed_out(browser)


def test_init_db_upgrades_a_database_of_version_1_by_adding_the_sign_ins(office):
    with office.app_context(), db.engine.begin() as connection:
        Signin.__table__.drop(connection)
        connection.execute(update(Schema).values(version=1))
    refused = office.test_client().get("/headoffice/login")
    assert refused.status_code == 503 and "run headoffice init-db" in refused.text
    assert office.test_cli_runner().invoke(args=["headoffice", "init-db"]).exit_code == 0
    assert sign_in(office)[1].status_code == 302
