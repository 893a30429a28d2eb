"""The owner's rules (app.stores, app.people), the input they are handed (app.owner_input) and
the CLI commands on them."""

import ast
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import bcrypt
import pytest

from app import create_app
from app.exceptions import (
    InvalidInput,
    InvalidPassword,
    NameTaken,
    ProfileNotFound,
    StoreNotFound,
    TooManyAttempts,
)
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import PasswordAttempts, PosProfile, Store
from app.owner_input import NewCashierSchema, load
from app.people import cashiers, managers, signin
from app.stores import create_store, update_store
from tests.helpers import PASSWORD, RULES, SECRET

ID = re.compile(r"^[a-z][a-z0-9]{23}$")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


# Stores


def test_store_create_has_the_defaults_and_store_set_changes_only_what_is_given(ctx):
    store_id = create_store(UnitOfWork(), name="Bar du Port")
    store = db.session.get(Store, store_id)
    assert (store.name, store.timezone, store.day_start_minutes) == ("Bar du Port", "UTC", 0)
    assert (store.stale_after_hours, store.currency) == (16, "EUR")

    update_store(UnitOfWork(), store_id, timezone="Europe/Paris", day_start_minutes=240)

    db.session.rollback()  # a new read transaction, which sees the write
    store = db.session.get(Store, store_id)
    assert (store.name, store.timezone, store.day_start_minutes) == (
        "Bar du Port",
        "Europe/Paris",
        240,
    )


@pytest.mark.parametrize(
    "option, value, field",
    [
        ("--timezone", "Mars/Olympus", "timezone"),
        ("--timezone", "../etc/passwd", "timezone"),
        ("--day-start", "24:00", "day_start"),
        ("--day-start", "4h", "day_start"),
        ("--stale-hours", "0", "stale_after_hours"),
        ("--currency", "euro", "currency"),
        ("--name", "   ", "name"),
    ],
)
def test_store_settings_refuse_bad_values_and_change_nothing(
    app, runner, store, option, value, field
):
    refused = runner.invoke(args=["store", "set", store, option, value])

    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.startswith(f"Error: Some fields need attention. {field}: ")
    with app.app_context():
        assert db.session.get(Store, store).timezone == "UTC"


def test_store_cli_create_with_options_and_set(app, runner):
    created = runner.invoke(
        args=["store", "create", " Bar ", "--timezone", "America/New_York", "--day-start", "04:30"]
    )
    assert created.exit_code == 0, created.output
    store_id = created.stdout.strip()
    assert ID.match(store_id)

    changed = runner.invoke(args=["store", "set", store_id, "--currency", "USD"])
    refused = runner.invoke(args=["store", "set", store_id, "--timezone", "Nowhere"])
    missing = runner.invoke(args=["store", "set", "nope", "--currency", "USD"])

    assert changed.exit_code == 0 and changed.stdout == ""
    assert refused.exit_code == 1 and refused.stdout == "" and "time zone" in refused.stderr
    assert missing.exit_code == 1 and "Store not found" in missing.stderr
    with app.app_context():
        store = db.session.get(Store, store_id)
        assert (store.name, store.timezone, store.day_start_minutes, store.currency) == (
            "Bar",
            "America/New_York",
            270,
            "USD",
        )


# Cashiers


def test_a_new_cashier_is_loaded_trimmed_and_checked():
    assert load(NewCashierSchema(), {"name": " Ana ", "password": "1234"})["name"] == "Ana"
    with pytest.raises(InvalidInput) as refused:
        load(NewCashierSchema(), {"name": "", "password": ""})
    assert set(refused.value.errors) == {"name", "password"}


def test_profile_names_are_unique_per_store_whatever_the_case(ctx, store, make_store):
    first = cashiers.create(UnitOfWork(), "Ana", "1234", store_id=store)
    with pytest.raises(NameTaken):
        cashiers.create(UnitOfWork(), "ANA", "1234", store_id=store)
    other = cashiers.create(UnitOfWork(), "ana", "1234", store_id=make_store("Other"))
    second = cashiers.create(UnitOfWork(), "Bob", "1234", store_id=store)
    with pytest.raises(NameTaken):
        cashiers.rename(UnitOfWork(), second, "aNa")
    cashiers.rename(UnitOfWork(), first, "ana")  # its own name, other case: allowed

    assert db.session.get(PosProfile, first).name == "ana"
    assert ID.match(other)


