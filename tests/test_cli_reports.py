"""``report day`` and ``session list``: the back office's day report on the command line, the
same figures to the cent and the same CSV, and the sessions by store, state and day."""

import csv
import io
import re
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import update

from app import reports
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PosSession, Store
from app.people import cashiers
from app.stores import update_store
from tests.helpers import PASSWORD, close_shift, move, open_shift, sign_in, text

pytestmark = pytest.mark.usefixtures("manager")  # Olga, who signs in to the page
FIGURES = ("opening_cash", "sales", "refunds", "pay_ins", "pay_outs", "expected_cash")
COUNTED = ("closing_cash", "difference")
# The store's figures on the page, in the order of the CLI's columns after SESSIONS, OPEN, FORCED.
PAGE_LABELS = (
    "Opening floats",
    "Sales",
    "Refunds",
    "Pay-ins",
    "Pay-outs",
    "Expected cash",
    "Counted cash",
    "Difference",
)


@pytest.fixture
def day_of_sessions(app, client, headers, store):
    """A bar in Paris whose day starts at 04:00: Ana short by 0.05, then over by 2; =Bea open."""
    with app.app_context():
        update_store(
            UnitOfWork(), store, name="Night Bar", timezone="Europe/Paris", day_start_minutes=240
        )
        ana, bea = (
            cashiers.create(UnitOfWork(), name, PASSWORD, store_id=store)
            for name in ("Ana", "=Bea")
        )
    ids = []
    for profile, opening, moves, counted in (
        (ana, 150, [("sale", 12.34), ("refund", 2.1), ("pay_out", 5)], 155.19),
        (ana, 100, [("sale", 0.01), ("pay_in", 20)], 122.01),
        (bea, 80.5, [("sale", 1000.99)], None),
    ):
        ids.append(open_shift(client, headers, profile, opening)["id"])
        for kind, amount in moves:
            assert move(client, headers, ids[-1], kind, amount).status_code == 201
        if counted is not None:
            close_shift(client, headers, profile, counted)
    return ids


def today(app, store) -> str:
    with app.app_context():
        return reports.today(db.session.get(Store, store)).isoformat()


def columns(stdout: str, heading: str) -> list[list[str]]:
    """The rows of the CLI table whose first heading is ``heading``, split on two spaces."""
    lines = stdout.split(f"\n{heading} ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [re.split(r"  +", line) for line in lines]


def test_report_day_csv_is_the_page_csv(app, client, runner, store, day_of_sessions, tmp_path):
    sign_in(client)
    day = today(app, store)
    page = client.get(f"/backoffice/stores/{store}/days/{day}.csv")
    out = tmp_path / "day.csv"

    written = runner.invoke(args=["report", "day", "--store", store, "--csv", str(out)])
    dated = runner.invoke(args=["report", "day", "--store", store, "--date", day, "--csv", "-"])

    assert written.exit_code == 0, written.output
    assert written.stdout == "" and "3 session(s)" in written.stderr
    assert out.read_bytes() == page.data
    assert dated.exit_code == 0 and dated.stdout_bytes == page.data


def test_report_day_shows_the_pages_figures_to_the_cent(
    app, client, runner, store, day_of_sessions
):
    sign_in(client)
    day = today(app, store)
    page = text(client.get(f"/backoffice/stores/{store}/days/{day}")).split("By cashier")[0]
    on_page = [
        re.search(rf"{label} (-?[\d,]+\.\d\d) EUR", page).group(1).replace(",", "")
        for label in PAGE_LABELS
    ]
    sessions = list(
        csv.DictReader(io.StringIO(client.get(f"/backoffice/stores/{store}/days/{day}.csv").text))
    )

    result = runner.invoke(args=["report", "day", "--store", store])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"Night Bar, business day {day}: sessions opened from {day} 04:00 to "
    )
    assert "Europe/Paris, amounts in EUR" in result.stdout.splitlines()[0]
    [total] = columns(result.stdout, "STORE")
    # Then the drops and no-sales, after the figures the report always had, as in the CSV.
    drawer = [
        f"{sum(Decimal(s['drops']) for s in sessions):.2f}",
        str(sum(int(s["no_sales"]) for s in sessions)),
    ]
    assert total == ["Night Bar", "3", "1", "0", *on_page, *drawer]
    assert on_page[-3:] == ["1356.74", "277.20", "1.95"]
    # Each cashier's figures are the sums of their sessions in the page's CSV; counted cash
    # and difference over the closed ones only, "-" while none is closed.
    by_cashier = {row[0]: row[1:] for row in columns(result.stdout, "CASHIER")}
    assert list(by_cashier) == ["=Bea", "Ana"]
    for name, row in by_cashier.items():
        mine = [s for s in sessions if s["cashier"].lstrip("'") == name]
        closed = [s for s in mine if s["closed_at"]]
        sums = [sum(Decimal(s[f]) for s in mine) for f in FIGURES]
        sums += [sum(Decimal(s[f]) for s in closed) if closed else None for f in COUNTED]
        figures = ["-" if v is None else f"{v:.2f}" for v in sums]
        figures += [f"{sum(Decimal(s['drops']) for s in mine):.2f}"]
        figures += [str(sum(int(s["no_sales"]) for s in mine))]
        assert row == [str(len(mine)), str(len(mine) - len(closed)), "0", *figures], name
    assert by_cashier["=Bea"][-4:-2] == ["-", "-"]
    listed = columns(result.stdout, "SESSION")
    assert [row[0] for row in listed] == [s["session_id"] for s in sessions]
    for row, session in zip(listed, sessions, strict=True):
        money = [session[f] or "-" for f in FIGURES + COUNTED]
        assert row[4:12] == money
        assert row[12:] == [session["forced"], "-", session["drops"], session["no_sales"]]
    assert listed[2][3] == "-"  # still open: not closed


