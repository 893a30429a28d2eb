"""The administration commands print only the new id or token, so scripts can capture them."""

import bcrypt
import click
import jwt as pyjwt
import pytest

from app.machinery.extensions import db
from app.models import ApiToken, PosProfile, Store
from tests.helpers import ID, SECRET, open_shift


def test_init_db_is_safe_to_run_again(runner, store):
    first = runner.invoke(args=["init-db"])
    second = runner.invoke(args=["init-db"])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout == ""


def test_store_create_prints_only_the_id(app, runner):
    result = runner.invoke(args=["store", "create", "Main Street"])

    assert result.exit_code == 0
    store_id = result.stdout.strip()
    assert ID.match(store_id) and result.stdout == store_id + "\n"
    with app.app_context():
        assert db.session.get(Store, store_id).name == "Main Street"


def test_profile_create_with_password_option(app, runner, store):
    result = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "1234", "ana"]
    )

    assert result.exit_code == 0, result.output
    profile_id = result.stdout.strip()
    assert ID.match(profile_id)
    with app.app_context():
        profile = db.session.get(PosProfile, profile_id)
        assert (profile.store_id, profile.name) == (store, "ana")
        assert bcrypt.checkpw(b"1234", profile.password_hash)


def test_profile_create_prompts_hidden_and_confirmed(app, runner, store):
    result = runner.invoke(
        args=["profile", "create", "--store", store, "bob"], input="pin9\npin9\n"
    )

    assert result.exit_code == 0, result.output
    profile_id = result.stdout.strip()
    assert ID.match(profile_id), "the prompt must not go to stdout"
    assert "pin9" not in result.output
    with app.app_context():
        assert bcrypt.checkpw(b"pin9", db.session.get(PosProfile, profile_id).password_hash)


def test_profile_create_hashes_at_the_configured_cost(app, runner, store):
    app.config["BCRYPT_ROUNDS"] = 5
    profile_id = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "pin9", "cy"]
    ).stdout.strip()
    with app.app_context():
        assert db.session.get(PosProfile, profile_id).password_hash.startswith(b"$2b$05$")


def test_profile_create_refuses_unknown_store_duplicate_name_and_long_password(runner, store):
    ok = runner.invoke(args=["profile", "create", "--store", store, "--password", "1234", "ana"])
    unknown = runner.invoke(
        args=["profile", "create", "--store", "nope", "--password", "1234", "x"]
    )
    duplicate = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "1234", "ana"]
    )
    too_long = runner.invoke(
        args=["profile", "create", "--store", store, "--password", "x" * 73, "y"]
    )

    assert ok.exit_code == 0
    for result in (unknown, duplicate, too_long):
        assert result.exit_code != 0 and result.stdout == ""
    assert "already taken" in duplicate.output


def test_token_issue_grants_the_stores_and_is_recorded(app, runner, make_store):
    first, second = make_store("a"), make_store("b")
    result = runner.invoke(
        args=[
            "token",
            "issue",
            "--store",
            first,
            "--store",
            second,
            "--name",
            "till-1",
            "--days",
            "30",
        ]
    )

    assert result.exit_code == 0, result.output
    claims = pyjwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["stores"] == [first, second]
    assert claims["sub"] == "till-1"
    assert claims["exp"] - claims["iat"] == 30 * 86400
    with app.app_context():
        assert db.session.get(ApiToken, claims["jti"]).revoked_at is None


def test_token_issue_refuses_unknown_store(runner, store):
    result = runner.invoke(args=["token", "issue", "--store", store, "--store", "nope"])
    assert result.exit_code != 0 and result.stdout == ""
    assert "unknown store: nope" in result.output


def test_store_and_profile_names_must_not_be_empty_or_blank(runner, store):
    for args in (
        ["store", "create"],
        ["profile", "create", "--store", store, "--password", "1234"],
    ):
        for name in ("", "   "):
            result = runner.invoke(args=[*args, name])
            assert result.exit_code == 1 and "Enter a name of 1 to" in result.output, result.output


