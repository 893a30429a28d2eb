import pytest
from flask_migrate import upgrade

from app import create_app
from app.auth import issue_token
from app.extensions import db
from app.models import PosProfile, Store
from app.pos_session.service import hash_password

SECRET = "test-secret-that-is-long-enough-for-hs256!"
PASSWORD = "s3cret-pin"


@pytest.fixture
def app(tmp_path):
    # A real file, not :memory:, so WAL and locking behave as in production.
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'pos.sqlite3'}",
            "SECRET_KEY": SECRET,
            "BCRYPT_ROUNDS": 4,
        }
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_store(app):
    def make(name="Main Street"):
        with app.app_context():
            store = Store(name=name)
            db.session.add(store)
            db.session.commit()
            return store.id

    return make


@pytest.fixture
def make_profile(app):
    def make(store_id, name="alice", password=PASSWORD):
        with app.app_context():
            profile = PosProfile(
                store_id=store_id, name=name, password_hash=hash_password(password, 4)
            )
            db.session.add(profile)
            db.session.commit()
            return profile.id

    return make


@pytest.fixture
def make_token(app):
    def make(*store_ids, name="terminal-1", days=365):
        with app.app_context():
            return issue_token(list(store_ids), name, days)

    return make


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def profile(make_profile, store):
    return make_profile(store)


@pytest.fixture
def headers(make_token, store):
    return {"Authorization": f"Bearer {make_token(store)}", "x-store-id": store}


@pytest.fixture
def open_body(profile):
    return {"profileId": profile, "openningCash": 15000, "password": PASSWORD}
