"""Marshmallow schemas: they validate every request body and shape every response.

One shape is also written out by hand, for speed: the profile list (``dump_profiles``).
"""

from datetime import UTC, datetime
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ..errors import MISSING

MAX_MONEY = Decimal(1_000_000_000_000)
BCRYPT_MAX_BYTES = 72


class Money(fields.Field):
    """A JSON number with at most two decimals, kept as an exact Decimal.

    The JSON parser hands numbers over as int or Decimal (never float), so ``true``, ``"15000"``
    and ``null`` are refused here by type, and NaN/Infinity never reach this point.
    """

    default_error_messages = {
        "invalid": "Must be a number.",
        "places": "Must have at most 2 decimal places.",
        "range": f"Must be between 0 and {MAX_MONEY}.",
    }

    def __init__(self, *, signed: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.signed = signed

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self.make_error("invalid")
        amount = Decimal(value)
        if not amount.is_finite():
            raise self.make_error("invalid")
        if not 0 <= amount <= MAX_MONEY:
            raise self.make_error("range")
        if amount != amount.quantize(Decimal("0.01")):
            raise self.make_error("places")
        return amount

    def _serialize(self, value, attr, obj, **kwargs):
        # Same number out as came in: 15000 -> 15000, 12.50 -> 12.5.
        if value is None:
            return None
        return int(value) if value == value.to_integral_value() else value.normalize()


def timestamp(value: datetime) -> str:
    """UTC, ISO 8601 with milliseconds and a Z, as the reference writes them."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


class Timestamp(fields.DateTime):
    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else timestamp(value)


def text(max_length: int, **kwargs) -> fields.String:
    """A required, non-empty string field; an empty one counts as missing, as in the reference."""
    validators = [validate.Length(min=1, error=MISSING), validate.Length(max=max_length)]
    return fields.String(
        required=True,
        validate=validators + kwargs.pop("validate", []),
        error_messages={"required": MISSING},
        **kwargs,
    )


class StrictSchema(Schema):
    class Meta:
        # Terminals that send a field we do not know are told so rather than silently ignored.
        unknown = "raise"


def password_field() -> fields.String:
    def fits_bcrypt(value: str):
        if len(value.encode()) > BCRYPT_MAX_BYTES:
            raise ValidationError(f"Must be at most {BCRYPT_MAX_BYTES} bytes.")

    return text(max_length=BCRYPT_MAX_BYTES, load_only=True, validate=[fits_bcrypt])


class CreateSessionSchema(StrictSchema):
    profile_id = text(64, data_key="profileId")
    # "openningCash" is the reference's spelling, which terminals send; "openingCash" works too.
    openning_cash = Money(data_key="openningCash")
    opening_cash = Money(data_key="openingCash")
    password = password_field()

    @validates_schema
    def one_opening_cash(self, data, **kwargs):
        sent = {data[k] for k in ("openning_cash", "opening_cash") if k in data}
        if not sent:
            raise ValidationError(MISSING, "openningCash")
        if len(sent) > 1:
            raise ValidationError("openningCash and openingCash differ.", "openingCash")

    @post_load
    def merge_opening_cash(self, data, **kwargs):
        if "openning_cash" in data:
            data["opening_cash"] = data.pop("openning_cash")
        return data


class SessionSchema(Schema):
    id = fields.String()
    pos_profile_id = fields.String(data_key="posProfileId")
    store_id = fields.String(data_key="storeId")
    opening_cash = Money(data_key="openingCash")
    pos_closing_id = fields.String(data_key="posClosingId", allow_none=True)
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")


class ProfileSchema(Schema):
    id = fields.String()
    store_id = fields.String(data_key="storeId")
    name = fields.String()
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")
    open_session_id = fields.String(data_key="openSessionId", allow_none=True)
    is_opened = fields.Boolean(data_key="isOpened")


def dump_profiles(rows) -> list[dict]:
    """``ProfileSchema(many=True).dump(rows)``, written out: with 200 profiles, marshmallow's
    work per field was 60% of the request (docs/README-bench.md). A test holds them equal."""
    return [
        {
            "id": row.id,
            "storeId": row.store_id,
            "name": row.name,
            "createdAt": timestamp(row.created_at),
            "updatedAt": timestamp(row.updated_at),
            "openSessionId": row.open_session_id,
            "isOpened": row.is_opened,
        }
        for row in rows
    ]


class CreateSessionResponse(Schema):
    message = fields.String()
    success = fields.Boolean()
    data = fields.List(fields.Nested(SessionSchema))


class SessionStatusResponse(Schema):
    has_open_session = fields.Boolean(data_key="hasOpenSession")
    session = fields.Nested(SessionSchema, allow_none=True)


class CurrentSessionResponse(Schema):
    success = fields.Boolean()
    data = fields.Nested(SessionSchema, allow_none=True)
