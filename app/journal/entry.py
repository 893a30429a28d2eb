"""The entry and its hash (docs/journal.md): canonical JSON, the chain's links, and a
compiled form of canonical() that verify fills from stored columns."""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from ..models import canonical_json

# The one serialisation that is hashed and signed (kept with the tables, which store it too).
canonical = canonical_json
encode = json.encoder.encode_basestring  # a JSON string, as json.dumps(..., ensure_ascii=False)


class JournalError(Exception):
    pass


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def genesis(store_id: str) -> str:
    """The ``prevHash`` of a store's first entry."""
    return sha256(store_id)


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def cents(value: int) -> str:
    """money(Decimal(value) / 100): an amount as the database keeps it (MoneyColumn)."""
    whole, part = divmod(abs(value), 100)
    return f"{'-' if value < 0 else ''}{whole}.{part:02d}"


def timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


def stored_timestamp(value) -> str:
    """timestamp() of a datetime column as its DBAPI driver gives it: PostgreSQL's a datetime,
    SQLite's SQLAlchemy's text, "YYYY-MM-DD HH:MM:SS[.ffffff]"."""
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:19]}.{value[20:23]:0<3}Z"
    return timestamp(value)


def entry(seq, store_id, kind, at, session_id, data, prev_hash, imported) -> dict:
    """An entry without its hash: what the hash is taken over."""
    fields = {
        "seq": seq,
        "storeId": store_id,
        "kind": kind,
        "at": at,
        "sessionId": session_id,
        "data": data,
        "prevHash": prev_hash,
    }
    return fields | {"imported": True} if imported else fields


def chained_row(seq, prev_hash, store_id, kind, at, session_id, data, imported=False) -> dict:
    """The journal_entry row of a new entry, its hash computed."""
    row = dict(
        store_id=store_id,
        seq=seq,
        kind=kind,
        at=at if isinstance(at, str) else timestamp(at),
        session_id=session_id,
        imported=imported,
        data=canonical(data),
        prev_hash=prev_hash,
    )
    row["hash"] = entry_hash(wire_entry(row))
    return row


def wire_entry(row) -> dict:
    """An entry as the API and exports show it (``hash`` included once it has one)."""
    m = row if isinstance(row, dict) else row._mapping
    fields = (m["seq"], m["store_id"], m["kind"], m["at"], m["session_id"], json.loads(m["data"]))
    wire = entry(*fields, m["prev_hash"], m["imported"])
    return wire | {"hash": m["hash"]} if m.get("hash") else wire


def entry_hash(wire: dict) -> str:
    return sha256(canonical({k: v for k, v in wire.items() if k != "hash"}))


# --- canonical(), compiled ---------------------------------------------------------------------


class Hole(NamedTuple):
    """A value left open in a shape given to ``spliced``."""

    encode: Callable[[object], str] | None = None  # its JSON text; None: the value is JSON text


_MARK = "\ue000"  # a private-use character, which canonical() leaves as it is


def spliced(shape) -> Callable[..., str]:
    """canonical(shape) as a function of its Holes (its arguments, in the shape's order, depth
    first; any more are ignored), compiled once into an f-string. The text around the holes is
    canonical()'s own, so filled with values' JSON texts it is the canonical JSON of what they
    complete: verify builds a million entries' texts so, several times faster than json.dumps."""
    encoders = []

    def mark(value):
        if isinstance(value, dict):
            return {key: mark(inner) for key, inner in value.items()}
        if isinstance(value, Hole):
            encoders.append(value.encode)
            return f"{_MARK}{len(encoders) - 1}{_MARK}"
        return value

    parts = re.split(f'"{_MARK}([0-9]+){_MARK}"', canonical(mark(shape)))
    source = "".join(
        part.replace("{", "{{").replace("}", "}}")
        if n % 2 == 0
        else (f"{{e{part}(v{part})}}" if encoders[int(part)] else f"{{v{part}}}")
        for n, part in enumerate(parts)
    )
    params = "".join(f"v{i}, " for i in range(len(encoders)))
    names = {f"e{i}": encoder for i, encoder in enumerate(encoders) if encoder}
    return eval(f"lambda {params}*_: f{source!r}", names)
