"""An export: the file of a range of business days in one format, built from the journal once
the settings are confirmed and every Z's postings check (``prepare``, which writes nothing),
then journaled as handed out (``record_export``) with its SHA-256."""

import hashlib
from datetime import date
from typing import NamedTuple

from sqlalchemy import select

from ..exceptions import InvalidInput, NothingToPost, NoZInRange
from ..journal import EXPORTED, record
from ..machinery.database import UnitOfWork
from ..models import AccountingExport
from ..reports import MAX_RANGE_DAYS
from ..stores import find_store
from . import datev, dsfinvk, fec
from .postings import post, z_closings
from .settings import fiscal_year, master, ready_settings, tender_accounts

FORMATS = ("fec", "datev", "dsfinvk")


class Prepared(NamedTuple):
    format: str
    first: date
    last: date
    file_name: str
    data: bytes
    first_z: int
    last_z: int
    session_id: str  # the last Z's: the export's journal entry names it

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_range(fmt: str, first: date, last: date) -> None:
    if fmt not in FORMATS:
        raise InvalidInput({"format": [f"Choose one of {', '.join(FORMATS)}."]})
    if last < first:
        raise InvalidInput({"to": ["The last day comes before the first."]})
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidInput({"to": [f"At most {MAX_RANGE_DAYS} days at a time."]})


def check_fiscal_year(fmt: str, settings, first: date, last: date) -> None:
    """A FEC or DATEV batch is of one fiscal year, which the FEC's name and DATEV's header
    give."""
    start = fiscal_year(settings, first)[0]
    if fmt in ("datev", "fec") and fiscal_year(settings, last)[0] != start:
        name = "A DATEV batch" if fmt == "datev" else "A FEC"
        raise InvalidInput({"to": [f"{name} stays within one fiscal year (1 {start:%B} on)."]})


def prepare(tx, store_id: str, fmt: str, first: date, last: date) -> Prepared:
    """The file, or the reason there is none: a bad range, settings missing, unconfirmed,
    of another country or lacking what the format names, no Z, a Z that does not balance."""
    check_range(fmt, first, last)
    store = find_store(tx, store_id)
    settings = ready_settings(tx, store_id, fmt)
    check_fiscal_year(fmt, settings, first, last)
    zs = z_closings(tx, store, first, last)
    if not zs:
        raise NoZInRange()
    tenders = tender_accounts(tx, settings)
    for z in zs:  # every format: a Z whose entries do not add up to it is written by none
        post(z, settings, tenders)
    if fmt == "dsfinvk":
        name, data = dsfinvk.export(store, zs, tenders, first, last, master(settings))
    else:
        if not any(z.postings for z in zs):  # a file of headers only: the checkers refuse it
            raise NothingToPost()
        if fmt == "fec":
            name, data = fec.file_name(settings, last), fec.write(store, settings, zs, tenders)
        else:
            name = datev.file_name(first, last)
            data = datev.write(store, settings, zs, tenders, first, last)
    return Prepared(fmt, first, last, name, data, zs[0].number, zs[-1].number, zs[-1].session_id)


def record_export(uow: UnitOfWork, store_id: str, prepared: Prepared, by: str) -> AccountingExport:
    """Journal the file as handed out: who, when, its range, Zs, name and SHA-256."""
    with uow:
        row = AccountingExport(
            store_id=store_id,
            pos_session_id=prepared.session_id,
            format=prepared.format,
            first_day=prepared.first.isoformat(),
            last_day=prepared.last.isoformat(),
            first_z=prepared.first_z,
            last_z=prepared.last_z,
            file_name=prepared.file_name,
            sha256=prepared.sha256,
            exported_by=by,
        )
        uow.session.add(row)
        record(uow.session, EXPORTED, row)
        uow.done()
    return row


def exports_of(tx, store_id: str, limit: int = 20) -> list[AccountingExport]:
    """The store's last exports, newest first."""
    return tx.scalars(
        select(AccountingExport)
        .where(AccountingExport.store_id == store_id)
        .order_by(AccountingExport.created_at.desc(), AccountingExport.id)
        .limit(limit)
    ).all()
