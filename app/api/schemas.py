"""Marshmallow schemas: they validate every request body and shape every response."""

import base64
import binascii
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from flask import current_app
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from ..errors import MISSING
from ..models import (
    ATTENDANCE_KINDS,
    CASH,
    MOVEMENT_TYPES,
    REASON_REQUIRED,
    TENDER_CODE,
    TENDER_KINDS,
)
from ..people.passwords import MAX_BYTES as PASSWORD_MAX_BYTES
from ..people.passwords import password_problem
from ..sessions.queries import tender_lines

MAX_MONEY = Decimal(1_000_000_000_000)
NOTE_MAX = 500
PAGE_MAX = 200
MAX_PIECES = 1_000_000  # of one note or coin in a drawer
COUNT_LINES_MAX = 100


class MoneyField(fields.Field):
    """A JSON number with at most two decimals, kept as an exact Decimal.

    The one money rule (docs/api.md): an amount is judged by the number it is, whatever JSON
    notation wrote it (``1e-2`` is 0.01, ``0.1e1`` is 1), and negative zero is zero. The JSON
    parser hands numbers over as int or Decimal (never float), so ``true``, ``"15000"`` and
    ``null`` are refused here by type, and NaN/Infinity never reach this point.
    """

    default_error_messages = {
        "invalid": "Must be a number.",
        "places": "Must have at most 2 decimal places.",
        "range": f"Must be between 0 and {MAX_MONEY}.",
    }

    def __init__(self, *, signed: bool = False, **kwargs):
        # signed: a computed figure (expected cash, a difference) that may be negative; it is
        # only ever written out, and the OpenAPI document gives it no minimum.
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
        # -0.00 would be journaled as "-0.00" while the row keeps 0, which verify then flags.
        return amount.copy_abs() if amount.is_zero() else amount

    def _serialize(self, value, attr, obj, **kwargs):
        # Same number out as came in: 15000 -> 15000, 12.50 -> 12.5.
        if value is None:
            return None
        value = Decimal(value)  # apispec also hands in the int bounds of a Range validator
        return int(value) if value == value.to_integral_value() else value.normalize()


class Timestamp(fields.DateTime):
    """UTC, ISO 8601 with milliseconds and a Z, as the reference writes them.

    Read back as naive UTC, the way the database keeps it; a time without an offset is UTC.
    """

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        value = super()._deserialize(value, attr, data, **kwargs)
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value


class Cursor(fields.Field):
    """An opaque page position: the (createdAt, id) of the last row seen, base64url-encoded."""

    default_error_messages = {"invalid": "Not a cursor this service gave out."}
    _id = re.compile(r"^[a-z0-9]{1,24}$")

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        created_at, row_id = value
        raw = f"{created_at.isoformat(timespec='microseconds')}|{row_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[datetime, str]:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            stamp, row_id = raw.split("|")
            created_at = datetime.fromisoformat(stamp)
        except (TypeError, ValueError, binascii.Error) as err:
            raise self.make_error("invalid") from err
        if created_at.tzinfo is not None or not self._id.match(row_id):
            raise self.make_error("invalid")
        return created_at, row_id


class Text(fields.String):
    """A string the database can store: PostgreSQL refuses NUL characters in text."""

    default_error_messages = {"nul": "Must not contain NUL characters."}

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:
            raise self.make_error("nul")
        return value


def text(max_length: int, **kwargs) -> Text:
    """A required, non-empty string field; an empty one counts as missing, as in the reference."""
    validators = [validate.Length(min=1, error=MISSING), validate.Length(max=max_length)]
    return Text(
        required=True,
        validate=validators + kwargs.pop("validate", []),
        error_messages={"required": MISSING},
        **kwargs,
    )


class StrictSchema(Schema):
    class Meta:
        # Terminals that send a field we do not know are told so rather than silently ignored.
        unknown = "raise"


def note_field() -> Text:
    return Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=NOTE_MAX),
        metadata={"description": f"Free text, at most {NOTE_MAX} characters; optional"},
    )


