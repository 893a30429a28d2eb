"""Journal test helpers: the journal's own folder, and a shift recorded through the API."""

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