def test_names_refuse_control_characters(runner, store):
    # A line break forges a row of the CLI's tables; an escape reaches the admin's terminal.
    for args in (
        ["store", "create"],
        ["profile", "create", "--store", store, "--password", "1234"],
        ["manager", "create", "--store", store, "--password", "secret12"],
    ):
        for name in ("Line\nBreak", "Mal\x1b[2Jlory", "Tab\there", "Bell\x07"):
            result = runner.invoke(args=[*args, name])
            assert result.exit_code == 1 and "control character" in result.output, result.output


def test_profile_names_are_trimmed_and_unique_in_a_store_whatever_their_case(
    app, runner, store, make_store
):
    def create(store_id, name):
        return runner.invoke(
            args=["profile", "create", "--store", store_id, "--password", "1234", name]
        )

    first = create(store, "  alice ")
    same = [create(store, name) for name in ("alice", "ALICE", " Alice")]
    elsewhere = create(make_store("Harbour Road"), "ALICE")

    assert first.exit_code == 0 and elsewhere.exit_code == 0
    for result in same:
        assert result.exit_code == 1 and "already taken" in result.output
    with app.app_context():
        assert db.session.get(PosProfile, first.stdout.strip()).name == "alice"


def test_a_new_password_has_at_least_four_characters(runner, store):
    short = runner.invoke(args=["profile", "create", "--store", store, "--password", "123", "a"])
    four = runner.invoke(args=["profile", "create", "--store", store, "--password", "1234", "b"])

    assert short.exit_code == 1 and "at least 4 characters" in short.output
    assert four.exit_code == 0


def test_store_create_help_says_what_it_does(runner):
    result = runner.invoke(args=["store", "create", "--help"])
    assert result.exit_code == 0
    assert "A new store called NAME; prints its id." in result.stdout
    assert "--day-start" in result.stdout and "manager create" in result.stdout


def test_store_list_shows_zone_profiles_and_managers(app, runner, store, make_store):
    runner.invoke(args=["store", "set", store, "--name", "Main Street", "--timezone", "Asia/Tokyo"])
    harbour = make_store("Harbour")
    for name in ("ana", "bob"):
        runner.invoke(args=["profile", "create", "--store", store, "--password", "1234", name])
    for name, stores in (("Olga", [store, harbour]), ("Ivan", [store])):
        grants = [arg for s in stores for arg in ("--store", s)]
        runner.invoke(args=["manager", "create", *grants, "--password", "pw-1234", name])
    runner.invoke(args=["manager", "disable", "Ivan"])

    result = runner.invoke(args=["store", "list"])

    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "ID                        NAME         TIME ZONE   PROFILES  MANAGERS",
        f"{harbour}  Harbour      UTC         0         Olga",
        f"{store}  Main Street  Asia/Tokyo  2         Ivan (disabled), Olga",
    ]


def test_store_list_of_a_new_box_is_its_headings(runner):
    result = runner.invoke(args=["store", "list"])
    assert (result.exit_code, result.stdout) == (0, "ID  NAME  TIME ZONE  PROFILES  MANAGERS\n")


@pytest.mark.parametrize(
    ("bind", "address"),
    [
        (None, "http://127.0.0.1:8000/backoffice/"),
        ("192.168.1.10:8000", "http://192.168.1.10:8000/backoffice/"),
        ("0.0.0.0:80", "http://<this box's address>:80/backoffice/"),
    ],
)
def test_manager_create_says_who_for_which_stores_and_where_on_stderr(
    monkeypatch, runner, store, make_store, bind, address
):
    if bind is None:
        monkeypatch.delenv("POS_BIND", raising=False)
    else:
        monkeypatch.setenv("POS_BIND", bind)
    harbour = make_store("Harbour")
    result = runner.invoke(
        args=["manager", "create", "--store", store, "--store", harbour, "--store", store]
        + ["--password", "pw-1234", "  Olga Kay "]
    )

    assert result.exit_code == 0, result.output
    assert ID.match(result.stdout.strip()), "stdout holds only the id, for scripts"
    assert result.stderr == (
        f"manager 'Olga Kay' created for Main Street ({store}), Harbour ({harbour}); "
        f"they sign in at {address}\n"
    )