def password_field(whose: str = "The profile's") -> Text:
    def follows_the_rule(value: str):
        problem = password_problem(value)
        if problem and value:  # an empty one is missing, as every text field says
            raise ValidationError(problem)

    return text(
        max_length=PASSWORD_MAX_BYTES,
        load_only=True,
        validate=[follows_the_rule],
        metadata={"description": f"{whose} password; a wrong one is 401 Invalid password"},
    )


def profile_field(who: str) -> Text:
    return text(64, data_key="profileId", metadata={"description": who})


class DenominationValue(MoneyField):
    """A note's or coin's value: a money number, or the same number written as a string
    ("50.00"), as the issue's example sends it; greater than 0."""

    default_error_messages = {"positive": "Must be greater than 0."}
    _number = re.compile(r"(0|[1-9]\d{0,15})(\.\d{1,2})?", re.ASCII)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, str):
            if not self._number.fullmatch(value):
                raise self.make_error("invalid")
            value = Decimal(value)
        amount = super()._deserialize(value, attr, data, **kwargs)
        if amount == 0:
            raise self.make_error("positive")
        return amount


class CashCountLine(StrictSchema):
    value = DenominationValue(
        required=True,
        error_messages={"required": MISSING},
        metadata={"description": 'One of the store\'s notes and coins, as a number or "50.00"'},
    )
    count = fields.Integer(
        strict=True,  # 3, not 3.0 nor "3"
        required=True,
        validate=validate.Range(min=0, max=MAX_PIECES),
        error_messages={"required": MISSING},
        metadata={"description": "How many of that note or coin, a whole number"},
    )


def _no_value_twice(lines: list[dict]) -> None:
    values = [line["value"] for line in lines]
    if len(set(values)) != len(values):
        raise ValidationError("Each value once.")


def cash_count_field(amount_key: str) -> fields.List:
    return fields.List(
        fields.Nested(CashCountLine),
        data_key="cashCount",
        load_default=None,
        # An empty count would say the drawer is empty: a terminal that sent [] by mistake
        # would close with 0.00 counted. An empty drawer is a line with count 0, or the amount.
        validate=[
            validate.Length(
                min=1,
                max=COUNT_LINES_MAX,
                error=f"Name from 1 to {COUNT_LINES_MAX} notes and coins.",
            ),
            _no_value_twice,
        ],
        metadata={
            "description": "The drawer counted by note and coin, e.g. "
            '`[{"value": "50.00", "count": 3}, {"value": 0.5, "count": 4}]`: each value one '
            "of the store's notes and coins (else 400), once, 1 to 100 lines; counts whole and "
            ">= 0. Its sum "
            f"must equal `{amount_key}` when both are sent (else 400); sent alone, it gives "
            f"`{amount_key}`."
        },
    )


def count_not_the_amount(name: str, total: str = "TOTAL", sent: str = "SENT") -> str:
    """The refusal of a count whose sum is not the amount sent; as the document says it, by
    default."""
    return f"cashCount adds up to {total}, not the {name} sent ({sent})."


def counted_amount(data: dict, amount_key: str, name: str) -> None:
    """Check the count's sum against the amount sent, or take the amount from it."""
    lines = data.get("cash_count")
    if lines is None:
        return
    total = sum((line["value"] * line["count"] for line in lines), Decimal(0))
    if total > MAX_MONEY:
        raise ValidationError(f"Must add up to at most {MAX_MONEY}.", "cashCount")
    sent = data.get(amount_key)
    if sent is None:
        data[amount_key] = total
    elif sent != total:
        raise ValidationError(count_not_the_amount(name, f"{total:.2f}", f"{sent:.2f}"))


def float_within(data: dict, cash_key: str, name: str, data_key: str) -> None:
    """The float left in the drawer is some of the cash counted: at most ``data[cash_key]``."""
    left, cash = data.get("float_left"), data[cash_key]
    if left is not None and left > cash:
        raise ValidationError(
            f"Must be at most the {name} ({cash:.2f}): the float is part of the cash counted.",
            data_key,
        )


