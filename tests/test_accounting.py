"""The accountant's files (issue 20): a store's accounting settings, confirmed before the first
export; each Z closing as balanced postings read from the journal; the FEC and DATEV files of a
range, journaled as handed out; and every refusal before anything is written."""

import csv
import hashlib
import io
import re
from contextlib import closing
from decimal import Decimal as D

import pytest
from dsfinvk.validate import validate_zip
from sqlalchemy import select

from app.accounting import postings
from app.journal import EXPORTED
from app.machinery.database import UnitOfWork
from app.machinery.extensions import db
from app.models import AccountingExport, JournalEntry, PosClosing, Store, utcnow
from app.people import managers
from tests.helpers import (
    MANAGER,
    close_shift,
    move,
    open_shift,
    sign_in,
    sqlite_only,
    submit,
    text,
)
from tests.journaling import instance  # noqa: F401  (a fixture)
from tests.test_attendants import hand_over
from tests.test_dsfinvk import amount as dsfinvk_number
from tests.test_dsfinvk import clock, read  # noqa: F401  (clock: a fixture)
from tests.test_force_close import forced
from tests.test_journal import plain_sql

pytestmark = pytest.mark.usefixtures("instance")

SIREN = "732829320"
TODAY = f"{utcnow():%Y-%m-%d}"  # the store's zone is UTC
HOSTILE = "Caf\u00e9 \"Zo\u00e9\"; \t=cmd|' /C calc'!A0"


def cli(runner, *args):
    return runner.invoke(args=["accounting", *args])


def ok(result):
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def month(app, client, headers, profile, make_profile, store, runner):
    """Two tenders, a drop, a handover, a float left, an approved variance and a forced close:
    three Zs.
    The store and its cashiers have hostile names."""
    with app.app_context():
        row = db.session.get(Store, store)
        row.name, row.max_unapproved_difference = HOSTILE, D(5)
        db.session.commit()
        olga = managers.create(UnitOfWork(), "Olga", "manager-pw", store_ids=[store])
    ok(runner.invoke(args=["store", "tender", "add", store, "card", 'Carte; "bleue"']))
    bob = make_profile(store, name='=bob;"x"')
    # Z 1: alice, cash and card, a refund, pay-in, pay-out and a drop; counted even.
    first = open_shift(client, headers, profile, cash=100)["id"]
    for kind, amount, extra in (
        ("sale", 50, {}),
        ("sale", D("30.50"), {"tender": "card"}),
        ("refund", 5, {}),
        ("pay_in", 20, {}),
        ("pay_out", D("10.25"), {}),
        ("drop", 60, {"reason": "safe\nrun"}),
    ):
        assert move(client, headers, first, kind, amount, **extra).status_code == 201
    close_shift(client, headers, profile, cash=D("94.75"), countedTenders={"card": D("30.50")})
    # Z 2: bob opens, hands the drawer over to alice (counted even), who closes it short by
    # 14.75, over the limit, approved, leaving a float of 100 (20 to the safe).
    second = open_shift(client, headers, bob, cash=D("94.75"))["id"]
    move(client, headers, second, "sale", 40)
    move(client, headers, second, "sale", 12, tender="card")
    assert hand_over(client, headers, second, profile, counted=D("134.75")).status_code == 201
    closed = close_shift(client, headers, profile, cash=120, note="tab\there", floatLeft=100)
    ok(runner.invoke(args=["session", "approve", closed["closing"]["id"], "--manager", "Olga"]))
    # Z 3: alice again, forced closed by Olga, over by 2.70.
    third = open_shift(client, headers, profile, cash=100)["id"]
    move(client, headers, third, "sale", D("7.30"))
    forced(app, store, third, olga, counted=D("110"), reason="left;\r\nearly")
    return store


@pytest.fixture
def french(runner, month):
    ok(cli(runner, "settings", "--store", month, "--siren", SIREN, "--confirm"))
    return month


def export(runner, store, fmt, out, first=TODAY, last=TODAY):
    args = ["--store", store, "--format", fmt, "--from", first, "--to", last, str(out)]
    return cli(runner, "export", *args)


def z_figures(app, store, numbers=None) -> dict:
    """What the Z closings (``numbers``, else all) say, summed: the figures every file must
    equal to the cent."""
    with app.app_context():
        zs = db.session.query(PosClosing).filter_by(store_id=store).order_by("z_number").all()
        zs = [z for z in zs if numbers is None or z.z_number in numbers]
        card = sum(D(z.tenders["card"]["expected"]) for z in zs if z.tenders)
        return {
            "sales": sum(z.sales for z in zs) + card,
            "refunds": sum(z.refunds for z in zs),
            "pay_ins": sum(z.pay_ins for z in zs),
            "pay_outs": sum(z.pay_outs for z in zs),
            "over": sum(z.difference for z in zs if z.difference > 0),
            "short": -sum(z.difference for z in zs if z.difference < 0),
            "hashes": {z.z_number: z.journal_hash for z in zs},
        }


