"""``flask journal ...``: verify the chains, sign the head, export and check exports offline."""

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask.cli import AppGroup

from .. import journal
from ..machinery.extensions import db
from ..models import Store
from .output import command_line, progress

cli = AppGroup("journal", help="The hash-chained journal of cash facts (docs/journal.md).")


def _require_store(store_id: str, signed_heads: dict | None = None) -> None:
    """A store of the database, or one the signed head knows (verify then says it is gone)."""
    if db.session.get(Store, store_id) is None and store_id not in (signed_heads or {}):
        raise click.BadParameter(f"no store {store_id}", param_hint="--store")


@cli.command("verify")
@click.option("--store", "store_id", help="Only this store (default: every store).")
def verify(store_id):
    """Recompute every chain and cross-check it with the tables both ways.

    Exit 0 with a one-line summary, else exit 1 with, per bad store, its first bad seq and
    what is wrong. Each store's result is kept for the back office's journal page.
    """
    folder = journal.folder()
    key = journal.signing_key(folder)
    connection = db.session.connection()
    try:
        heads = journal.read_signed_heads(folder, key.public_key())
    except journal.JournalError as err:
        raise click.ClickException(str(err)) from None
    if store_id is not None:
        _require_store(store_id, heads)
    total = journal.count_entries(connection, store_id)
    by = command_line()

    def keep(store, result):
        journal.record_verification(folder, store, by, result)

    with progress(total, "verifying") as step:
        stores = None if store_id is None else [store_id]  # None: every store, the head's too
        result = journal.verify(connection, stores, heads, step, keep)
    click.echo(result.summary())
    if result.problems:
        sys.exit(1)


@cli.command("sign-head")
def sign_head():
    """Sign the database's current heads as the ones to hold it to.

    Only after a verified restore of an older backup: the signed head would otherwise (rightly)
    report the entries the backup lacks as removed. The old head is kept beside it, dated.
    """
    folder = journal.folder()
    heads = journal.database_heads(db.session.connection())
    started = journal.start_new_head(
        folder, journal.signing_key(folder), heads, command_line(), "journal sign-head"
    )
    click.echo(f"signed the heads of {len(heads)} store(s)", err=True)
    if started["archived"]:
        click.echo(f"the old signed head is kept as {Path(folder) / started['archived']}", err=True)


@cli.command("public-key")
def public_key():
    """Print the box's Ed25519 public key (hex), which checks its exports."""
    click.echo(journal.public_key_hex(journal.signing_key(journal.folder())))


@cli.command("export")
@click.option("--store", "store_id", required=True, help="Store id.")
@click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC).")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export(store_id, since, until, out):
    """Write the store's entries (whole days, inclusive) and a signed manifest to OUT."""
    _require_store(store_id)
    key = journal.signing_key(journal.folder())
    connection = db.session.connection()
    with progress(journal.count_entries(connection, store_id), "exporting") as step:
        try:
            manifest = journal.export(
                connection,
                store_id,
                out,
                key,
                since=since and journal.timestamp(since),
                until=until and journal.timestamp(until + timedelta(days=1)),
                progress=step,
            )
        except journal.JournalError as err:
            raise click.ClickException(str(err)) from None
    click.echo(f"{out}: seqs {manifest['firstSeq']} to {manifest['lastSeq']}", err=True)


@cli.command("verify-export", with_appcontext=False)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", "key", required=True, help="The box's public key, in hex.")
def verify_export(file, key):
    """Check an export with the public key alone: signature, chain, seqs, manifest."""
    try:
        manifest = journal.verify_export(file, key.strip())
    except (journal.JournalError, OSError, UnicodeDecodeError) as err:
        click.echo(f"{file}: {err}", err=True)
        sys.exit(1)
    click.echo(
        f"{file}: valid: store {manifest['storeId']}, seqs {manifest['firstSeq']} to "
        f"{manifest['lastSeq']} ({manifest['count']} entries), last hash {manifest['lastHash']}"
    )
