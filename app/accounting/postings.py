"""Ledger postings from the journal: each Z closing of a range, read from its signed entry and
its session's entries (so what is exported is what is chained), becomes pairs of accounts,
checked to balance and to agree with the Z before any file is written.

Per tender (cash first, then by code): each sale, refund, pay-in, pay-out and drop of the
session in that tender, summed, against the tender's own account; then the tender's counted
difference, over or short. Cash's net is then the Z's counted cash less the opening float,
another tender's its counted amount (or expected, when not counted).
"""

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select

from .. import reports
from ..exceptions import PostingsUnbalanced
from ..journal import (
    APPROVED,
    CLOSED,
    MOVEMENT,
    OPENED,
    REASONED_MOVEMENT,
    timestamp,
    wire_entry,
)
from ..journal.entry import entry_hash
from ..journal.facts import FORCE_CLOSED, HANDED_OVER
from ..models import CASH, JournalEntry, PosProfile, Store

# A movement's type: the figure it is posted to, and whether it enters the tender's account.
MOVES = {
    "sale": ("sales", True),
    "refund": ("refunds", False),
    "pay_in": ("pay_ins", True),
    "pay_out": ("pay_outs", False),
    "drop": ("drops", False),
}
# The Z's own totals (cash only), from its session's cash movements.
Z_TOTALS = {"sale": "sales", "refund": "refunds", "pay_in": "payIns", "pay_out": "payOuts"}
ZERO = Decimal(0)
# The figures posted into a tender's account: the others take from it.
ENTERING = {figure for figure, enters in MOVES.values() if enters} | {"over"}


@dataclass(frozen=True)
class Posting:
    """``amount`` from ``credit`` to ``debit``; ``figure`` (a key of settings.FIGURES) is
    the other side of ``tender``'s account."""

    debit: str
    credit: str
    amount: Decimal
    tender: str
    figure: str
    at_start: bool = False  # the opening's discrepancy against the float left before it


class Entry(NamedTuple):
    """A journal entry as a file reads it, its hash checked."""

    seq: int
    kind: str
    at: datetime  # naive UTC, as the tables keep times
    session_id: str
    data: dict
    hash: str


@dataclass
class Z:
    """One Z closing as its journal entries say it."""

    number: int
    day: date  # its business day, in store time
    entry: Entry  # the close's
    forced: bool
    holder: str  # the profile holding the drawer at the close: the opener until a handover
    opening: Decimal = ZERO
    at_start: Decimal = ZERO  # the opening cash less the float its terminal left before
    moves: dict = field(default_factory=dict)  # {tender: {movement type: sum}}
    approved_by: str | None = None
    entries: list[Entry] = field(default_factory=list)  # its session's, SESSION_KINDS, by seq
    names: dict = field(default_factory=dict)  # the profiles' names now (labels, not figures)
    postings: list[Posting] = field(default_factory=list)

    @property
    def hash(self) -> str:
        return self.entry.hash

    @property
    def session_id(self) -> str:
        return self.entry.session_id

    @property
    def data(self) -> dict:
        return self.entry.data

    @property
    def cashier(self) -> str:
        """The holder's name."""
        return self.names.get(self.holder, "")

    def counted(self, tender: str) -> Decimal:
        """What the close left in the tender's account: cash counted; another tender's
        count, else what it expected."""
        if tender == CASH:  # less what went to the safe, when a float was left
            return Decimal(self.data["closingCash"]) - Decimal(self.data.get("toSafe") or 0)
        line = self.data.get("tenders", {})[tender]
        return Decimal(line["counted"] if line["counted"] is not None else line["expected"])

    def difference(self, tender: str) -> Decimal:
        if tender == CASH:
            return Decimal(self.data["difference"])
        found = self.data.get("tenders", {})[tender]["difference"]
        return ZERO if found is None else Decimal(found)

    def tenders(self) -> list[str]:
        return [CASH, *sorted((self.data.get("tenders") or {}).keys() | self.moves.keys() - {CASH})]


