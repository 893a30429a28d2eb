"""The stores and their settings (name, time zone, business day, staleness, currency, the
notes and coins a count may name, the reasons a pay-in or pay-out may name), and their
tenders: cash, built in, and the ones the owner adds, disabled but never deleted.

The edges load the settings (``app.owner_input.StoreSettingsSchema``) and hand these rules the
typed values; a write reads and writes through the unit of work it is handed and tells it when
it is done (``uow.done()``). ``get_store`` is a read for the pages, in the request's session.

The notes and coins a cash count may name: a table per currency for the common ones, which a
store may replace with its own list (``Store.denominations``). Babel gives each currency's
digits (its minor unit), so no value finer than the currency's coins is taken.
"""

from decimal import Decimal
from types import SimpleNamespace

from babel.numbers import get_currency_precision
from sqlalchemy import select

from .exceptions import (
    InvalidInput,
    NameTaken,
    StoreNotFound,
    TenderDisabled,
    UnknownDenomination,
    UnknownTender,
)
from .machinery.database import UnitOfWork
from .machinery.extensions import db
from .models import CASH, MovementReason, Store, Tender


def create_store(uow: UnitOfWork, **settings) -> str:
    """A new store with the settings given; the others take the model's defaults."""
    with uow:
        store = Store(**settings)
        uow.session.add(store)
        uow.done()
    return store.id


def update_store(uow: UnitOfWork, store_id: str, **settings) -> Store:
    """Change the settings given; the others keep their value."""
    with uow:
        store = find_store(uow.session, store_id)
        for key, value in settings.items():
            setattr(store, key, value)
        uow.done()
    return store


def get_store(store_id: str) -> Store:
    return find_store(db.session, store_id)


def find_store(tx, store_id: str) -> Store:
    store = tx.get(Store, store_id)
    if store is None:
        raise StoreNotFound()
    return store


def set_denominations(uow: UnitOfWork, store_id: str, typed: str | None) -> list[str]:
    """The store's own notes and coins, as typed ("50,20,10,0.50"), checked against its
    currency's digits; None: back to its currency's common ones. Returns the list in force, as
    ``shown_denominations``."""
    with uow:
        store = find_store(uow.session, store_id)
        store.denominations = None if typed is None else parse_denominations(typed, store.currency)
        uow.done()
    return shown_denominations(store.currency, store.denominations)


def add_reason(uow: UnitOfWork, store_id: str, name: str) -> None:
    """Add a reason to the store's list (the edges load ``ReasonSchema``); one already there
    stays as it is."""
    with uow:
        find_store(uow.session, store_id)
        if uow.session.get(MovementReason, (store_id, name)) is None:
            uow.session.add(MovementReason(store_id=store_id, name=name))
        uow.done()


def remove_reason(uow: UnitOfWork, store_id: str, name: str) -> bool:
    """Take a reason off the list: movements that named it keep it. False if it was not there."""
    with uow:
        reason = uow.session.get(MovementReason, (find_store(uow.session, store_id).id, name))
        if reason is not None:
            uow.session.delete(reason)
        uow.done()
    return reason is not None


def movement_reasons(store_id: str) -> list[str]:
    """The store's reasons, alphabetical."""
    query = select(MovementReason.name).where(MovementReason.store_id == store_id)
    return list(db.session.scalars(query.order_by(MovementReason.name)))


def add_tender(uow: UnitOfWork, store_id: str, *, code: str, kind: str, name: str) -> Tender:
    """A new tender of the store, enabled; its code is the one movements and counts send."""
    with uow:
        find_store(uow.session, store_id)
        if code == CASH or _tender(uow.session, store_id, code) is not None:
            raise NameTaken("code")
        tender = Tender(store_id=store_id, code=code, kind=kind, name=name)
        uow.session.add(tender)
        uow.done()
    return tender


def set_tender_enabled(uow: UnitOfWork, store_id: str, code: str, enabled: bool) -> Tender:
    """Disable a tender (no new movement may name it; its history stays) or enable it again."""
    with uow:
        tender = _tender(uow.session, store_id, code)
        if tender is None:
            raise UnknownTender()
        tender.enabled = enabled
        uow.done()
    return tender


def store_tenders(store_id: str, with_cash: bool = False) -> list[Tender]:
    """The tenders the owner added, in the order added; ``with_cash``: cash, built in, first."""
    added = db.session.scalars(
        select(Tender).where(Tender.store_id == store_id).order_by(Tender.created_at, Tender.id)
    ).all()
    return [CASH_TENDER, *added] if with_cash else list(added)


