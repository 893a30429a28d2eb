"""SQLite is set up properly, and the database itself refuses a second open session."""

import sqlite3
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PosSession
from app.sessions import service
from tests.helpers import CREATE, sqlite_only


@sqlite_only
def test_every_connection_gets_the_pragmas(app):
    with app.app_context(), db.engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 2,
    }


@sqlite_only
def test_create_session_begins_immediate(client, headers, open_body, sql_log):
    assert client.post(CREATE, json=open_body, headers=headers).status_code == 200

    assert "BEGIN IMMEDIATE" in sql_log
    insert = next(i for i, s in enumerate(sql_log) if s.startswith("INSERT INTO POS_SESSION"))
    start = max(i for i, s in enumerate(sql_log[:insert]) if s.startswith("BEGIN"))
    transaction = sql_log[start:insert]
    # The exclusivity check and the insert both run inside one IMMEDIATE transaction.
    assert transaction[0] == "BEGIN IMMEDIATE"
    assert any(s.startswith("SELECT") and "FROM POS_SESSION" in s for s in transaction)


@sqlite_only
@pytest.mark.parametrize(
    "path",
    ["/pos-session/profiles", "/pos-session/session-status/x", "/pos-session/current-session/x"],
)
def test_single_statement_reads_take_no_lock_and_open_no_transaction(
    client, headers, sql_log, path
):
    assert client.get(path, headers=headers).status_code == 200
    assert sql_log and not any(s.startswith("BEGIN") for s in sql_log)
    assert not any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in sql_log)


@sqlite_only
def test_a_report_reads_in_one_transaction(client, headers, open_body, sql_log):
    opened = client.post(CREATE, json=open_body, headers=headers).get_json()["data"][0]
    sql_log.clear()
    assert client.get(f"/pos-session/sessions/{opened['id']}", headers=headers).status_code == 200
    # The session, its movements and its totals are read from one snapshot.
    assert sql_log[0] == "BEGIN" and len(sql_log) > 3


def test_database_refuses_a_second_open_session_even_bypassing_the_service(
    app, client, headers, open_body, profile, store
):
    assert client.post(CREATE, json=open_body, headers=headers).status_code == 200
    with app.app_context():
        db.session.add(
            PosSession(pos_profile_id=profile, store_id=store, opening_cash=1, opened_by="rogue")
        )
        with pytest.raises(IntegrityError, match="(?i)unique"):
            db.session.commit()
        db.session.rollback()
        # A closed session does not count: history may hold any number of them.
        db.session.execute(
            text("UPDATE pos_session SET pos_closing_id = 'closed000000000000000000'")
        )
        db.session.add(
            PosSession(pos_profile_id=profile, store_id=store, opening_cash=1, opened_by="next")
        )
        db.session.commit()


def test_index_violation_is_answered_400_not_500(client, headers, open_body, monkeypatch):
    assert client.post(CREATE, json=open_body, headers=headers).status_code == 200
    # Break the service's own check, as a bug would: the index still says no.
    monkeypatch.setattr(service, "on_a_session", lambda *a, **k: False)

    response = client.post(CREATE, json=open_body, headers=headers)

    assert response.status_code == 400
    assert response.get_json() == {"message": "Session already open", "statusCode": 400}


@sqlite_only
def test_reads_answer_while_another_connection_holds_the_write_lock(
    app, client, headers, profile, open_body
):
    assert client.post(CREATE, json=open_body, headers=headers).status_code == 200
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE store SET name = 'renamed'")
    answers = {}

    def read_all():
        for route in ("profiles", f"session-status/{profile}", f"current-session/{profile}"):
            answers[route] = client.get(f"/pos-session/{route}", headers=headers).status_code

    try:
        # A read that asked for the write lock would wait out busy_timeout (5 s) and fail
        # "database is locked"; the writer holds the lock until every read has answered.
        reader = threading.Thread(target=read_all)
        reader.start()
        reader.join(timeout=60)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert set(answers.values()) == {200}


@sqlite_only
def test_a_unit_of_work_not_durable_skips_only_its_own_disk_flush(app):
    """synchronous NORMAL (1) for it alone; every other transaction, on whichever pooled
    connection, commits with FULL (2)."""
    with app.app_context():
        for _ in range(8):  # enough to come back to the same pooled connections
            with UnitOfWork(durable=False) as uow:
                assert uow.session.execute(text("PRAGMA synchronous")).scalar() == 1
            with UnitOfWork() as uow:
                assert uow.session.execute(text("PRAGMA synchronous")).scalar() == 2


def test_the_password_check_in_flight_is_the_one_write_not_durable(
    client, headers, open_body, monkeypatch
):
    kinds = []
    real_enter = UnitOfWork.__enter__

    def enter(uow):
        kinds.append(uow.durable)
        return real_enter(uow)

    monkeypatch.setattr(UnitOfWork, "__enter__", enter)
    assert client.post(CREATE, json=open_body, headers=headers).status_code == 200
    assert kinds == [False, True]  # the check begins; the session opens (and the check ends)