# The FEC's format (BOI-CF-IOR-60-40-20, as the DGFiP's Test Compta Demat reads it), written
# here apart from the writer: each column's pattern.
DATE = r"[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"
AMOUNT = r"[0-9]+,[0-9]{2}"
TEXT = r"[^\t\r\n]*[^\t\r\n ]"  # one field, not empty, not padded
FEC_FORMAT = {
    "JournalCode": r"[A-Z0-9]{1,8}",
    "JournalLib": TEXT,
    "EcritureNum": r"[0-9]+",
    "EcritureDate": DATE,
    "CompteNum": r"[0-9]{3}[0-9A-Z]*",
    "CompteLib": TEXT,
    "CompAuxNum": r"",
    "CompAuxLib": r"",
    "PieceRef": r"[A-Za-z0-9-]+",
    "PieceDate": DATE,
    "EcritureLib": TEXT,
    "Debit": AMOUNT,
    "Credit": AMOUNT,
    "EcritureLet": r"",
    "DateLet": r"",
    "ValidDate": DATE,
    "Montantdevise": r"",
    "Idevise": r"",
}


def fec_rows(data: bytes) -> list[dict]:
    """The FEC's lines, each checked against the format; the header names the 18 columns, the
    entries are numbered 1, 2, 3... (a continuous sequence, in the file's order)."""
    text = data.decode("iso8859_15")  # one of the encodings article A47 A-1 names
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    header, *lines = text.removesuffix("\r\n").split("\r\n")
    assert header.split("\t") == list(FEC_FORMAT)
    rows = []
    for line in lines:
        values = line.split("\t")
        assert len(values) == 18, line
        row = dict(zip(FEC_FORMAT, values, strict=True))
        for column, pattern in FEC_FORMAT.items():
            assert re.fullmatch(pattern, row[column]), (column, row[column])
        debit, credit = (D(row[c].replace(",", ".")) for c in ("Debit", "Credit"))
        assert (debit == 0) != (credit == 0), line  # one side of one line
        rows.append(row | {"Debit": debit, "Credit": credit})
    numbers = list(dict.fromkeys(int(row["EcritureNum"]) for row in rows))
    assert numbers == list(range(1, len(numbers) + 1))
    return rows


def by_account(rows, debit="Debit", credit="Credit", account="CompteNum") -> dict:
    net = {}
    for row in rows:
        net[row[account]] = net.get(row[account], 0) + row[debit] - row[credit]
    return net


def test_the_fec_of_a_month_equals_its_z_closings_to_the_cent(app, runner, french, tmp_path):
    result = ok(export(runner, french, "fec", tmp_path / "out.txt"))
    export_id = result.stdout.strip()
    data = (tmp_path / "out.txt").read_bytes()
    rows = fec_rows(data)
    want = z_figures(app, french)
    net = by_account(rows)
    assert net["707"] == -want["sales"] == D("-139.80")
    assert net["709"] == want["refunds"] == D("5")
    assert net["580"] == want["pay_outs"] - want["pay_ins"]
    assert net["531"] == D("60") + 20  # the drop and Z 2's toSafe (120 counted, 100 left)
    assert net["758"] == -want["over"] == D("-2.70")
    assert net["658"] == want["short"] == D("14.75")
    # Cash moves by what was counted less the floats; the card by what it took.
    assert net["530"] == D("94.75") - 100 + 120 - 20 - D("94.75") + 110 - 100
    assert net["5115"] == D("42.50")
    # Each Z is one entry, balanced, its piece the Z's number and journal hash.
    for number, digest in want["hashes"].items():
        entry = [row for row in rows if row["PieceRef"] == f"Z{number}-{digest}"]
        assert len({row["EcritureNum"] for row in entry}) == 1
        assert sum(r["Debit"] for r in entry) == sum(r["Credit"] for r in entry) > 0
        assert {r["PieceRef"] for r in entry} == {f"Z{number}-{digest}"}
    forced_lines = [r["EcritureLib"] for r in rows if r["PieceRef"].startswith("Z3-")]
    assert all(
        text.startswith("Z 3 - clôture forcée par Olga - ")
        and text.endswith(" - alice - motif: left; early")
        for text in forced_lines
    ), forced_lines
    # Bob opened Z 2 and handed the drawer over: alice's is the close, and its difference.
    handed_over = [r["EcritureLib"] for r in rows if r["PieceRef"].startswith("Z2-")]
    assert all(" - alice" in text and "bob" not in text for text in handed_over), handed_over
    assert "Z 2 - Manquant de caisse approuvé par Olga - Espèces - alice" in handed_over
    # Named as the format says; journaled with its hash.
    with app.app_context():
        row = db.session.get(AccountingExport, export_id)
        assert row.file_name == f"{SIREN}FEC{TODAY[:4]}1231.txt"  # its fiscal year's end
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        assert (row.first_z, row.last_z, row.format) == (1, 3, "fec")
    ok(runner.invoke(args=["journal", "verify"]))