_entries = JournalEntry.__table__
SESSION_KINDS = (
    OPENED.kind,
    MOVEMENT.kind,
    REASONED_MOVEMENT.kind,
    APPROVED.kind,
    HANDED_OVER.kind,
)


def z_closings(tx, store: Store, first: date, last: date) -> list[Z]:
    """The Z closings made in the business days ``first`` to ``last``, by number, each with
    its session's opening float, movements, approval and drawer's holder at the close, from
    the journal."""
    start, end = reports.days_bounds(store, first, last)
    found = tx.execute(
        select(_entries)
        .where(_entries.c.store_id == store.id)
        .where(_entries.c.kind.in_((CLOSED.kind, FORCE_CLOSED.kind)))
        .where(_entries.c.at >= timestamp(start), _entries.c.at < timestamp(end))
    )
    zs = {}
    for entry in map(_hashed, found):
        zs[entry.session_id] = Z(
            number=entry.data["zNumber"],
            day=reports.business_day(store, entry.at),
            entry=entry,
            forced=entry.kind == FORCE_CLOSED.kind,
            holder=entry.data["profileId"],
        )
    if zs:
        rows = tx.execute(
            select(_entries)
            .where(_entries.c.store_id == store.id, _entries.c.session_id.in_(list(zs)))
            .where(_entries.c.kind.in_(SESSION_KINDS))
            .order_by(_entries.c.seq)  # handovers in order: the last one's taker holds it
        )
        for row in rows:
            z = zs[row.session_id]
            entry = _hashed(row, z.number)
            z.entries.append(entry)
            _add(z, entry.kind, entry.data)
        # Who opened, held the drawer at the close and made each movement (its attendant).
        named = {z.data["profileId"] for z in zs.values()} | {z.holder for z in zs.values()}
        named |= {entry.data.get("attendantId") for z in zs.values() for entry in z.entries}
        names = dict(
            tx.execute(
                select(PosProfile.id, PosProfile.name).where(PosProfile.id.in_(named - {None}))
            ).all()
        )
        for z in zs.values():
            z.names = names
    return sorted(zs.values(), key=lambda z: z.number)


def _hashed(row, number: int | None = None) -> Entry:
    """The entry, once its hash is that of what it says: a file cites the hash, so what it
    posts must be what was chained. ``number``: its Z's, if it is not the Z's own."""
    data = json.loads(row.data)
    if entry_hash(wire_entry(row)) != row.hash:
        raise PostingsUnbalanced(
            f"Z {number or data.get('zNumber')}: the journal's entry {row.seq} is not what was "
            "chained (its hash differs): run `flask --app wsgi journal verify`"
        )
    at = datetime.fromisoformat(row.at.removesuffix("Z"))
    return Entry(row.seq, row.kind, at, row.session_id, data, row.hash)


def _add(z: Z, kind: str, data: dict) -> None:
    if kind == OPENED.kind:
        z.opening = Decimal(data["openingCash"])
        z.at_start = Decimal(data.get("discrepancyAtStart") or 0)
    elif kind == APPROVED.kind:
        z.approved_by = data["by"]
    elif kind == HANDED_OVER.kind:
        z.holder = data["profileId"]
    elif data["type"] in MOVES:  # a no-sale moves nothing
        sums = z.moves.setdefault(data.get("tender", CASH), {})
        sums[data["type"]] = sums.get(data["type"], ZERO) + Decimal(data["amount"])


def post(z: Z, settings, tenders: dict[str, tuple[str, str]]) -> list[Posting]:
    """The Z's postings (``tenders``: {code: (name, account)}), checked: refused with the
    reason when they do not balance or disagree with the Z."""
    accounts = settings.accounts
    postings = []
    for tender in z.tenders():
        own = tenders[tender][1]
        for kind, (figure, enters) in MOVES.items():
            amount = z.moves.get(tender, {}).get(kind, ZERO)
            if amount:
                pair = (own, accounts[figure]) if enters else (accounts[figure], own)
                postings.append(Posting(*pair, amount, tender, figure))
        if tender == CASH:
            postings += _floats(z, own, accounts)
        difference = z.difference(tender)
        if difference > 0:
            postings.append(Posting(own, accounts["over"], difference, tender, "over"))
        elif difference < 0:
            postings.append(Posting(accounts["short"], own, -difference, tender, "short"))
    check(z, postings)
    z.postings = postings
    return postings


