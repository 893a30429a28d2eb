"""Head office's pages at /headoffice/ and their CSVs: every shop's follow (red when its feed
did not verify), the sessions open now, a day's and a month's figures, the variances. Signed in
with the back office's rules (app.people.signin, its lockout), sign-ins kept on the server
(app.backoffice.signins), cookie and CSRF check."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.exc import ProgrammingError

from ..backoffice.signins import Signins
from ..backoffice.views import load_form
from ..exceptions import InvalidInput, InvalidPassword, TooManyAttempts
from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import utcnow
from ..owner_input import SignInSchema
from ..people import signin
from ..reports import business_day, day_bounds, local_time, period_bounds, text_cell
from . import figures
from .models import SCHEMA_VERSION, Schema, Signin, User

bp = Blueprint(
    "headoffice",
    __name__,
    url_prefix="/headoffice",
    template_folder="templates",
    static_folder="static",
)


signins = Signins(Signin, User, "IDLE_MINUTES")


class SignedIn(UserMixin):
    """The signed-in user. The cookie holds the id of the sign-in kept on the server, as the
    back office's: ending it signs this browser out, whatever copies of the cookie exist."""

    def __init__(self, signin: Signin, user: User):
        self.signin = signin
        self.user = user

    def get_id(self) -> str:
        return self.signin.id


def load_user(signin_id: str) -> SignedIn | None:
    found = signins.resume(signin_id, click=True)  # no page here refreshes itself
    return SignedIn(*found) if found else None


def schema_problem() -> str | None:
    """What keeps the pages and the follower from running on this database, or None."""
    try:
        version = db.session.scalar(select(Schema.version))
    except ProgrammingError:  # no ho_schema table: a database head office never set up
        db.session.rollback()
        version = None
    if version == SCHEMA_VERSION:
        return None
    found = "no head-office schema" if version is None else f"schema version {version}"
    return f"The database has {found}; this release needs {SCHEMA_VERSION}: run headoffice init-db"


@bp.before_request
def schema_checked():
    problem = schema_problem()
    if problem:
        return render_template("headoffice/error.html", message=problem), 503


@bp.errorhandler(400)
@bp.errorhandler(404)
def http_error(err):
    return render_template("headoffice/error.html", message=err.description), err.code


def chain() -> figures.Chain:
    config = current_app.config
    return figures.Chain(config["TIMEZONE"], int(config["DAY_START"]))


def today() -> date:
    return business_day(chain(), utcnow())


def _day() -> date:
    try:
        return date.fromisoformat(request.args["day"]) if "day" in request.args else today()
    except ValueError:
        abort(400, "day must be YYYY-MM-DD")


