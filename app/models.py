"""Tables. Money is stored as integer minor units (cents) and read back as an exact Decimal."""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

from cuid2 import Cuid
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from .machinery.extensions import db

_cuid = Cuid(length=24)
CENTS = Decimal(100)


def new_id() -> str:
    return _cuid.generate()


def clean_name(name: str) -> str:
    """A store or profile name as people mean it: without surrounding blanks. Two profile names
    are the same when their ``casefold()`` is: "alice", "ALICE" and "  alice " are one cashier."""
    return name.strip()


def canonical_json(value) -> str:
    """Sorted keys, no spaces, no escaping: the journal's canonical JSON (app.journal.entry)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond: what is stored is exactly what the API shows."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _created_at(context) -> datetime:
    # A new row's updatedAt equals its createdAt to the millisecond, as in the reference.
    return context.get_current_parameters()["created_at"]


class MoneyColumn(TypeDecorator):
    """An exact amount with at most two decimals, kept as an integer count of cents."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        cents = Decimal(value) * CENTS
        if cents != cents.to_integral_value():
            raise ValueError(f"{value} has more than two decimal places")
        return int(cents)

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value) / CENTS


class CanonicalJson(TypeDecorator):
    """A JSON value kept as its canonical text, so the journal can splice the stored text as
    it is into an entry's data."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else canonical_json(value)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class Store(db.Model):
    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    # Settings for the back office (app.owner_input checks them); the API ignores them.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    day_start_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    stale_after_hours: Mapped[int] = mapped_column(default=16, server_default="16")
    currency: Mapped[str] = mapped_column(String(3), default="EUR", server_default="EUR")
    # The largest difference a cashier may close with unapproved; None: no approval asked.
    max_unapproved_difference: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    # Its own notes and coins, largest first ("50,20,10,5"); None: its currency's common ones.
    denominations: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=_created_at, onupdate=utcnow)


class PosProfile(db.Model):
    __tablename__ = "pos_profile"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_pos_profile_store_name"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[bytes]
    # A disabled cashier keeps its history but cannot open a session; nothing is deleted.
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=_created_at, onupdate=utcnow)


class ProfileListVersion(db.Model):
    """A store's profile list version (a random number), moved by triggers (migration 0008)
    whenever a profile or a session of the store changes: workers keep the list per version
    (queries.profile_list)."""

    __tablename__ = "profile_list_version"

    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class PasswordAttempts(db.Model):
    """The password checks of one profile (or manager): the lockout's and the bcrypt bucket's.

    Kept in the database, not in a worker's memory, so both hold across workers and restarts
    (docs/security.md). ``attempts`` counts wrong passwords in the window that began at
    ``window_started_at`` and is cleared by a success; ``checking`` counts checks in flight,
    which stop counting at ``checking_until`` (a worker killed mid-check never ends its own);
    ``work`` is the bcrypt work taken from the subject's bucket as of ``work_second`` (a
    precise time; migration 0007 named it when the budget was counted per second, and a row
    from then reads as a bucket that drained since). ``profile_id`` holds a profile's or a
    manager's id (both cuids), hence no foreign key.
    """

    __tablename__ = "password_attempt"

    profile_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    attempts: Mapped[int]
    window_started_at: Mapped[datetime]
    checking: Mapped[int] = mapped_column(default=0, server_default="0")
    checking_until: Mapped[datetime | None]
    work_second: Mapped[datetime | None]
    work: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class PosSession(db.Model):
    __tablename__ = "pos_session"
    __table_args__ = (
        # The exclusivity rule, enforced by the database itself: one open session per profile.
        Index(
            "uq_pos_session_one_open_per_profile",
            "pos_profile_id",
            unique=True,
            sqlite_where=db.text("pos_closing_id IS NULL"),
            postgresql_where=db.text("pos_closing_id IS NULL"),
        ),
        # History pages walk (created_at, id) newest first, per store or per profile.
        Index("ix_pos_session_store_created_id", "store_id", "created_at", "id"),
        Index("ix_pos_session_profile_created_id", "pos_profile_id", "created_at", "id"),
        # Small (open sessions only): ?status=open stays fast however long the history grows.
        Index(
            "ix_pos_session_store_open_created_id",
            "store_id",
            "created_at",
            "id",
            sqlite_where=db.text("pos_closing_id IS NULL"),
            postgresql_where=db.text("pos_closing_id IS NULL"),
        ),
        # An opening finds its terminal's last closed session, newest first (its float).
        Index("ix_pos_session_store_terminal_created", "store_id", "terminal", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    pos_profile_id: Mapped[str] = mapped_column(ForeignKey("pos_profile.id"))
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    opening_cash: Mapped[Decimal] = mapped_column(MoneyColumn)
    # A plain column, not a foreign key: the first schema let it hold any string, so a key here
    # could fail the upgrade of an existing database (or a downgrade-then-upgrade). The closing
    # points back with a unique foreign key, and both are written in one transaction.
    pos_closing_id: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(String(500))
    opened_by: Mapped[str] = mapped_column(String(120))
    closed_by: Mapped[str | None] = mapped_column(String(120))
    # The opening's count by note and coin, [{"value": "50.00", "count": 3}, ...] largest
    # first; None when the opening sent only the amount, as every one from before counts.
    cash_count: Mapped[list | None] = mapped_column(CanonicalJson)
    # The terminal it was opened on: the API token's jti (None before migration 0015). Its
    # drawer is the one counted at closing, whoever closes it.
    terminal: Mapped[str | None] = mapped_column(String(36))
    # The opening cash minus the float the terminal's last closed session left in the drawer;
    # None when there is none or it left no float.
    discrepancy_at_start: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    # Set at flush, under the write lock: creation order is commit order, which history relies on.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=_created_at, onupdate=utcnow)

    # Read-only, and never loaded lazily: a query that wants it says so (no N+1 by accident).
    closing: Mapped["PosClosing | None"] = relationship(viewonly=True, lazy="raise")


class PosClosing(db.Model):
    """The count at the end of a shift, with the figure the drawer should have held."""

    __tablename__ = "pos_closing"
    # A session is closed once, whatever the code does.
    __table_args__ = (UniqueConstraint("pos_session_id", name="uq_pos_closing_session"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    pos_session_id: Mapped[str] = mapped_column(ForeignKey("pos_session.id"))
    pos_profile_id: Mapped[str] = mapped_column(ForeignKey("pos_profile.id"))
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    closing_cash: Mapped[Decimal] = mapped_column(MoneyColumn)
    expected_cash: Mapped[Decimal] = mapped_column(MoneyColumn)
    difference: Mapped[Decimal] = mapped_column(MoneyColumn)
    note: Mapped[str | None] = mapped_column(String(500))
    closed_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Closed by a manager (named in closed_by) for the cashier, with the reason why.
    forced: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    reason: Mapped[str | None] = mapped_column(String(500))
    # The Z: its number in the store (1, 2, 3, ... no gap), the session's totals, the store's
    # perpetual grand totals once it is counted in, and the hash of its journal entry. Null
    # only in a database that predates them (the journal's migration fills them in).
    z_number: Mapped[int | None]
    sales: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    refunds: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    pay_ins: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    pay_outs: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    grand_sales: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    grand_refunds: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    grand_pay_ins: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    grand_pay_outs: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    journal_hash: Mapped[str | None] = mapped_column(String(64))
    # The difference was over the store's limit: a manager's approval is pending until a
    # ClosingApproval exists (a new fact: the closing itself is never edited).
    needs_approval: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    # Each tender but cash the session used or counted: {code: {"expected", "counted",
    # "difference"}} as money texts, counted and difference null when it was not counted.
    # Null when there was none, as in every closing from before tenders.
    tenders: Mapped[dict | None] = mapped_column(CanonicalJson)
    # The closing's count by note and coin, as the session's opening one; None: not sent.
    cash_count: Mapped[list | None] = mapped_column(CanonicalJson)
    # The cash left in the drawer for the next opening, and the rest (closing_cash minus it)
    # dropped to the safe; both None when no float was said, as in every closing from before.
    float_left: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    to_safe: Mapped[Decimal | None] = mapped_column(MoneyColumn)

    approval: Mapped["ClosingApproval | None"] = relationship(viewonly=True, lazy="selectin")


class ClosingApproval(db.Model):
    """A manager's approval of a closing whose difference was over the store's limit."""

    __tablename__ = "closing_approval"

    closing_id: Mapped[str] = mapped_column(ForeignKey("pos_closing.id"), primary_key=True)
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    # The approving manager's name, as it was then (a manager may be renamed later).
    approved_by: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The movement types and the sign each gives its amount in the expected cash: the check
# constraint, the summary query and the schema all derive from this one definition. A drop
# takes cash to the safe; a no-sale opens the drawer and moves nothing (sign 0: it is counted).
MOVEMENT_SIGNS = {"sale": 1, "refund": -1, "pay_in": 1, "pay_out": -1, "drop": -1, "no_sale": 0}
MOVEMENT_TYPES = tuple(MOVEMENT_SIGNS)
# What a reason is for: required on a drawer event, taken from the store's list on a pay-in or
# pay-out, never on a sale or refund.
REASON_REQUIRED = ("drop", "no_sale")
REASON_LISTED = ("pay_in", "pay_out")

# Cash is every store's tender, built in (it has no row); the owner adds the others.
CASH = "cash"
TENDER_KINDS = ("card", "voucher", "cheque", "other")
# What terminals send: "card", "lunch-voucher". The whole text: marshmallow's Regexp only
# matches from the start, and (?!\n) stops Python's $ before a trailing line break; OpenAPI
# (ECMA-262) reads the same pattern the same way.
TENDER_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$(?!\n)")


class Tender(db.Model):
    """A way the store is paid besides cash, named by the owner. Movements name it by its
    ``code``; it is disabled, never deleted (a trigger refuses it), and its code and kind
    never change (migration 0010)."""

    __tablename__ = "tender"
    __table_args__ = (
        UniqueConstraint("store_id", "code", name="uq_tender_store_code"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in TENDER_KINDS) + ")",
            name="ck_tender_kind",
        ),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=_created_at, onupdate=utcnow)


class CashMovement(db.Model):
    """Cash in or out of the drawer during a session; the type gives the sign, the amount is > 0."""

    __tablename__ = "cash_movement"
    __table_args__ = (
        CheckConstraint(
            "type IN (" + ", ".join(f"'{kind}'" for kind in MOVEMENT_TYPES) + ")",
            name="ck_cash_movement_type",
        ),
        # A no-sale moves nothing; every other movement moves a positive amount.
        CheckConstraint(
            "(type = 'no_sale' AND amount = 0) OR (type <> 'no_sale' AND amount > 0)",
            name="ck_cash_movement_amount",
        ),
        CheckConstraint(
            "reason IS NOT NULL OR type NOT IN ("
            + ", ".join(f"'{kind}'" for kind in REASON_REQUIRED)
            + ")",
            name="ck_cash_movement_reason",
        ),
        Index("ix_cash_movement_session_created", "pos_session_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    pos_session_id: Mapped[str] = mapped_column(ForeignKey("pos_session.id"))
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    type: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    note: Mapped[str | None] = mapped_column(String(500))
    # Why: a drop's or no-sale's (required), or one of the store's reasons for a pay-in/out.
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A tender's code; only cash moves the drawer's expected cash.
    tender: Mapped[str] = mapped_column(String(32), default=CASH, server_default=CASH)
    # The cashier on the session who made it (app.sessions.attendants); None in a movement
    # from before attendants (migration 0014), which its session's opener made.
    attendant_id: Mapped[str | None] = mapped_column(String(24))


ATTENDANCE_KINDS = ("joined", "left", "handover")
# What a handover records besides who: the count at the change and its difference.
HANDOVER_COLUMNS = ("from_profile_id", "counted_cash", "expected_cash", "difference")


class Attendance(db.Model):
    """A cashier joining or leaving an open session, or taking its drawer over (a handover,
    from ``from_profile_id``, with the count at the change): append-only, one journal fact
    each. Who is on a session now folds its rows in ``number`` order
    (app.sessions.attendants)."""

    __tablename__ = "pos_attendance"
    __table_args__ = (
        UniqueConstraint("pos_session_id", "number", name="uq_pos_attendance_number"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in ATTENDANCE_KINDS) + ")",
            name="ck_pos_attendance_kind",
        ),
        CheckConstraint(
            "(kind = 'handover') = ("
            + " AND ".join(f"{column} IS NOT NULL" for column in HANDOVER_COLUMNS)
            + ")",
            name="ck_pos_attendance_handover",
        ),
        Index("ix_pos_attendance_profile", "pos_profile_id"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    pos_session_id: Mapped[str] = mapped_column(ForeignKey("pos_session.id"))
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    number: Mapped[int]  # 1, 2, 3... in the session: the order of its changes
    kind: Mapped[str] = mapped_column(String(8))
    # Who joins, leaves, or takes the drawer.
    pos_profile_id: Mapped[str] = mapped_column(ForeignKey("pos_profile.id"))
    from_profile_id: Mapped[str | None] = mapped_column(String(24))
    counted_cash: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    expected_cash: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    difference: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    cash_count: Mapped[list | None] = mapped_column(CanonicalJson)
    created_by: Mapped[str] = mapped_column(String(120))  # the token's terminal
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MovementReason(db.Model):
    """One of a store's reasons for a pay-in or pay-out, as the owner lists them. A movement
    keeps the reason's text (journaled with it), so removing one from the list changes no
    history."""

    __tablename__ = "movement_reason"

    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKey(db.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed to retries.

    Keys belong to the token that sent them (its ``jti``), so two terminals can never collide.
    ``fingerprint`` is an HMAC of the request, keyed by the app secret: the body holds the
    profile password, and a plain hash of a short PIN would be easy to reverse.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (
        PrimaryKeyConstraint("token_jti", "key", name="pk_idempotency_key"),
        Index("ix_idempotency_key_created", "created_at"),
    )

    token_jti: Mapped[str] = mapped_column(String(36))
    key: Mapped[str] = mapped_column(String(255))
    route: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(db.Model):
    """Every issued token, by its ``jti``: a token not in this table, or revoked, is refused."""

    __tablename__ = "api_token"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    stores: Mapped[str] = mapped_column(String(2000))  # space-separated store ids, for listing
    # "terminal", or "follower": reads the journal and nothing else (head office, app/api/auth.py)
    scope: Mapped[str] = mapped_column(String(16), default="terminal", server_default="terminal")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# The back office: managers and the stores granted to them (app.people holds the rules).
manager_store = db.Table(
    "manager_store",
    Column("manager_id", ForeignKey("manager.id"), primary_key=True),
    Column("store_id", ForeignKey("store.id"), primary_key=True),
)


class Manager(db.Model):
    """A person who runs stores of the box from the back-office page."""

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    # The name casefolded: unique on the box, so "Ana" and "ana" cannot both sign in.
    name_key: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[bytes]
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=_created_at, onupdate=utcnow)

    stores: Mapped[list[Store]] = relationship(secondary=manager_store, order_by=Store.name)


class BackofficeSignin(db.Model):
    """One manager signed in to the back office in one browser: the cookie names the row.

    Signing out, a new password or disabling the manager deletes the row, so any copy of the
    cookie stops working at once. ``last_seen_at`` moves at most once a minute
    (app.backoffice.signins); a row idle past the limit is refused, and deleted at a later
    sign-in."""

    __tablename__ = "backoffice_signin"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    manager_id: Mapped[str] = mapped_column(ForeignKey("manager.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=_created_at)
    # As the browser sent it (printable characters only, cut to 300): shown, escaped, to the
    # manager so they can tell their browsers apart.
    user_agent: Mapped[str] = mapped_column(String(300))
    owner = synonym("manager_id")  # whose sign-in, as head office's sign-ins name theirs


class FormSubmission(db.Model):
    """The one-time token of each back-office form sent: a second send of it does nothing."""

    __tablename__ = "form_submission"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class JournalEntry(db.Model):
    """One cash fact in its store's hash chain (see app.journal and docs/journal.md).

    Append-only: triggers refuse UPDATE and DELETE. ``at`` and ``data`` hold the exact text
    that was hashed, so verifying never depends on how a value is formatted back.
    """

    __tablename__ = "journal_entry"
    __table_args__ = (
        PrimaryKeyConstraint("store_id", "seq", name="pk_journal_entry"),
        # The cross-check reads a batch of sessions' entries at a time.
        Index("ix_journal_entry_store_session_seq", "store_id", "session_id", "seq"),
    )

    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    seq: Mapped[int] = mapped_column(BigInteger, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[str] = mapped_column(String(24))
    session_id: Mapped[str] = mapped_column(String(24))
    imported: Mapped[bool]
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class StoreTotals(db.Model):
    """A store's last Z number and perpetual grand totals: a close adds its session in O(1)."""

    __tablename__ = "store_totals"

    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"), primary_key=True)
    z_number: Mapped[int]
    sales: Mapped[Decimal] = mapped_column(MoneyColumn)
    refunds: Mapped[Decimal] = mapped_column(MoneyColumn)
    pay_ins: Mapped[Decimal] = mapped_column(MoneyColumn)
    pay_outs: Mapped[Decimal] = mapped_column(MoneyColumn)


