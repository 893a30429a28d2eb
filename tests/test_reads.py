from decimal import Decimal

import pytest
from sqlalchemy import text

from app.machinery.extensions import db
from app.sessions import queries
from tests.helpers import CREATE, PASSWORD


def open_session(client, headers, profile_id, cash=15000):
    """The session object as the reads show it: create-session's without its addition, the
    discrepancy at start (docs/api.md, item 20)."""
    body = {"profileId": profile_id, "openningCash": cash, "password": PASSWORD}
    response = client.post(CREATE, json=body, headers=headers)
    assert response.status_code == 200
    session = response.get_json()["data"][0]
    del session["discrepancyAtStart"]
    return session


class TestSessionStatus:
    def test_open(self, client, headers, profile):
        session = open_session(client, headers, profile)
        response = client.get(f"/pos-session/session-status/{profile}", headers=headers)

        assert response.status_code == 200
        assert response.get_json() == {"hasOpenSession": True, "session": session}

    def test_no_open_session(self, client, headers, profile):
        response = client.get(f"/pos-session/session-status/{profile}", headers=headers)
        assert response.get_json() == {"hasOpenSession": False, "session": None}

    def test_unknown_profile_answers_false(self, client, headers):
        response = client.get("/pos-session/session-status/nobody", headers=headers)
        assert response.status_code == 200
        assert response.get_json() == {"hasOpenSession": False, "session": None}


class TestCurrentSession:
    def test_open(self, client, headers, profile):
        session = open_session(client, headers, profile, cash=0.1)
        response = client.get(f"/pos-session/current-session/{profile}", headers=headers)

        assert response.status_code == 200
        assert response.get_json() == {"success": True, "data": session}
        assert session["openingCash"] == Decimal("0.1")

    def test_no_open_session(self, client, headers, profile):
        response = client.get(f"/pos-session/current-session/{profile}", headers=headers)
        assert response.get_json() == {"success": True, "data": None}

    def test_unknown_profile_answers_null(self, client, headers):
        response = client.get("/pos-session/current-session/nobody", headers=headers)
        assert response.get_json() == {"success": True, "data": None}


class TestProfiles:
    def test_every_profile_oldest_first_with_its_open_session(
        self, client, headers, store, make_profile
    ):
        names = ["ana", "zoe", "bob"]
        ids = [make_profile(store, name) for name in names]
        session = open_session(client, headers, ids[1])

        response = client.get("/pos-session/profiles", headers=headers)

        assert response.status_code == 200
        profiles = response.get_json()
        assert [p["name"] for p in profiles] == names
        assert [p["isOpened"] for p in profiles] == [False, True, False]
        assert [p["openSessionId"] for p in profiles] == [None, session["id"], None]
        assert set(profiles[0]) == {
            "id",
            "storeId",
            "name",
            "createdAt",
            "updatedAt",
            "openSessionId",
            "isOpened",
        }
        assert all(p["storeId"] == store for p in profiles)

    def test_empty_store_is_an_empty_list(self, client, headers):
        assert client.get("/pos-session/profiles", headers=headers).get_json() == []

    def test_one_query_however_many_profiles_and_none_while_nothing_changed(
        self, client, headers, store, make_profile, sql_log
    ):
        client.get("/pos-session/profiles", headers=headers)  # warm the worker's store cache
        for i in range(30):
            profile_id = make_profile(store, f"cashier-{i}")
            if i % 3 == 0:
                open_session(client, headers, profile_id)

        def selects():
            sql_log.clear()
            assert len(client.get("/pos-session/profiles", headers=headers).get_json()) == 30
            return [s for s in sql_log if s.startswith("SELECT")]

        # The token's row, the list's version, and the list in one query.
        changed = selects()
        assert len(changed) == 3 and sum("FROM POS_PROFILE" in s for s in changed) == 1
        # Nothing changed since: the list the worker keeps for this version.
        unchanged = selects()
        assert len(unchanged) == 2 and not any("FROM POS_PROFILE" in s for s in unchanged)


@pytest.mark.parametrize(
    "path",
    [
        "/pos-session/profiles",
        "/pos-session/session-status/{p}",
        "/pos-session/current-session/{p}",
    ],
)
def test_reads_never_show_another_stores_data(client, make_store, make_profile, make_token, path):
    mine, theirs = make_store("mine"), make_store("theirs")
    make_profile(mine, "mine-1")
    their_profile = make_profile(theirs, "theirs-1")
    both = make_token(mine, theirs)
    open_session(client, {"Authorization": f"Bearer {both}", "x-store-id": theirs}, their_profile)

    response = client.get(
        path.format(p=their_profile),
        headers={"Authorization": f"Bearer {both}", "x-store-id": mine},
    )

    assert their_profile not in response.get_data(as_text=True)
    assert theirs not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "statement", [queries.CURRENT_SESSION, queries.PROFILES_WITH_STATUS], ids=["current", "list"]
)
def test_open_sessions_are_found_through_the_partial_index(app, statement):
    """What keeps the reads flat however many closed sessions pile up (see make bench)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
        sql = str(statement.compile(db.engine))
        plan = db.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, ("x",) * sql.count("?")
        )
        details = " ".join(row[3] for row in plan)
    assert "USING INDEX uq_pos_session_one_open_per_profile" in details
    assert "SCAN pos_session" not in details and "SCAN open_session" not in details


def test_the_profile_list_a_worker_keeps_follows_every_change(
    app, client, headers, store, make_store, make_profile, runner, tmp_path
):
    """Each worker answers the list it keeps until the store's list version moves; the
    database's triggers move it, whatever makes the change."""
    ana, bea = make_profile(store, "ana"), make_profile(store, "bea")

    def listed() -> dict:
        response = client.get("/pos-session/profiles", headers=headers)
        return {p["name"]: p["isOpened"] for p in response.get_json()}

    assert listed() == {"ana": False, "bea": False}
    session = open_session(client, headers, ana)
    assert listed() == {"ana": True, "bea": False}
    assert runner.invoke(args=["profile", "rename", bea, "bea2"]).exit_code == 0
    assert listed() == {"ana": True, "bea2": False}
    assert runner.invoke(args=["profile", "disable", bea]).exit_code == 0
    assert listed() == {"ana": True}
    make_profile(store, "cy")
    assert listed() == {"ana": True, "cy": False}
    body = {"profileId": ana, "closingCash": session["openingCash"], "password": PASSWORD}
    assert client.post("/pos-session/close-session", json=body, headers=headers).status_code == 200
    assert listed() == {"ana": False, "cy": False}
    with app.app_context():  # plain SQL, past every rule of the app
        db.session.execute(text("UPDATE pos_profile SET name = 'ana!' WHERE id = :id"), {"id": ana})
        db.session.commit()
    assert listed() == {"ana!": False, "cy": False}
    elsewhere = make_store("elsewhere")
    with app.app_context():
        db.session.execute(
            text("UPDATE pos_profile SET store_id = :other WHERE id = :id"),
            {"other": elsewhere, "id": ana},
        )
        db.session.commit()
    assert listed() == {"cy": False}

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A restored file is read afresh, even once its version is again the one kept.
        assert runner.invoke(args=["backup", str(tmp_path / "b.sqlite3")]).exit_code == 0
        make_profile(store, "dee")
        assert listed() == {"cy": False, "dee": False}
        assert runner.invoke(args=["restore", str(tmp_path / "b.sqlite3")]).exit_code == 0
        make_profile(store, "eve")  # the same version number as the list with dee
        assert listed() == {"cy": False, "eve": False}
