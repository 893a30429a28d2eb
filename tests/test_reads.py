from decimal import Decimal

import pytest

from app.extensions import db
from app.pos_session import queries
from tests.helpers import CREATE, PASSWORD


def open_session(client, headers, profile_id, cash=15000):
    body = {"profileId": profile_id, "openningCash": cash, "password": PASSWORD}
    response = client.post(CREATE, json=body, headers=headers)
    assert response.status_code == 200
    return response.get_json()["data"][0]


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

    def test_one_query_however_many_profiles(self, client, headers, store, make_profile, sql_log):
        for i in range(30):
            profile_id = make_profile(store, f"cashier-{i}")
            if i % 3 == 0:
                open_session(client, headers, profile_id)
        client.get("/pos-session/profiles", headers=headers)  # warm the worker's store cache
        sql_log.clear()

        response = client.get("/pos-session/profiles", headers=headers)

        assert len(response.get_json()) == 30
        selects = [s for s in sql_log if s.startswith("SELECT")]
        # One for the profiles, one for the token's revocation check.
        assert len(selects) == 2
        assert sum("POS_PROFILE" in s for s in selects) == 1


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
