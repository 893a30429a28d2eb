"""The session rules below HTTP: each use case called with a unit of work, no request, no view.

Refusals the rules share with other tests (not found, wrong password, already open or closed)
are in test_units and test_force_close; here are the rest, and what the unit of work promises
a use case: one session for its reads and writes, whatever the caller holds, and its
connection given back however it ends.
"""

import ast
import sqlite3
from decimal import Decimal as D

import pytest
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from sqlalchemy import select

from app.api.auth import ScopedUnitOfWork, revoke_tokens
from app.exceptions import (
    ClosingNotFound,
    DatabaseBusy,
    InvalidPassword,
    ManagerDisabled,
    NothingToApprove,
    ProfileDisabled,
    ProfileNotFound,
    SessionNotFound,
    TokenRevoked,
)
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import Store
from app.people import cashiers, managers
from app.sessions import service
from app.stores import create_store, update_store
from tests.helpers import MANAGER, PASSWORD, ROOT, RULES, sqlite_only


def opened(store, profile, cash=D(100)):
    return service.open_session(
        UnitOfWork(), store, "till-1", profile_id=profile, password=PASSWORD, opening_cash=cash
    )


def closed(store, profile, cash=D(100)):
    return service.close_session(
        UnitOfWork(), store, "till-1", profile_id=profile, password=PASSWORD, closing_cash=cash
    )


def test_a_disabled_cashier_cannot_open_but_closes_what_it_has_open(app, store, profile):
    with app.app_context():
        opened(store, profile)
        cashiers.set_enabled(UnitOfWork(), profile, False, store_id=store)
        assert closed(store, profile).closing is not None
        with pytest.raises(ProfileDisabled):
            opened(store, profile)


def test_a_close_answers_with_its_closing_and_no_approval_yet(app, store, profile):
    with app.app_context():
        update_store(UnitOfWork(), store, max_unapproved_difference=D(5))
        opened(store, profile)
        session = closed(store, profile, cash=D(94))
    # Read after the unit of work ended: all there, none of it loaded by a further query.
    assert session.pos_closing_id == session.closing.id
    closing = session.closing
    assert (closing.expected_cash, closing.difference) == (D(100), D(-6))
    assert closing.needs_approval and closing.approval is None
    assert closing.z_number == 1 and not closing.forced


def test_a_movement_into_another_stores_session_is_not_found(app, store, profile, make_store):
    with app.app_context():
        session_id = opened(store, profile).id
        with pytest.raises(SessionNotFound):
            service.record_movement(
                UnitOfWork(),
                make_store("Harbour"),
                "t",
                session_id,
                kind="sale",
                amount=D(1),
                note=None,
            )
        movement = service.record_movement(
            UnitOfWork(), store, "t", session_id, kind="pay_out", amount=D(30), note="change"
        )
        assert closed(store, profile, cash=D(70)).closing.difference == 0
    assert (movement.type, movement.amount, movement.created_by) == ("pay_out", D(30), "t")


def test_a_force_close_names_the_manager_and_lets_the_cashier_open_again(
    app, store, profile, manager
):
    with app.app_context():
        session_id = opened(store, profile).id
        olga = managers.get(MANAGER)
        session = service.force_close(UnitOfWork(), store, session_id, D(90), "left early", olga)
        assert (session.closed_by, session.closing.closed_by) == (MANAGER, MANAGER)
        assert session.closing.forced and session.closing.reason == "left early"
        assert session.closing.difference == D(-10)
        assert opened(store, profile).id != session_id


def test_approving_a_closing(app, store, profile, manager, make_store):
    with app.app_context():
        managers.create(UnitOfWork(), "Ines", "ines-pw-1", store_ids=[make_store("Harbour")])
        opened(store, profile)
        within = closed(store, profile).closing  # no limit: nothing to approve
        update_store(UnitOfWork(), store, max_unapproved_difference=D(1))
        opened(store, profile)
        over = closed(store, profile, cash=D(50))
        olga = managers.get(MANAGER)
        with pytest.raises(NothingToApprove):
            service.approve_closing(UnitOfWork(), within.id, olga, None)
        with pytest.raises(ClosingNotFound):
            service.approve_closing(UnitOfWork(), "nosuchclosing00000000000", olga, None)
        # By the closing's id or its session's.
        approval = service.approve_closing(UnitOfWork(), over.id, olga, "counted twice")
        assert (approval.closing_id, approval.approved_by) == (over.closing.id, MANAGER)
        with pytest.raises(NothingToApprove):
            service.approve_closing(UnitOfWork(), over.closing.id, olga, None)
        # A manager of another store only: as if it did not exist.
        opened(store, profile)
        pending = closed(store, profile, cash=D(0))
        with pytest.raises(ClosingNotFound):
            service.approve_closing(UnitOfWork(), pending.id, managers.get("Ines"), None)


