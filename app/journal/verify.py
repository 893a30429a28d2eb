"""Verification: each store's chain recomputed and cross-checked against the tables both ways,
in one pass over its entries, and held to the signed head kept outside the database."""

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from ..models import JournalEntry, JournalHead, Store, utcnow
from .crosscheck import Problem, expected, period_problems, raw_batches, unmatched, z_problems
from .entry import Hole, canonical, encode, entry, genesis, spliced, timestamp
from .facts import FACTS

_entries = JournalEntry.__table__
_heads = JournalHead.__table__
_stores = Store.__table__


class Verification(NamedTuple):
    stores: int
    entries: int
    signed: int  # stores checked against the signed head
    problems: list[Problem]  # the first per store

    def summary(self) -> str:
        if self.problems:
            return "\n".join(map(str, self.problems))
        return (
            f"journal verified: {self.stores} store(s), {self.entries} entries, every chain "
            f"intact, every session, movement and closing journaled; "
            f"{self.signed} store(s) checked against the signed head"
        )


STREAM = {"stream_results": True, "yield_per": 10_000}
CHAIN = (
    select(
        _entries.c.seq,
        _entries.c.kind,
        _entries.c.at,
        _entries.c.session_id,
        _entries.c.imported,
        _entries.c.data,
        _entries.c.prev_hash,
        _entries.c.hash,
    )
    .where(_entries.c.store_id == bindparam("store_id"))
    .order_by(_entries.c.seq)
)

# An entry's hashed text from its stored columns: a function of (seq, store id's JSON, kind's
# JSON, at, session id, data's text as stored, prevHash). One each with and without
# "imported" (SQLite gives 1 and 0, which key the same).
_STORED = dict(
    seq=Hole(),
    store_id=Hole(),
    kind=Hole(),
    at=Hole(encode),
    session_id=Hole(encode),
    data=Hole(),
    prev_hash=Hole(encode),
)
ENTRY_TEXT = {imported: spliced(entry(**_STORED, imported=imported)) for imported in (True, False)}


def count_entries(connection: Connection, store_id: str | None = None) -> int:
    query = select(func.count()).select_from(_entries)
    if store_id is not None:
        query = query.where(_entries.c.store_id == store_id)
    return connection.scalar(query)


def verify(
    connection: Connection,
    store_ids: Iterable[str] | None,
    signed_heads: dict | None,
    progress: Callable[[int], None] = lambda n: None,
    verified: Callable[[str, Verification], None] = lambda store_id, result: None,
) -> Verification:
    """Recompute each store's chain and cross-check it against the tables both ways, in one
    pass over its entries; ``progress`` is told of them as they are read, ``verified`` of each
    store's result. ``store_ids`` None: every store, the database's and the signed head's."""
    present = set(connection.scalars(select(_stores.c.id)))
    if store_ids is None:
        store_ids = sorted(present | set(signed_heads or {}))
    results = []
    for store_id in store_ids:
        head = (signed_heads or {}).get(store_id)
        if store_id in present:
            count, found = _check_store(connection, store_id, head, progress)
        else:  # deleted whole, or a restore without it: only the head outside remembers it
            count, found = 0, [_not_in_the_database(store_id, head)]
        first = [min(found, key=Problem.order)] if found else []
        result = Verification(1, count, int(head is not None), first)
        verified(store_id, result)
        results.append(result)
    return Verification(
        len(results),
        sum(r.entries for r in results),
        sum(r.signed for r in results),
        [problem for r in results for problem in r.problems],
    )


def _not_in_the_database(store_id, signed) -> Problem:
    message = "not in the database"
    if signed:
        message += f", but the signed head kept outside it says its journal reached seq {signed[0]}"
    return Problem(store_id, None, message)


