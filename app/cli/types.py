"""What a command line may hold, checked by click before the command looks anything up: a
wrong value is a usage error naming the option (exit status 2)."""

from datetime import date
from decimal import Decimal

import click
from marshmallow import ValidationError

from ..api.schemas import TypedMoney
from ..backoffice.days import parse_day


class Money(click.ParamType):
    """An amount as typed, "152.30": the same rule as the API's and the page's amounts."""

    name = "amount"
    field = TypedMoney()

    def convert(self, value, param, ctx) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            return self.field.deserialize(value)
        except ValidationError as err:
            self.fail(" ".join(err.messages), param, ctx)


class Day(click.ParamType):
    """A business day, YYYY-MM-DD, within the years the reports can count (as the page's)."""

    name = "day"

    def convert(self, value, param, ctx) -> date:
        if isinstance(value, date):
            return value
        day = parse_day(value)
        if day is None:
            self.fail(f"Enter a date such as 2026-03-31, not {value!r}.", param, ctx)
        return day


MONEY = Money()
DAY = Day()
