"""Journal test helpers: a shift recorded through the API, then journaled as the rules will
(once the rules call app.journal.record_* themselves, `journal_history` goes away)."""

import pytest
from sqlalchemy import select

from app import journal
from app.extensions import db
from app.models import CashMovement, JournalEntry, PosClosing, PosSession
from tests.helpers import close_shift, move, open_shift


@pytest.fixture
def instance(app, tmp_path):
    """Keys and the signed head go to a folder of the test's own, not the repository's."""
    app.instance_path = str(tmp_path / "instance")
    (tmp_path / "instance").mkdir()
    return tmp_path / "instance"


def journal_history(app) -> None:
    """Append an entry for every session, movement and closing not yet journaled, in order."""
    with app.app_context():
        done = set(db.session.execute(select(JournalEntry.session_id, JournalEntry.data)))
        facts = [(s.created_at, 0, s, journal.record_session_opened) for s in _all(PosSession)]
        facts += [(m.created_at, 1, m, journal.record_movement) for m in _all(CashMovement)]
        facts += [(c.created_at, 2, c, journal.record_session_closed) for c in _all(PosClosing)]
        for _at, _rank, row, record in sorted(facts, key=lambda f: f[:2]):
            data = {
                journal.record_session_opened: journal.session_opened_data,
                journal.record_movement: journal.movement_data,
                journal.record_session_closed: journal.closing_data,
            }[record](row)
            session_id = getattr(row, "pos_session_id", row.id)
            if (session_id, journal.canonical(data)) not in done:
                record(db.session, row)
                db.session.commit()


def _all(model):
    return db.session.scalars(select(model)).all()


def a_day(app, client, headers, profile) -> str:
    """Open, three movements, close: five facts. Returns the session id."""
    session_id = open_shift(client, headers, profile, cash=150)["id"]
    for kind, amount in (("sale", 12.5), ("refund", 2), ("pay_out", 20.25)):
        assert move(client, headers, session_id, kind, amount).status_code == 201
    close_shift(client, headers, profile, cash=140)
    journal_history(app)
    return session_id
