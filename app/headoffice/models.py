"""Head office's own tables, on a metadata of their own: none of them is in the box's schema or
its migrations, and none of the box's is here but ``password_attempt`` (the box's sign-in
lockout, reused as it is: app/people/passwords.py). Its users' sign-ins are kept as the back
office keeps its managers' (app/backoffice/signins.py), in ``ho_signin``.

The schema is made by ``headoffice init-db`` (create-all) and carries its version in
``ho_schema``: a release whose ``SCHEMA_VERSION`` differs refuses to follow or serve until
the upgrade its notes give has run (docs/chain.md).
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, synonym

from ..models import PasswordAttempts, new_id, utcnow

SCHEMA_VERSION = 2  # 2: ho_signin


class Base(DeclarativeBase):
    metadata = MetaData()


class Schema(Base):
    __tablename__ = "ho_schema"

    version: Mapped[int] = mapped_column(primary_key=True)


class Shop(Base):
    """A shop's box followed by head office: where, with which follower token, how far its
    journal is verified and stored, and why its follow stopped, if it did (red)."""

    __tablename__ = "ho_shop"

    store_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500))  # the box's base URL, http(s)://host:port
    token: Mapped[str] = mapped_column(Text)  # the follower token (token issue --follower)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)  # the last verified and stored
    last_hash: Mapped[str | None] = mapped_column(String(64))
    caught_up_at: Mapped[datetime | None]  # the last poll that found nothing more to read
    polled_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)  # the last poll's failure (box unreachable)
    stopped_reason: Mapped[str | None] = mapped_column(Text)  # the feed did not verify: red
    stopped_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Entry(Base):
    """A journal entry of a shop, verified before it was stored, never updated."""

    __tablename__ = "ho_entry"

    store_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]  # UTC
    session_id: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict] = mapped_column(JSONB)
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    # Cheap to keep up at ingest (the bench): a BRIN index for the days and months (entries
    # arrive about in time order), and the sessions' ends only, for "open now".
    __table_args__ = (
        Index("ho_entry_at", "at", postgresql_using="brin"),
        Index(
            "ho_entry_session_end",
            "store_id",
            "session_id",
            postgresql_where=text("kind IN ('session_closed', 'session_force_closed')"),
        ),
    )


class User(Base):
    """A head-office user: signs in with a name and password (the back office's rules)."""

    __tablename__ = "ho_user"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[bytes] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signin(Base):
    """One user signed in to head office in one browser, as a manager's to the back office
    (app.models.BackofficeSignin): the cookie names the row, and signing out, a new password or
    disabling the user deletes it, so every copy of the cookie stops working at once."""

    __tablename__ = "ho_signin"

    id: Mapped[str] = mapped_column(String(24), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("ho_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(300))
    owner = synonym("user_id")


# The lockout's own table, the box's definition.
PasswordAttempts.__table__.to_metadata(Base.metadata)
