"""Configuration: POS_* environment variables, and a signing secret every worker shares."""

import stat
from pathlib import Path

import pytest

from app import create_app


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("POS_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("POS_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("POS_BCRYPT_ROUNDS", "10")

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite3")
    assert app.config["JWT_SECRET_KEY"] == "k" * 32
    assert app.config["BCRYPT_ROUNDS"] == 10


def test_default_database_lives_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("POS_DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": "k" * 32})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{app.instance_path}/pos.sqlite3"


def test_generated_secret_is_private_and_shared(tmp_path, monkeypatch):
    monkeypatch.delenv("POS_SECRET_KEY", raising=False)
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "inst"))

    first, second = create_app(config), create_app(config)

    secret_file = tmp_path / "inst" / "secret_key"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert first.config["JWT_SECRET_KEY"] == second.config["JWT_SECRET_KEY"]
    assert len(first.config["JWT_SECRET_KEY"]) >= 32
    assert list((tmp_path / "inst").glob(".secret_key.*")) == []


def test_a_short_secret_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="at least 32 bytes"):
        create_app({"SECRET_KEY": "short", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_uses_psycopg_3(scheme):
    app = create_app({"SECRET_KEY": "k" * 32, "DATABASE_URL": f"{scheme}://pos@db.example/pos"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://pos@db.example/pos"


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """The instance folder as on a box: the secret is generated there."""
    monkeypatch.delenv("POS_SECRET_KEY", raising=False)
    monkeypatch.delenv("POS_DATABASE_URL", raising=False)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "inst"))
    return tmp_path / "inst"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_folder_are_private(instance):
    app = create_app()
    assert mode(instance) == 0o700
    instance.chmod(0o755)  # as an earlier release left it

    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    app.test_client().get("/healthz")  # a write probe: the -wal and -shm files exist now

    assert mode(instance) == 0o700
    database = instance / "pos.sqlite3"
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        assert mode(path) == 0o600, path


@pytest.mark.parametrize("sticky", [False, True])
def test_a_database_elsewhere_makes_its_own_folder_private_not_the_instance_s(
    instance, tmp_path, monkeypatch, sticky
):
    """POS_DATABASE_URL names a file outside the instance folder: init-db narrows that file's
    folder, unless it is shared (sticky, as /tmp), and leaves the instance folder as it is."""
    folder = tmp_path / "state"
    folder.mkdir(mode=0o755)
    folder.chmod(0o1777 if sticky else 0o755)
    monkeypatch.setenv("POS_DATABASE_URL", f"sqlite:///{folder / 'pos.sqlite3'}")
    app = create_app()
    instance.chmod(0o755)

    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0

    assert mode(folder) == (0o1777 if sticky else 0o700)
    assert mode(instance) == 0o755
    assert mode(folder / "pos.sqlite3") == 0o600


def test_postgresql_leaves_the_instance_folder_as_it_is(instance, monkeypatch):
    monkeypatch.setattr("app.cli.database.upgrade", lambda **_: None)  # no server here
    app = create_app({"DATABASE_URL": "postgresql://pos@db.example/pos"})
    instance.chmod(0o755)
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    assert mode(instance) == 0o755


def test_a_lost_secret_is_not_replaced_once_a_database_exists(instance):
    app = create_app()
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    (instance / "secret_key").unlink()

    with pytest.raises(RuntimeError, match="secret_key is missing but the database .* exists"):
        create_app()
    assert not (instance / "secret_key").exists()
