"""A store's entries exported, signed with the box's key, and checked offline with nothing but
the file and the public key."""

import json
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..machinery.jsonio import DuplicateKeyError, reject_duplicate_keys
from ..models import JournalEntry, utcnow
from .entry import JournalError, canonical, entry_hash, genesis, timestamp, wire_entry
from .verify import STREAM

EXPORT_FORMAT = "pos-session-journal-export/1"
_entries = JournalEntry.__table__


def export(
    connection: Connection,
    store_id: str,
    out: Path,
    key: Ed25519PrivateKey,
    since: str | None = None,
    until: str | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> dict:
    """Write the store's entries with ``since <= at < until`` (ISO texts) to ``out``: one JSON
    entry a line, then the signed manifest. The range is the seqs from the first such entry to
    the last, without a gap even where concurrent writers left ``at`` out of order."""
    bounds = select(func.min(_entries.c.seq), func.max(_entries.c.seq)).where(
        _entries.c.store_id == store_id
    )
    if since:
        bounds = bounds.where(_entries.c.at >= since)
    if until:
        bounds = bounds.where(_entries.c.at < until)
    first, last = connection.execute(bounds).one()
    if first is None:
        raise JournalError(f"store {store_id} has no journal entry in that range")
    rows = connection.execute(
        select(_entries)
        .where(_entries.c.store_id == store_id, _entries.c.seq.between(first, last))
        .order_by(_entries.c.seq)
        .execution_options(**STREAM)
    )
    partial = out.with_name(f".{out.name}.partial")
    count, start, last_hash = 0, None, None
    with open(partial, "w", encoding="utf-8") as f:
        for row in rows:
            start = start or row.prev_hash
            last_hash = row.hash
            count += 1
            f.write(canonical(wire_entry(row)) + "\n")
            progress(1)
        manifest = {
            "format": EXPORT_FORMAT,
            "storeId": store_id,
            "firstSeq": first,
            "lastSeq": last,
            "startPrevHash": start,
            "lastHash": last_hash,
            "count": count,
            "exportedAt": timestamp(utcnow()),
        }
        signature = key.sign(canonical(manifest).encode()).hex()
        f.write(canonical({"manifest": manifest, "signature": signature}) + "\n")
    os.replace(partial, out)
    return manifest


def verify_export(path: Path, public_key: str, progress=lambda n: None) -> dict:
    """Check an export with its file and the box's public key alone; returns its manifest.
    Raises JournalError naming the first thing wrong."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
    except ValueError:
        raise JournalError("the public key is not 64 hex digits of an Ed25519 key") from None
    first = previous = None
    count = 0
    with open(path, "rb") as f:  # bytes: each line must be exactly what was hashed and signed
        pending = f.readline()
        for line in f:
            entry = _parse(pending, count + 1)
            seq = entry.get("seq")
            if not isinstance(seq, int):
                raise JournalError(f"line {count + 1}: no seq")
            if previous is None:
                first = entry
            elif seq != previous["seq"] + 1:
                raise JournalError(f"seq {seq}: follows seq {previous['seq']}")
            elif entry.get("prevHash") != previous["hash"]:
                raise JournalError(f"seq {seq}: prevHash is not the previous entry's hash")
            if entry.get("storeId") != first.get("storeId"):
                raise JournalError(f"seq {seq}: another store's entry")
            if entry.get("hash") != entry_hash(entry):
                raise JournalError(f"seq {seq}: hash does not match the entry's content")
            previous, pending = entry, line
            count += 1
            progress(1)
    signed = _parse(pending, count + 1)
    try:
        manifest = signed["manifest"]
        key.verify(bytes.fromhex(signed["signature"]), canonical(manifest).encode())
    except (InvalidSignature, KeyError, TypeError, ValueError):
        raise JournalError("the manifest's signature is not this key's") from None
    if previous is None:
        raise JournalError("the export holds no entry")
    found = {
        "storeId": first["storeId"],
        "firstSeq": first["seq"],
        "lastSeq": previous["seq"],
        "startPrevHash": first["prevHash"],
        "lastHash": previous["hash"],
        "count": count,
    }
    wrong = [name for name, value in found.items() if manifest.get(name) != value]
    if wrong:
        raise JournalError(f"the entries do not match the manifest's {', '.join(wrong)}")
    if first["seq"] == 1 and first["prevHash"] != genesis(first["storeId"]):
        raise JournalError("seq 1: prevHash is not the store id's hash")
    return manifest


def _parse(line: bytes, number: int) -> dict:
    """An export's line as the object it holds, refused unless its bytes are that object's
    canonical JSON and a newline: a duplicate key (of which a reader keeps the last), a space or
    an escape would make the line say other than what its hash or signature covers."""
    try:
        value = json.loads(line, object_pairs_hook=reject_duplicate_keys)
    except DuplicateKeyError as err:
        raise JournalError(f"line {number}: {err}") from None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise JournalError(f"line {number} is not a JSON object")
    try:
        form = f"{canonical(value)}\n".encode()
    except UnicodeEncodeError:  # a lone surrogate ("\ud800"): JSON, but no text a hash covers
        form = None
    if line != form:
        raise JournalError(f"line {number} is not in canonical form (sorted keys, no spaces)")
    return value
