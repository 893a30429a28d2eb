"""The FEC (fichier des écritures comptables, article A47 A-1 of the Livre des procédures
fiscales): a header, then one line per debit or credit, 18 tab-separated columns, dates
YYYYMMDD, amounts with a decimal comma, ISO 8859-15 (the article's: ASCII, ISO 8859-15 or
EBCDIC), CRLF. One entry (EcritureNum) per Z that moved money, numbered 1, 2, 3... in the file,
a continuous sequence as the format asks (a Z of no-sales only has no line); its piece
reference is the Z's number and journal hash."""

from datetime import date

from ..reports import text_cell
from .postings import Z, label, lines, plain
from .settings import FIGURES, fiscal_year

COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
WORDS = {
    "sales": "Ventes",
    "refunds": "Remboursements",
    "pay_ins": "Apports en caisse",
    "pay_outs": "Sorties de caisse",
    "drops": "Remise au coffre",
    "to_safe": "Remise au coffre à la clôture",
    "at_start": "à l'ouverture",
    "over": "Excédent de caisse",
    "short": "Manquant de caisse",
    "forced": "clôture forcée par",
    "approved": "approuvé par",
    "reason": "motif",
    "cash": "Espèces",
}


# What ISO 8859-15 lacks (Cyrillic, an emoji) is written "?", as OCA's l10n_fr_fec does.
ENCODING = "iso8859_15"


def file_name(settings, last: date) -> str:
    """SIREN, FEC, the closing date of the fiscal year (the range stays within one)."""
    return f"{settings.siren}FEC{fiscal_year(settings, last)[1]:%Y%m%d}.txt"


def write(store, settings, zs: list[Z], tenders: dict[str, tuple[str, str]]) -> bytes:
    """The file of the Zs (each posted), ``tenders``: {code: (name, account)}."""
    names = {
        code: WORDS["cash"] if code == "cash" else plain(name)
        for code, (name, _) in tenders.items()
    }
    titles = _account_titles(settings, tenders, names)
    journal = plain(f"Caisse {store.name}")
    rows = [COLUMNS]
    for number, z in enumerate((z for z in zs if z.postings), start=1):
        day = f"{z.day:%Y%m%d}"
        for line in lines(z.postings):
            text = label(
                z, line.posting, WORDS, names.get(line.posting.tender, line.posting.tender)
            )
            rows.append(
                (
                    settings.journal_code,
                    journal,
                    str(number),
                    day,
                    line.account,
                    titles[line.account],
                    "",
                    "",
                    f"Z{z.number}-{z.hash}",
                    day,
                    text,
                    _amount(line.debit),
                    _amount(line.credit),
                    "",
                    "",
                    day,
                    "",
                    "",
                )
            )
    text = "".join("\t".join(row) + "\r\n" for row in rows)
    return text.encode(ENCODING, errors="replace")


def _amount(value) -> str:
    return f"{value:.2f}".replace(".", ",")


def _account_titles(settings, tenders, names) -> dict[str, str]:
    """Each account's title: what is posted to it, its figures' and tenders' names."""
    titles: dict[str, list[str]] = {}
    for figure in FIGURES:
        titles.setdefault(settings.accounts[figure], []).append(WORDS[figure])
    for code, (_name, account) in tenders.items():
        titles.setdefault(account, []).append(names[code])
    # A tender's name starts some: no spreadsheet opening the file may run it as a formula.
    return {
        account: text_cell(" / ".join(dict.fromkeys(words))) for account, words in titles.items()
    }