def datev_rows(data: bytes) -> tuple[list, list, list[dict]]:
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    header, columns, *bookings = list(csv.reader(io.StringIO(data.decode("cp1252")), delimiter=";"))
    return header, columns, [dict(zip(columns, row, strict=True)) for row in bookings]


def datev_net(bookings) -> dict:
    """Each account's net: what its bookings debit (Konto) less what they credit."""
    net = {}
    for booking in bookings:
        amount = D(booking["Umsatz (ohne Soll/Haben-Kz)"].replace(",", "."))
        debit, credit = booking["Konto"], booking["Gegenkonto (ohne BU-Schlüssel)"]
        net[debit] = net.get(debit, 0) + amount
        net[credit] = net.get(credit, 0) - amount
    return net


@pytest.fixture
def german(runner, month):
    args = ["--store", month, "--chart", "SKR03", "--datev-consultant", "29098"]
    ok(cli(runner, "settings", *args, "--datev-client", "55003", "--confirm"))
    return month


def test_the_datev_batch_parses_back_and_each_booking_is_a_z_s(app, runner, german, tmp_path):
    ok(export(runner, german, "datev", tmp_path / "batch.csv"))
    header, columns, bookings = datev_rows((tmp_path / "batch.csv").read_bytes())
    day = TODAY.replace("-", "")
    assert header[:6] == ["EXTF", "700", "21", "Buchungsstapel", "13", header[5]]
    assert (header[10], header[11], header[12], header[13]) == (
        "29098",
        "55003",
        f"{day[:4]}0101",
        "4",
    )
    assert (header[14], header[15], header[21], header[26]) == (day, day, "EUR", "03")
    assert len(header) == 31 and columns[0] == "Umsatz (ohne Soll/Haben-Kz)"
    want = z_figures(app, german)
    handed_over = [b["Buchungstext"] for b in bookings if b["Belegfeld 1"] == "Z2"]
    assert all(" - alice" in text and "bob" not in text for text in handed_over), handed_over
    # Cut to 60 characters, a text keeps its Z and the manager's name: the reason is cut.
    texts = {
        (b["Belegfeld 1"], b["Konto"], b["Gegenkonto (ohne BU-Schlüssel)"]): b["Buchungstext"]
        for b in bookings
    }
    assert texts["Z2", "4900", "1000"] == "Z 2 - Kassenfehlbetrag genehmigt von Olga - Bar - alice"
    forced_by = "Z 3 - Zwangsabschluss durch Olga - "
    assert texts["Z3", "1000", "8400"] == forced_by + "Erlöse - Bar - alice - Gr"
    assert texts["Z3", "1000", "2700"] == forced_by + "Kassenüberschuss - Bar -"
    for booking in bookings:
        assert booking["Soll/Haben-Kennzeichen"] == "S"
        assert booking["Belegdatum"] == TODAY[8:] + TODAY[5:7]
        number = int(booking["Belegfeld 1"].removeprefix("Z"))
        assert booking["Beleginfo - Inhalt 1"] == want["hashes"][number]
        assert len(booking["Buchungstext"]) <= 60
        assert not booking["Buchungstext"].startswith(("=", "+", "-", "@"))
    net = datev_net(bookings)
    assert net["8400"] == -want["sales"]
    assert net["8720"] == want["refunds"]  # Erlösschmälerungen 19 %: the VAT reversed
    assert (net["1890"], net["1800"]) == (-want["pay_ins"], want["pay_outs"])
    assert net["1010"] == D("60") + 20
    assert (net["2700"], net["4900"]) == (-want["over"], want["short"])
    assert net["1000"] == D("10") and net["1360"] == D("42.50")
    assert sum(net.values()) == 0


