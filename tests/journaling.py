"""Journal test helpers: the journal's own folder, a shift recorded through the API, and the
periods a store's closings are for."""

from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers import close_shift, move, open_shift


@pytest.fixture
def instance(app):
    """The test's own folder of the journal's key and signed head (conftest's app sets it)."""
    return Path(app.config["JOURNAL_DIR"])


def a_day(client, headers, profile) -> str:
    """Open, three movements, close: five facts. Returns the session id."""
    session_id = open_shift(client, headers, profile, cash=150)["id"]
    for kind, amount in (("sale", 12.5), ("refund", 2), ("pay_out", 20.25)):
        assert move(client, headers, session_id, kind, amount).status_code == 201
    close_shift(client, headers, profile, cash=140)
    return session_id


def ended_periods(since: datetime, by: datetime) -> list[tuple[str, str]]:
    """The months, then the years, from the one ``since`` is in to the last ended by ``by``, of
    a store in UTC with days from midnight (the tests' store): those closing every ended period
    records, in its order."""
    months, (year, month) = [], (since.year, since.month)
    while (year, month) < (by.year, by.month):
        months.append(("month", f"{year}-{month:02d}"))
        year, month = year + month // 12, month % 12 + 1
    return months + [("year", str(year)) for year in range(since.year, by.year)]
