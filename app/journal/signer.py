"""The signed head kept up to date: each worker signs its committed heads into the head file,
from session listeners that ``init_app`` registers."""

import atexit
import threading
import time
from functools import partial

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..machinery.extensions import db
from .appending import PENDING_HEADS, SIGN_NOW
from .head import entry_hash, folder, sign_heads, signing_key


class HeadSigner:
    """A worker's committed heads, signed into the head file at most once per ``interval``
    seconds (a timer signs the last ones if no commit follows), and at once on a closing or
    an approval. Signing costs a few ms (read, verify, sign, rename): on every commit it would
    cost each cash movement more than the whole journal is allowed (docs/journal.md)."""

    def __init__(self, folder: str, key: Ed25519PrivateKey, interval: float, engine: Engine):
        self.folder, self.key, self.interval, self.engine = folder, key, interval, engine
        self.pending: dict = {}
        self.signed_at = 0.0
        self.timer: threading.Timer | None = None
        self.lock = threading.Lock()
        atexit.register(self.sign)  # a worker that stops signs what it has

    def committed(self, heads: dict, now: bool) -> None:
        with self.lock:
            for store, head in heads.items():
                if head[0] > self.pending.get(store, (0, ""))[0]:
                    self.pending[store] = head
            wait = self.signed_at + self.interval - time.monotonic()
            if not now and wait > 0:
                if self.timer is None:
                    self.timer = threading.Timer(wait, self.sign)
                    self.timer.daemon = True
                    self.timer.start()
                return
        self.sign()

    def sign(self) -> None:
        with self.lock:
            heads, self.pending = self.pending, {}
            self.signed_at = time.monotonic()
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
        if heads:
            with self.engine.connect() as connection:
                hash_at = partial(entry_hash, connection)
                sign_heads(self.folder, self.key, heads, hash_at=hash_at)


def signer() -> HeadSigner:
    """The app's signer, made at its first journaled commit (with the interval configured then)."""
    extensions = current_app.extensions
    if "pos_journal_signer" not in extensions:
        interval = current_app.config["JOURNAL_SIGN_INTERVAL_SECONDS"]
        key = signing_key(folder())  # loaded once per worker: it signs every head
        extensions["pos_journal_signer"] = HeadSigner(folder(), key, interval, db.engine)
    return extensions["pos_journal_signer"]


def _sign_committed_heads(tx: Session) -> None:
    heads = tx.info.pop(PENDING_HEADS, None)
    now = tx.info.pop(SIGN_NOW, False)
    if heads and has_app_context():
        signer().committed(heads, now)


def _forget_heads(tx: Session) -> None:
    tx.info.pop(PENDING_HEADS, None)
    tx.info.pop(SIGN_NOW, None)


LISTENERS = {"after_commit": _sign_committed_heads, "after_rollback": _forget_heads}


def init_app(app: Flask) -> None:
    """Sign the heads each session commits (listeners on every Session, registered once)."""
    for name, listener in LISTENERS.items():
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