def test_a_profile_of_another_store_is_not_found(ctx, store, make_store, make_profile):
    profile = make_profile(store)
    other = make_store("Other")
    for action in (
        lambda: cashiers.rename(UnitOfWork(), profile, "x", store_id=other),
        lambda: cashiers.set_enabled(UnitOfWork(), profile, False, store_id=other),
        lambda: cashiers.unlock(UnitOfWork(), profile, store_id=other),
        lambda: cashiers.set_password(UnitOfWork(), profile, "x123", store_id=other),
    ):
        with pytest.raises(ProfileNotFound):
            action()
    assert db.session.get(PosProfile, profile).enabled


def test_new_password_works_at_once_and_the_old_stops_in_every_worker(
    app, database_url, profile, headers, open_body
):
    # A second app on the same database stands for another gunicorn worker.
    other_worker = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": SECRET, "BCRYPT_ROUNDS": 4}
    )
    client = other_worker.test_client()
    assert client.get("/pos-session/profiles", headers=headers).status_code == 200

    with app.app_context():
        cashiers.set_password(UnitOfWork(), profile, "new-pin")

    old = client.post("/pos-session/create-session", json=open_body, headers=headers)
    new = client.post(
        "/pos-session/create-session", json={**open_body, "password": "new-pin"}, headers=headers
    )
    assert (old.status_code, new.status_code) == (401, 200)


def test_unlock_clears_the_lockout(app, client, profile, headers, open_body):
    wrong = {**open_body, "password": "wrong"}
    for _ in range(app.config["LOCKOUT_ATTEMPTS"]):
        assert (
            client.post("/pos-session/create-session", json=wrong, headers=headers).status_code
            == 401
        )
    assert (
        client.post("/pos-session/create-session", json=open_body, headers=headers).status_code
        == 429
    )
    with app.app_context():
        [row] = cashiers.list_profiles(db.session.get(PosProfile, profile).store_id)
        assert row.locked

        cashiers.unlock(UnitOfWork(), profile)
        db.session.rollback()

        [row] = cashiers.list_profiles(row.profile.store_id)
        assert not row.locked
    assert (
        client.post("/pos-session/create-session", json=open_body, headers=headers).status_code
        == 200
    )


def test_list_profiles_shows_disabled_ones_and_the_open_session(
    app, client, store, make_profile, headers
):
    ana, bob = make_profile(store, "ana"), make_profile(store, "Bob")
    body = {"profileId": bob, "openningCash": 100, "password": PASSWORD}
    opened = client.post("/pos-session/create-session", json=body, headers=headers).get_json()[
        "data"
    ][0]
    with app.app_context():
        cashiers.set_enabled(UnitOfWork(), ana, False)
        rows = cashiers.list_profiles(store)
    assert [(r.profile.name, r.profile.enabled) for r in rows] == [("ana", False), ("Bob", True)]
    assert rows[0].open_session is None and rows[1].open_session.id == opened["id"]


