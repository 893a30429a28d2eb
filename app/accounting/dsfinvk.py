"""DSFinV-K: a store's Z closings of a range of business days as the export a German tax
auditor reads from a cash register, written with pretix's ``dsfinvk`` package.

Each Z is a cash point closing (Kassenabschluss, ``Z_NR`` its Z number); each fact of its
session a transaction (Bon), read from the fact's journal entry (``postings.z_closings``, each
hash checked), numbered by its ``seq`` and citing its hash: the opening's float (and its
discrepancy at start), every movement, and the close's difference (and what went to the safe).
The package's models write the CSVs; index.xml is made from the same models, so its columns
are the files' own. docs/dsfinvk.md is the mapping.
"""

import io
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import metadata, resources
from pathlib import Path
from typing import NamedTuple

from dsfinvk import models as tables
from dsfinvk.collection import Collection
from dsfinvk.fields import BooleanField, NumericField, StringField
from dsfinvk.table import Model

from .. import reports
from ..journal import APPROVED, MOVEMENT, OPENED, REASONED_MOVEMENT
from ..models import CASH, MOVEMENT_SIGNS, Store
from .postings import Entry, Z

# Every table of the format, in its order: each file is written, its header at least.
TABLES = [
    table
    for table in vars(tables).values()
    if isinstance(table, type) and issubclass(table, Model) and table is not Model
]
DTD = "gdpdu-01-08-2002.dtd"
SOFTWARE = "pos-session"

# The box knows no VAT rate: sales are under the format's key for a VAT that cannot be
# determined (the register says so: KEINE_UST_ZUORDNUNG), the rest under "not taxable".
NOT_TAXABLE, NOT_DETERMINABLE = 5, 7
VAT_KEYS = {NOT_TAXABLE: "Nicht steuerbar", NOT_DETERMINABLE: "Umsatzsteuer nicht ermittelbar"}
# A movement's business case (GV_TYP) and VAT key; its sign is MOVEMENT_SIGNS'. A no-sale moves
# nothing: a transaction of type "AVSonstige" without a line.
BUSINESS_CASES = {
    "sale": ("Umsatz", NOT_DETERMINABLE),
    "refund": ("Umsatz", NOT_DETERMINABLE),
    "pay_in": ("Einzahlung", NOT_TAXABLE),
    "pay_out": ("Auszahlung", NOT_TAXABLE),
    "drop": ("Geldtransit", NOT_TAXABLE),
}
OPENING = ("Anfangsbestand", NOT_TAXABLE)
DIFFERENCE = ("DifferenzSollIst", NOT_TAXABLE)
TRANSIT = BUSINESS_CASES["drop"]
RECEIPT, OTHER = "Beleg", "AVSonstige"
# Cash is "Bar"; every other tender (card, voucher, cheque, other) is paid otherwise.
CASH_PAYMENT, OTHER_PAYMENT = "Bar", "Unbar"
MOVEMENTS = (MOVEMENT.kind, REASONED_MOVEMENT.kind)


class Line(NamedTuple):
    """One line (Bonpos) of a transaction: its business case (GV_TYP), VAT key, the box's own
    name of the figure (GV_NAME) and amount."""

    case: str
    vat: int
    name: str
    amount: Decimal


@dataclass
class Bon:
    """One transaction: a Bonkopf, and with lines their VAT and the payment of their sum."""

    id: str
    entry: Entry  # its fact's: its seq is the transaction's number, its hash is cited
    cashier_id: str | None
    cashier: str
    terminal: str | None
    note: str
    lines: list[Line]  # none: a no-sale, which moves nothing
    name: str = ""  # BON_NAME of a transaction of the "other" kind
    tender: str = CASH
    kind: str = RECEIPT

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


def export(
    store: Store, zs: list[Z], tenders: dict, first: date, last: date, master: Mapping
) -> tuple[str, bytes]:
    """The DSFinV-K archive (a zip of the CSVs, index.xml and its DTD) of the store's Z
    closings ``zs`` (``postings.z_closings``: made in the business days ``first`` to
    ``last``), and its file name. ``tenders``: {code: (name, account)}; ``master``: the
    company's ``company_name``, ``street``, ``postcode``, ``city``, ``country``,
    ``tax_number`` and ``vat_id``. The same data gives the same bytes."""
    names = {code: name for code, (name, _account) in tenders.items()}
    collection = Collection()
    for table in TABLES:
        empty = table()
        empty._data.clear()  # Collection.write writes a record without data as the header only
        collection.add(empty)
    for z in zs:
        _closing_records(collection, store, z, _bons(z), names, master)
    name = f"dsfinvk_{store.id}_{first:%Y%m%d}_{last:%Y%m%d}.zip"
    return name, _archive(collection, master)