def test_cashier_and_manager_lives_are_one_set_of_commands(runner, store, make_profile):
    """rename, password, disable, enable and unlock are written once, for both groups; each
    says on stderr what it did, as before."""
    from app.cli import cashiers, managers  # here, so the other tests run on an older tree

    life = ("rename", "password", "disable", "enable", "unlock")
    for name in life:
        assert (
            cashiers.cli.commands[name].callback.__code__
            is managers.cli.commands[name].callback.__code__
        )
    profile = make_profile(store, "ana")
    runner.invoke(args=["manager", "create", "--store", store, "--password", "pw-1234", "olga"])
    said = {}
    for args in (
        ["profile", "rename", profile, "Ana"],
        ["profile", "password", profile, "--password", "4321"],
        ["profile", "disable", profile],
        ["profile", "enable", profile],
        ["profile", "unlock", profile],
        ["manager", "rename", "olga", "Olga"],
        ["manager", "password", "OLGA", "--password", "pw-4321"],
        ["manager", "disable", "olga"],
        ["manager", "enable", "olga"],
        ["manager", "unlock", "olga"],
    ):
        result = runner.invoke(args=args)
        assert (result.exit_code, result.stdout) == (0, ""), (args, result.output)
        said[args[0], args[1]] = result.stderr
    assert said["profile", "rename"] == f"profile {profile} renamed\n"
    assert said["profile", "password"] == f"profile {profile}: password changed\n"
    assert said["manager", "rename"] == "manager 'olga' renamed\n"
    assert said["manager", "password"] == "manager 'OLGA': password changed\n"
    assert said["manager", "disable"] == "manager 'olga' disabled\n"
    missing = runner.invoke(args=["profile", "password", "nope"], input="pin9\npin9\n")
    assert missing.exit_code == 1 and "Profile not found." in missing.stderr
    assert "Password" not in missing.stderr, "refused before the prompt"
    usage = runner.invoke(args=["manager", "rename", "olga"])
    assert usage.exit_code == 2 and "Missing argument 'NEW_NAME'" in usage.stderr
    usage = runner.invoke(args=["profile", "unlock"])
    assert usage.exit_code == 2 and "Missing argument 'PROFILE_ID'" in usage.stderr


@pytest.mark.parametrize(
    "counted", ["abc", "", "12.345", "-1", "NaN", "Infinity", "1" * 20, "1,50", ".5", "1_000"]
)
def test_money_options_refuse_a_non_number_before_looking_anything_up(runner, counted):
    result = runner.invoke(
        args=["session", "force-close", "nope", "--counted", counted]
        + ["--reason", "forgot", "--manager", "nobody"]
    )
    assert result.exit_code == 2 and result.stdout == ""
    assert "Invalid value for '--counted'" in result.stderr
    assert "not found" not in result.stderr


def test_force_close_takes_an_amount_as_typed(runner, client, headers, profile, manager):
    opened = open_shift(client, headers, profile, cash=100)
    result = runner.invoke(
        args=["session", "force-close", opened["id"], "--counted", " 1,100.5 "]
        + ["--reason", "forgot", "--manager", "Olga"]
    )
    assert result.exit_code == 0, result.output
    assert "counted 1100.50, difference 1000.50" in result.stderr


def test_every_command_says_what_it_does_in_its_help():
    from app import cli  # here, so the other tests run on an older tree

    def commands(command, path):
        if isinstance(command, click.Group):
            assert command.help, path
            for name, sub in command.commands.items():
                yield from commands(sub, f"{path} {name}")
        else:
            yield path, command

    found = [found for top in cli.COMMANDS for found in commands(top, top.name)]
    # store denominations, the journal, period and accounting groups, tenders and reasons
    assert len(found) == 43
    for path, command in found:
        assert command.help and command.help.strip(), path