def test_report_day_splits_the_cash_by_attendant_as_the_page_does(
    app, client, headers, runner, store, day_of_sessions
):
    with app.app_context():
        zoe, adam = (
            cashiers.create(UnitOfWork(), name, PASSWORD, store_id=store)
            for name in ("zoë", "adam")
        )
    open_shift(client, headers, adam, 10)
    bea_session = day_of_sessions[2]
    joined = client.post(
        f"/pos-session/sessions/{bea_session}/attendants",
        json={"profileId": zoe, "password": PASSWORD},
        headers=headers,
    )
    assert joined.status_code == 201, joined.get_json()
    assert move(client, headers, bea_session, "sale", 7, attendantId=zoe).status_code == 201

    result = runner.invoke(args=["report", "day", "--store", store])

    assert result.exit_code == 0, result.output
    [heading] = [line for line in result.stdout.splitlines() if line.startswith("ATTENDANT")]
    assert re.split(r"  +", heading.strip()) == [
        "ATTENDANT", "SALES", "REFUNDS", "PAY-INS", "PAY-OUTS", "DROPS", "NO-SALES",
    ]  # fmt: skip
    # By name whatever the case, as the page; zoë's sale is hers, not Bea's who opened.
    assert columns(result.stdout, "ATTENDANT") == [
        ["=Bea", "1000.99", "0.00", "0.00", "0.00", "0.00", "0"],
        ["Ana", "12.35", "2.10", "20.00", "5.00", "0.00", "0"],
        ["zoë", "7.00", "0.00", "0.00", "0.00", "0.00", "0"],
    ]
    # The cashiers too, whatever the case (SQLite's and Python's order put "Ana" before "adam").
    assert [row[0] for row in columns(result.stdout, "CASHIER")] == ["=Bea", "adam", "Ana"]
    sign_in(client)
    page = text(client.get(f"/backoffice/stores/{store}/days/{today(app, store)}"))
    by_attendant = page.split("By attendant", 1)[1]
    assert by_attendant.index("=Bea") < by_attendant.index("Ana") < by_attendant.index("zoë")


def test_report_day_of_another_date_and_refusals(app, runner, store, day_of_sessions, tmp_path):
    empty = runner.invoke(args=["report", "day", "--store", store, "--date", "2020-02-29"])
    assert empty.exit_code == 0
    assert empty.stdout.endswith("no session on this day\n")
    assert "sessions opened from 2020-02-29 04:00 to 2020-03-01 04:00" in empty.stdout

    out = tmp_path / "never.csv"
    missing = runner.invoke(args=["report", "day", "--store", "nope", "--csv", str(out)])
    assert (missing.exit_code, missing.stdout) == (1, "")
    assert "Store not found." in missing.stderr and not out.exists()
    for bad in ("2026-02-30", "03/12/2026", "0001-01-01", "today"):
        result = runner.invoke(args=["report", "day", "--store", store, "--date", bad])
        assert result.exit_code == 2 and result.stdout == "", bad
        assert "Invalid value for '--date': Enter a date such as" in result.stderr
    assert runner.invoke(args=["report", "day"]).exit_code == 2  # --store is required


def test_session_list_by_store_state_and_business_day(
    app, runner, store, make_store, day_of_sessions
):
    first, second, open_one = day_of_sessions
    other = make_store("Harbour")  # no session
    with app.app_context():
        # 01:30 in Paris on 12 March 2026 (UTC+1) is 00:30 UTC: business day 11 March.
        db.session.execute(
            update(PosSession)
            .where(PosSession.id == first)
            .values(created_at=datetime(2026, 3, 12, 0, 30))
        )
        db.session.commit()

    def listed(*args) -> list[list[str]]:
        result = runner.invoke(args=["session", "list", *args])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("ID  ")
        return [re.split(r"  +", line) for line in result.stdout.splitlines()[1:]]

    everything = listed()
    assert [row[0] for row in everything] == [open_one, second, first]  # newest first
    assert everything[0][1:3] == [store, "=Bea"]
    assert everything[0][4:] == ["-", "80.50", "-", "-"]
    assert everything[1][2] == "Ana" and everything[1][5:] == ["100.00", "122.01", "2.00"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", everything[1][3])
    assert everything[2][3] == "2026-03-12T00:30:00Z"
    assert listed("--open") == everything[:1]
    assert listed("--store", store, "--day", "2026-03-11") == everything[2:]
    assert listed("--day", "2026-03-12") == []
    assert listed("--day", today(app, store)) == everything[:2]
    assert listed("--open", "--day", today(app, store)) == everything[:1]
    assert listed("--store", other) == []

    missing = runner.invoke(args=["session", "list", "--store", "nope"])
    assert (missing.exit_code, missing.stdout) == (1, "") and "Store not found." in missing.stderr
    bad = runner.invoke(args=["session", "list", "--day", "12 March"])
    assert bad.exit_code == 2 and "Invalid value for '--day'" in bad.stderr


def test_session_list_pages_through_the_history(monkeypatch, runner, store, day_of_sessions):
    from app.cli import sessions as cli_sessions  # here, so the others run on an older tree

    monkeypatch.setattr(cli_sessions, "PAGE_MAX", 2)  # three sessions: two pages
    result = runner.invoke(args=["session", "list", "--store", store])
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == day_of_sessions[::-1]
