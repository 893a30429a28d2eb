"""The box's Ed25519 key and what the journal keeps outside the database, in its folder: the
signed head (each store's last seq and hash), the log of heads started anew, and what a backup
restored would do to the head."""

import fcntl
import json
import os
import sqlite3
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..machinery.config import create_once
from ..models import JournalEntry, JournalHead, utcnow
from .entry import JournalError, canonical, timestamp

KEY_FILE = "journal_ed25519.pem"
HEAD_FILE = "journal_head.json"
_heads = JournalHead.__table__
_entries = JournalEntry.__table__


def signing_key(instance_path: str) -> Ed25519PrivateKey:
    """The box's Ed25519 key, created once in the instance folder (mode 0600)."""
    path = Path(instance_path) / KEY_FILE
    create_once(
        path,
        lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_key_hex(key: Ed25519PrivateKey) -> str:
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    return key.public_key().public_bytes(*raw).hex()


def folder(app=None) -> str:
    """Where the box's key and the signed head live: ``JOURNAL_DIR``, else the instance folder."""
    app = app or current_app
    return app.config["JOURNAL_DIR"] or app.instance_path


def read_signed_heads(instance_path: str, key: Ed25519PublicKey) -> dict | None:
    """``{store_id: (seq, hash)}`` from the head file; None if there is none yet.
    Raises JournalError when the file is not one this key signed."""
    path = Path(instance_path) / HEAD_FILE
    try:
        signed = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except OSError as err:  # a folder where the file should be, no permission: say so
        raise JournalError(f"{path} cannot be read ({err.strerror})") from None
    except ValueError as err:
        raise JournalError(f"{path} is not JSON ({err})") from None
    try:
        key.verify(bytes.fromhex(signed["signature"]), canonical(signed["heads"]).encode())
        return {store: (head["seq"], head["hash"]) for store, head in signed["heads"].items()}
    except (InvalidSignature, KeyError, TypeError, ValueError, AttributeError):
        raise JournalError(f"{path} is not signed by this box's key") from None


def sign_heads(
    instance_path: str, key: Ed25519PrivateKey, heads: dict, replace=False, hash_at=None
) -> None:
    """Merge ``{store_id: (seq, hash)}`` into the signed head file; a head only moves forward,
    and only along its chain: ``hash_at(store_id, seq)`` (the database's entry's hash) must still
    be the signed one, else the journal was cut and regrown past it, and the head keeps what it
    signed so that verify goes on saying so. ``replace`` (after a restore, or sign-head) says
    the database's heads are the truth now."""
    folder = Path(instance_path)
    with open(folder / f".{HEAD_FILE}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # workers commit at once; no head may go backwards
        try:
            merged = {} if replace else read_signed_heads(instance_path, key.public_key()) or {}
        except JournalError:
            merged = {}
        for store, (seq, digest) in heads.items():
            signed = merged.get(store)
            if (
                replace
                or signed is None
                or (seq > signed[0] and hash_at(store, signed[0]) == signed[1])
            ):
                merged[store] = (seq, digest)
        body = {store: {"seq": seq, "hash": digest} for store, (seq, digest) in merged.items()}
        signature = key.sign(canonical(body).encode()).hex()
        tmp = folder / f".{HEAD_FILE}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(canonical({"heads": body, "signature": signature}))
        # Atomic, but not fsynced: that would cost every cash fact a few ms. After a power cut
        # the head may be an older one (harmless: heads only have to be reached) or, rarely,
        # unreadable, which verify reports; `journal sign-head` then re-signs (docs/journal.md).
        os.replace(tmp, folder / HEAD_FILE)


HEAD_LOG = "journal_head.log"


def start_new_head(instance_path: str, key: Ed25519PrivateKey, heads: dict, by, reason) -> dict:
    """Sign ``heads`` (``{store_id: (seq, hash)}``) as the head in place of the old one, which
    is kept beside it under a dated name, and append what was done to the head log (one JSON
    line each; the back office's journal page shows it). For what the old head would rightly
    fail: another box's backup restored, or an older one of this box accepted."""
    folder, now = Path(instance_path), utcnow()
    try:
        previous = read_signed_heads(instance_path, key.public_key())
    except JournalError:
        previous = None  # unreadable, or another key's: kept all the same
    archived = None
    if (folder / HEAD_FILE).exists():
        archived = f"{HEAD_FILE}.{now:%Y%m%dT%H%M%S.%fZ}"
        os.link(folder / HEAD_FILE, folder / archived)  # the new head then replaces the name
    sign_heads(instance_path, key, heads, replace=True)
    event = {
        "at": timestamp(now),
        "by": by,
        "reason": reason,
        "archived": archived,
        "previous": previous and {store: seq for store, (seq, _hash) in previous.items()},
        "heads": {store: seq for store, (seq, _hash) in heads.items()},
    }
    with open(folder / HEAD_LOG, "a", encoding="utf-8") as log:
        log.write(canonical(event) + "\n")
    return event


def head_log(instance_path: str) -> list[dict]:
    """Every signed head started anew, oldest first; empty if none was."""
    try:
        with open(Path(instance_path) / HEAD_LOG, encoding="utf-8") as log:
            return [json.loads(line) for line in log]
    except FileNotFoundError:
        return []


def restore_findings(copy: sqlite3.Connection, signed: dict) -> tuple[list[str], list[str]]:
    """What putting the database ``copy`` in place does to the signed head ``{store_id: (seq,
    hash)}``: what it breaks (a store the head signed that the copy lacks, or whose entry at
    the signed seq is another one: another box's journal) and what it rolls back (a store the
    copy has at an earlier seq: an older backup of this box, which verify reports until
    ``journal sign-head``)."""
    heads = dict(copy.execute("SELECT store_id, seq FROM journal_head"))
    broken, behind = [], []
    for store, (seq, digest) in sorted(signed.items()):
        if store not in heads:
            broken.append(f"store {store} (signed at seq {seq}) is not in it")
        elif heads[store] < seq:
            behind.append(
                f"store {store} ends at seq {heads[store]} in it, at seq {seq} in the head"
            )
        elif copy.execute(
            "SELECT hash FROM journal_entry WHERE store_id = ? AND seq = ?", (store, seq)
        ).fetchone() != (digest,):
            broken.append(f"store {store}'s entry {seq} in it is not the one signed")
    return broken, behind


def not_the_replicas(live: sqlite3.Connection, replica: sqlite3.Connection) -> list[str]:
    """Why the database ``live`` is not the one whose latest state is ``replica`` (sqlite3
    connections to both), nor what followed from it, nor an older state of it: a store's journal
    the replica holds that it lacks (an empty database, another box's), or another entry at the
    replica's seq. An older backup of the box, restored on purpose, passes: its journals end
    earlier, on the same entries."""
    heads = {
        row[0]: row[1:] for row in replica.execute("SELECT store_id, seq, hash FROM journal_head")
    }
    broken, _behind = restore_findings(live, heads)
    return broken


def entry_hash(connection: Connection, store_id: str, seq: int) -> str | None:
    """The hash of a store's entry at ``seq``; None if the journal has none there."""
    where = (_entries.c.store_id == store_id) & (_entries.c.seq == seq)
    return connection.execute(select(_entries.c.hash).where(where)).scalar()


def database_heads(connection: Connection) -> dict:
    return {row.store_id: (row.seq, row.hash) for row in connection.execute(select(_heads))}
