"""The DSFinV-K export (issue 20): a month of Z closings in store time, written with the
``dsfinvk`` package, passes its validator, adds up to the Z closings to the cent, and keeps
hostile texts inside their columns."""

import csv
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from dsfinvk.validate import validate_zip
from lxml import etree
from sqlalchemy import select

import app.models
from app.accounting import dsfinvk
from app.accounting.postings import z_closings
from app.accounting.settings import shown_settings, tender_accounts
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import JournalEntry, Manager, PosClosing, Store, Tender
from app.sessions import service
from app.stores import find_store
from tests.helpers import close_shift, move, open_shift
from tests.test_attendants import hand_over

BERLIN = ZoneInfo("Europe/Berlin")
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
HOSTILE = "=cmd|' /C calc'!A0;\"quoted\"\r\nnext; line"
ONE_LINE = "=cmd|' /C calc'!A0;\"quoted\"  next; line"  # the same, its line break as spaces
LONG = f"{HOSTILE} " * 3  # a cashier's name longer than its column's 50 characters
MASTER = {
    "company_name": 'Bäckerei "Zum Löwen"; Müller & Söhne <GmbH>',
    "street": "Hauptstraße 1",
    "postcode": "10115",
    "city": "Berlin",
    "country": "DEU",
    "tax_number": "11/222/33333",
    "vat_id": "DE123456789",
}


@pytest.fixture
def clock(monkeypatch):
    """The box's clock (app.models.utcnow), set with ``clock("2026-03-02 10:00")`` in Berlin;
    the real one until then."""

    class Frozen(datetime):
        moment = None

        @classmethod
        def now(cls, tz=None):
            return cls.moment or super().now(tz)

    monkeypatch.setattr(app.models, "datetime", Frozen)

    def set_to(local: str) -> None:
        Frozen.moment = datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(UTC)

    return set_to


@pytest.fixture
def month(app, client, headers, store, profile, make_profile, manager, clock):
    """A Berlin store whose day starts at 04:00, with cash and a card, and March 2026's Zs
    2-4 between a Z of 28 February's business day (made on 1 March at 03:30) and one of
    1 April: two tenders, a drop, a no-sale, a forced close, a handover and an approved
    variance."""
    with app.app_context():
        row = db.session.get(Store, store)
        row.timezone, row.day_start_minutes = "Europe/Berlin", 4 * 60
        row.max_unapproved_difference = D(5)
        db.session.add(Tender(store_id=store, code="card", kind="card", name=HOSTILE))
        db.session.commit()
    bob = make_profile(store, name=LONG)

    def at(local, kind, amount, session_id, **extra):
        clock(local)
        assert move(client, headers, session_id, kind, amount, **extra).status_code == 201

    clock("2026-02-28 20:00")
    z1 = open_shift(client, headers, profile, cash=100)["id"]
    at("2026-02-28 21:00", "sale", 5, z1)
    clock("2026-03-01 03:30")
    close_shift(client, headers, profile, cash=105)

    clock("2026-03-02 10:00")
    z2 = open_shift(client, headers, profile, cash=100, note=HOSTILE)["id"]
    at("2026-03-02 10:05", "sale", 20, z2)
    at("2026-03-02 10:10", "sale", D("35.50"), z2, tender="card")
    at("2026-03-02 10:15", "refund", D("5.50"), z2, tender="card")
    at("2026-03-02 10:20", "refund", 2, z2)
    at("2026-03-02 11:00", "pay_in", 10, z2, note="change from the bank")
    at("2026-03-02 12:00", "pay_out", D("3.20"), z2, note=HOSTILE)
    at("2026-03-02 13:00", "drop", 50, z2, reason="safe")
    at("2026-03-02 14:00", "no_sale", 0, z2, reason=HOSTILE)
    clock("2026-03-02 18:00")
    close_shift(client, headers, profile, cash=D("74.80"), countedTenders={"card": 30})

    clock("2026-03-14 09:00")
    z3 = open_shift(client, headers, bob, cash=50)["id"]
    at("2026-03-14 09:30", "sale", D("12.34"), z3)
    at("2026-03-14 09:40", "sale", D("7.66"), z3, tender="card")
    clock("2026-03-15 08:00")
    with app.app_context():
        olga = db.session.get(Manager, manager)
        service.force_close(UnitOfWork(), store, z3, D("62.00"), HOSTILE, olga)

    # The night the clocks go forward: 03:30 CEST on 29 March is still the 28th's business day.
    clock("2026-03-28 22:00")
    z4 = open_shift(client, headers, profile, cash=100)["id"]
    at("2026-03-28 23:30", "sale", 40, z4)
    clock("2026-03-29 01:00")  # alice hands the drawer over to bob, who closes it
    assert hand_over(client, headers, z4, bob, counted=140).status_code == 201
    at("2026-03-29 01:30", "sale", 15, z4, tender="card")
    clock("2026-03-29 03:30")
    short = close_shift(client, headers, bob, cash=D("132.23"))["closing"]
    clock("2026-03-29 09:00")
    with app.app_context():
        olga = db.session.get(Manager, manager)
        service.approve_closing(UnitOfWork(), short["id"], olga, HOSTILE)

    clock("2026-04-01 05:00")
    z5 = open_shift(client, headers, profile, cash=100)["id"]
    at("2026-04-01 05:10", "sale", 1, z5)
    close_shift(client, headers, profile, cash=101)
    return {
        "first": z1,
        "cash-and-card": z2,
        "forced": z3,
        "approved": z4,
        "april": z5,
        "alice": profile,
        "bob": bob,
    }


