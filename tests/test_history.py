"""GET /pos-session/sessions: newest first, filters, and a cursor that survives inserts."""

import base64
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from app.machinery.extensions import db
from app.models import PosSession, new_id
from tests.helpers import HISTORY, close_shift, open_shift

T0 = datetime(2025, 11, 8, 9, 0)


@pytest.fixture
def add_sessions(app):
    """Insert sessions straight into the database with chosen creation times."""

    def add(store_id, profile_id, times, closed=True) -> list[str]:
        with app.app_context():
            rows = [
                PosSession(
                    id=new_id(),
                    pos_profile_id=profile_id,
                    store_id=store_id,
                    opening_cash=0,
                    # History rows only need a closing id; the close itself is tested elsewhere.
                    pos_closing_id=new_id() if closed else None,
                    opened_by="seed",
                    created_at=at,
                    updated_at=at,
                )
                for at in times
            ]
            db.session.add_all(rows)
            db.session.commit()
            return [row.id for row in rows]

    return add


def page(client, headers, **params):
    response = client.get(HISTORY, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def newest_first(ids_and_times):
    return [i for i, _ in sorted(ids_and_times, key=lambda it: (it[1], it[0]), reverse=True)]


def test_newest_first_with_closing_and_no_next_page(client, headers, profile, make_profile, store):
    first = open_shift(client, headers, profile, note="am")
    closed = close_shift(client, headers, profile, cash=15000)
    second = open_shift(client, headers, make_profile(store, "bob"))

    body = page(client, headers)

    assert body["success"] is True and body["nextCursor"] is None
    assert [s["id"] for s in body["data"]] == [second["id"], first["id"]]
    assert body["data"][1] == closed
    assert body["data"][0]["closing"] is None and body["data"][0]["closedBy"] is None


def test_walks_250_sessions_without_gaps_or_duplicates_while_new_ones_arrive(
    client, headers, store, profile, make_profile, add_sessions
):
    # Many sessions share a millisecond, so the id must break ties for the walk to hold.
    times = [T0 + timedelta(milliseconds=i // 5) for i in range(250)]
    seeded = add_sessions(store, profile, times)
    expected = newest_first(zip(seeded, times, strict=True))
    newcomers = [make_profile(store, f"late-{i}") for i in range(20)]

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 13, **({"cursor": cursor} if cursor else {})}
        body = page(client, headers, **params)
        seen += [s["id"] for s in body["data"]]
        cursor, pages = body["nextCursor"], pages + 1
        # Someone opens a shift between every two pages: newer than all, so never in this walk.
        open_shift(client, headers, newcomers[pages - 1])
        if cursor is None:
            break

    assert pages == 20  # 250 = 19 * 13 + 3
    assert seen == expected
    assert len(page(client, headers, limit=200)["data"]) == 200
    assert len(page(client, headers, limit=200, status="open")["data"]) == 20


def test_default_limit_is_50(client, headers, store, profile, add_sessions):
    add_sessions(store, profile, [T0 + timedelta(seconds=i) for i in range(51)])

    body = page(client, headers)

    assert len(body["data"]) == 50 and body["nextCursor"] is not None
    rest = page(client, headers, cursor=body["nextCursor"])
    assert len(rest["data"]) == 1 and rest["nextCursor"] is None


def test_a_full_last_page_has_no_next_cursor(client, headers, store, profile, add_sessions):
    add_sessions(store, profile, [T0 + timedelta(seconds=i) for i in range(4)])
    assert page(client, headers, limit=4)["nextCursor"] is None
    assert page(client, headers, limit=3)["nextCursor"] is not None


def test_filter_by_profile_and_status(client, headers, store, profile, make_profile, add_sessions):
    bob = make_profile(store, "bob")
    alice_closed = add_sessions(store, profile, [T0, T0 + timedelta(hours=1)])
    bob_closed = add_sessions(store, bob, [T0 + timedelta(minutes=30)])
    alice_open = open_shift(client, headers, profile)["id"]

    def ids(**params):
        return [s["id"] for s in page(client, headers, **params)["data"]]

    assert ids(profileId=profile) == [alice_open, alice_closed[1], alice_closed[0]]
    assert ids(profileId=bob) == bob_closed
    assert ids(status="open") == [alice_open]
    assert ids(status="closed") == [alice_closed[1], bob_closed[0], alice_closed[0]]
    assert ids(profileId=bob, status="open") == []
    assert ids(profileId="nobody") == []


def test_filter_by_time_from_inclusive_to_exclusive(client, headers, store, profile, add_sessions):
    ids = add_sessions(store, profile, [T0 + timedelta(hours=h) for h in range(5)])

    def between(**params):
        return [s["id"] for s in page(client, headers, **params)["data"]]

    assert between(**{"from": "2025-11-08T10:00:00.000Z", "to": "2025-11-08T12:00:00.000Z"}) == [
        ids[2],
        ids[1],
    ]
    assert between(**{"from": "2025-11-08T12:00:00Z"}) == [ids[4], ids[3]]
    assert between(to="2025-11-08T10:00:00Z") == [ids[0]]
    # An offset is honoured: 11:00+01:00 is 10:00 UTC.
    assert between(**{"from": "2025-11-08T11:00:00+01:00", "to": "2025-11-08T11:00:00Z"}) == [
        ids[1]
    ]
    assert between(**{"from": "2025-11-08"}) == ids[::-1]


def test_filters_and_cursor_combine(client, headers, store, profile, add_sessions):
    ids = add_sessions(store, profile, [T0 + timedelta(minutes=m) for m in range(10)])
    params = {"from": "2025-11-08T09:02:00Z", "to": "2025-11-08T09:08:00Z", "limit": 4}

    first = page(client, headers, **params)
    second = page(client, headers, **params, cursor=first["nextCursor"])

    assert [s["id"] for s in first["data"]] == ids[7:3:-1]
    assert [s["id"] for s in second["data"]] == ids[3:1:-1]
    assert second["nextCursor"] is None


def test_other_stores_sessions_never_show(client, make_store, make_profile, make_token):
    mine, theirs = make_store("mine"), make_store("theirs")
    token = make_token(mine, theirs)
    their_profile = make_profile(theirs)
    open_shift(client, {"Authorization": f"Bearer {token}", "x-store-id": theirs}, their_profile)
    mine_headers = {"Authorization": f"Bearer {token}", "x-store-id": mine}

    assert page(client, mine_headers)["data"] == []
    assert page(client, mine_headers, profileId=their_profile)["data"] == []


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "zzz",
        "not a cursor!",
        _cursor("garbage"),
        _cursor("2025-11-08T09:00:00|"),
        _cursor("yesterday|abc"),
        _cursor("2025-11-08T09:00:00|ABC"),
        _cursor("2025-11-08T09:00:00+01:00|abc"),
        _cursor("2025-11-08T09:00:00|abc|def"),
        base64.urlsafe_b64encode(b"\xff\xfe|").decode(),
    ],
)
def test_a_malformed_cursor_is_400(client, headers, cursor):
    response = client.get(HISTORY, query_string={"cursor": cursor}, headers=headers)

    assert response.status_code == 400
    assert response.get_json() == {
        "message": "Invalid value for cursor",
        "statusCode": 400,
        "errors": {"cursor": ["Not a cursor this service gave out."]},
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "pending"}, "status"),
        ({"from": "last week"}, "from"),
        ({"to": "2025-13-01"}, "to"),
        ({"from": "2025-11-09", "to": "2025-11-08"}, "to"),
        ({"profileId": ""}, "profileId"),
        ({"page": "2"}, "page"),
    ],
)
def test_invalid_query_parameters_are_400_naming_them(client, headers, params, field):
    response = client.get(HISTORY, query_string=params, headers=headers)

    assert response.status_code == 400
    assert response.get_json()["message"] == f"Invalid value for {field}"


def test_needs_auth_and_store(client, headers):
    assert client.get(HISTORY).status_code == 401
    response = client.get(HISTORY, headers={**headers, "x-store-id": ""})
    assert response.get_json()["message"] == "Store ID is required"


def test_one_query_per_page_however_many_closed(app, client, headers, store, profile, add_sessions):
    add_sessions(store, profile, [T0 + timedelta(seconds=i) for i in range(60)])
    page(client, headers)  # warm the worker's store cache
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        body = page(client, headers, limit=60)
        event.remove(db.engine, "before_cursor_execute", record)

    assert len(body["data"]) == 60
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # One for the page (sessions joined to their closings), one for the token's revocation check.
    assert len(selects) == 2
