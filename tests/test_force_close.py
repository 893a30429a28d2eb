"""Force-closing a forgotten session: the rule, its CLI command, and what the API shows."""

from decimal import Decimal as D

import pytest

from app.exceptions import ManagerDisabled, SessionClosed, SessionNotFound, StoreNotFound
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Manager
from app.people import managers
from app.sessions.service import force_close
from tests.helpers import HISTORY, move, open_shift, report


@pytest.fixture
def olga(app, store):
    with app.app_context():
        return managers.create(UnitOfWork(), "Olga", "manager-pw", store_ids=[store])


def forced(app, store, session_id, manager_id, counted=D("120.50"), reason="forgot to close"):
    with app.app_context():
        manager = db.session.get(Manager, manager_id)
        return force_close(UnitOfWork(), store, session_id, counted, reason, manager)


def test_force_close_computes_the_figures_of_a_normal_close(
    app, client, headers, profile, store, olga
):
    opened = open_shift(client, headers, profile, cash=100)
    move(client, headers, opened["id"], "sale", D("30.50"))
    move(client, headers, opened["id"], "pay_out", 5)

    closed = forced(app, store, opened["id"], olga, reason="left early")

    closing = closed.closing
    assert (closing.expected_cash, closing.closing_cash, closing.difference) == (
        D("125.50"),
        D("120.50"),
        D("-5.00"),
    )
    assert (closing.forced, closing.reason, closing.closed_by) == (True, "left early", "Olga")
    summary = report(client, headers, opened["id"])
    assert summary["closing"]["forced"] is True and summary["closing"]["reason"] == "left early"
    assert summary["summary"]["difference"] == D("-5")
    listed = client.get(HISTORY, headers=headers).get_json()["data"][0]["closing"]
    assert (listed["forced"], listed["reason"]) == (True, "left early")
    # The cashier can open again at once.
    open_shift(client, headers, profile)


# An amount is a click type (a usage error, exit 2); the reason, loaded by the command (exit 1).
COUNTED, REASON = (2, "Invalid value for '--counted'"), (1, "reason: Say why")


@pytest.mark.parametrize(
    ("counted", "reason", "refused"),
    [
        ("", "why", COUNTED),
        ("abc", "why", COUNTED),
        ("1.005", "why", COUNTED),
        ("-1", "why", COUNTED),
        ("10", "", REASON),
        ("10", "   ", REASON),
        ("10", "x" * 501, REASON),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    client, headers, profile, olga, runner, counted, reason, refused
):
    opened = open_shift(client, headers, profile)
    result = runner.invoke(
        args=["session", "force-close", opened["id"], "--counted", counted, "--reason", reason]
        + ["--manager", "olga"]
    )
    exit_code, said = refused
    assert (result.exit_code, result.stdout) == (exit_code, "")
    assert said in result.stderr
    assert report(client, headers, opened["id"])["closing"] is None


def test_refusals(app, client, headers, profile, store, make_store, olga):
    opened = open_shift(client, headers, profile)
    other = make_store("Harbour")
    with pytest.raises(StoreNotFound):  # not granted: as if it did not exist
        forced(app, other, opened["id"], olga)
    with pytest.raises(SessionNotFound):
        forced(app, store, "nosuchsession000000000000", olga)
    forced(app, store, opened["id"], olga)
    with pytest.raises(SessionClosed):
        forced(app, store, opened["id"], olga)
    with app.app_context():
        managers.set_enabled(UnitOfWork(), "Olga", False)
    with pytest.raises(ManagerDisabled):
        forced(app, store, open_shift(client, headers, profile)["id"], olga)


def test_cli_force_close(app, client, headers, profile, store, olga, runner):
    opened = open_shift(client, headers, profile, cash=50)
    args = ["session", "force-close", opened["id"], "--counted", "52", "--reason", " forgot  "]

    result = runner.invoke(args=[*args, "--manager", "olga"])

    assert result.exit_code == 0, result.output
    closing = report(client, headers, opened["id"])["closing"]
    assert result.stdout.strip() == closing["id"]
    assert "difference 2.00" in result.stderr
    assert (closing["forced"], closing["closedBy"], closing["difference"]) == (True, "Olga", 2)
    assert closing["reason"] == "forgot"

    again = runner.invoke(args=[*args, "--manager", "olga"])
    assert again.exit_code == 1 and "Session is closed." in again.stderr
    nobody = runner.invoke(args=[*args, "--manager", "nobody"])
    assert nobody.exit_code == 1 and "Manager not found." in nobody.stderr
    missing = runner.invoke(
        args=["session", "force-close", "x", "--counted", "1", "--reason", "r", "--manager", "olga"]
    )
    assert missing.exit_code == 1 and "Session not found." in missing.stderr
    bad = runner.invoke(
        args=[
            "session",
            "force-close",
            open_shift(client, headers, profile)["id"],
            "--counted",
            "lots",
            "--reason",
            "r",
            "--manager",
            "olga",
        ]
    )
    # Refused by click as a usage error (exit 2) before anything is looked up.
    assert bad.exit_code == 2 and "Invalid value for '--counted': Enter an amount" in bad.stderr
