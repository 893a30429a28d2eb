"""``accounting ...``: a store's accounting settings, and its Z closings as FEC, DATEV or
DSFinV-K files for the accountant (docs/accounting.md)."""

import os
import tempfile
from pathlib import Path

import click
from flask.cli import AppGroup

from ..accounting.exports import FORMATS, prepare, record_export
from ..accounting.settings import (
    CHARTS,
    COUNTRIES,
    FIGURES,
    NUMBERS,
    confirm_settings,
    save_settings,
    shown_settings,
    tender_accounts,
)
from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..owner_input import AccountingSettingsSchema, load
from ..stores import find_store
from .answers import refusals
from .output import command_line, table, when
from .types import DAY

cli = AppGroup("accounting", help="Accounting settings and exports (docs/accounting.md).")
TEXTS = ("journal_code", "siren", "company_name", "street", "postcode", "city", "tax_number")


def _pairs(option: str, values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, number = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r} is not NAME=NUMBER", param_hint=option)
        pairs[key] = number
    return pairs


@cli.command("settings")
@click.option("--store", "store_id", required=True, help="The store.")
@click.option("--country", type=click.Choice(list(COUNTRIES)), help="FR or DE.")
@click.option("--chart", type=click.Choice(list(CHARTS)), help="Chart of accounts (its defaults).")
@click.option(
    "--account", multiple=True, help=f"FIGURE=NUMBER, FIGURE one of {', '.join(FIGURES)}."
)
@click.option("--tender-account", multiple=True, help="CODE=NUMBER: a tender's own account.")
@click.option("--journal-code", help="The journal's code (FEC), as in CA.")
@click.option("--siren", help="The company's SIREN, 9 digits (France).")
@click.option("--company-name", help="The company's name.")
@click.option("--street", help="Street and number.")
@click.option("--postcode", help="Postcode.")
@click.option("--city", help="City.")
@click.option("--tax-number", help="Tax number (Steuernummer).")
@click.option("--vat-id", help="VAT id.")
@click.option("--datev-consultant", help="DATEV's consultant number (Beraternummer).")
@click.option("--datev-client", help="DATEV's client number (Mandantennummer).")
@click.option(
    "--fiscal-year-start", help="The month the fiscal year starts in, 1 to 12 (1: January)."
)
@click.option("--confirm", is_flag=True, help="Confirm the settings, as shown, for export.")
def settings(store_id, account, tender_account, confirm, **given):
    """Change the store's accounting settings (any change asks for a new --confirm), then
    print those in effect, each tender's account with them."""
    values = {key: value for key, value in given.items() if value is not None}
    if account:
        values["accounts"] = _pairs("--account", account)
    if tender_account:
        values["tender_accounts"] = _pairs("--tender-account", tender_account)
    with refusals():
        row = None
        if values:
            row = save_settings(UnitOfWork(), store_id, load(AccountingSettingsSchema(), values))
        if confirm:
            row = confirm_settings(UnitOfWork(), store_id, command_line())
        if row is None:
            find_store(db.session, store_id)
            row = shown_settings(db.session, store_id)
    rows = [("setting", "value"), ("country", row.country), ("chart", row.chart)]
    rows += [(f"account {figure}", row.accounts[figure]) for figure in FIGURES]
    rows += [
        (f"tender {code}", account)
        for code, (_name, account) in tender_accounts(db.session, row).items()
    ]
    rows += [(key, str(getattr(row, key) or "-")) for key in (*TEXTS, "vat_id")]
    rows += [(key, str(getattr(row, key) or "-")) for key in NUMBERS]
    confirmed = f"{when(row.confirmed_at)} by {row.confirmed_by}" if row.confirmed_at else "no"
    rows.append(("confirmed", confirmed))
    table(rows)


@cli.command("export")
@click.option("--store", "store_id", required=True, help="The store.")
@click.option(
    "--format", "fmt", required=True, type=click.Choice(FORMATS), help="The file's format."
)
@click.option("--from", "first", required=True, type=DAY, help="First business day, YYYY-MM-DD.")
@click.option("--to", "last", required=True, type=DAY, help="Last business day, YYYY-MM-DD.")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export(store_id, fmt, first, last, out):
    """Write the Z closings of the business days --from to --to (both included) to OUT, and
    journal the export; prints its id. Nothing is written if any check fails, and OUT appears
    whole or not at all."""
    with refusals():
        prepared = prepare(db.session, store_id, fmt, first, last)
    try:
        handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    except OSError as err:
        raise click.ClickException(f"{out}: {err.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(prepared.data)
            file.flush()
            os.fsync(file.fileno())
        with refusals():
            row = record_export(UnitOfWork(), store_id, prepared, command_line())
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(row.id)
    click.echo(
        f"{out}: {prepared.file_name}, Z {prepared.first_z} to {prepared.last_z}, "
        f"sha256 {prepared.sha256}",
        err=True,
    )
