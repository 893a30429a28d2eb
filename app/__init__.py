"""The application factory: config, extensions, blueprint, error handlers, CLI."""

import os
from pathlib import Path

from flask import Flask
from werkzeug.routing import UnicodeConverter, ValidationError

from . import backoffice, cli, journal
from .api import auth, conditional, openapi
from .api.journal import bp as journal_bp
from .api.sessions import bp as pos_session_bp
from .errors import register_error_handlers
from .machinery import dbfile, health, logs, patches
from .machinery.config import MIN_SECRET_BYTES, Config, load_secret
from .machinery.database import configure_sqlite
from .machinery.extensions import db, migrate
from .machinery.jsonio import ApiRequest, ExactJSONProvider
from .machinery.revisions import MIGRATIONS


class PathSegment(UnicodeConverter):
    """A URL segment without NUL, which PostgreSQL refuses in text: such a path matches no route."""

    def to_python(self, value: str) -> str:
        if "\x00" in value:
            raise ValidationError()
        return value


def database_uri(app: Flask) -> str:
    url = app.config["DATABASE_URL"] or f"sqlite:///{Path(app.instance_path) / 'pos.sqlite3'}"
    # A plain postgresql:// URL means psycopg 3 here, not SQLAlchemy's default psycopg2.
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_app(config: dict | None = None) -> Flask:
    patches.apply(auth.jwt)
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = ApiRequest
    app.url_map.converters["default"] = PathSegment
    app.json = ExactJSONProvider(app)
    app.config.from_object(Config)
    app.config.from_prefixed_env("POS")
    app.config.update(config or {})
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)  # holds the secret and database

    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    secret = app.config["SECRET_KEY"] or load_secret(
        app.instance_path, app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(f"POS_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long")
    app.config["SECRET_KEY"] = app.config["JWT_SECRET_KEY"] = secret

    db.init_app(app)
    journal.init_app(app)
    auth.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
            dbfile.guard(db.engine)

    app.register_blueprint(pos_session_bp)
    app.register_blueprint(journal_bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    backoffice.init_app(app)
    register_error_handlers(app)
    conditional.init_app(app)
    logs.init_app(app)
    if app.config["BENCH_BASELINE"]:
        # Same app, same error handlers and headers; no auth, no SQL. Off in production so it
        # exposes nothing unauthenticated.
        app.add_url_rule("/pos-session/ping", "bench_ping", lambda: {"ok": True})
    cli.init_app(app)
    return app