def _bons(z: Z) -> list[Bon]:
    """The Z's transactions, from its journal entries: the float, each movement (its
    attendant's), then the count's difference (the holder's at the close). After a float
    left, the opening starts from that float and adds what it found over or short of it (so
    the two Zs chain), and the close sends the rest of the count to the safe."""
    bons, approval = [], None
    for entry in z.entries:
        data = entry.data
        if entry.kind == OPENED.kind:
            opening = [Line(*OPENING, "opening", z.opening - z.at_start)]
            if z.at_start:
                opening.append(Line(*DIFFERENCE, "discrepancy_at_start", z.at_start))
            opener = data["profileId"]
            bons.append(
                Bon(
                    f"{z.session_id}-open",
                    entry,
                    opener,
                    z.names.get(opener, ""),
                    terminal=data["by"],
                    note=data["note"] or "",
                    lines=opening,
                )
            )
        elif entry.kind in MOVEMENTS:
            case = BUSINESS_CASES.get(data["type"])
            amount = Decimal(data["amount"]) * MOVEMENT_SIGNS[data["type"]]
            attendant = data.get("attendantId") or z.data["profileId"]  # none before 0014
            bons.append(
                Bon(
                    data["movementId"],
                    entry,
                    attendant,
                    z.names.get(attendant, ""),
                    terminal=data["by"],
                    note=_joined(data.get("reason"), data["note"]),
                    lines=[Line(*case, data["type"], amount)] if case else [],
                    name=data["type"],
                    tender=data.get("tender", CASH),
                    kind=RECEIPT if case else OTHER,
                )
            )
        elif entry.kind == APPROVED.kind:
            approval = data
    closing = z.data
    closed = [Line(*DIFFERENCE, "difference", Decimal(closing["difference"]))]
    if closing.get("toSafe"):
        closed.append(Line(*TRANSIT, "to_safe", -Decimal(closing["toSafe"])))
    by = closing["by"]
    # A forced close is the manager's, from the back office: no terminal.
    closer = (None, by, None) if z.forced else (z.holder, z.cashier, by)
    bons.append(
        Bon(
            f"{z.session_id}-close",
            z.entry,
            *closer,
            note=_joined(
                closing["note"],
                z.forced and f"forced by {by}: {closing['reason']}",
                approval and f"approved by {approval['by']}: {approval['note'] or ''}",
                closing["approvalPending"] and not approval and "approval pending",
            ),
            lines=closed,
        )
    )
    return bons


def _joined(*parts) -> str:
    return " / ".join(part for part in parts if part)