@pytest.mark.parametrize("use_case", ["force_close", "approve_closing"])
def test_a_manager_disabled_since_the_caller_read_him_is_refused(
    app, store, profile, manager, use_case
):
    """The caller's Manager is who acts; whether he still may is read in the unit of work."""
    with app.app_context():
        update_store(UnitOfWork(), store, max_unapproved_difference=D(1))
        session_id = opened(store, profile).id
        if use_case == "approve_closing":
            session_id = closed(store, profile, cash=D(0)).id
        olga = managers.get(MANAGER)  # read by the caller, in the request's session
        assert olga.enabled
        managers.set_enabled(UnitOfWork(), MANAGER, False)
        with pytest.raises(ManagerDisabled):
            if use_case == "force_close":
                service.force_close(UnitOfWork(), store, session_id, D(0), "why", olga)
            else:
                service.approve_closing(UnitOfWork(), session_id, olga, None)


def test_a_use_case_reads_in_its_unit_of_work_not_in_the_callers_read_transaction(app, store):
    """A caller (a view) may hold a read transaction begun before a cashier was added: the
    open reads the cashier where it writes, and finds it."""
    with app.app_context():
        db.session.scalar(select(Store.id))  # the caller's read transaction, begun now
        profile = cashiers.create(UnitOfWork(), "bea", PASSWORD, store_id=store)
        assert opened(store, profile).pos_profile_id == profile


@pytest.mark.parametrize("refusal", [None, ProfileNotFound, InvalidPassword])
@pytest.mark.parametrize("use_case", ["open_session", "close_session"])
def test_a_unit_of_work_gives_its_connection_back_however_the_use_case_ends(
    app, store, profile, use_case, refusal
):
    given = {
        "profile_id": "nosuchprofile00000000000" if refusal is ProfileNotFound else profile,
        "password": "wrong" if refusal is InvalidPassword else PASSWORD,
        "opening_cash" if use_case == "open_session" else "closing_cash": D(1),
    }
    with app.app_context():
        if use_case == "close_session":
            opened(store, profile)
        try:
            getattr(service, use_case)(UnitOfWork(), store, "t", **given)
        except Exception as err:
            assert type(err) is refusal
        else:
            assert refusal is None
        assert db.engine.pool.checkedout() == 0


def test_a_write_refused_as_it_begins_gives_its_connection_back(app, store, profile, headers):
    """A store-scoped write reads its token again under the write lock: one revoked since the
    request's check is refused there, before the use case's first statement."""
    with app.app_context():
        session_id = opened(store, profile).id
    with app.test_request_context(headers=headers):
        verify_jwt_in_request()
        revoke_tokens(get_jwt()["jti"])
        held = db.engine.pool.checkedout()  # the request's read transaction (the token check)
        uow = ScopedUnitOfWork()  # kept, as the view that made it keeps it till the answer
        with pytest.raises(TokenRevoked):
            service.record_movement(
                uow, store, "t", session_id, kind="sale", amount=D(1), note=None
            )
        assert db.engine.pool.checkedout() == held


@sqlite_only
def test_a_write_that_waits_too_long_for_the_lock_gives_its_connection_back(
    app, store, database_url
):
    writer = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    with app.app_context():
        uow = UnitOfWork()
        uow.session.connection().exec_driver_sql("PRAGMA busy_timeout=50")  # not production's 5 s
        writer.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(DatabaseBusy):
                update_store(uow, store, name="Harbour")
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert db.engine.pool.checkedout() == 0


def test_one_unit_of_work_serves_one_use_case_after_another(app):
    uow = UnitOfWork()
    with app.app_context():
        store = create_store(uow, name="Main Street")
        assert update_store(uow, store, name="Harbour").name == "Harbour"
        assert db.session.get(Store, store).name == "Harbour"


def test_a_use_case_goes_through_its_unit_of_work_only_and_says_when_it_is_done():
    """A rule handed ``uow`` reads and writes through ``uow.session`` (never the request's
    ``db.session``) and ends with ``uow.done()``: ``commit()`` always commits, and an
    idempotent request's effect must wait for its answer."""
    for path in RULES:
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef):
                continue
            if "uow" not in {arg.arg for arg in function.args.args}:
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Attribute):
                    where = (path.name, function.name)
                    assert node.attr != "commit", where
                    assert ast.unparse(node) != "db.session", where
    # The session rules have nothing but the unit of work to read through.
    assert "db.session" not in (ROOT / "app/sessions/service.py").read_text()
