"""Token administration: list, revoke one, revoke a store's; lifetimes from --days."""

from datetime import datetime, timedelta

import jwt as pyjwt
import requests

from tests.helpers import PROFILES


def bearer(token, store_id):
    return {"Authorization": f"Bearer {token}", "x-store-id": store_id}


def jti_of(token: str) -> str:
    return pyjwt.decode(token, options={"verify_signature": False})["jti"]


def cli(runner, *args):
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


def test_list_shows_every_token_in_columns(runner, make_store, make_token):
    a, b = make_store("a"), make_store("b")
    first = make_token(a, name="till-1")
    second = make_token(a, b, name="office", days=30)
    cli(runner, "token", "revoke", jti_of(first))

    lines = cli(runner, "token", "list").stdout.splitlines()

    assert lines[0].split() == ["JTI", "NAME", "STORES", "CREATED", "EXPIRES", "REVOKED", "SCOPE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {jti_of(first), jti_of(second)}
    _, name, stores, created, expires, revoked, scope = rows[jti_of(second)]
    assert (name, stores, revoked, scope) == ("office", f"{a},{b}", "-", "terminal")
    days = datetime.fromisoformat(expires) - datetime.fromisoformat(created)
    assert days.days in (29, 30)
    assert rows[jti_of(first)][5].endswith("Z")


def test_revoke_one_token_refuses_it_and_keeps_the_others(client, runner, store, make_token):
    gone, kept = make_token(store, name="gone"), make_token(store, name="kept")

    result = cli(runner, "token", "revoke", jti_of(gone))

    assert result.stdout.split() == [jti_of(gone)]
    response = client.get(PROFILES, headers=bearer(gone, store))
    assert response.status_code == 401
    assert response.get_json() == {"message": "Token has been revoked", "statusCode": 401}
    assert client.get(PROFILES, headers=bearer(kept, store)).status_code == 200


def test_revoke_a_store_revokes_every_token_granting_it(client, runner, make_store, make_token):
    a, b = make_store("a"), make_store("b")
    only_a, a_and_b, only_b = make_token(a), make_token(a, b), make_token(b)

    result = cli(runner, "token", "revoke", "--store", a)

    assert sorted(result.stdout.split()) == sorted([jti_of(only_a), jti_of(a_and_b)])
    assert client.get(PROFILES, headers=bearer(only_a, a)).status_code == 401
    assert client.get(PROFILES, headers=bearer(a_and_b, b)).status_code == 401
    assert client.get(PROFILES, headers=bearer(only_b, b)).status_code == 200


def test_revoking_again_changes_nothing(runner, store, make_token):
    token = make_token(store)
    cli(runner, "token", "revoke", jti_of(token))
    listed = cli(runner, "token", "list").stdout

    again = cli(runner, "token", "revoke", jti_of(token))

    assert again.stdout == ""
    assert cli(runner, "token", "list").stdout == listed


def test_revoke_refuses_unknown_jti_or_store_and_wrong_usage(runner, store, make_token):
    jti = jti_of(make_token(store))
    for args in (["zzz"], ["--store", "nostore"], [], [jti, "--store", store]):
        result = runner.invoke(args=["token", "revoke", *args])
        assert result.exit_code == 2, args
    assert cli(runner, "token", "list").stdout.split()[-2] == "-"  # still not revoked


def test_tokens_expire_after_days_365_by_default(runner, store):
    def lifetime(*args):
        token = cli(runner, "token", "issue", "--store", store, *args).stdout.strip()
        claims = pyjwt.decode(token, options={"verify_signature": False})
        return timedelta(seconds=claims["exp"] - claims["iat"])

    assert lifetime() == timedelta(days=365)
    assert lifetime("--days", "7") == timedelta(days=7)


def test_a_revoked_token_is_refused_by_every_gunicorn_worker(
    live_server, runner, store, make_token
):
    token = make_token(store)
    url = live_server.url + PROFILES

    def statuses():
        # Sequential requests on fresh connections land on all 4 workers in turn.
        return {
            requests.get(url, headers=bearer(token, store), timeout=10).status_code
            for _ in range(20)
        }

    assert statuses() == {200}
    cli(runner, "token", "revoke", jti_of(token))

    assert statuses() == {401}


def follower_token(runner, store):
    return cli(runner, "token", "issue", "--store", store, "--follower").stdout.strip()


def test_a_follower_token_reads_the_journal_and_nothing_else(app, client, runner, store):
    token = follower_token(runner, store)

    journal = client.get("/pos-session/journal", headers=bearer(token, store))
    assert journal.status_code == 200
    assert journal.get_json() == {"success": True, "data": [], "nextAfterSeq": None}
    # Every other store-scoped route, whatever its method: 403 before its body is read.
    routes = [
        (rule.rule.replace("<", "").replace(">", ""), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/pos-session/") and rule.endpoint != "journal.journal"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    ]
    assert len(routes) >= 9
    for path, method in routes:
        response = client.open(path, method=method, headers=bearer(token, store), json={})
        assert response.status_code == 403, (method, path)
        assert response.get_json() == {
            "message": "This token may only read the journal",
            "statusCode": 403,
        }


def test_a_follower_token_keeps_the_checks_of_any_token(client, runner, make_store):
    a, b = make_store("a"), make_store("b")
    token = follower_token(runner, a)
    # The grant first, as for a terminal's: another store is 403 whatever the route.
    for path in ("/pos-session/journal", PROFILES):
        assert client.get(path, headers=bearer(token, b)).get_json()["message"] == (
            "Access to this store is denied"
        )
    cli(runner, "token", "revoke", "--store", a)
    assert client.get("/pos-session/journal", headers=bearer(token, a)).status_code == 401


def test_a_terminal_token_still_opens_every_route(client, runner, store, make_token):
    token = make_token(store)
    assert client.get(PROFILES, headers=bearer(token, store)).status_code == 200
    assert client.get("/pos-session/journal", headers=bearer(token, store)).status_code == 200
    assert cli(runner, "token", "list").stdout.split()[-1] == "terminal"