def _closing_records(collection, store: Store, z: Z, bons, names, master) -> None:
    """Every record of one Z: its master data, its transactions and its sums."""
    closing = {
        "Z_KASSE_ID": store.id,
        "Z_ERSTELLUNG": reports.local_time(store, z.entry.at),
        "Z_NR": z.number,
    }

    def add(table, **values):
        collection.add(_record(table, **closing, **values))

    cases, payments = defaultdict(Decimal), defaultdict(Decimal)
    for bon in bons:
        moment = reports.local_time(store, bon.entry.at)
        add(
            tables.Bonkopf,
            BON_ID=bon.id,
            BON_NR=bon.entry.seq,
            BON_TYP=bon.kind,
            BON_NAME=bon.name if bon.kind == OTHER else None,
            TERMINAL_ID=bon.terminal,
            BON_STORNO=False,
            BON_START=moment,
            BON_ENDE=moment,
            BEDIENER_ID=bon.cashier_id,
            BEDIENER_NAME=bon.cashier,
            UMS_BRUTTO=bon.amount,
            # The hash first: a note too long for the column is what gets cut.
            BON_NOTIZ=_joined(f"Journal-Hash {bon.entry.hash}", bon.note),
        )
        # No TSE signs the box's transactions: the TSE's fields are empty (docs/dsfinvk.md).
        add(tables.TSE_Transaktionen, BON_ID=bon.id)
        if not bon.lines:
            continue
        by_vat = defaultdict(Decimal)
        for line in bon.lines:
            by_vat[line.vat] += line.amount
        for vat, total in sorted(by_vat.items()):
            add(
                tables.Bonkopf_USt, BON_ID=bon.id, UST_SCHLUESSEL=vat, **_named("BON_", _net(total))
            )
        payment = CASH_PAYMENT if bon.tender == CASH else OTHER_PAYMENT
        tender = None if bon.tender == CASH else names.get(bon.tender, bon.tender)
        add(
            tables.Bonkopf_Zahlarten,
            BON_ID=bon.id,
            ZAHLART_TYP=payment,
            ZAHLART_NAME=tender,
            ZAHLWAEH_CODE=store.currency,
            BASISWAEH_BETRAG=bon.amount,
        )
        payments[payment, bon.tender, tender] += bon.amount
        for number, line in enumerate(bon.lines, 1):
            add(
                tables.Bonpos,
                BON_ID=bon.id,
                POS_ZEILE=str(number),
                ARTIKELTEXT=line.name,
                GV_TYP=line.case,
                GV_NAME=line.name,
                P_STORNO=False,
                MENGE=1,
                STK_BR=line.amount,
            )
            add(
                tables.Bonpos_USt,
                BON_ID=bon.id,
                POS_ZEILE=str(number),
                UST_SCHLUESSEL=line.vat,
                **_named("POS_", _net(line.amount)),
            )
            cases[line.case, line.name, line.vat] += line.amount

    cash = sum(
        (amount for (kind, *_), amount in payments.items() if kind == CASH_PAYMENT), Decimal(0)
    )
    add(
        tables.Stamm_Abschluss,
        # The business day, when the Z was made after midnight before the next day's start.
        Z_BUCHUNGSTAG=_booking_day(store, z),
        Z_START_ID=bons[0].id,
        Z_ENDE_ID=bons[-1].id,
        NAME=master["company_name"],
        STRASSE=master["street"],
        PLZ=master["postcode"],
        ORT=master["city"],
        LAND=master["country"],
        STNR=master["tax_number"],
        USTID=master["vat_id"],
        Z_SE_ZAHLUNGEN=sum(payments.values(), Decimal(0)),
        Z_SE_BARZAHLUNGEN=cash,
    )
    add(
        tables.Stamm_Orte,
        LOC_NAME=store.name,
        LOC_STRASSE=master["street"],
        LOC_PLZ=master["postcode"],
        LOC_ORT=master["city"],
        LOC_LAND=master["country"],
        LOC_USTID=master["vat_id"],
    )
    add(
        tables.Stamm_Kassen,
        KASSE_BRAND=SOFTWARE,
        KASSE_MODELL=SOFTWARE,
        KASSE_SERIENNR=store.id,
        KASSE_SW_BRAND=SOFTWARE,
        KASSE_SW_VERSION=metadata.version(SOFTWARE),
        KASSE_BASISWAEH_CODE=store.currency,
        KEINE_UST_ZUORDNUNG=True,
    )
    # The terminals the Z's transactions name (TERMINAL_ID): the API tokens, by name; the box
    # knows no brand, model or software of a terminal app, so those are left empty.
    for terminal in sorted({bon.terminal for bon in bons if bon.terminal}):
        add(tables.Stamm_Terminals, TERMINAL_ID=terminal)
    for key, text in VAT_KEYS.items():
        add(tables.Stamm_USt, UST_SCHLUESSEL=key, UST_SATZ=Decimal(0), UST_BESCHR=text)
    for (case, name, vat), amount in sorted(cases.items()):
        add(
            tables.Z_GV_Typ,
            GV_TYP=case,
            GV_NAME=name,
            UST_SCHLUESSEL=vat,
            Z_UMS_BRUTTO=amount,
            Z_UMS_NETTO=amount,
            Z_UST=Decimal(0),
        )
    for (payment, _code, tender), amount in sorted(payments.items()):
        add(tables.Z_Zahlart, ZAHLART_TYP=payment, ZAHLART_NAME=tender, Z_ZAHLART_BETRAG=amount)
    # The cash in the store's one currency: the count, less what went to the safe.
    add(tables.Z_Waehrungen, ZAHLART_WAEH=store.currency, ZAHLART_BETRAG_WAEH=cash)