class Line(NamedTuple):
    """One line of a ledger file: an account, its debit or its credit."""

    account: str
    debit: Decimal
    credit: Decimal
    posting: Posting


def _floats(z: Z, own: str, accounts) -> list[Posting]:
    """A float left: what the opening found over or short of the float left before it, and
    what the close sent to the safe. So the drawer's account goes from float to float."""
    found = []
    if z.at_start > 0:
        found.append(Posting(own, accounts["over"], z.at_start, CASH, "over", at_start=True))
    elif z.at_start < 0:
        found.append(Posting(accounts["short"], own, -z.at_start, CASH, "short", at_start=True))
    to_safe = Decimal(z.data.get("toSafe") or 0)
    if to_safe:
        found.append(Posting(accounts["drops"], own, to_safe, CASH, "to_safe"))
    return found


def lines(postings: list[Posting]) -> list[Line]:
    """Each posting as its debit line, then its credit line, as FEC writes them."""
    return [
        line
        for p in postings
        for line in (Line(p.debit, p.amount, ZERO, p), Line(p.credit, ZERO, p.amount, p))
    ]


def check(z: Z, postings: list[Posting]) -> None:
    """Debit equals credit over the Z's lines; each tender's account moves by what the Z left
    in it (cash: counted less the opening float); the cash figures are the Z's totals."""
    written = lines(postings)
    debit, credit = sum(line.debit for line in written), sum(line.credit for line in written)
    if debit != credit:
        raise PostingsUnbalanced(f"Z {z.number}: debit {debit:.2f}, credit {credit:.2f}")
    for tender in z.tenders():
        net = sum(
            p.amount if p.figure in ENTERING else -p.amount for p in postings if p.tender == tender
        )
        # The drawer's account held the float left before (the opening less its discrepancy).
        due = z.counted(tender) - (z.opening - z.at_start if tender == CASH else ZERO)
        if net != due:
            raise PostingsUnbalanced(
                f"Z {z.number}: {tender} moves {net:.2f} in its postings, "
                f"but the Z leaves {due:.2f} in it"
            )
    for kind, name in Z_TOTALS.items():
        moved = z.moves.get(CASH, {}).get(kind, ZERO)
        if moved != Decimal(z.data[name]):
            raise PostingsUnbalanced(
                f"Z {z.number}: its {name} are {z.data[name]}, its movements {moved:.2f}"
            )


def plain(text: str) -> str:
    """A label fit for one field of a line: composed (NFC: an "e" and its combining accent
    are one "é", which the files' 8-bit encodings have), control characters (tabs, line
    breaks) as spaces, runs of blanks as one."""
    text = unicodedata.normalize("NFC", text)
    return " ".join(
        "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text).split()
    )


def label(z: Z, posting: Posting, words: dict, tender_name: str) -> str:
    """What a posting says, in the file's language (``words``): the Z, a forced close's
    manager, the figure (an approved difference's with its manager), the tender, the cashier
    holding the drawer at the close, then a forced close's reason: what a short field cuts
    (DATEV's 60 characters) is the reason, not a manager's name."""
    parts = [f"Z {z.number}"]
    if z.forced:
        parts.append(f"{words['forced']} {z.data['by']}")
    figure = words[posting.figure] + (f" {words['at_start']}" if posting.at_start else "")
    if z.approved_by and posting.figure in ("over", "short") and not posting.at_start:
        figure += f" {words['approved']} {z.approved_by}"
    parts += [figure, tender_name, z.cashier]
    if z.forced:
        parts.append(f"{words['reason']}: {z.data.get('reason') or ''}")
    return plain(" - ".join(parts))