def test_zs_on_several_days_of_a_month_are_each_on_their_day_and_equal_the_fec_and_datev(
    app,
    runner,
    client,
    headers,
    profile,
    store,
    clock,  # noqa: F811
    files,
):
    """March's Zs of the 2nd, 14th and 28th (and one of 1 April, left out): each is posted on
    its business day, and every account moves over the month by what the Zs say, to the cent:
    cash and card, a refund, a drop, a pay-in and pay-out, short, over, a float left and the
    next opening over it."""
    ok(runner.invoke(args=["store", "tender", "add", store, "card", "Card"]))

    def shift(day, cash, moves, counted, **close):
        clock(f"2026-{day} 09:00")
        session_id = open_shift(client, headers, profile, cash=cash)["id"]
        for kind, amount, *tender in moves:
            extra = {"tender": "card"} if tender else {"reason": "safe"} if kind == "drop" else {}
            assert move(client, headers, session_id, kind, amount, **extra).status_code == 201
        clock(f"2026-{day} 19:00")
        close_shift(client, headers, profile, cash=counted, **close)

    first = [("sale", 20), ("sale", D("35.50"), "card"), ("refund", 2), ("drop", 50)]
    shift("03-02", 100, first, D("67.50"), countedTenders={"card": D("35.50")})
    shift(
        "03-14",
        50,
        [("pay_in", 10), ("pay_out", D("3.20")), ("sale", D("12.34"))],
        70,
        floatLeft=50,
    )
    shift("03-28", D("50.25"), [("sale", 40), ("sale", 15, "card")], D("90.25"))
    shift("04-01", 100, [("sale", 1)], 101)
    want = z_figures(app, store, numbers={1, 2, 3})
    assert (want["sales"], want["over"], want["short"]) == (D("122.84"), D("0.86"), D("0.50"))
    at_start = D("0.25")  # Z 3 opened with 50.25 where Z 2 left 50.00
    march = ("2026-03-01", "2026-03-31")

    ok(cli(runner, "settings", "--store", store, "--siren", SIREN, "--confirm"))
    ok(export(runner, store, "fec", files / "fec.txt", *march))
    rows = fec_rows((files / "fec.txt").read_bytes())
    days = {(row["PieceRef"][:2], row["EcritureDate"], row["ValidDate"]) for row in rows}
    assert days == {(f"Z{z}", d, d) for z, d in ((1, "20260302"), (2, "20260314"), (3, "20260328"))}
    net = by_account(rows)
    assert net["707"] == -want["sales"] and net["709"] == want["refunds"]
    assert net["580"] == want["pay_outs"] - want["pay_ins"]
    assert (net["758"], net["658"]) == (-want["over"] - at_start, want["short"])
    assert (net["531"], net["530"], net["5115"]) == (50 + 20, D("7.75"), D("50.50"))
    assert sum(net.values()) == 0

    args = ["--chart", "SKR03", "--datev-consultant", "29098", "--datev-client", "55003"]
    ok(cli(runner, "settings", "--store", store, *args, "--confirm"))
    ok(export(runner, store, "datev", files / "batch.csv", *march))
    header, _columns, bookings = datev_rows((files / "batch.csv").read_bytes())
    assert (header[12], header[14], header[15]) == ("20260101", "20260301", "20260331")
    days = {(booking["Belegfeld 1"], booking["Belegdatum"]) for booking in bookings}
    assert days == {("Z1", "0203"), ("Z2", "1403"), ("Z3", "2803")}
    net = datev_net(bookings)
    assert net["8400"] == -want["sales"] and net["8720"] == want["refunds"]
    assert (net["1890"], net["1800"]) == (-want["pay_ins"], want["pay_outs"])
    assert (net["2700"], net["4900"]) == (-want["over"] - at_start, want["short"])
    assert (net["1010"], net["1000"], net["1360"]) == (50 + 20, D("7.75"), D("50.50"))
    assert sum(net.values()) == 0


def test_the_fiscal_year_starts_in_the_settings_month(
    app,
    runner,
    client,
    headers,
    profile,
    store,
    clock,  # noqa: F811
    files,
):
    """A fiscal year from 1 April: a FEC of December to March is one year's, named after
    31 March; one of 31 March and 1 April is refused; DATEV's header starts the year in April."""
    for day in ("2025-12-31", "2026-03-31", "2026-04-01"):
        clock(f"{day} 10:00")
        session_id = open_shift(client, headers, profile, cash=50)["id"]
        move(client, headers, session_id, "sale", 10)
        close_shift(client, headers, profile, cash=60)
    args = ["--store", store, "--siren", SIREN, "--fiscal-year-start", "4", "--confirm"]
    assert re.search(r"fiscal_year_start +4", ok(cli(runner, "settings", *args)).stdout)

    made = ok(export(runner, store, "fec", files / "fec.txt", "2025-12-31", "2026-03-31"))
    with app.app_context():
        row = db.session.get(AccountingExport, made.stdout.strip())
        assert (row.file_name, row.first_z, row.last_z) == (f"{SIREN}FEC20260331.txt", 1, 2)
    across = export(runner, store, "fec", files / "no.txt", "2026-03-31", "2026-04-01")
    refused(across, 1, "to: A FEC stays within one fiscal year (1 April on).")

    args = ["--chart", "SKR03", "--datev-consultant", "29098", "--datev-client", "55003"]
    ok(cli(runner, "settings", "--store", store, *args, "--confirm"))
    ok(export(runner, store, "datev", files / "batch.csv", "2025-12-31", "2026-03-31"))
    header = datev_rows((files / "batch.csv").read_bytes())[0]
    assert (header[12], header[14], header[15]) == ("20250401", "20251231", "20260331")
    across = export(runner, store, "datev", files / "no.csv", "2026-03-31", "2026-04-01")
    refused(across, 1, "to: A DATEV batch stays within one fiscal year (1 April on).")
    assert sorted(path.name for path in files.iterdir()) == ["batch.csv", "fec.txt"]


