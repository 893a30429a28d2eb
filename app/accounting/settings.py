"""A store's accounting settings: its country and chart of accounts, the account of each
figure and tender (each chart's defaults until the owner changes one), its journal code, its
master data, and the owner's confirmation, which any later change clears: no file is written
from settings nobody confirmed.

``SettingsSchema`` is what the owner types, on the page or the command line, loaded by the edges
before they call ``save_settings`` (as ``app.owner_input``'s schemas are).
"""

import re
import unicodedata
from types import SimpleNamespace

from marshmallow import Schema, ValidationError, fields, validate, validates
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
            "refunds": "8700",
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
            "refunds": "4700",
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
ACCOUNT = re.compile(r"[0-9]{3,9}")


class Accounts(fields.Field):
    """{name: account number}, each name one of ``names`` (None: any), each number 3 to 9
    digits; one flat message per wrong pair, so the page and the CLI show it as it is."""

    def __init__(self, names=None, **kwargs):
        super().__init__(**kwargs)
        self.names = names

    def _deserialize(self, value, attr, data, **kwargs) -> dict[str, str]:
        if not isinstance(value, dict):
            raise ValidationError("Give accounts as NAME=NUMBER.")
        wrong = [
            f"{name}: not one of {', '.join(self.names)}."
            if self.names is not None and name not in self.names
            else f"{name}: enter an account number of 3 to 9 digits."
            for name, number in value.items()
            if (self.names is not None and name not in self.names)
            or not isinstance(number, str)
            or not ACCOUNT.fullmatch(number)
        ]
        if wrong:
            raise ValidationError(wrong)
        return dict(value)


def _printable(value: str) -> None:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValidationError("This cannot hold a control character (a line break, a tab).")


def siren_valid(siren: str) -> bool:
    """Nine digits whose Luhn sum is a multiple of 10 (INSEE's check digit)."""
    if not re.fullmatch(r"[0-9]{9}", siren):
        return False
    digits = [int(d) * (2 if i % 2 else 1) for i, d in enumerate(siren)]
    return sum(d - 9 if d > 9 else d for d in digits) % 10 == 0


class SettingsSchema(Schema):
    """What the owner types; every field may be left out (it keeps its value), an empty text
    clears it. ``accounts``: {figure: number}; ``tender_accounts``: {tender code: number}."""

    country = fields.String(validate=validate.OneOf(COUNTRIES, error="Choose FR or DE."))
    chart = fields.String(
        validate=validate.OneOf(CHARTS, error="Choose PCG (France), SKR03 or SKR04 (Germany).")
    )
    accounts = Accounts(FIGURES)
    tender_accounts = Accounts()
    journal_code = fields.String(
        validate=validate.Regexp(
            r"^[A-Z0-9]{1,8}$(?!\n)", error="Enter 1 to 8 capital letters or digits, as in CA."
        )
    )
    siren = fields.String(allow_none=True)
    company_name = fields.String(allow_none=True, validate=[validate.Length(max=120), _printable])
    street = fields.String(allow_none=True, validate=[validate.Length(max=120), _printable])
    postcode = fields.String(allow_none=True, validate=[validate.Length(max=16), _printable])
    city = fields.String(allow_none=True, validate=[validate.Length(max=120), _printable])
    tax_number = fields.String(allow_none=True, validate=[validate.Length(max=32), _printable])
    vat_id = fields.String(allow_none=True, validate=[validate.Length(max=32), _printable])
    datev_consultant = fields.Integer(
        allow_none=True,
        validate=validate.Range(
            1001, 9999999, error="Enter DATEV's consultant number, 1001 to 9999999."
        ),
    )
    datev_client = fields.Integer(
        allow_none=True,
        validate=validate.Range(1, 99999, error="Enter DATEV's client number, 1 to 99999."),
    )

    @validates("siren")
    def _siren(self, value, **kwargs):
        if value and not siren_valid(value):
            raise ValidationError(
                "Enter the SIREN: 9 digits, as on the Kbis (its check digit fails)."
            )


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
        for key in ("journal_code", *TEXTS, "siren", "datev_consultant", "datev_client"):
            if key in values:
                setattr(row, key, values[key] if values[key] != "" else None)
        _check(row)
        if _state(row) != before:
            row.confirmed_by = row.confirmed_at = None
        uow.done()
    return row


def _state(row: AccountingSettings) -> tuple:
    keys = ("country", "chart", "accounts", "journal_code", "siren", *TEXTS)
    return tuple(getattr(row, key) for key in (*keys, "datev_consultant", "datev_client"))


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


def master(row: AccountingSettings) -> dict:
    """The master data the DSFinV-K export names, as a plain mapping; its country is the
    ISO 3166 alpha-3 code DSFinV-K's LAND column takes."""
    data = {key: getattr(row, key) or "" for key in MASTER}
    return data | {"country": ALPHA3[row.country]}
