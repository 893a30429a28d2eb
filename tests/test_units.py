"""Below HTTP: the money type, the cursor, the cash summary and the rules with a unit of work."""

from datetime import datetime
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from app.api.schemas import Cursor, MoneyField
from app.exceptions import (
    InvalidPassword,
    NoOpenSession,
    ProfileNotFound,
    SessionAlreadyOpen,
    SessionClosed,
    TooManyAttempts,
)
from app.machinery.database import UnitOfWork
from app.models import MoneyColumn, PosSession
from app.sessions import queries, service
from tests.helpers import PASSWORD

D = Decimal


@pytest.mark.parametrize("amount, cents", [(D("0.1"), 10), (D("12.5"), 1250), (15000, 1500000)])
def test_money_column_keeps_exact_cents(amount, cents):
    column = MoneyColumn()
    assert column.process_bind_param(amount, None) == cents
    assert column.process_result_value(cents, None) == D(amount)


def test_money_column_refuses_a_third_decimal():
    with pytest.raises(ValueError):
        MoneyColumn().process_bind_param(D("0.001"), None)


def test_money_field_reads_and_writes_the_same_number():
    field = MoneyField()
    assert field.deserialize(D("12.50")) == D("12.50")
    assert field.serialize("v", {"v": D("12.50")}) == D("12.5")
    assert field.serialize("v", {"v": D("15000.00")}) == 15000
    for bad in (True, "15000", D("NaN"), D("0.001"), -1):
        with pytest.raises(ValidationError):
            field.deserialize(bad)


def test_the_cursor_round_trips_and_refuses_anything_else():
    position = (datetime(2026, 11, 24, 9, 30, 0, 123000), "abc123")
    field = Cursor()
    assert field.deserialize(field.serialize("c", {"c": position})) == position
    for bad in ("", "not-a-cursor", "MjAyNi0xMS0yNHxBQkM"):
        with pytest.raises(ValidationError):
            field.deserialize(bad)


def test_the_cash_summary_adds_and_subtracts_by_type(app, store, profile):
    with app.app_context():
        opened = service.open_session(
            UnitOfWork(), store, "t", profile_id=profile, password=PASSWORD, opening_cash=D(100)
        )
        for kind, amount in [
            ("sale", D("0.10")),
            ("sale", D("0.20")),
            ("refund", D("5")),
            ("pay_in", D("50")),
            ("pay_out", D("20.05")),
        ]:
            service.record_movement(
                UnitOfWork(), store, "t", opened.id, kind=kind, amount=amount, note=None
            )
        with UnitOfWork() as uow:
            summary = uow.session.execute(queries.summary_query(opened.id)).one()
    assert (summary.sales, summary.refunds, summary.pay_ins, summary.pay_outs) == (
        D("0.30"),
        D(5),
        D(50),
        D("20.05"),
    )
    assert summary.expected_cash == D("125.25")


def test_the_rules_raise_domain_errors(app, store, profile, make_store):
    opening = {"profile_id": profile, "password": PASSWORD, "opening_cash": D(1)}
    with app.app_context():
        with pytest.raises(ProfileNotFound):
            service.open_session(UnitOfWork(), make_store("other"), "t", **opening)
        with pytest.raises(InvalidPassword):
            service.open_session(UnitOfWork(), store, "t", **{**opening, "password": "no"})
        opened = service.open_session(UnitOfWork(), store, "t", **opening)
        with pytest.raises(SessionAlreadyOpen):
            service.open_session(UnitOfWork(), store, "t", **opening)
        closing = {"profile_id": profile, "password": PASSWORD, "closing_cash": D(3)}
        closed = service.close_session(UnitOfWork(), store, "t", **closing)
        assert closed.closing.difference == D(2)
        with pytest.raises(NoOpenSession):
            service.close_session(UnitOfWork(), store, "t", **closing)
        with pytest.raises(SessionClosed):
            service.record_movement(
                UnitOfWork(), store, "t", opened.id, kind="sale", amount=D(1), note=None
            )


def test_a_locked_profile_says_how_long_to_wait(app, store, profile):
    wrong = {"profile_id": profile, "password": "no", "opening_cash": D(1)}
    with app.app_context():
        for _ in range(app.config["LOCKOUT_ATTEMPTS"]):
            with pytest.raises(InvalidPassword):
                service.open_session(UnitOfWork(), store, "t", **wrong)
        with pytest.raises(TooManyAttempts) as locked:
            service.open_session(UnitOfWork(), store, "t", **{**wrong, "password": PASSWORD})
    assert 0 < locked.value.retry_after_seconds <= app.config["LOCKOUT_WINDOW_SECONDS"]


def test_leaving_a_unit_of_work_without_commit_writes_nothing(app, store, profile):
    with app.app_context():
        with UnitOfWork() as uow:
            uow.session.add(
                PosSession(pos_profile_id=profile, store_id=store, opening_cash=D(1), opened_by="t")
            )
            uow.session.flush()
        with UnitOfWork() as uow:
            assert uow.session.query(PosSession).count() == 0