def test_each_export_is_a_journal_fact_verify_holds_to_its_row(
    app, runner, french, tmp_path, client, headers
):
    first = ok(export(runner, french, "fec", tmp_path / "a.txt")).stdout.strip()
    data = (tmp_path / "a.txt").read_bytes()
    feed = client.get("/pos-session/journal", headers=headers).get_json()["data"]
    [entry] = [e for e in feed if e["kind"] == "accounting_exported"]
    assert entry["data"]["exportId"] == first
    assert entry["data"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert (entry["data"]["firstDay"], entry["data"]["lastDay"]) == (TODAY, TODAY)
    assert entry["data"]["by"].startswith("the command line")
    ok(runner.invoke(args=["journal", "verify"]))


@pytest.fixture
def files(tmp_path):
    """A folder of the test's files alone (tmp_path holds the database)."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


def refused(result, status: int, message: str) -> None:
    assert result.exit_code == status, result.output
    assert message in result.output, result.output


def test_no_settings_unconfirmed_or_changed_settings_write_nothing(runner, month, files):
    out = files / "out.txt"
    refused(export(runner, month, "fec", out), 1, "no accounting settings yet")
    ok(cli(runner, "settings", "--store", month, "--siren", SIREN))
    refused(export(runner, month, "fec", out), 1, "not confirmed")
    ok(cli(runner, "settings", "--store", month, "--confirm"))
    ok(cli(runner, "settings", "--store", month, "--account", "sales=7071"))  # a change
    shown = ok(cli(runner, "settings", "--store", month)).stdout
    assert re.search(r"account sales +7071", shown) and re.search(r"confirmed +no", shown)
    refused(export(runner, month, "fec", out), 1, "not confirmed")
    assert list(files.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (("--format", "csv"), 2, "Invalid value for '--format'"),
        (("--from", "2026-13-01"), 2, "Invalid value for '--from'"),
        (("--from", "2026-12-31", "--to", "2026-01-01"), 1, "to: The last day comes before"),
        (("--from", "2020-01-01", "--to", "2026-01-01"), 1, "to: At most 366 days"),
        (("--from", "2001-01-01", "--to", "2001-01-31"), 1, "These days have no Z closing"),
        (("--format", "datev"), 1, "DATEV is for a store whose country is DE"),
        (  # the FEC is a fiscal year's, named after its closing date
            ("--from", f"{int(TODAY[:4]) - 1}-12-31", "--to", f"{TODAY[:4]}-01-01"),
            1,
            "to: A FEC stays within one fiscal year",
        ),
    ],
)
def test_a_bad_range_or_format_is_refused_and_out_left_as_it_was(
    runner, french, files, args, status, message
):
    out = files / "out.txt"
    out.write_text("the accountant's last file")
    given = dict(zip(args[::2], args[1::2], strict=True))
    options = {"--format": "fec", "--from": TODAY, "--to": TODAY} | given
    result = cli(runner, "export", "--store", french, *sum(options.items(), ()), str(out))
    refused(result, status, message)
    assert out.read_text() == "the accountant's last file"
    assert list(files.iterdir()) == [out]  # no temporary file left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--siren", "732829321"), "siren: Enter the SIREN"),
        (("--chart", "SKR03", "--country", "FR"), "chart: SKR03 is not a chart of FR"),
        (("--account", "sales=70A"), "accounts: "),
        (("--chart", "SKR04", "--account", "sales=44000"), "DATEV needs every account of one"),
        (("--company-name", "two\nlines"), "company_name: This cannot hold a control"),
        (("--journal-code", "ca"), "journal_code: Enter 1 to 8 capital letters"),
    ],
)
def test_settings_are_checked(runner, store, args, message):
    refused(cli(runner, "settings", "--store", store, *args), 1, message)


def test_settings_take_each_chart_s_defaults_and_the_country_s_chart(runner, store):
    shown = ok(cli(runner, "settings", "--store", store, "--country", "DE")).stdout
    assert re.search(r"chart +SKR03", shown) and re.search(r"tender cash +1000", shown)
    shown = ok(cli(runner, "settings", "--store", store, "--chart", "SKR04")).stdout
    assert re.search(r"account sales +4400", shown) and re.search(r"tender cash +1600", shown)
    unknown = cli(runner, "settings", "--store", "nope", "--confirm")
    refused(unknown, 1, "Store not found")


@pytest.mark.parametrize(("fmt", "settings"), [("fec", "french"), ("dsfinvk", "auditor")])
def test_an_export_that_does_not_agree_with_its_zs_is_refused_with_the_reason(
    app, runner, files, monkeypatch, request, fmt, settings
):
    """A movement the postings did not read (as if its entry were missing): the cash account
    no longer moves by what the Z counted, and nothing is written, whatever the format."""
    store = request.getfixturevalue(settings)
    add = postings._add

    def forgetting_drops(z, kind, data):
        if data.get("type") != "drop":
            add(z, kind, data)

    monkeypatch.setattr(postings, "_add", forgetting_drops)
    result = export(runner, store, fmt, files / "out")
    refused(result, 1, "Nothing was written: Z 1: cash moves 54.75 in its postings")
    assert list(files.iterdir()) == [] and exports_journaled(app) == []


def test_lines_whose_debit_is_not_their_credit_are_refused(runner, french, files, monkeypatch):
    """Each Z's lines, as a writer builds them, are summed before any file is written."""
    build = postings.lines

    def lopsided(made):
        first, *rest = build(made)
        return [first._replace(debit=first.debit + D("0.01")), *rest]

    monkeypatch.setattr(postings, "lines", lopsided)
    result = export(runner, french, "fec", files / "out.txt")
    refused(result, 1, "Nothing was written: Z 1: debit 175.76, credit 175.75")
    assert list(files.iterdir()) == []


# The back office: the settings page's section, and the download on the day and month pages.


def settings_page(store):
    return f"/backoffice/stores/{store}/settings"


def test_the_owner_sets_up_and_confirms_the_accounts_on_the_settings_page(client, month):
    sign_in(client)
    page = client.get(settings_page(month)).get_data(as_text=True)
    assert "Not set up" in page and 'name="account_sales"' in page and 'value="707"' in page
    assert 'name="tender_account_card" type="text" value="5115"' in page
    action = f"/backoffice/stores/{month}/settings/accounting"
    refused = submit(client, settings_page(month), action, siren="123", journal_code="CA")
    assert refused.status_code == 400 and "Enter the SIREN" in text(refused)
    saved = submit(
        client, settings_page(month), action, siren=SIREN, journal_code="VT", fiscal_year_start="7"
    )
    assert saved.status_code == 302
    assert '<option value="7" selected>July</option>' in client.get(settings_page(month)).text
    assert "Not confirmed" in text(client.get(settings_page(month)))
    confirmed = submit(client, settings_page(month), action + "/confirm")
    assert confirmed.status_code == 302
    assert f"Confirmed by {MANAGER}" in text(client.get(settings_page(month)))
    # Another chart brings its accounts, and asks for a new confirmation.
    submit(client, settings_page(month), action, chart="SKR04")
    page = text(client.get(settings_page(month)))
    assert "Not confirmed" in page and "DATEV client number" in page
    assert 'value="4400"' in client.get(settings_page(month)).get_data(as_text=True)


def download(client, store, page, **fields):
    action = f"/backoffice/stores/{store}/accounting/export"
    return submit(client, page, action, **({"from": TODAY, "to": TODAY} | fields))


def test_the_day_page_downloads_the_fec_and_lists_it_as_current(client, french):
    sign_in(client)
    day_page = f"/backoffice/stores/{french}/days/{TODAY}"
    got = download(client, french, day_page, format="fec")
    assert got.status_code == 200, text(client.get(day_page))
    name = f"{SIREN}FEC{TODAY[:4]}1231.txt"
    assert got.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert got.headers.getlist("Content-Type") == ["text/plain; charset=ISO-8859-15"]
    assert len(fec_rows(got.data)) == 24  # 12 postings
    again = download(client, french, day_page, format="fec")
    listed = text(client.get(day_page))
    assert f"{name} current" in listed and f"{name} replaced" in listed
    assert hashlib.sha256(again.data).hexdigest() in listed


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"format": "datev"}, "DATEV is for a store whose country is DE."),
        ({"format": "zip"}, "Some fields need attention. Choose one of fec, datev, dsfinvk."),
        ({"from": "31 Dec 2026", "to": "1 Jan 2026"}, "The last day comes before the first."),
        ({"from": "someday"}, "Enter the first and last days"),
    ],
)
def test_a_refused_download_says_why_on_the_page_it_came_from(client, french, fields, message):
    sign_in(client)
    day_page = f"/backoffice/stores/{french}/days/{TODAY}"
    got = download(client, french, day_page, **({"format": "fec"} | fields))
    assert got.status_code == 302 and got.headers["Location"].endswith(day_page)
    assert message in text(client.get(day_page))