class CreateSessionSchema(StrictSchema):
    profile_id = profile_field("The profile (cashier) opening the session")
    # "openningCash" is the reference's spelling, which terminals send; "openingCash" works too.
    openning_cash = MoneyField(data_key="openningCash")
    opening_cash = MoneyField(data_key="openingCash")
    password = password_field()
    note = note_field()
    cash_count = cash_count_field("openningCash")

    @validates_schema
    def one_opening_cash(self, data, **kwargs):
        sent = {data[k] for k in ("openning_cash", "opening_cash") if k in data}
        if not sent and data.get("cash_count") is None:
            raise ValidationError(MISSING, "openningCash")
        if len(sent) > 1:
            raise ValidationError("openningCash and openingCash differ.", "openingCash")

    @post_load
    def merge_opening_cash(self, data, **kwargs):
        if "openning_cash" in data:
            data["opening_cash"] = data.pop("openning_cash")
        counted_amount(data, "opening_cash", "openningCash")
        return data


class SessionSchema(Schema):
    id = fields.String()
    pos_profile_id = fields.String(data_key="posProfileId")
    store_id = fields.String(data_key="storeId")
    opening_cash = MoneyField(data_key="openingCash")
    pos_closing_id = fields.String(data_key="posClosingId", allow_none=True)
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")


def discrepancy_field() -> MoneyField:
    return MoneyField(
        data_key="discrepancyAtStart",
        allow_none=True,
        signed=True,
        metadata={
            "description": "The opening cash minus the float the terminal's last closed "
            "session left (negative: short); null when there is none or it left no float"
        },
    )


class OpenedSessionSchema(SessionSchema):
    """The reference's session object, and the discrepancy at start (docs/api.md, item 20)."""

    discrepancy_at_start = discrepancy_field()


class ProfileSchema(Schema):
    id = fields.String()
    store_id = fields.String(data_key="storeId")
    name = fields.String()
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")
    open_session_id = fields.String(data_key="openSessionId", allow_none=True)
    is_opened = fields.Boolean(data_key="isOpened")


class CreateSessionResponse(Schema):
    message = fields.String()
    success = fields.Boolean()
    data = fields.List(fields.Nested(OpenedSessionSchema))


class SessionStatusResponse(Schema):
    has_open_session = fields.Boolean(data_key="hasOpenSession")
    session = fields.Nested(SessionSchema, allow_none=True)


class CurrentSessionResponse(Schema):
    success = fields.Boolean()
    data = fields.Nested(SessionSchema, allow_none=True)


class CloseSessionSchema(StrictSchema):
    profile_id = profile_field("The profile closing the session whose drawer it holds")
    # The counted cash. The terminal never sends the expected figure: the count is blind.
    closing_cash = MoneyField(data_key="closingCash")
    password = password_field()
    note = note_field()
    cash_count = cash_count_field("closingCash")

    @validates_schema
    def counted(self, data, **kwargs):
        if "closing_cash" not in data and data.get("cash_count") is None:
            raise ValidationError(MISSING, "closingCash")

    @post_load
    def closing_cash_of_the_count(self, data, **kwargs):
        counted_amount(data, "closing_cash", "closingCash")
        float_within(data, "closing_cash", "closingCash", "floatLeft")
        return data

    float_left = MoneyField(
        data_key="floatLeft",
        load_default=None,
        metadata={
            "description": "The cash left in the drawer for the next opening, at most "
            "`closingCash` (else 400); the rest goes to the safe (the closing's `toSafe`). "
            "The next opening on the session's terminal is compared with it."
        },
    )

    counted_tenders = fields.Dict(
        data_key="countedTenders",
        keys=Text(
            validate=[
                validate.Regexp(TENDER_CODE, error="Not a tender code."),
                validate.NoneOf([CASH], error="Cash is counted in closingCash."),
            ]
        ),
        values=MoneyField(),
        load_default=None,
        metadata={
            "description": "The count of each other tender, by its code, e.g. "
            '`{"card": 120.5, "voucher": 40}` (the card terminal\'s slip, the vouchers in '
            "the drawer). Optional: a tender left out is not counted."
        },
    )


