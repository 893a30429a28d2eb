"""The application factory: config, extensions, blueprint, error handlers, CLI."""

import os
from pathlib import Path

from flask import Flask

from .config import MIN_SECRET_BYTES, Config, load_secret
from .database import configure_sqlite
from .errors import register_error_handlers
from .extensions import db, migrate
from .jsonio import ApiRequest, ExactJSONProvider

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = ApiRequest
    app.json = ExactJSONProvider(app)
    app.config.from_object(Config)
    app.config.from_prefixed_env("POS")
    app.config.update(config or {})
    os.makedirs(app.instance_path, exist_ok=True)

    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"] or (
        f"sqlite:///{Path(app.instance_path) / 'pos.sqlite3'}"
    )
    secret = app.config["SECRET_KEY"] or load_secret(app.instance_path)
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(f"POS_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long")
    app.config["SECRET_KEY"] = secret

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])

    from .pos_session import bp

    app.register_blueprint(bp)
    register_error_handlers(app)
    if app.config["BENCH_BASELINE"]:
        # Same app, same error handlers and headers; no auth, no SQL. Off in production so it
        # exposes nothing unauthenticated.
        app.add_url_rule("/pos-session/ping", "bench_ping", lambda: {"ok": True})

    @app.after_request
    def no_caching(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    from .cli import register_cli

    register_cli(app)
    return app