CASH_TENDER = SimpleNamespace(code=CASH, kind=CASH, name="Cash", enabled=True)


def enabled_tender(tx, store_id: str, code: str) -> None:
    """Refuse a code that is not one of the store's enabled tenders (cash always is)."""
    if code == CASH:
        return
    tender = _tender(tx, store_id, code)
    if tender is None:
        raise UnknownTender()
    if not tender.enabled:
        raise TenderDisabled()


def _tender(tx, store_id: str, code: str) -> Tender | None:
    return tx.scalar(select(Tender).where(Tender.store_id == store_id, Tender.code == code))


def _values(*texts: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(text) for text in texts)


# Largest first: notes, then coins, as they are in circulation: each currency's current series
# from its central bank (the notes) and its mint (the coins), without the ones withdrawn
# (Canada's and Australia's cents, Norway's and Sweden's øre, the Czech haléř).
COMMON = {
    "EUR": _values(
        "500",
        "200",
        "100",
        "50",
        "20",
        "10",
        "5",
        "2",
        "1",
        "0.50",
        "0.20",
        "0.10",
        "0.05",
        "0.02",
        "0.01",
    ),
    "USD": _values("100", "50", "20", "10", "5", "2", "1", "0.50", "0.25", "0.10", "0.05", "0.01"),
    "GBP": _values("50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01"),
    "CHF": _values(
        "1000", "200", "100", "50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05"
    ),
    "JPY": _values("10000", "5000", "2000", "1000", "500", "100", "50", "10", "5", "1"),
    "CAD": _values("100", "50", "20", "10", "5", "2", "1", "0.50", "0.25", "0.10", "0.05"),
    "AUD": _values("100", "50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05"),
    "SEK": _values("1000", "500", "200", "100", "50", "20", "10", "5", "2", "1"),
    "NOK": _values("1000", "500", "200", "100", "50", "20", "10", "5", "1"),
    "DKK": _values("1000", "500", "200", "100", "50", "20", "10", "5", "2", "1", "0.50"),
    "PLN": _values(
        "500",
        "200",
        "100",
        "50",
        "20",
        "10",
        "5",
        "2",
        "1",
        "0.50",
        "0.20",
        "0.10",
        "0.05",
        "0.02",
        "0.01",
    ),
    "CZK": _values("5000", "2000", "1000", "500", "200", "100", "50", "20", "10", "5", "2", "1"),
}


def store_denominations(currency: str, own: str | None) -> tuple[Decimal, ...]:
    """The store's list (kept as the text ``parse`` gives), else its currency's common ones;
    empty for a currency without a table and no list of the store's own."""
    if own is not None:
        return _values(*own.split(","))
    return COMMON.get(currency, ())


def places(currency: str) -> int:
    """The currency's digits (Babel's), two at most: money is kept in cents
    (app.models.MoneyColumn), so a finer coin could never be counted."""
    return min(get_currency_precision(currency), 2)


def shown_denominations(currency: str, own: str | None) -> list[str]:
    """The list in force as the owner reads and types it: with the currency's digits ("10000"
    for the yen, "0.50" for the euro), so that it is taken back as it is shown."""
    digits = places(currency)
    return [f"{value:.{digits}f}" for value in store_denominations(currency, own)]


def parse_denominations(text: str, currency: str) -> str:
    """A store's own list, as typed ("50,20,10,5,0.50"), checked and kept largest first: each a
    positive amount with no more digits than the currency has (``places``), no value twice."""
    digits = places(currency)
    values = set()
    for part in text.split(","):
        try:
            value = Decimal(part.strip())
        except ArithmeticError:
            raise InvalidInput({"denominations": [f"{part.strip()!r} is not an amount."]}) from None
        if not value.is_finite() or value <= 0 or -value.as_tuple().exponent > digits:
            raise InvalidInput(
                {
                    "denominations": [
                        f"{part.strip()} is not a {currency} note or coin "
                        f"(positive, at most {digits} decimal places)."
                    ]
                }
            )
        if value in values:
            raise InvalidInput({"denominations": [f"{part.strip()} is there twice."]})
        values.add(value)
    return ",".join(format(value, "f") for value in sorted(values, reverse=True))


def checked_count(lines: list[dict], currency: str, own: str | None) -> list[dict]:
    """A count's lines (value, count) each naming one of the store's denominations, as stored:
    largest first, each value a money text."""
    known = set(store_denominations(currency, own))
    for line in lines:
        if line["value"] not in known:
            raise UnknownDenomination()
    ordered = sorted(lines, key=lambda line: line["value"], reverse=True)
    return [{"value": f"{line['value']:.2f}", "count": line["count"]} for line in ordered]