def _month() -> str:
    month = request.args.get("month") or f"{today():%Y-%m}"
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        abort(400, "month must be YYYY-MM")
    return month


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(".index"))
    if request.method == "GET":
        return render_template("headoffice/login.html", error=None, name="")
    name = request.form.get("name", "")
    try:
        user = signin.authenticate(**load_form(SignInSchema()), people=User)
    except (InvalidInput, InvalidPassword) as err:
        status = 400 if isinstance(err, InvalidInput) else 401
        error = (
            "Enter your name and password."
            if status == 400
            else "The name or the password is wrong."
        )
        return render_template("headoffice/login.html", error=error, name=name), status
    except TooManyAttempts as err:
        minutes = -(-err.retry_after_seconds // 60)
        error = f"Too many wrong passwords. Try again in {minutes} min."
        page = render_template("headoffice/login.html", error=error, name=name)
        return page, 429, {"Retry-After": str(err.retry_after_seconds)}
    session.clear()  # nothing from before the sign-in carries over
    login_user(SignedIn(signins.start(user, request.user_agent.string), user))
    session.permanent = True
    return redirect(url_for(".index"))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        signin.end_signins(UnitOfWork(), current_user.user.id, current_user.get_id(), Signin)
    return _signed_out()


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    signin.end_signins(UnitOfWork(), current_user.user.id, signins=Signin)
    return _signed_out()


def _signed_out():
    """This browser's cookie forgets the sign-in (ended on the server already)."""
    logout_user()
    session.clear()
    return redirect(url_for(".login"))


def _connection():
    return db.session.connection()


@bp.get("/")
@login_required
def index():
    return render_template(
        "headoffice/index.html",
        shops=figures.shops(_connection()),
        open_now=figures.open_now(_connection()),
    )


@bp.get("/day")
@login_required
def day():
    the_day = _day()
    rows = figures.takings(_connection(), *day_bounds(chain(), the_day))
    return render_template(
        "headoffice/takings.html", rows=rows, period=the_day.isoformat(), kind="day"
    )


@bp.get("/month")
@login_required
def month():
    the_month = _month()
    rows = figures.takings(_connection(), *period_bounds(chain(), "month", the_month))
    return render_template("headoffice/takings.html", rows=rows, period=the_month, kind="month")


@bp.get("/variances")
@login_required
def variances():
    the_month = _month()
    rows = figures.variances(_connection(), *period_bounds(chain(), "month", the_month))
    return render_template("headoffice/variances.html", rows=rows, month=the_month)


# --- CSV --------------------------------------------------------------------------------------


CENT = Decimal("0.01")


def _money(value) -> Decimal | str:
    """Two decimals; a number, which the CSV writes as it is (only texts are neutralised)."""
    return "" if value is None else Decimal(value).quantize(CENT)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else local_time(chain(), moment).isoformat(timespec="seconds")


def _csv(name: str, header: list[str], rows) -> Response:
    """Texts neutralised against formula injection, as the box's day CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([text_cell(cell) if isinstance(cell, str) else cell for cell in row])
    disposition = f'attachment; filename="headoffice-{name}.csv"'
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": disposition}
    )


@bp.get("/shops.csv")
@login_required
def shops_csv():
    header = ["shop", "store_id", "state", "last_verified_seq", "caught_up_at", "lag_seconds"]
    header += ["last_error", "stopped_reason", "stopped_at"]
    rows = (
        [
            s.row.name,
            s.row.store_id,
            s.state,
            s.row.last_seq,
            _when(s.row.caught_up_at),
            "" if s.lag_seconds is None else f"{s.lag_seconds:.0f}",
            s.row.error or "",
            s.row.stopped_reason or "",
            _when(s.row.stopped_at),
        ]
        for s in figures.shops(_connection())
    )
    return _csv("shops", header, rows)


@bp.get("/open.csv")
@login_required
def open_csv():
    header = ["shop", "store_id", "session_id", "profile_id", "opened_by", "opened_at"]
    header += ["opening_cash", "holder_profile_id", "attendant_profile_ids"]
    rows = (
        [r.shop, r.store_id, r.session_id, r.profile_id, r.opened_by, _when(r.opened_at)]
        + [r.opening_cash, r.holder, "; ".join(r.attendants)]
        for r in figures.open_now(_connection())
    )
    return _csv("open", header, rows)


TAKINGS_HEADER = ["period", "shop", "store_id", "tender", "sales", "refunds", "net"]
TAKINGS_HEADER += ["pay_ins", "pay_outs", "drops", "no_sales"]


def _takings_rows(period: str, rows):
    for t in rows:
        yield [
            period,
            t.shop,
            t.store_id,
            t.tender,
            *map(_money, (t.sales, t.refunds, t.net, t.pay_ins, t.pay_outs, t.drops)),
            t.no_sales,
        ]


@bp.get("/day.csv")
@login_required
def day_csv():
    the_day = _day()
    rows = figures.takings(_connection(), *day_bounds(chain(), the_day))
    return _csv(f"day-{the_day}", TAKINGS_HEADER, _takings_rows(the_day.isoformat(), rows))


@bp.get("/month.csv")
@login_required
def month_csv():
    the_month = _month()
    rows = figures.takings(_connection(), *period_bounds(chain(), "month", the_month))
    return _csv(f"month-{the_month}", TAKINGS_HEADER, _takings_rows(the_month, rows))


@bp.get("/variances.csv")
@login_required
def variances_csv():
    the_month = _month()
    header = ["month", "shop", "store_id", "profile_id", "closings", "forced"]
    header += ["difference", "short", "over", "handovers", "handover_difference"]
    rows = (
        [
            the_month,
            r.shop,
            r.store_id,
            r.profile_id,
            r.closings,
            r.forced,
            *map(_money, (r.difference, r.short, r.over)),
            r.handovers,
            _money(r.handover_difference),
        ]
        for r in figures.variances(_connection(), *period_bounds(chain(), "month", the_month))
    )
    return _csv(f"variances-{the_month}", header, rows)