def exported(app, store_id, first, last, master=MASTER) -> tuple[str, bytes]:
    """The writer's archive of the Zs as exports.prepare reads them from the journal."""
    with app.app_context():
        uow = UnitOfWork()
        try:
            store = find_store(uow.session, store_id)
            zs = z_closings(uow.session, store, first, last)
            tenders = tender_accounts(uow.session, shown_settings(uow.session, store_id))
            return dsfinvk.export(store, zs, tenders, first, last, master)
        finally:
            uow.close()


def read(archive: bytes) -> dict[str, list[dict]]:
    """Each CSV of the archive as rows by column name."""
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        return {
            name: list(
                csv.DictReader(io.StringIO(files.read(name).decode(), newline=""), delimiter=";")
            )
            for name in files.namelist()
            if name.endswith(".csv")
        }


def amount(text: str) -> D:
    """A DSFinV-K number: "1.234,56"."""
    return D(text.replace(".", "").replace(",", "."))


def by_z(rows, z: int) -> list[dict]:
    return [row for row in rows if row["Z_NR"] == str(z)]


def note(bon: dict) -> str:
    """A transaction's note after the journal hash it starts with."""
    cited, _, rest = bon["BON_NOTIZ"].partition(" / ")
    assert re.fullmatch("Journal-Hash [0-9a-f]{64}", cited), bon["BON_NOTIZ"]
    return rest


def test_the_month_passes_the_package_s_validator(app, store, month, capsys):
    name, archive = exported(app, store, *MARCH)

    assert name == f"dsfinvk_{store}_20260301_20260331.zip"
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        assert sorted(files.namelist()) == sorted(
            [table._filename for table in dsfinvk.TABLES] + ["index.xml", dsfinvk.DTD]
        )
    assert validate_zip(io.BytesIO(archive)) == []
    # Its checks of numbers and lengths print their findings instead of failing.
    assert capsys.readouterr().out == ""


def test_index_xml_follows_the_dtd_it_names_and_ships(app, store, month):
    with zipfile.ZipFile(io.BytesIO(exported(app, store, *MARCH)[1])) as files:
        dtd = etree.DTD(io.BytesIO(files.read(dsfinvk.DTD)))
        index = etree.parse(io.BytesIO(files.read("index.xml")))
    assert index.docinfo.system_url == dsfinvk.DTD
    assert dtd.validate(index), dtd.error_log


