"""Variance approval: a close over the store's limit is final but pending until a manager
approves it, which is a journaled fact of its own."""

from decimal import Decimal

import pytest

from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Store
from app.people import managers
from tests.helpers import close_shift, open_shift, report
from tests.journaling import instance  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("instance", "manager")


@pytest.fixture
def manager(app, store):
    with app.app_context():
        managers.create(UnitOfWork(), "Mia", "manager-pw", store_ids=[store])


@pytest.fixture
def limit(app, store):
    with app.app_context():
        db.session.get(Store, store).max_unapproved_difference = Decimal(5)
        db.session.commit()


def approve(runner, target, *extra):
    return runner.invoke(args=["session", "approve", target, "--manager", "Mia", *extra])


def test_without_a_limit_no_close_waits_for_approval(client, headers, profile, runner):
    open_shift(client, headers, profile, cash=100)
    closed = close_shift(client, headers, profile, cash=50)
    assert closed["closing"]["approval"] is None
    result = approve(runner, closed["id"])
    assert result.exit_code == 1 and "no pending approval" in result.output


@pytest.mark.usefixtures("limit")
def test_a_close_over_the_limit_is_pending_until_approved(client, headers, profile, runner):
    open_shift(client, headers, profile, cash=100)
    within = close_shift(client, headers, profile, cash=95)  # exactly the limit: fine
    assert within["closing"]["approval"] is None
    open_shift(client, headers, profile, cash=100)
    closed = close_shift(client, headers, profile, cash=94.99)
    assert closed["closing"]["approval"] == "pending"
    assert open_shift(client, headers, profile)["id"]  # the profile may open again

    result = approve(runner, closed["id"], "--note", "counted twice")

    assert result.exit_code == 0, result.output
    z = report(client, headers, closed["id"])["closing"]
    assert (z["approval"], z["approvedBy"], z["approvalNote"]) == (
        "approved",
        "Mia",
        "counted twice",
    )
    entries = client.get("/pos-session/journal", headers=headers).get_json()["data"]
    assert entries[-1]["kind"] == "closing_approved"
    assert entries[-1]["data"] == {"closingId": z["id"], "by": "Mia", "note": "counted twice"}
    assert approve(runner, z["id"]).exit_code == 1  # once only
    assert runner.invoke(args=["journal", "verify"]).exit_code == 0


def test_an_unknown_closing(runner):
    result = approve(runner, "nope")
    assert result.exit_code == 1 and "Closing not found" in result.output


@pytest.mark.usefixtures("limit")
def test_only_a_manager_of_the_store_approves(app, client, headers, profile, runner, make_store):
    open_shift(client, headers, profile, cash=100)
    closed = close_shift(client, headers, profile, cash=50)
    with app.app_context():
        managers.create(UnitOfWork(), "Olaf", "manager-pw", store_ids=[make_store("Other")])
    elsewhere = runner.invoke(args=["session", "approve", closed["id"], "--manager", "Olaf"])
    nobody = runner.invoke(args=["session", "approve", closed["id"], "--manager", "Nobody"])

    assert elsewhere.exit_code == 1 and "Closing not found" in elsewhere.output
    assert nobody.exit_code == 1 and "Manager not found" in nobody.output
    assert report(client, headers, closed["id"])["closing"]["approval"] == "pending"
