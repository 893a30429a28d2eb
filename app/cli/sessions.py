"""``session ...``: the cash sessions: list them, close a forgotten one, approve a closing."""

import click
from flask.cli import AppGroup

from .. import reports
from ..api.schemas import PAGE_MAX, ForceCloseSchema
from ..exceptions import SessionNotFound
from ..machinery.database import UnitOfWork
from ..machinery.extensions import db
from ..models import PosSession, Store
from ..owner_input import load
from ..people import managers
from ..people.cashiers import list_profiles
from ..sessions.queries import session_history
from ..sessions.service import approve_closing, force_close
from ..stores import get_store
from .answers import refusals
from .output import money, table, when
from .stores import all_stores
from .types import DAY, MONEY

cli = AppGroup("session", help="Cash sessions.")


@cli.command("list")
@click.option("--store", "store_id", help="Only this store (default: every store).")
@click.option("--open", "open_only", is_flag=True, help="Only the sessions still open.")
@click.option("--day", type=DAY, help="Only those opened on this business day of their store.")
def list_(store_id, open_only, day):
    """Sessions, newest first: id, store, cashier, opened and closed (UTC), opening cash,
    counted cash and difference ("-" while open)."""
    with refusals():
        stores = [get_store(store_id)] if store_id else all_stores()
    found = [row for store in stores for row in _sessions(store, open_only, day)]
    found.sort(key=lambda row: (row[0].created_at, row[0].id), reverse=True)
    rows = [("ID", "STORE", "CASHIER", "OPENED", "CLOSED", "OPENING", "COUNTED", "DIFFERENCE")]
    for pos_session, cashier in found:
        closing = pos_session.closing
        rows.append(
            (
                pos_session.id,
                pos_session.store_id,
                cashier,
                when(pos_session.created_at),
                when(closing.created_at if closing else None),
                money(pos_session.opening_cash),
                money(closing.closing_cash if closing else None),
                money(closing.difference if closing else None),
            )
        )
    table(rows)


def _sessions(store: Store, open_only: bool, day):
    """The store's sessions with their cashier's name, page by page through the history."""
    since, until = reports.day_bounds(store, day) if day else (None, None)
    names = {row.profile.id: row.profile.name for row in list_profiles(store.id)}
    cursor = None
    while True:
        page, cursor = session_history(
            store.id,
            limit=PAGE_MAX,
            status="open" if open_only else None,
            since=since,
            until=until,
            cursor=cursor,
        )
        yield from ((row, names[row.pos_profile_id]) for row in page)
        if cursor is None:
            return


@cli.command("approve")
@click.argument("closing_or_session_id")
@click.option("--manager", "manager_name", required=True, help="The manager approving it.")
@click.option("--note", help="Why the difference is accepted.")
def approve(closing_or_session_id, manager_name, note):
    """Approve a closing whose difference was over the store's limit (a journaled fact)."""
    with refusals():
        manager = managers.get(manager_name)
        approval = approve_closing(UnitOfWork(), closing_or_session_id, manager, note)
    click.echo(approval.closing_id)


@cli.command("force-close")
@click.argument("session_id")
@click.option(
    "--counted", type=MONEY, required=True, help="The cash counted in the drawer, e.g. 152.30."
)
@click.option("--reason", required=True, help="Why the session is closed by force.")
@click.option("--manager", "manager_name", required=True, help="The manager closing it.")
@click.option(
    "--float-left",
    type=MONEY,
    help="Of the cash counted, what stays in the drawer for the next opening (the rest goes "
    "to the safe).",
)
def force_close_(session_id, counted, reason, manager_name, float_left):
    """Close a session its cashier left open; prints the closing's id."""
    with refusals():
        typed = {"counted": counted, "reason": reason, "float_left": float_left}
        values = load(ForceCloseSchema(), typed)
        forgotten = db.session.get(PosSession, session_id)
        if forgotten is None:
            raise SessionNotFound()
        manager = managers.get(manager_name)
        closed = force_close(
            UnitOfWork(),
            forgotten.store_id,
            session_id,
            values["counted"],
            values["reason"],
            manager,
            values["float_left"],
        )
    closing = closed.closing
    click.echo(closing.id)
    left = ""
    if closing.float_left is not None:
        left = f", float left {closing.float_left:.2f}, to the safe {closing.to_safe:.2f}"
    click.echo(
        f"session {session_id} closed by force: expected {closing.expected_cash:.2f}, "
        f"counted {closing.closing_cash:.2f}, difference {closing.difference:.2f}{left}",
        err=True,
    )
