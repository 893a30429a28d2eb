"""A store's accounting settings: its country and chart of accounts, the account of each
figure and tender (each chart's defaults until the owner changes one), its journal code, its
master data, and the owner's confirmation, which any later change clears: no file is written
from settings nobody confirmed.

What the owner types, on the page or the command line, is ``app.owner_input``'s
``AccountingSettingsSchema``, loaded by the edges before they call ``save_settings``.
"""

from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from ..exceptions import (
    AccountingNotConfirmed,
    AccountingSettingsIncomplete,
    AccountingSettingsMissing,
    FormatNotForCountry,
    InvalidInput,
)
from ..machinery.database import UnitOfWork
from ..models import CASH, AccountingSettings, Tender, utcnow
from ..stores import find_store

# What each figure of a Z is posted to (a tender's own account is the other side).
FIGURES = ("sales", "refunds", "pay_ins", "pay_outs", "drops", "over", "short")
# Each chart's accounts: the figures', then each kind of tender's (cash is built in).
CHARTS = {
    "PCG": SimpleNamespace(
        country="FR",
        journal_code="CA",
        figures={
            "sales": "707",
            "refunds": "709",
            "pay_ins": "580",
            "pay_outs": "580",
            "drops": "531",
            "over": "758",
            "short": "658",
        },
        tenders={
            "cash": "530",
            "card": "5115",
            "cheque": "5112",
            "voucher": "5118",
            "other": "5118",
        },
    ),
    "SKR03": SimpleNamespace(
        country="DE",
        journal_code="KA",
        figures={
            "sales": "8400",
            # Erlösschmälerungen 19 % USt: reverses the VAT 8400 took out (8700 carries none).
            "refunds": "8720",
            "pay_ins": "1890",
            "pay_outs": "1800",
            "drops": "1010",
            "over": "2700",
            "short": "4900",
        },
        tenders={
            "cash": "1000",
            "card": "1360",
            "cheque": "1330",
            "voucher": "1360",
            "other": "1360",
        },
    ),
    "SKR04": SimpleNamespace(
        country="DE",
        journal_code="KA",
        figures={
            "sales": "4400",
            "refunds": "4720",  # as SKR03's 8720, beside 4400
            "pay_ins": "2180",
            "pay_outs": "2100",
            "drops": "1610",
            "over": "4830",
            "short": "6300",
        },
        tenders={
            "cash": "1600",
            "card": "1460",
            "cheque": "1550",
            "voucher": "1460",
            "other": "1460",
        },
    ),
}
COUNTRIES = {"FR": "PCG", "DE": "SKR03"}  # a country's chart when none is given
ALPHA3 = {"FR": "FRA", "DE": "DEU"}
FORMAT_COUNTRY = {"fec": "FR", "datev": "DE", "dsfinvk": "DE"}
# What each format needs of the settings besides the accounts.
NEEDED = {
    "fec": ("siren",),
    "datev": ("datev_consultant", "datev_client"),
    "dsfinvk": ("company_name", "street", "postcode", "city", "tax_number"),
}
MASTER = ("company_name", "street", "postcode", "city", "country", "tax_number", "vat_id")
TEXTS = ("company_name", "street", "postcode", "city", "tax_number", "vat_id")
NUMBERS = ("datev_consultant", "datev_client", "fiscal_year_start")


def settings_of(tx, store_id: str) -> AccountingSettings | None:
    return tx.get(AccountingSettings, store_id)


def shown_settings(tx, store_id: str) -> AccountingSettings:
    """The store's settings, or the ones a new store would get (France's, unsaved)."""
    return settings_of(tx, store_id) or _new(store_id, "PCG")


def _new(store_id: str, chart: str) -> AccountingSettings:
    defaults = CHARTS[chart]
    return AccountingSettings(
        store_id=store_id,
        country=defaults.country,
        chart=chart,
        accounts={**defaults.figures, "tenders": {}},
        journal_code=defaults.journal_code,
        fiscal_year_start=1,
    )


