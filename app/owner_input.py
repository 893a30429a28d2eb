"""What the owner types, on the back-office page or the command line: the schemas both edges
load before they call the rules, which take the typed values and check nothing of their form
(the terminal API's schemas are in ``app/api/schemas.py``).

A refusal is ``InvalidInput``, a message per field: the page shows it next to the field, the
CLI prints it (exit status 1).
"""

import re
import unicodedata
from functools import cache
from zoneinfo import available_timezones

from babel.numbers import list_currencies
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from .accounting.settings import CHARTS, COUNTRIES, FIGURES
from .exceptions import InvalidInput
from .models import TENDER_CODE, TENDER_KINDS, clean_name
from .people.passwords import password_problem

NAME_MAX = 120


def load(schema: Schema, data: dict, partial: bool = False) -> dict:
    """The typed values of ``data``, or InvalidInput with the messages by field."""
    try:
        return schema.load(data, partial=partial)
    except ValidationError as err:
        errors = {field: list(messages) for field, messages in err.normalized_messages().items()}
        raise InvalidInput(errors) from None


class Name(fields.String):
    """A person's or store's name: trimmed, not empty, at most 120 characters."""

    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(1, NAME_MAX, error=_NAME_LENGTH), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        name = clean_name(super()._deserialize(value, attr, data, **kwargs))
        # A line break would forge a row of the CLI's tables, an escape reach the admin's terminal.
        if any(unicodedata.category(ch) == "Cc" for ch in name):
            raise ValidationError(_NAME_CONTROL)
        return name


_NAME_LENGTH = f"Enter a name of 1 to {NAME_MAX} characters."
_NAME_CONTROL = "A name cannot hold a control character (a line break, a tab, an escape)."


class Password(fields.String):
    """The one password rule of ``app.people.passwords``, for a password being set."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        value = super()._deserialize(value, attr, data, **kwargs)
        if problem := password_problem(value, new=True):
            raise ValidationError(problem)
        return value


class DayStart(fields.Field):
    """When the business day starts: "HH:MM" or a number of minutes after midnight."""

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        text = str(value).strip()
        if match := re.fullmatch(r"(\d{1,2}):(\d{2})", text):
            hours, minutes = map(int, match.groups())
            if hours < 24 and minutes < 60:
                return hours * 60 + minutes
        elif text.isdigit() and int(text) < 24 * 60:
            return int(text)
        raise ValidationError("Enter a time of day such as 04:00.")


# Names unlike the API's schemas: marshmallow (and so /openapi.json) knows schemas by class name.
class NewCashierSchema(Schema):
    name = Name(required=True)
    password = Password(required=True)


class RenameSchema(Schema):
    name = Name(required=True)


class PasswordSchema(Schema):
    password = Password(required=True)


class SignInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, error="Enter your name."))
    password = Password(required=True)


class ManagerSchema(Schema):
    name = Name(required=True)
    password = Password(required=True)
    stores = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class ReasonSchema(Schema):
    """A reason a pay-in or pay-out may name, as the terminal will send it."""

    name = Name(required=True, data_key="reason")


class StoreSettingsSchema(Schema):
    """A store's settings; every field has its default when a store is created."""

    name = Name(required=True)
    timezone = fields.String(load_default="UTC")
    day_start_minutes = DayStart(data_key="day_start", load_default=0)
    stale_after_hours = fields.Integer(
        load_default=16,
        validate=validate.Range(1, 168, error="Enter a number of hours from 1 to 168."),
    )
    # Display only: amounts are plain decimals everywhere else. EUR as the default because the
    # box has to show some code and most of its first shops are in the euro area; `store set`
    # changes it.
    currency = fields.String(load_default="EUR")

    @validates("timezone")
    def _zone(self, value, **kwargs):
        if value not in _zones():
            raise ValidationError("Enter a time zone such as Europe/Paris or America/New_York.")

    @validates("currency")
    def _currency(self, value, **kwargs):
        # Babel's: the codes it has digits for (app.stores.places), so an amount is checked
        # against the currency's own and not against a default.
        if value not in list_currencies():
            raise ValidationError(
                f"{value!r} is not a currency code: enter one such as EUR, USD or JPY."
            )


_KIND_ERROR = "Choose card, voucher, cheque or other."


class TenderSchema(Schema):
    """A tender the owner adds: its kind, its name, and the code terminals send (the kind's
    name unless given)."""

    kind = fields.String(
        required=True,
        validate=validate.OneOf(TENDER_KINDS, error=_KIND_ERROR),
        error_messages={"required": _KIND_ERROR},
    )
    name = Name(required=True)
    code = fields.String(
        validate=validate.Regexp(
            TENDER_CODE,
            error="Enter a code of small letters, digits, - and _, starting with a letter.",
        )
    )

    @post_load
    def _code(self, data, **kwargs):
        data.setdefault("code", data["kind"])
        return data


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


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


class AccountingSettingsSchema(Schema):
    """A store's accounting settings (app.accounting.settings); every field may be left out
    (it keeps its value), an empty text clears it. ``accounts``: {figure: number};
    ``tender_accounts``: {tender code: number}."""

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
    fiscal_year_start = fields.Integer(
        validate=validate.Range(1, 12, error="Enter the fiscal year's first month, 1 to 12.")
    )

    @validates("siren")
    def _siren(self, value, **kwargs):
        if value and not siren_valid(value):
            raise ValidationError(
                "Enter the SIREN: 9 digits, as on the Kbis (its check digit fails)."
            )