def _net(amount: Decimal) -> dict:
    """Gross, net and VAT of an amount the box knows no VAT rate of (above)."""
    return {"BRUTTO": amount, "NETTO": amount, "UST": Decimal(0)}


def _named(prefix: str, amounts: dict) -> dict:
    return {prefix + name: amount for name, amount in amounts.items()}


def _booking_day(store: Store, z: Z) -> str | None:
    return None if z.day == reports.local_time(store, z.entry.at).date() else z.day.isoformat()


def _record(table, **values) -> Model:
    """A record of ``table``; a text on one line and cut to its column's length (the package
    checks neither), None left empty."""
    record = table()
    fields = {field.name: field for field in table._fields}
    for name, value in values.items():
        if value is None:
            continue
        field = fields[name]
        if isinstance(field, StringField):
            value = _one_line(str(value))[: field.max_length]
        setattr(record, name, value)
    return record


def _one_line(text: str) -> str:
    """Line breaks, tabs and other control characters as spaces: a record is one line."""
    return "".join(" " if ord(char) < 32 or ord(char) == 127 else char for char in text)


def _archive(collection: Collection, master: Mapping) -> bytes:
    """The package's zip, packed again with fixed times and compressed: the same data gives
    the same bytes (the package stamps each file with the time it was written)."""
    with tempfile.TemporaryDirectory() as folder:
        index = Path(folder) / "index.xml"
        index.write_bytes(_index(master))
        written = io.BytesIO()
        with resources.as_file(resources.files(__package__) / DTD) as dtd:
            collection.write(written, str(index), str(dtd))
    packed = io.BytesIO()
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(packed, "w") as target:
        for member in source.infolist():
            fixed = zipfile.ZipInfo(member.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.external_attr = 0o644 << 16  # rw-r--r-- once unpacked
            target.writestr(fixed, source.read(member), compress_type=zipfile.ZIP_DEFLATED)
    return packed.getvalue()


def _index(master: Mapping) -> bytes:
    """index.xml: each table's file and columns as the package's models define them, read as
    UTF-8 with semicolons, CRLF, quotes, comma decimals and a header line."""
    root = ET.Element("DataSet")
    _text(root, "Version", "1.0")
    supplier = ET.SubElement(root, "DataSupplier")
    _text(supplier, "Name", master["company_name"])
    _text(supplier, "Location", master["city"])
    software = f"{SOFTWARE} {metadata.version(SOFTWARE)}, dsfinvk {metadata.version('dsfinvk')}"
    _text(supplier, "Comment", f"DSFinV-K written by {software}")
    media = ET.SubElement(root, "Media")
    _text(media, "Name", "DSFinV-K")
    for table in TABLES:
        element = ET.SubElement(media, "Table")
        _text(element, "URL", table._filename)
        _text(element, "Name", table.__name__)
        _text(element, "Description", table.__doc__.strip().splitlines()[0])
        ET.SubElement(element, "UTF8")
        _text(element, "DecimalSymbol", ",")
        _text(element, "DigitGroupingSymbol", ".")
        _text(ET.SubElement(element, "Range"), "From", "2")
        layout = ET.SubElement(element, "VariableLength")
        _text(layout, "ColumnDelimiter", ";")
        ET.SubElement(layout, "RecordDelimiter").text = "\r\n"
        _text(layout, "TextEncapsulator", '"')
        for field in table._fields:
            column = ET.SubElement(layout, "VariableColumn")
            _text(column, "Name", field.name)
            _text(column, "Description", field.__doc__)
            if isinstance(field, NumericField | BooleanField):  # a flag is written 1 or 0
                numeric = ET.SubElement(column, "Numeric")
                if getattr(field, "places", 0):
                    _text(numeric, "Accuracy", str(field.places))
            else:  # texts, and times as ISO 8601 texts
                ET.SubElement(column, "AlphaNumeric")
                if getattr(field, "max_length", None):
                    _text(column, "MaxLength", str(field.max_length))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    # The one CR LF is the record delimiter's (every text is on one line): as character
    # references, since an XML parser reads a literal CR LF as LF.
    body = body.replace("\r\n", "&#13;&#10;")
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE DataSet SYSTEM "{DTD}">\n'
    return (head + body + "\n").encode()


def _text(parent: ET.Element, tag: str, text: str | None) -> None:
    ET.SubElement(parent, tag).text = _one_line(text or "")
