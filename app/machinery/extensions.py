"""Extension objects, created unbound and bound to the app in ``create_app``; the JWT manager
is ``app.api.auth.jwt``."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
