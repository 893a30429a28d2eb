from flask import Blueprint

bp = Blueprint("pos_session", __name__, url_prefix="/pos-session")

from . import routes  # noqa: E402,F401  (routes attach themselves to bp)