def test_the_month_page_offers_this_month_and_downloads_it(client, german, runner):
    sign_in(client)
    periods_page = f"/backoffice/stores/{german}/journal/periods"
    html = client.get(periods_page).get_data(as_text=True)
    first = utcnow().replace(day=1)
    assert f'id="export-from" name="from" type="text" value="1 {first:%b %Y}"' in html
    got = download(client, german, periods_page, format="datev", **{"from": f"{TODAY[:8]}01"})
    assert got.status_code == 200
    assert got.headers.getlist("Content-Type") == ["text/csv; charset=windows-1252"]
    assert datev_rows(got.data)[0][:4] == ["EXTF", "700", "21", "Buchungsstapel"]
    unconfirmed = ["--store", german, "--datev-client", "55004"]
    ok(cli(runner, "settings", *unconfirmed))
    refused = download(client, german, periods_page, format="datev", to=TODAY)
    assert refused.headers["Location"].endswith(periods_page)
    assert "not confirmed" in text(client.get(periods_page))


def test_out_appears_whole_or_not_at_all(runner, french, files, monkeypatch):
    """The file is written beside OUT, then renamed once its export is journaled: a failure
    in between leaves OUT as it was and no temporary file."""
    from app.cli import accounting as command
    from app.exceptions import DatabaseBusy

    def busy(*args):
        raise DatabaseBusy()

    out = files / "out.txt"
    out.write_text("the accountant's last file")
    monkeypatch.setattr(command, "record_export", busy)
    refused(export(runner, french, "fec", out), 1, "Database busy")
    assert out.read_text() == "the accountant's last file"
    assert list(files.iterdir()) == [out]


