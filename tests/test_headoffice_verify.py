"""Head office's check of a journal page before storing it (app/headoffice/follow.py): every
way a feed can be wrong is refused with its reason, and a good page passes whole."""

import copy
from datetime import datetime, timedelta

import pytest

from app.headoffice.follow import FeedRefused, verified
from app.journal.entry import chained_row, genesis, wire_entry

STORE = "s" * 24


def chain(count: int, store=STORE, amount=None) -> list[dict]:
    """A valid journal of ``count`` sales, of ``amount`` each from seq 2 if given."""
    entries, prev = [], genesis(store)
    for seq in range(1, count + 1):
        money = amount if amount and seq > 1 else f"{seq}.00"
        data = {"amount": money, "by": "till-1", "movementId": f"m{seq:023d}"}
        at = datetime(2026, 12, 1) + timedelta(seconds=seq)
        row = chained_row(seq, prev, store, "cash_movement", at, "x" * 24, data | {"note": None})
        entries.append(wire_entry(row))
        prev = row["hash"]
    return entries


def refused(entries, last_seq=0, last_hash=None) -> str:
    with pytest.raises(FeedRefused) as refusal:
        verified(STORE, entries, last_seq, last_hash)
    return str(refusal.value)


def test_a_good_page_passes_whole_and_after_its_overlap():
    entries = chain(5)
    assert verified(STORE, entries, 0, None) == entries
    assert verified(STORE, entries[2:], 3, entries[2]["hash"]) == entries[3:]
    assert verified(STORE, entries[4:], 5, entries[4]["hash"]) == []  # nothing new


def test_a_journal_that_went_back_or_forked_is_refused():
    entries = chain(5)
    assert refused(entries[:3], 5, entries[4]["hash"]) == (
        "the box's journal no longer has seq 5, which head office stored: it went back "
        "(a box restored from an older backup, or from a replica behind it?)"
    )
    assert refused([], 5, entries[4]["hash"]).startswith("the box's journal no longer has seq 5")
    other = chain(5, store=STORE)[2:]
    other[0] = other[0] | {"hash": "f" * 64}
    assert refused(other, 3, entries[2]["hash"]) == (
        f"seq 3: the box's hash {'f' * 64} differs from the one stored, {entries[2]['hash']}: "
        "its journal is not the one head office followed"
    )


def test_gaps_repeats_links_content_and_store_are_checked():
    entries = chain(5)
    assert refused(entries[:2] + entries[3:]) == "seq 3: the box sent seq 4 instead"
    assert refused(entries[:3] + entries[1:]) == "seq 4: the box sent seq 2 instead"
    relinked = copy.deepcopy(entries)
    relinked[3]["prevHash"] = relinked[1]["hash"]
    assert refused(relinked) == "seq 4: prevHash does not link to seq 3's hash"
    tampered = copy.deepcopy(entries)
    tampered[1]["data"]["amount"] = "0.20"
    assert refused(tampered) == "seq 2: the entry's hash is not the hash of its content"
    assert refused(chain(2, store="t" * 24)) == f"seq 1: the entry is of store {'t' * 24}"


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"imported": False},
        {"seq": 1.0},
        {"seq": True},
        {"at": "2026-12-01 00:00:01"},
        {"at": 5},
        {"data": "{}"},
        {"kind": None},
    ],
)
def test_an_entry_not_of_the_journal_s_shape_is_refused(change):
    entries = chain(2)
    assert refused([entries[0] | change, entries[1]]) == (
        "seq 1: the entry does not have the journal's fields"
    )
