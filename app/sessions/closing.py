"""The Z: each closing of a store is numbered 1, 2, 3... and carries the store's perpetual
grand totals, the previous Z's plus its own session's (store_totals keeps the last, so a close
adds in O(1))."""

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..journal import TOTALS, locked_row
from ..models import PosClosing, StoreTotals

_totals = StoreTotals.__table__
ZERO = dict.fromkeys(TOTALS.values(), 0)
TOTALS_ROW = select(_totals).where(_totals.c.store_id == bindparam("store_id")).with_for_update()
MOVE_TOTALS = (
    update(_totals)
    .where(_totals.c.store_id == bindparam("totals_store"))
    .values(
        z_number=bindparam("z_number"),
        **{column: bindparam(column) for column in TOTALS.values()},
    )
)


def assign_z(tx: Session, closing: PosClosing) -> None:
    """Give the closing (its session's totals set) its Z number and grand totals, and move the
    store's totals to them; the store's row stays locked until the close commits."""
    connection = tx.connection()
    totals = locked_row(connection, TOTALS_ROW, _totals, closing.store_id, z_number=0, **ZERO)
    closing.z_number = totals.z_number + 1
    for column in TOTALS.values():
        setattr(closing, f"grand_{column}", getattr(totals, column) + getattr(closing, column))
    connection.execute(
        MOVE_TOTALS,
        {
            "totals_store": closing.store_id,
            "z_number": closing.z_number,
            **{column: getattr(closing, f"grand_{column}") for column in TOTALS.values()},
        },
    )