def save_settings(uow: UnitOfWork, store_id: str, values: dict) -> AccountingSettings:
    """Change what ``values`` gives (loaded by ``SettingsSchema``); a new chart brings its
    accounts and journal code unless given too. Any change clears the confirmation."""
    with uow:
        tx = uow.session
        find_store(tx, store_id)
        row = settings_of(tx, store_id)
        before = row and _state(row)
        chart = values.get("chart") or (row.chart if row else "PCG")
        if (
            "country" in values
            and "chart" not in values
            and CHARTS[chart].country != values["country"]
        ):
            chart = COUNTRIES[values["country"]]
        if row is None:
            row = _new(store_id, chart)
            tx.add(row)
        elif chart != row.chart:
            fresh = _new(store_id, chart)
            row.chart, row.country = fresh.chart, fresh.country
            row.accounts, row.journal_code = fresh.accounts, fresh.journal_code
        if "country" in values:
            row.country = values["country"]
        accounts = {**row.accounts, **values.get("accounts", {})}
        accounts["tenders"] = {
            **row.accounts.get("tenders", {}),
            **values.get("tender_accounts", {}),
        }
        row.accounts = accounts
        for key in ("journal_code", *TEXTS, "siren", *NUMBERS):
            if key in values:
                setattr(row, key, values[key] if values[key] != "" else None)
        _check(row)
        if _state(row) != before:
            row.confirmed_by = row.confirmed_at = None
        uow.done()
    return row


def _state(row: AccountingSettings) -> tuple:
    keys = ("country", "chart", "accounts", "journal_code", "siren", *TEXTS, *NUMBERS)
    return tuple(getattr(row, key) for key in keys)


def _check(row: AccountingSettings) -> None:
    """What one field alone cannot say: the chart is the country's, and DATEV's accounts all
    have one length (its header names it)."""
    if CHARTS[row.chart].country != row.country:
        raise InvalidInput({"chart": [f"{row.chart} is not a chart of {row.country}."]})
    if row.country == "DE":
        lengths = {len(n) for n in _numbers(row.accounts)}
        if len(lengths) > 1 or not lengths <= set(range(4, 9)):
            raise InvalidInput(
                {"accounts": ["DATEV needs every account of one length, 4 to 8 digits."]}
            )


def _numbers(accounts: dict) -> list[str]:
    return [*(accounts[f] for f in FIGURES), *accounts.get("tenders", {}).values()]


def confirm_settings(uow: UnitOfWork, store_id: str, by: str) -> AccountingSettings:
    """The owner confirms the settings as they are (the defaults saved if none were)."""
    with uow:
        tx = uow.session
        find_store(tx, store_id)
        row = settings_of(tx, store_id)
        if row is None:
            row = _new(store_id, "PCG")
            tx.add(row)
        row.confirmed_by, row.confirmed_at = by, utcnow()
        uow.done()
    return row


def tender_account(row: AccountingSettings, code: str, kind: str) -> str:
    """The tender's own account, else its kind's in the chart."""
    return row.accounts.get("tenders", {}).get(code) or CHARTS[row.chart].tenders[kind]


def tender_accounts(tx, row: AccountingSettings) -> dict[str, tuple[str, str]]:
    """``{code: (name, account)}`` of cash and every tender the store added."""
    tenders = tx.scalars(
        select(Tender).where(Tender.store_id == row.store_id).order_by(Tender.created_at, Tender.id)
    )
    return {
        CASH: ("Cash", tender_account(row, CASH, CASH)),
        **{t.code: (t.name, tender_account(row, t.code, t.kind)) for t in tenders},
    }


def ready_settings(tx, store_id: str, fmt: str) -> AccountingSettings:
    """The settings an export of ``fmt`` is written from: saved, confirmed, of the format's
    country and with what it names; else the reason why not."""
    row = settings_of(tx, store_id)
    if row is None:
        raise AccountingSettingsMissing()
    if row.confirmed_at is None:
        raise AccountingNotConfirmed()
    if row.country != FORMAT_COUNTRY[fmt]:
        raise FormatNotForCountry(fmt, FORMAT_COUNTRY[fmt])
    missing = [key for key in NEEDED[fmt] if getattr(row, key) in (None, "")]
    if missing:
        raise AccountingSettingsIncomplete(missing)
    return row


def fiscal_year(row: AccountingSettings, day: date) -> tuple[date, date]:
    """The first and last days of the fiscal year ``day`` is in: it starts on the 1st of the
    settings' month (January unless the owner set another)."""
    start = row.fiscal_year_start
    first = date(day.year - (day.month < start), start, 1)
    return first, date(first.year + 1, start, 1) - timedelta(days=1)


def master(row: AccountingSettings) -> dict:
    """The master data the DSFinV-K export names, as a plain mapping; its country is the
    ISO 3166 alpha-3 code DSFinV-K's LAND column takes."""
    data = {key: getattr(row, key) or "" for key in MASTER}
    return data | {"country": ALPHA3[row.country]}
