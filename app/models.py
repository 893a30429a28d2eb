"""Tables. Money is stored as integer minor units (cents) and read back as an exact Decimal."""

from datetime import UTC, datetime
from decimal import Decimal

from cuid2 import Cuid
from sqlalchemy import BigInteger, ForeignKey, Index, String, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

_cuid = Cuid(length=24)
CENTS = Decimal(100)


def new_id() -> str:
    return _cuid.generate()


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond: what is stored is exactly what the API shows."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Money(TypeDecorator):
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


class Store(db.Model):
    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PosProfile(db.Model):
    __tablename__ = "pos_profile"
    __table_args__ = (UniqueConstraint("store_id", "name", name="uq_pos_profile_store_name"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[bytes]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PasswordAttempts(db.Model):
    """Password attempts on one profile since its last success, in the current window.

    Kept in the database, not in a worker's memory, so the lockout holds across workers and
    restarts. An attempt is counted before its password is checked and the row is deleted by
    a success, so only wrong (or still running) attempts remain.
    """

    __tablename__ = "password_attempt"

    profile_id: Mapped[str] = mapped_column(ForeignKey("pos_profile.id"), primary_key=True)
    attempts: Mapped[int]
    window_started_at: Mapped[datetime]


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
        Index("ix_pos_session_store_created", "store_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    pos_profile_id: Mapped[str] = mapped_column(ForeignKey("pos_profile.id"))
    store_id: Mapped[str] = mapped_column(ForeignKey("store.id"))
    opening_cash: Mapped[Decimal] = mapped_column(Money)
    pos_closing_id: Mapped[str | None] = mapped_column(String(24))
    opened_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiToken(db.Model):
    """Every issued token, by its ``jti``: a token not in this table, or revoked, is refused."""

    __tablename__ = "api_token"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    stores: Mapped[str] = mapped_column(String(2000))  # space-separated store ids, for listing
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
