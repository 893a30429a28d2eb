"""Configuration: POS_* environment variables, and a signing secret every worker shares."""

import stat

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