def _check_store(connection, store_id, signed, progress) -> tuple[int, list[Problem]]:
    """The chain (seqs, prevHash, hash, stored and signed heads), then the rows against it; the
    entry problems found first by seq, a row without its entry after them."""
    facts, sessions = expected(connection, store_id)
    chain_problem = cross_problem = None
    last, prev, at_signed = 0, genesis(store_id), None
    store_text = encode(store_id)
    # Per entry, what a million entries make worth it: locals, the kinds' JSON looked up.
    sha256, pop, texts = hashlib.sha256, facts.pop, ENTRY_TEXT
    kinds = {kind: encode(kind) for kind in FACTS}
    for batch in raw_batches(connection, CHAIN.params(store_id=store_id)):
        progress(len(batch))
        for seq, kind, at, session_id, imported, data, prev_hash, digest in batch:
            if chain_problem is None:
                if seq != last + 1 or prev_hash != prev:
                    chain_problem = _chain_link(store_id, last + 1, seq, prev, prev_hash)
                kind_text = kinds.get(kind) or encode(kind)
                text = texts[imported](seq, store_text, kind_text, at, session_id, data, prev)
                if chain_problem is None and sha256(text.encode()).hexdigest() != digest:
                    chain_problem = Problem(
                        store_id, seq, "hash does not match the entry's content"
                    )
                if chain_problem is None:
                    last, prev = seq, digest
                    if signed and seq == signed[0]:
                        at_signed = digest
            if cross_problem is None and pop((session_id, kind, at, data), None) is None:
                fact = (session_id, kind, at, data)
                cross_problem = Problem(store_id, seq, unmatched(connection, fact, facts, sessions))
            if chain_problem and cross_problem:
                break
        else:
            continue
        break
    chain_problem = chain_problem or _check_heads(
        connection, store_id, last, prev, signed, at_signed
    )
    found = [p for p in (chain_problem, cross_problem) if p]
    if not cross_problem and facts:
        family, row_id = next(iter(facts.values()))
        session_id = next(iter(facts))[0]
        table = FACTS[family].table.name
        found.append(
            Problem(store_id, None, f"{table} row {row_id} (session {session_id}) has no entry")
        )
    return last, found + z_problems(connection, store_id) + period_problems(connection, store_id)


def _chain_link(store_id, expected, seq, prev, prev_hash) -> Problem | None:
    if seq != expected:
        return Problem(store_id, expected, f"entry {expected} is missing (the next one is {seq})")
    if prev_hash != prev:
        before = "the store id's hash" if expected == 1 else f"entry {expected - 1}'s hash"
        return Problem(store_id, expected, f"prevHash is not {before}")
    return None


def _check_heads(connection, store_id, last, prev, signed, at_signed) -> Problem | None:
    """The journal reaches the head stored with it, and the one signed outside the database."""
    head = connection.execute(select(_heads).where(_heads.c.store_id == store_id)).first()
    recorded = (head.seq, head.hash) if head else (0, genesis(store_id))
    if recorded != (last, prev):
        message = f"the journal ends at seq {last} but its head says {recorded[0]}"
        return Problem(store_id, last + 1, message)
    if signed and last < signed[0]:
        return Problem(
            store_id,
            last + 1,
            f"entries {last + 1} to {signed[0]} are missing: the signed head kept outside the "
            f"database says the journal reached seq {signed[0]}",
        )
    if signed and at_signed != signed[1]:
        return Problem(store_id, signed[0], "hash differs from the one in the signed head")
    return None


VERIFIED_FILE = "journal_verified.json"


def record_verification(folder: str, store_id: str, by: str, result: Verification) -> dict:
    """Keep a store's last verification (when, by whom, its finding) in the journal folder,
    written atomically: the back office shows it."""
    [problem] = result.problems or [None]
    last = {
        "at": timestamp(utcnow()),
        "by": by,
        "entries": result.entries,
        "ok": problem is None,
        "seq": problem and problem.seq,
        "problem": problem and str(problem),
    }
    path = Path(folder) / VERIFIED_FILE
    with open(Path(folder) / f".{VERIFIED_FILE}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two stores verified at once: both are kept
        kept = last_verifications(folder)
        tmp = path.with_name(f".{VERIFIED_FILE}.{os.getpid()}")
        tmp.write_text(canonical(kept | {store_id: last}), encoding="utf-8")
        os.replace(tmp, path)
    return last


def last_verifications(folder: str) -> dict:
    """``{store_id: last verification}``; empty before the first (or if the file is unreadable)."""
    try:
        return json.loads((Path(folder) / VERIFIED_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