def test_every_text_of_the_datev_batch_is_one_line_and_no_formula(runner, german, files):
    ok(export(runner, german, "datev", files / "batch.csv"))
    header, columns, bookings = datev_rows((files / "batch.csv").read_bytes())
    assert header[16] == 'Kasse Café "Zoé"; =cmd|\' /C ca'  # cut to DATEV's 30
    texts = [*header, *(value for booking in bookings for value in booking.values())]
    assert not [t for t in texts if t.startswith(("=", "+", "-", "@")) or "\t" in t]


def no_sale_only(client, headers, profile):
    """A Z whose session moved no money: a no-sale, counted as opened."""
    session_id = open_shift(client, headers, profile, cash=50)["id"]
    assert move(client, headers, session_id, "no_sale", 0, reason="change").status_code == 201
    close_shift(client, headers, profile, cash=50)


def test_a_z_that_moved_no_money_leaves_no_gap_in_the_fec_entries(
    runner, client, headers, profile, store, files
):
    for moved in (True, False, True):  # Z 1, Z 2 (a no-sale only), Z 3
        if moved:
            session_id = open_shift(client, headers, profile, cash=50)["id"]
            move(client, headers, session_id, "sale", 10)
            close_shift(client, headers, profile, cash=60)
        else:
            no_sale_only(client, headers, profile)
    ok(cli(runner, "settings", "--store", store, "--siren", SIREN, "--confirm"))
    ok(export(runner, store, "fec", files / "fec.txt"))
    rows = fec_rows((files / "fec.txt").read_bytes())  # numbered 1, 2: no gap for Z 2
    pieces = {row["EcritureNum"]: row["PieceRef"].split("-")[0] for row in rows}
    assert pieces == {"1": "Z1", "2": "Z3"}


@pytest.mark.parametrize("fmt", ["fec", "datev"])
def test_days_whose_zs_moved_no_money_are_refused_not_a_file_of_headers(
    runner, client, headers, profile, store, files, fmt
):
    no_sale_only(client, headers, profile)
    settings = ["--siren", SIREN] if fmt == "fec" else ["--country", "DE"]
    if fmt == "datev":
        settings += ["--datev-consultant", "29098", "--datev-client", "55003"]
    ok(cli(runner, "settings", "--store", store, *settings, "--confirm"))
    refused(export(runner, store, fmt, files / "out.txt"), 1, "moved no money")
    assert list(files.iterdir()) == []


@pytest.mark.parametrize("fmt", ["fec", "datev"])
def test_names_are_composed_and_what_the_encoding_lacks_is_a_question_mark(
    app, runner, client, headers, make_profile, store, files, fmt
):
    # "Zoé" typed with a combining accent, and a name of Cyrillic and an emoji.
    zoe, oleg = make_profile(store, "Zoe\u0301"), make_profile(store, "Олег \U0001f600")
    for cashier in (zoe, oleg):
        session_id = open_shift(client, headers, cashier, cash=50)["id"]
        move(client, headers, session_id, "sale", 10)
        close_shift(client, headers, cashier, cash=60)
    settings = ["--siren", SIREN] if fmt == "fec" else ["--country", "DE"]
    if fmt == "datev":
        settings += ["--datev-consultant", "29098", "--datev-client", "55003"]
    ok(cli(runner, "settings", "--store", store, *settings, "--confirm"))
    ok(export(runner, store, fmt, files / "out.txt"))
    data = (files / "out.txt").read_bytes()
    if fmt == "fec":
        labels = [row["EcritureLib"] for row in fec_rows(data)]
    else:
        labels = [booking["Buchungstext"] for booking in datev_rows(data)[2]]
    assert all(label.endswith((" - Zoé", " - ???? ?")) for label in labels), labels
    assert {label.endswith("Zoé") for label in labels} == {True, False}