class PeriodClosing(db.Model):
    """A month's or a year's closing of a store, in store time: numbered per store and kind,
    its totals the sum of its Z closings (first_z to last_z), its grand totals the last Z's.
    Its journal entry's session is the last Z's."""

    __tablename__ = "period_closing"
    __table_args__ = (
        UniqueConstraint("store_id", "kind", "period", name="uq_period_closing_period"),
        UniqueConstraint("store_id", "kind", "number", name="uq_period_closing_number"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    kind: Mapped[str] = mapped_column(String(8))  # "month" or "year"
    period: Mapped[str] = mapped_column(String(7))  # "YYYY-MM" or "YYYY"
    number: Mapped[int]
    first_z: Mapped[int]
    last_z: Mapped[int]
    pos_session_id: Mapped[str] = mapped_column(ForeignKey("pos_session.id"))
    sales: Mapped[Decimal] = mapped_column(MoneyColumn)
    refunds: Mapped[Decimal] = mapped_column(MoneyColumn)
    pay_ins: Mapped[Decimal] = mapped_column(MoneyColumn)
    pay_outs: Mapped[Decimal] = mapped_column(MoneyColumn)
    grand_sales: Mapped[Decimal] = mapped_column(MoneyColumn)
    grand_refunds: Mapped[Decimal] = mapped_column(MoneyColumn)
    grand_pay_ins: Mapped[Decimal] = mapped_column(MoneyColumn)
    grand_pay_outs: Mapped[Decimal] = mapped_column(MoneyColumn)
    closed_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The drops and no-sales of its Zs' sessions, and per tender (cash too) {code: {"expected",
    # "counted", "difference"}} as money texts, summed from its Zs (app.journal.periods). Null
    # in the closings made before migration 0016, whose entries have none.
    drops: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    no_sales: Mapped[int | None]
    tenders: Mapped[dict | None] = mapped_column(CanonicalJson)


class JournalHead(db.Model):
    """A store's last journal entry, so an append reads one row, not the whole chain."""

    __tablename__ = "journal_head"

    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AccountingSettings(db.Model):
    """How a store's Z closings become ledger postings (app.accounting): its country and chart
    of accounts, the account of each figure and tender, its journal code, the master data the
    files name, and whether the owner confirmed them (no export before)."""

    __tablename__ = "accounting_settings"

    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2))  # "FR" or "DE"
    chart: Mapped[str] = mapped_column(String(8))  # "PCG", "SKR03" or "SKR04"
    # {figure: account} for sales, refunds, pay_ins, pay_outs, drops, over, short, and
    # {"tenders": {code: account}} for the tenders given their own (else their kind's default).
    accounts: Mapped[dict] = mapped_column(CanonicalJson)
    journal_code: Mapped[str] = mapped_column(String(8))
    siren: Mapped[str | None] = mapped_column(String(9))
    company_name: Mapped[str | None] = mapped_column(String(120))
    street: Mapped[str | None] = mapped_column(String(120))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(120))
    tax_number: Mapped[str | None] = mapped_column(String(32))
    vat_id: Mapped[str | None] = mapped_column(String(32))
    # DATEV's header names the tax advisor's and the client's numbers.
    datev_consultant: Mapped[int | None]
    datev_client: Mapped[int | None]
    # The month (1 to 12) the fiscal year starts on the 1st of: a FEC names its year's last day.
    fiscal_year_start: Mapped[int] = mapped_column(default=1, server_default="1")
    # Set by the owner's confirmation, cleared by any later change.
    confirmed_by: Mapped[str | None] = mapped_column(String(120))
    confirmed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AccountingExport(db.Model):
    """One FEC, DATEV or DSFinV-K file handed out, journaled: who, when, which business days
    and Zs, and the file's SHA-256, so the accountant can tell which file is current. Its
    journal entry's session is its last Z's."""

    __tablename__ = "accounting_export"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    pos_session_id: Mapped[str] = mapped_column(ForeignKey("pos_session.id"))
    format: Mapped[str] = mapped_column(String(8))
    first_day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, store time
    last_day: Mapped[str] = mapped_column(String(10))
    first_z: Mapped[int]
    last_z: Mapped[int]
    file_name: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    exported_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
