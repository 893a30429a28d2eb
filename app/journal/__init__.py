"""The journal: every cash fact, chained per store with SHA-256, so no figure changes unseen.

docs/journal.md is the specification (entry, chain, export, threat model); this package
writes and checks what it says, a module a job: ``entry`` (the format and hash), ``facts``
(one definition per kind of fact), ``appending`` (``record`` in the same transaction as its
fact), ``head`` and ``signer`` (the box's key, the signed head outside the database),
``verify`` and ``crosscheck`` (the chains recomputed, and held against the tables both ways),
``export`` (a signed range, and its check with nothing but the file and the public key).
"""

from .appending import locked_row, record, record_closing
from .crosscheck import fact_texts, period_problems, z_problems
from .entry import (
    JournalError,
    canonical,
    cents,
    chained_row,
    genesis,
    money,
    stored_timestamp,
    timestamp,
    wire_entry,
)
from .export import export, verify_export
from .facts import (
    APPROVED,
    ATTENDANCE_FACTS,
    CLOSED,
    EXPORTED,
    FACTS,
    MOVEMENT,
    OPENED,
    PERIOD_CLOSED,
    REASONED_MOVEMENT,
    TOTALS,
    Fact,
    closing_fact,
    movement_fact,
)
from .head import (
    HEAD_FILE,
    KEY_FILE,
    database_heads,
    folder,
    head_log,
    not_the_replicas,
    public_key_hex,
    read_signed_heads,
    restore_findings,
    sign_heads,
    signing_key,
    start_new_head,
)
from .signer import init_app, signer
from .verify import count_entries, last_verifications, record_verification, verify

__all__ = [
    "APPROVED",
    "ATTENDANCE_FACTS",
    "CLOSED",
    "EXPORTED",
    "FACTS",
    "HEAD_FILE",
    "KEY_FILE",
    "MOVEMENT",
    "OPENED",
    "PERIOD_CLOSED",
    "REASONED_MOVEMENT",
    "TOTALS",
    "Fact",
    "JournalError",
    "canonical",
    "cents",
    "chained_row",
    "closing_fact",
    "count_entries",
    "database_heads",
    "export",
    "fact_texts",
    "folder",
    "genesis",
    "head_log",
    "init_app",
    "last_verifications",
    "locked_row",
    "money",
    "movement_fact",
    "not_the_replicas",
    "period_problems",
    "public_key_hex",
    "read_signed_heads",
    "record",
    "record_closing",
    "record_verification",
    "restore_findings",
    "sign_heads",
    "signer",
    "signing_key",
    "start_new_head",
    "stored_timestamp",
    "timestamp",
    "verify",
    "verify_export",
    "wire_entry",
    "z_problems",
]