def test_each_z_of_the_range_in_store_time_adds_up_to_its_closing_to_the_cent(app, store, month):
    tables = read(exported(app, store, *MARCH)[1])

    closings = [row["Z_NR"] for row in tables["cashpointclosing.csv"]]
    assert closings == ["2", "3", "4"]  # 1 is February's business day, 5 April's
    with app.app_context():
        zs = db.session.scalars(
            select(PosClosing).where(PosClosing.z_number.in_([2, 3, 4])).order_by("z_number")
        ).all()
    drops = {2: D(50), 3: D(0), 4: D(0)}
    for z in zs:
        card = D(z.tenders["card"]["expected"])
        cases = {
            (row["GV_TYP"], row["GV_NAME"]): amount(row["Z_UMS_BRUTTO"])
            for row in by_z(tables["businesscases.csv"], z.z_number)
        }
        sales = cases.get(("Umsatz", "sale"), 0) + cases.get(("Umsatz", "refund"), 0)
        assert sales == z.sales - z.refunds + card
        assert cases.get(("Einzahlung", "pay_in"), 0) == z.pay_ins
        assert cases.get(("Auszahlung", "pay_out"), 0) == -z.pay_outs
        assert cases.get(("Geldtransit", "drop"), 0) == -drops[z.z_number]
        assert cases[("DifferenzSollIst", "difference")] == z.difference
        assert cases[("Anfangsbestand", "opening")] == {2: 100, 3: 50, 4: 100}[z.z_number]
        # The float, the movements and the count's difference: the counted cash, and the card.
        assert sum(cases.values()) == z.closing_cash + card

        payments = {
            (row["ZAHLART_TYP"], row["ZAHLART_NAME"]): amount(row["Z_ZAHLART_BETRAG"])
            for row in by_z(tables["payment.csv"], z.z_number)
        }
        assert payments == {("Bar", ""): z.closing_cash, ("Unbar", ONE_LINE): card}
        [closing] = by_z(tables["cashpointclosing.csv"], z.z_number)
        assert amount(closing["Z_SE_BARZAHLUNGEN"]) == z.closing_cash
        assert amount(closing["Z_SE_ZAHLUNGEN"]) == z.closing_cash + card
        [drawer] = by_z(tables["cash_per_currency.csv"], z.z_number)
        assert (drawer["ZAHLART_WAEH"], amount(drawer["ZAHLART_BETRAG_WAEH"])) == (
            "EUR",
            z.closing_cash,
        )
        # Every transaction's payments are its amount; the Z's the sum of its transactions'.
        bons = by_z(tables["transactions.csv"], z.z_number)
        paid = by_z(tables["datapayment.csv"], z.z_number)
        assert sum(amount(row["BASISWAEH_BETRAG"]) for row in paid) == sum(
            amount(row["UMS_BRUTTO"]) for row in bons
        )
        assert (closing["Z_START_ID"], closing["Z_ENDE_ID"]) == (
            bons[0]["BON_ID"],
            bons[-1]["BON_ID"],
        )
    # Z 4 was handed over: its close and difference are bob's, who held the drawer; each
    # sale is its own attendant's.
    bons = {row["BON_ID"]: row for row in tables["transactions.csv"]}
    who = {
        (row["GV_NAME"], amount(row["STK_BR"])): bons[row["BON_ID"]]["BEDIENER_ID"]
        for row in by_z(tables["lines.csv"], 4)
    }
    assert who == {
        ("opening", 100): month["alice"],
        ("sale", 40): month["alice"],
        ("sale", 15): month["bob"],
        ("difference", D("-7.77")): month["bob"],
    }
    assert bons[f"{month['approved']}-close"]["BEDIENER_NAME"] == f"{ONE_LINE} {ONE_LINE}"[:50]
    figures = {
        z.z_number: (z.closing_cash, z.difference, D(z.tenders["card"]["expected"])) for z in zs
    }
    assert figures == {
        2: (D("74.80"), D(0), D(30)),
        3: (D("62.00"), D("-0.34"), D("7.66")),
        4: (D("132.23"), D("-7.77"), D(15)),
    }