def test_profile_cli_whole_life(app, runner, store):
    created = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "1111", "ana"]
    )
    profile = created.stdout.strip()
    steps = [
        ["profile", "rename", profile, "Ana Maria"],
        ["profile", "password", profile, "--password", "2222"],
        ["profile", "disable", profile],
        ["profile", "unlock", profile],
    ]
    for args in steps:
        result = runner.invoke(args=args)
        assert (result.exit_code, result.stdout) == (0, ""), (args, result.output)
    listed = runner.invoke(args=["profile", "list", "--store", store])
    prompted = runner.invoke(args=["profile", "password", profile], input="pin9\npin9\n")

    assert listed.exit_code == 0
    assert re.search(rf"^{profile}\s+Ana Maria\s+no\s+no\s+-\s+-$", listed.stdout, re.M)
    assert prompted.exit_code == 0 and "pin9" not in prompted.output
    with app.app_context():
        row = db.session.get(PosProfile, profile)
        assert bcrypt.checkpw(b"pin9", row.password_hash) and not row.enabled
    assert runner.invoke(args=["profile", "enable", profile]).exit_code == 0
    for args in (["profile", "rename", "nope", "x"], ["profile", "list", "--store", "nope"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and result.stdout == "" and "not found" in result.stderr


# Managers


def test_manager_sign_in_names_are_case_insensitive_and_unique(ctx, store):
    manager = managers.create(UnitOfWork(), "Olga", "pw-1", store_ids=[store])
    with pytest.raises(NameTaken):
        managers.create(UnitOfWork(), "OLGA", "pw-2", store_ids=[store])
    with pytest.raises(StoreNotFound):
        managers.create(UnitOfWork(), "Ivan", "pw-1234", store_ids=["no-such-store"])

    assert signin.authenticate("OLGA", "pw-1").id == manager
    with pytest.raises(InvalidPassword):
        signin.authenticate("olga", "wrong")
    with pytest.raises(InvalidPassword):
        signin.authenticate("nobody", "pw-1")


def test_manager_sign_in_has_the_cashiers_lockout_and_unlock(app, ctx, store):
    managers.create(UnitOfWork(), "olga", "pw-1", store_ids=[store])
    for _ in range(app.config["LOCKOUT_ATTEMPTS"]):
        with pytest.raises(InvalidPassword):
            signin.authenticate("olga", "wrong")
    with pytest.raises(TooManyAttempts) as locked:
        signin.authenticate("olga", "pw-1")
    assert 0 < locked.value.retry_after_seconds <= app.config["LOCKOUT_WINDOW_SECONDS"]

    managers.unlock(UnitOfWork(), "olga")

    assert signin.authenticate("olga", "pw-1")


def test_concurrent_wrong_guesses_at_a_manager_are_each_counted(app, store):
    """The first guesses find no count yet: they must wait for each other on the subject's row
    (PostgreSQL), not both insert one. Run by `make test-postgres` too."""
    limit = app.config["LOCKOUT_ATTEMPTS"]
    with app.app_context():
        manager = managers.create(UnitOfWork(), "olga", "pw-1", store_ids=[store])
    barrier = threading.Barrier(limit)

    def guess(_):
        with app.app_context():
            barrier.wait()
            try:
                signin.authenticate("olga", "wrong")
            except Exception as err:  # noqa: BLE001  (the test compares what each one got)
                return type(err)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(limit) as pool:
        refused = list(pool.map(guess, range(limit)))

    assert refused == [InvalidPassword] * limit
    with app.app_context():
        assert db.session.get(PasswordAttempts, manager).attempts == limit
        with pytest.raises(TooManyAttempts):
            signin.authenticate("olga", "pw-1")


def test_disabled_manager_cannot_sign_in(ctx, store):
    managers.create(UnitOfWork(), "olga", "pw-1", store_ids=[store])
    managers.set_enabled(UnitOfWork(), "olga", False)
    with pytest.raises(InvalidPassword):
        signin.authenticate("olga", "pw-1")
    managers.set_enabled(UnitOfWork(), "olga", True)
    db.session.rollback()
    assert signin.authenticate("olga", "pw-1")


def test_manager_cli(app, runner, store, make_store):
    other = make_store("Other")
    created = runner.invoke(
        args=["manager", "create", "--store", store, "--store", other, "olga"],
        input="pw-1\npw-1\n",
    )
    assert created.exit_code == 0, created.output
    manager = created.stdout.strip()
    assert ID.match(manager) and "pw-1" not in created.output

    for args in (
        ["manager", "password", "OLGA", "--password", "pw-2"],
        ["manager", "disable", "olga"],
        ["manager", "enable", "olga"],
        ["manager", "rename", "olga", "Olga K"],
        ["manager", "unlock", "olga k"],
    ):
        result = runner.invoke(args=args)
        assert (result.exit_code, result.stdout) == (0, ""), (args, result.output)
    listed = runner.invoke(args=["manager", "list"])

    assert re.search(
        rf"^{manager}\s+Olga K\s+yes\s+({store},{other}|{other},{store})$", listed.stdout, re.M
    )
    with app.app_context():
        assert signin.authenticate("olga k", "pw-2").id == manager
    for args in (
        ["manager", "create", "--store", "nope", "--password", "x123", "ivan"],
        ["manager", "create", "--store", store, "--password", "x123", "OLGA K"],
        ["manager", "disable", "nobody"],
        ["manager", "password", "nobody", "--password", "x123"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and result.stdout == "", args


# Where input is checked, and the one life


def test_the_rules_import_no_schema():
    """The edges (API views, page forms, CLI commands) load their input; the rules are handed
    typed values and import no schema."""
    for path in RULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(alias.name for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(
                "marshmallow" in name or "schemas" in name or "owner_input" in name
                for name in names
            ), (path.name, names)


def test_cashiers_and_managers_live_one_life():
    for step in ("create", "get", "rename", "set_password", "set_enabled", "unlock"):
        assert getattr(cashiers, step).__func__ is getattr(managers, step).__func__, step