def tender_field() -> Text:
    return Text(
        load_default=CASH,
        validate=validate.Regexp(TENDER_CODE, error="Not a tender code."),
        metadata={"description": "A tender's code (GET /pos-session/tenders); cash if absent"},
    )


class TenderLineSchema(Schema):
    """One tender's figures: counted and difference are null while open or not counted."""

    tender = fields.String(metadata={"description": "The tender's code: cash, or one added"})
    expected = MoneyField(signed=True)
    counted = MoneyField(allow_none=True)
    difference = MoneyField(allow_none=True, signed=True)


MOVEMENT_TYPE = (
    "sale and refund (money taken and given back), pay_in and pay_out (cash into or out of the "
    "drawer, not a sale), drop (cash from the drawer to the safe), no_sale (the drawer opened "
    "without one); the type gives the sign"
)


class CashMovementSchema(StrictSchema):
    """A movement: its type gives the sign (``MOVEMENT_SIGNS``). Every type but ``no_sale``
    moves a positive amount; a no-sale moves none (0 or no amount). A drop and a no-sale say
    why (``reason``); a pay-in or pay-out may name one of the store's reasons."""

    kind = text(
        16,
        data_key="type",
        validate=[validate.OneOf(MOVEMENT_TYPES)],
        metadata={"description": MOVEMENT_TYPE},
    )
    amount = MoneyField(metadata={"description": "> 0; 0 or absent for a no_sale"})
    note = note_field()
    reason = Text(
        allow_none=True,
        validate=validate.Length(max=NOTE_MAX),
        metadata={
            "description": "Required for a drop and a no_sale; for a pay_in or pay_out, one "
            "of the store's reasons (else 400 Unknown reason); never for a sale or refund"
        },
    )

    # Not skipped on field errors: a missing amount is said along with the other fields'.
    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def amount_and_reason_of_the_type(self, data, original_data, **kwargs):
        if not isinstance(original_data, dict):
            return
        kind = data.get("kind")
        errors = {}
        if kind == "no_sale":
            if data.get("amount", 0) != 0:
                errors["amount"] = ["Must be 0 or absent: a no_sale moves no cash."]
        elif "amount" not in original_data:
            errors["amount"] = [MISSING]
        elif data.get("amount") == 0:
            errors["amount"] = ["Must be greater than 0."]
        reason = (data.get("reason") or "").strip()
        if kind in REASON_REQUIRED and not reason:
            errors["reason"] = [MISSING]
        elif kind in ("sale", "refund") and original_data.get("reason") is not None:
            errors["reason"] = ["Must not be given for a sale or refund."]
        if kind in ("drop", "no_sale") and data.get("tender", CASH) != CASH:
            errors["tender"] = ["Must be cash: a drop or a no-sale is the drawer's."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def moved(self, data, **kwargs):
        data.setdefault("amount", Decimal(0))  # a no-sale's, the one type that may omit it
        data["reason"] = (data.get("reason") or "").strip() or None
        return data

    tender = tender_field()
    attendant_id = Text(
        data_key="attendantId",
        load_default=None,
        validate=validate.Length(max=64),
        metadata={
            "description": "The profile of the cashier on the session who made it (one that "
            "joined, or the drawer's holder); the holder if absent. Not on the session now: "
            "409 Profile is not on this session"
        },
    )


class JoinSessionSchema(StrictSchema):
    """Another cashier of the store joins an open session with its own password."""

    profile_id = profile_field("The cashier joining: a profile of the store, not on a session")
    password = password_field("The joining cashier's own")


class HandoverSchema(StrictSchema):
    """The cashier who takes the drawer, by its password, and the drawer counted at the change."""

    profile_id = profile_field(
        "The cashier taking the drawer: an attendant of the session, or a profile of the store "
        "on no session"
    )
    password = password_field("The taking cashier's own")
    counted_cash = MoneyField(data_key="countedCash")
    cash_count = cash_count_field("countedCash")

    @validates_schema
    def counted(self, data, **kwargs):
        if "counted_cash" not in data and data.get("cash_count") is None:
            raise ValidationError(MISSING, "countedCash")

    @post_load
    def counted_cash_of_the_count(self, data, **kwargs):
        counted_amount(data, "counted_cash", "countedCash")
        return data


class HistoryQuerySchema(StrictSchema):
    profile_id = Text(data_key="profileId", validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    since = Timestamp(data_key="from", metadata={"description": "createdAt >= from"})
    until = Timestamp(data_key="to", metadata={"description": "createdAt < to"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_MAX))
    cursor = Cursor(metadata={"description": "nextCursor of the previous page"})

    @validates_schema
    def from_before_to(self, data, **kwargs):
        if "since" in data and "until" in data and data["since"] > data["until"]:
            raise ValidationError("Must not be before from.", "to")


class GrandTotalsSchema(Schema):
    """The store's perpetual totals once a closing is counted in: they only grow."""

    sales = MoneyField(attribute="grand_sales")
    refunds = MoneyField(attribute="grand_refunds")
    pay_ins = MoneyField(attribute="grand_pay_ins", data_key="payIns")
    pay_outs = MoneyField(attribute="grand_pay_outs", data_key="payOuts")


class CountedLineSchema(Schema):
    value = MoneyField(metadata={"description": "The note's or coin's value"})
    count = fields.Integer(metadata={"description": "How many were counted"})


def counted_field(when: str) -> fields.List:
    return fields.List(
        fields.Nested(CountedLineSchema),
        data_key="cashCount",
        allow_none=True,
        metadata={
            "description": f"The cash counted {when} by note and coin, largest first; "
            "null when only the amount was sent"
        },
    )


class ClosingSchema(Schema):
    id = fields.String()
    pos_session_id = fields.String(data_key="posSessionId")
    pos_profile_id = fields.String(data_key="posProfileId")
    store_id = fields.String(data_key="storeId")
    closing_cash = MoneyField(data_key="closingCash")
    expected_cash = MoneyField(data_key="expectedCash", signed=True)
    difference = MoneyField(signed=True)
    note = fields.String(allow_none=True)
    closed_by = fields.String(data_key="closedBy")
    created_at = Timestamp(data_key="createdAt")
    forced = fields.Boolean(metadata={"description": "closed by a manager, named in closedBy"})
    reason = fields.String(allow_none=True, metadata={"description": "why it was forced"})
    # The Z (docs/journal.md): its number, its journal entry's hash, the store's grand totals.
    z_number = fields.Integer(data_key="zNumber", allow_none=True)
    journal_hash = fields.String(
        data_key="hash", allow_none=True, metadata={"description": "Its journal entry's hash"}
    )
    grand_totals = fields.Nested(GrandTotalsSchema, data_key="grandTotals")
    approval = fields.String(
        allow_none=True,
        validate=validate.OneOf(["pending", "approved"]),
        metadata={"description": "pending: the difference is over the store's limit"},
    )
    approved_by = fields.String(
        attribute="approval.approved_by", data_key="approvedBy", allow_none=True
    )
    approved_at = Timestamp(attribute="approval.created_at", data_key="approvedAt", allow_none=True)
    approval_note = fields.String(
        attribute="approval.note", data_key="approvalNote", allow_none=True
    )
    tenders = fields.List(
        fields.Nested(TenderLineSchema),
        metadata={"description": "Per tender, cash first: expected, counted, difference"},
    )
    cash_count = counted_field("at closing")
    float_left = MoneyField(
        data_key="floatLeft",
        allow_none=True,
        metadata={"description": "left in the drawer for the next opening; null: not said"},
    )
    to_safe = MoneyField(
        data_key="toSafe",
        allow_none=True,
        metadata={"description": "closingCash - floatLeft, dropped to the safe; null: not said"},
    )

    def get_attribute(self, closing, attr, default):
        if attr == "grand_totals":
            return closing  # its own columns, grouped in the answer
        if attr == "tenders":
            return tender_lines(closing.expected_cash, closing, {})
        if attr == "approval":
            if closing.approval is not None:
                return "approved"
            return "pending" if closing.needs_approval else None
        if attr.startswith("approval."):  # who approved, when, why: null until approved
            approval = closing.approval
            return None if approval is None else getattr(approval, attr.partition(".")[2])
        return super().get_attribute(closing, attr, default)


class SessionRecordSchema(SessionSchema):
    """A session beyond the reference's shape: its note, who opened and closed it, its closing."""

    note = fields.String(allow_none=True)
    cash_count = counted_field("at opening")
    discrepancy_at_start = discrepancy_field()
    opened_by = fields.String(data_key="openedBy")
    closed_by = fields.String(data_key="closedBy", allow_none=True)
    closing = fields.Nested(ClosingSchema, allow_none=True)


class MovementSchema(Schema):
    id = fields.String(metadata={"description": "The movement's id"})
    pos_session_id = fields.String(
        data_key="posSessionId", metadata={"description": "The session it belongs to"}
    )
    store_id = fields.String(data_key="storeId", metadata={"description": "The session's store"})
    type = fields.String(
        validate=validate.OneOf(MOVEMENT_TYPES), metadata={"description": MOVEMENT_TYPE}
    )
    amount = MoneyField(metadata={"description": "As sent: > 0, or 0 for a no_sale"})
    note = fields.String(allow_none=True, metadata={"description": "Free text; null if none"})
    reason = fields.String(
        allow_none=True,
        metadata={
            "description": "Why: a drop's and a no-sale's, or one of the store's pay-in and "
            "pay-out reasons; null if none"
        },
    )
    created_by = fields.String(
        data_key="createdBy", metadata={"description": "The terminal: its token's name"}
    )
    created_at = Timestamp(data_key="createdAt", metadata={"description": "When it was recorded"})
    tender = fields.String(
        metadata={"description": "Its tender's code: cash, or a tender of the store"}
    )
    attendant_id = fields.String(
        data_key="attendantId",
        allow_none=True,
        metadata={"description": "The cashier who made it; null before attendants: the opener"},
    )


class AttendantTenderSchema(Schema):
    tender = fields.String(metadata={"description": "A tender's code, not cash"})
    expected = MoneyField(
        signed=True,
        metadata={
            "description": "The cashier's movements in that tender, signed by type: its share "
            "of the tender's expected"
        },
    )


class AttendantFiguresSchema(Schema):
    """One cashier's share of the session's figures: the movements it made, in cash and in
    each other tender."""

    profile_id = fields.String(data_key="profileId", metadata={"description": "The cashier"})
    name = fields.String(metadata={"description": "The cashier's name"})
    sales = MoneyField(metadata={"description": "Its cash sales"})
    refunds = MoneyField(metadata={"description": "Its cash refunds"})
    pay_ins = MoneyField(data_key="payIns", metadata={"description": "Its pay-ins"})
    pay_outs = MoneyField(data_key="payOuts", metadata={"description": "Its pay-outs"})
    drops = MoneyField(metadata={"description": "The cash it took to the safe"})
    no_sales = fields.Integer(
        data_key="noSales",
        metadata={"description": "How many times it opened the drawer without a sale"},
    )
    tenders = fields.List(
        fields.Nested(AttendantTenderSchema),
        metadata={
            "description": "Each other tender it moved, by code; the summary's tenders' "
            "expected is their sum over the cashiers"
        },
    )

    def get_attribute(self, figures, attr, default):
        if attr == "tenders":  # {code: amount}, by code
            return [{"tender": code, "expected": amount} for code, amount in figures[attr].items()]
        return super().get_attribute(figures, attr, default)


class AttendanceSchema(Schema):
    """A cashier joined or left the session, or took its drawer over (a handover: from whom,
    with the count at the change; null on a join or leave)."""

    id = fields.String(metadata={"description": "The attendance row's id"})
    pos_session_id = fields.String(
        data_key="posSessionId", metadata={"description": "The session it belongs to"}
    )
    kind = fields.String(
        validate=validate.OneOf(ATTENDANCE_KINDS),
        metadata={"description": "joined, left, or handover (the drawer changed hands)"},
    )
    pos_profile_id = fields.String(
        data_key="profileId", metadata={"description": "who joined, left, or took the drawer"}
    )
    from_profile_id = fields.String(
        data_key="fromProfileId",
        allow_none=True,
        metadata={"description": "who held the drawer before the handover (and left)"},
    )
    counted_cash = MoneyField(data_key="countedCash", allow_none=True)
    expected_cash = MoneyField(data_key="expectedCash", allow_none=True, signed=True)
    difference = MoneyField(allow_none=True, signed=True)
    cash_count = counted_field("at the handover")
    created_by = fields.String(data_key="createdBy", metadata={"description": "the terminal"})
    created_at = Timestamp(data_key="createdAt", metadata={"description": "When it happened"})


class AttendanceResponse(Schema):
    message = fields.String()
    success = fields.Boolean()
    data = fields.Nested(AttendanceSchema)


class SummarySchema(Schema):
    """The X-report while the session is open (nothing counted yet), the Z-report once closed."""

    opening_cash = MoneyField(data_key="openingCash")
    sales = MoneyField()
    refunds = MoneyField()
    pay_ins = MoneyField(data_key="payIns")
    pay_outs = MoneyField(data_key="payOuts")
    drops = MoneyField(metadata={"description": "cash taken to the safe"})
    no_sales = fields.Integer(
        data_key="noSales",
        metadata={"description": "how many times the drawer opened without a sale"},
    )
    expected_cash = MoneyField(data_key="expectedCash", signed=True)
    closing_cash = MoneyField(data_key="closingCash", allow_none=True)
    difference = MoneyField(allow_none=True, signed=True)
    tenders = fields.List(
        fields.Nested(TenderLineSchema),
        metadata={"description": "Per tender, cash first: expected, counted, difference"},
    )
    attendants = fields.List(
        fields.Nested(AttendantFiguresSchema),
        data_key="byAttendant",
        metadata={
            "description": "The figures split by the cashier who made each movement: cash, "
            "and each other tender"
        },
    )


class SessionReportSchema(SessionRecordSchema):
    """The session's own fields, then who is on it, its movements and summary, from a
    ``SessionReport``."""

    holder = fields.String(
        allow_none=True,
        metadata={
            "description": "Who holds the drawer now (the opener until a handover); "
            "null once closed"
        },
    )
    attending = fields.List(
        fields.String(),
        allow_none=True,
        metadata={"description": "The other cashiers on the session now; null once closed"},
    )
    closer = fields.String(
        data_key="closedByCashier",
        allow_none=True,
        metadata={
            "description": "Who held the drawer at the close (the opener unless handed "
            "over); null while open"
        },
    )
    attendance = fields.List(
        fields.Nested(AttendanceSchema),
        metadata={"description": "Its joins, leaves and handovers, in order"},
    )
    movements = fields.List(fields.Nested(MovementSchema))
    summary = fields.Nested(SummarySchema)

    def get_attribute(self, report, attr, default):
        if attr in ("holder", "attending"):
            on_now = report.presence
            if on_now is None:
                return None
            return on_now.holder if attr == "holder" else sorted(on_now.attendants)
        own = ("closer", "attendance", "movements", "summary")
        source = report if attr in own else report.session
        return super().get_attribute(source, attr, default)


class CloseSessionResponse(Schema):
    message = fields.String()
    success = fields.Boolean()
    data = fields.Nested(SessionRecordSchema)


class CashMovementResponse(Schema):
    message = fields.String()
    success = fields.Boolean()
    data = fields.Nested(MovementSchema)


class TenderSchema(Schema):
    code = fields.String(metadata={"description": "What a movement's tender names"})
    kind = fields.String(
        validate=validate.OneOf([CASH, *TENDER_KINDS]),
        metadata={"description": "cash (built in), or the kind the owner chose"},
    )
    name = fields.String(metadata={"description": "The owner's name for it, as the pages show"})
    enabled = fields.Boolean(
        metadata={
            "description": "false once disabled: a movement naming it is 400 Tender is disabled"
        }
    )


class TendersResponse(Schema):
    success = fields.Boolean()
    data = fields.List(fields.Nested(TenderSchema))


class SessionHistoryResponse(Schema):
    success = fields.Boolean()
    data = fields.List(fields.Nested(SessionRecordSchema))
    next_cursor = Cursor(data_key="nextCursor", allow_none=True)


class SessionReportResponse(Schema):
    success = fields.Boolean()
    data = fields.Nested(SessionReportSchema)


class RowsShapedOnce:
    """Rows (SQLAlchemy ``Row``s) as a JSON array, each distinct row shaped by ``schema`` and
    serialised once per worker. ``schema`` may be the list's (``many=True``), as a view
    declares it for the document.

    A row is keyed by all its values, so a changed row is a new key, shaped afresh: the answer
    is always the JSON of ``schema.dump`` of each row. Meant for lists that change a row at a
    time (the profile list of 200: dumping field by field, then encoding the whole list, was
    most of the route).
    """

    def __init__(self, schema: Schema, size: int = 4096):
        self.schema, self.size = schema, size
        self._shaped: dict[tuple, str] = {}

    def json(self, rows) -> str:
        shaped, parts = self._shaped, []
        for row in rows:
            key = tuple(row)  # a plain tuple compares in C; a Row, in Python
            text = shaped.get(key)
            if text is None:
                if len(shaped) >= self.size:
                    shaped.clear()
                text = shaped[key] = current_app.json.dumps(
                    self.schema.dump(row._mapping, many=False)
                )
            parts.append(text)
        return f"[{','.join(parts)}]"


class TypedMoney(MoneyField):
    """An amount as a person types it on a page or a command line: "152.30", "1,234.50".

    The API's rule on the notation of a JSON number, with commas between thousands only:
    "1,50" is refused rather than read as 150, and so is what Decimal alone would take and
    JSON would not (".5", "+5", "1_000", other scripts' digits).
    """

    default_error_messages = {"invalid": "Enter an amount such as 152.30."}
    _typed = re.compile(r"-?(0|[1-9]\d{0,2}(,\d{3})+|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?", re.ASCII)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, str):
            value = value.strip()
            if not self._typed.fullmatch(value):
                raise self.make_error("invalid")
            try:
                value = Decimal(value.replace(",", ""))
            except InvalidOperation:  # an exponent beyond decimal's, as JSON's parser says
                raise self.make_error("invalid") from None
        return super()._deserialize(value, attr, data, **kwargs)


class ForceCloseSchema(Schema):
    """A manager's close of a forgotten session: the cash counted and why, and the float left
    in the drawer if said."""

    counted = TypedMoney(required=True, error_messages={"required": "Enter the cash counted."})
    reason = Text(required=True, error_messages={"required": "Say why it is closed by force."})
    float_left = TypedMoney(load_default=None)

    @pre_load
    def _blank_is_not_said(self, data, **kwargs):
        if str(data.get("float_left") or "").strip() == "":
            data = {key: value for key, value in data.items() if key != "float_left"}
        return data

    @validates_schema
    def _float_of_the_count(self, data, **kwargs):
        if "counted" in data:
            float_within(data, "counted", "cash counted", "float_left")

    @validates("reason")
    def _said(self, value, **kwargs):
        if not value.strip() or len(value) > NOTE_MAX:
            raise ValidationError(f"Say why, in 1 to {NOTE_MAX} characters.")

    @post_load
    def _trimmed(self, data, **kwargs):
        data["reason"] = data["reason"].strip()
        return data