def test_a_float_left_sends_the_rest_to_the_safe_and_the_next_opening_s_discrepancy_counts(
    app, client, headers, store, profile, clock, capsys
):
    """docs/closing.md's float: a close leaving 100.00 sends the rest to the safe (Geldtransit
    on the close), and the next opening counting 99.50 starts from the 100.00 left with its
    difference (DifferenzSollIst on the opening): each Z's cash is still what it counted."""
    with app.app_context():
        db.session.get(Store, store).timezone = "Europe/Berlin"
        db.session.commit()
    clock("2026-03-02 10:00")
    first = open_shift(client, headers, profile, cash=100)["id"]
    move(client, headers, first, "sale", 20)
    clock("2026-03-02 18:00")
    close_shift(client, headers, profile, cash=120, floatLeft=100)
    clock("2026-03-03 10:00")
    second = open_shift(client, headers, profile, cash=D("99.50"))
    assert second["discrepancyAtStart"] == -0.5
    move(client, headers, second["id"], "sale", 10)
    clock("2026-03-03 18:00")
    close_shift(client, headers, profile, cash=D("109.50"))

    archive = exported(app, store, *MARCH)[1]
    assert validate_zip(io.BytesIO(archive)) == [] and capsys.readouterr().out == ""
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        dtd = etree.DTD(io.BytesIO(files.read(dsfinvk.DTD)))
        assert dtd.validate(etree.parse(io.BytesIO(files.read("index.xml")))), dtd.error_log
    tables = read(archive)
    lines = [
        (r["BON_ID"], r["GV_TYP"], r["GV_NAME"], amount(r["STK_BR"])) for r in tables["lines.csv"]
    ]
    assert (f"{first}-close", "Geldtransit", "to_safe", D(-20)) in lines
    assert (f"{second['id']}-open", "Anfangsbestand", "opening", D(100)) in lines
    assert (f"{second['id']}-open", "DifferenzSollIst", "discrepancy_at_start", D("-0.50")) in lines
    # The cash of each Z: its counted cash, less what went to the safe.
    for z, cash in ((1, D(100)), (2, D("109.50"))):
        cases = sum(amount(row["Z_UMS_BRUTTO"]) for row in by_z(tables["businesscases.csv"], z))
        [closing] = by_z(tables["cashpointclosing.csv"], z)
        [drawer] = by_z(tables["cash_per_currency.csv"], z)
        bons = by_z(tables["transactions.csv"], z)
        assert cases == amount(closing["Z_SE_BARZAHLUNGEN"]) == cash
        assert amount(drawer["ZAHLART_BETRAG_WAEH"]) == cash
        assert sum(amount(row["UMS_BRUTTO"]) for row in bons) == cash
        assert (
            sum(amount(r["BASISWAEH_BETRAG"]) for r in by_z(tables["datapayment.csv"], z)) == cash
        )


def test_times_are_store_time_and_a_z_after_midnight_books_on_its_business_day(app, store, month):
    tables = read(exported(app, store, *MARCH)[1])

    days = {
        row["Z_NR"]: (row["Z_ERSTELLUNG"], row["Z_BUCHUNGSTAG"])
        for row in tables["cashpointclosing.csv"]
    }
    assert days == {
        "2": ("2026-03-02T18:00:00", ""),
        "3": ("2026-03-15T08:00:00", ""),
        "4": ("2026-03-29T03:30:00", "2026-03-28"),  # CEST, two hours after 01:30 CET
    }
    sale = next(row for row in by_z(tables["transactions.csv"], 4) if row["UMS_BRUTTO"] == "15,00")
    assert sale["BON_START"] == "2026-03-29T01:30:00"


def test_each_transaction_is_numbered_by_its_journal_entry(app, store, month):
    tables = read(exported(app, store, *MARCH)[1])

    with app.app_context():
        entries = db.session.execute(
            select(JournalEntry.seq, JournalEntry.kind, JournalEntry.session_id, JournalEntry.hash)
        ).all()
    session = month["cash-and-card"]
    seqs = [seq for seq, kind, session_id, _hash in entries if session_id == session]
    bons = [row for row in tables["transactions.csv"] if row["BON_ID"].startswith(session)]
    assert [row["BON_ID"] for row in (bons[0], bons[-1])] == [f"{session}-open", f"{session}-close"]
    numbers = [int(row["BON_NR"]) for row in by_z(tables["transactions.csv"], 2)]
    assert numbers == seqs  # opened, eight movements, closed
    kinds = {seq: kind for seq, kind, _, _hash in entries}
    assert [kinds[n] for n in (numbers[0], numbers[-1])] == ["session_opened", "session_closed"]
    # Each cites its entry's hash, first in its note (a long note is what gets cut).
    hashes = {seq: digest for seq, *_, digest in entries}
    for row in tables["transactions.csv"]:
        assert row["BON_NOTIZ"].startswith(f"Journal-Hash {hashes[int(row['BON_NR'])]}")


def test_each_terminal_a_transaction_names_is_in_the_terminals_master_data(app, store, month):
    tables = read(exported(app, store, *MARCH)[1])

    named = {(r["Z_NR"], r["TERMINAL_ID"]) for r in tables["transactions.csv"] if r["TERMINAL_ID"]}
    listed = [(row["Z_NR"], row["TERMINAL_ID"]) for row in tables["slaves.csv"]]
    assert named and sorted(named) == sorted(listed)  # each once per Z, none left out