@pytest.fixture
def auditor(runner, month):
    """The store set up for the DSFinV-K: German, with its master data."""
    args = ["--store", month, "--country", "DE", "--company-name", "Zoé GmbH", "--street", "Hof 1"]
    args += ["--postcode", "10115", "--city", "Berlin", "--tax-number", "12/345/67890"]
    ok(cli(runner, "settings", *args, "--confirm"))
    return month


def valid_dsfinvk(archive: bytes, capsys) -> dict[str, list[dict]]:
    """The archive's CSVs by column name, once the package's validator found nothing: it
    prints its findings on numbers and lengths rather than returning them."""
    capsys.readouterr()
    assert validate_zip(io.BytesIO(archive)) == []
    assert capsys.readouterr().out == ""
    return read(archive)


def test_dsfinvk_exports_the_store_s_master_data(runner, auditor, files, capsys):
    ok(export(runner, auditor, "dsfinvk", files / "dsfinvk.zip"))
    tables = valid_dsfinvk((files / "dsfinvk.zip").read_bytes(), capsys)
    places = {
        (row["LOC_STRASSE"], row["LOC_PLZ"], row["LOC_ORT"], row["LOC_LAND"])
        for row in tables["location.csv"]
    }
    assert places == {("Hof 1", "10115", "Berlin", "DEU")}  # DSFinV-K's country is alpha-3


def exports_journaled(app) -> list:
    with app.app_context():
        return db.session.scalars(
            select(JournalEntry.seq).where(JournalEntry.kind == EXPORTED.kind)
        ).all()


def test_dsfinvk_needs_the_master_data(app, runner, month, files):
    ok(cli(runner, "settings", "--store", month, "--country", "DE", "--confirm"))
    result = export(runner, month, "dsfinvk", files / "dsfinvk.zip")
    refused(result, 1, "lack company_name, street, postcode, city, tax_number")
    assert list(files.iterdir()) == [] and exports_journaled(app) == []


@sqlite_only  # the tamper is in SQLite's SQL
def test_dsfinvk_exports_the_chained_figures_not_rows_changed_behind_the_box_s_back(
    app, runner, auditor, files, capsys
):
    """Every sale made 999.99 in its table: the file is the journal's, as the FEC is."""
    with closing(plain_sql(app)) as connection:
        connection.execute("DROP TRIGGER cash_movement_no_update")
        connection.execute("UPDATE cash_movement SET amount = 99999 WHERE type = 'sale'")
        connection.commit()
    ok(export(runner, auditor, "dsfinvk", files / "dsfinvk.zip"))
    tables = valid_dsfinvk((files / "dsfinvk.zip").read_bytes(), capsys)
    sales = [r for r in tables["businesscases.csv"] if r["GV_NAME"] == "sale"]
    assert sum(dsfinvk_number(r["Z_UMS_BRUTTO"]) for r in sales) == z_figures(app, auditor)["sales"]
    lines = [dsfinvk_number(r["STK_BR"]) for r in tables["lines.csv"] if r["GV_NAME"] == "sale"]
    assert sorted(lines) == [D("7.30"), 12, D("30.50"), 40, 50]


@sqlite_only  # the tamper is in SQLite's SQL (json_set)
def test_dsfinvk_refuses_a_journal_entry_changed_behind_the_box_s_back(app, runner, auditor, files):
    """A sale's entry rewritten: its hash is no longer that of what it says. Nothing is
    written, and no export is journaled."""
    with closing(plain_sql(app)) as connection:
        connection.execute("DROP TRIGGER journal_entry_no_update")
        [seq] = connection.execute(
            "SELECT min(seq) FROM journal_entry WHERE kind = 'cash_movement'"
        ).fetchone()
        connection.execute(
            "UPDATE journal_entry SET data = json_set(data, '$.amount', '1.00') WHERE seq = ?",
            (seq,),
        )
        connection.commit()
    result = export(runner, auditor, "dsfinvk", files / "dsfinvk.zip")
    refused(result, 1, f"Nothing was written: Z 1: the journal's entry {seq} is not what was")
    assert list(files.iterdir()) == [] and exports_journaled(app) == []
