"""DATEV's booking batch (EXTF Buchungsstapel, format version 700, category 21, version 13):
a header record, a row of column names, then one booking per posting, debit account (Konto)
against credit account (Gegenkonto), always "S". Semicolons, decimal commas, texts in double
quotes, Windows-1252 with CRLF, as DATEV reads it. Belegfeld 1 is the Z's number; the Z's
journal hash is in Beleginfo 1."""

from datetime import date

from ..models import utcnow
from ..reports import text_cell
from .postings import Z, label, plain
from .settings import fiscal_year

COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
    "Postensperre",
    "Diverse Adressnummer",
    "Geschäftspartnerbank",
    "Sachverhalt",
    "Zinssperre",
    "Beleglink",
    "Beleginfo - Art 1",
    "Beleginfo - Inhalt 1",
)
WORDS = {
    "sales": "Erlöse",
    "refunds": "Erstattungen",
    "pay_ins": "Einlage",
    "pay_outs": "Entnahme",
    "drops": "Abschöpfung Tresor",
    "to_safe": "Tresor bei Abschluss",
    "at_start": "bei Eröffnung",
    "over": "Kassenüberschuss",
    "short": "Kassenfehlbetrag",
    "forced": "Zwangsabschluss durch",
    "approved": "genehmigt von",
    "reason": "Grund",
    "cash": "Bar",
}
CHARTS = {"SKR03": "03", "SKR04": "04"}
TEXT_MAX = 60  # Buchungstext
TITLE_MAX = 30  # the header's Bezeichnung


def file_name(first: date, last: date) -> str:
    return f"EXTF_Buchungsstapel_{first:%Y%m%d}_{last:%Y%m%d}.csv"


def write(store, settings, zs: list[Z], tenders, first: date, last: date) -> bytes:
    """The batch of the Zs (each posted), ``tenders``: {code: (name, account)}. The header
    names the fiscal year ``first`` is in (the caller keeps a batch in one)."""
    names = {code: WORDS["cash"] if code == "cash" else name for code, (name, _) in tenders.items()}
    length = len(settings.accounts["sales"])
    now = utcnow()
    header = (
        _text("EXTF"),
        "700",
        "21",
        _text("Buchungsstapel"),
        "13",
        f"{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}",
        "",
        _text("RE"),
        _text(""),
        _text(""),
        str(settings.datev_consultant),
        str(settings.datev_client),
        f"{fiscal_year(settings, first)[0]:%Y%m%d}",
        str(length),
        f"{first:%Y%m%d}",
        f"{last:%Y%m%d}",
        _text(plain(f"Kasse {store.name}")[:TITLE_MAX]),
        _text(""),
        "1",
        "0",
        "0",
        _text(store.currency),
        "",
        _text(""),
        "",
        "",
        _text(CHARTS[settings.chart]),
        "",
        "",
        _text(""),
        _text(""),
    )
    rows = [header, tuple(_text(name) for name in COLUMNS)]
    for z in zs:
        for posting in z.postings:
            text = label(z, posting, WORDS, names.get(posting.tender, posting.tender))
            rows.append(
                (
                    f"{posting.amount:.2f}".replace(".", ","),
                    _text("S"),
                    _text(store.currency),
                    "",
                    "",
                    _text(""),
                    posting.debit,
                    posting.credit,
                    _text(""),
                    f"{z.day:%d%m}",
                    _text(f"Z{z.number}"),
                    _text(""),
                    "",
                    _text(text[:TEXT_MAX]),
                    "",
                    "",
                    "",
                    "",
                    "",
                    _text(""),
                    _text("Journal-Hash"),
                    _text(z.hash),
                )
            )
    return "".join(";".join(row) + "\r\n" for row in rows).encode("cp1252", errors="replace")


def _text(value: str) -> str:
    """A text field: on one line, not read as a formula by a spreadsheet, quoted, its quotes
    doubled."""
    return '"' + text_cell(plain(value)).replace('"', '""') + '"'