def test_the_drawer_events_forced_close_and_approval_as_the_format_has_them(app, store, month):
    tables = read(exported(app, store, *MARCH)[1])

    bons = {row["BON_ID"]: row for row in tables["transactions.csv"]}
    lines = {row["BON_ID"]: row for row in tables["lines.csv"]}
    no_sale = next(row for row in bons.values() if row["BON_TYP"] == "AVSonstige")
    assert (no_sale["BON_NAME"], no_sale["UMS_BRUTTO"], note(no_sale)) == (
        "no_sale",
        "0,00",
        ONE_LINE,
    )
    assert no_sale["BON_ID"] not in lines  # it moved nothing
    drop = next(row for row in lines.values() if row["GV_TYP"] == "Geldtransit")
    assert (amount(drop["STK_BR"]), note(bons[drop["BON_ID"]])) == (D(-50), "safe")

    forced = bons[f"{month['forced']}-close"]
    assert (forced["BEDIENER_NAME"], forced["BEDIENER_ID"], forced["TERMINAL_ID"]) == (
        "Olga",
        "",
        "",
    )
    assert note(forced) == f"forced by Olga: {ONE_LINE}"
    approved = bons[f"{month['approved']}-close"]
    assert note(approved) == f"approved by Olga: {ONE_LINE}"
    assert approved["UMS_BRUTTO"] == "-7,77"
    # The cashier's name, cut to the column's 50 characters, on one line, quotes and all.
    bob = bons[f"{month['forced']}-open"]
    assert bob["BEDIENER_NAME"] == f"{ONE_LINE} {ONE_LINE}"[:50]
    assert bob["TERMINAL_ID"] == "terminal-1"


def test_no_vat_rate_is_known_and_no_tse_signs(app, store, month):
    tables = read(exported(app, store, *MARCH)[1])

    [register] = by_z(tables["cashregister.csv"], 2)
    assert register["KEINE_UST_ZUORDNUNG"] == "1"
    keys = {row["UST_SCHLUESSEL"] for row in tables["lines_vat.csv"]}
    assert keys == {"5", "7"}
    for row in tables["lines_vat.csv"]:
        assert (row["POS_BRUTTO"], row["POS_UST"]) == (row["POS_NETTO"], "0,00000")
    sales = {
        row["UST_SCHLUESSEL"] for row in tables["businesscases.csv"] if row["GV_TYP"] == "Umsatz"
    }
    assert sales == {"7"}
    assert {row["UST_SCHLUESSEL"]: row["UST_SATZ"] for row in tables["vat.csv"]} == {
        "5": "0,00",
        "7": "0,00",
    }
    assert tables["tse.csv"] == []
    signed = tables["transactions_tse.csv"]
    assert [row["BON_ID"] for row in signed] == [
        row["BON_ID"] for row in tables["transactions.csv"]
    ]
    assert {value for row in signed for key, value in row.items() if key.startswith("TSE_")} == {""}


def test_hostile_master_data_and_texts_keep_the_files_whole(app, store, month):
    archive = exported(app, store, *MARCH)[1]

    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        index = ET.fromstring(files.read("index.xml"))
        raw = files.read("transactions.csv").decode()
    assert index.find("DataSupplier/Name").text == MASTER["company_name"]
    assert index.find(".//RecordDelimiter").text == "\r\n"
    tables = read(archive)
    assert {row["NAME"] for row in tables["cashpointclosing.csv"]} == {MASTER["company_name"]}
    # One record a line: every line break inside a text became a space.
    header, *records = raw.split("\r\n")[:-1]
    assert len(records) == len(tables["transactions.csv"])
    assert "\n" not in raw.replace("\r\n", "")
    bons = {row["BON_ID"]: row for row in tables["transactions.csv"]}
    assert note(bons[f"{month['cash-and-card']}-open"]) == ONE_LINE
    [pay_out] = [row for row in tables["lines.csv"] if row["GV_TYP"] == "Auszahlung"]
    assert note(bons[pay_out["BON_ID"]]) == ONE_LINE


def test_the_same_data_gives_the_same_bytes_and_an_empty_range_an_empty_export(
    app, store, month, capsys
):
    assert exported(app, store, *MARCH) == exported(app, store, *MARCH)

    name, archive = exported(app, store, date(2026, 5, 1), date(2026, 5, 31))
    assert name.endswith("_20260501_20260531.zip")
    assert validate_zip(io.BytesIO(archive)) == [] and capsys.readouterr().out == ""
    assert all(rows == [] for rows in read(archive).values())
