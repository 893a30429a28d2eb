"""Defaults, overridden by ``POS_*`` environment variables (see the README table)."""

import os
import secrets
from pathlib import Path

MIN_SECRET_BYTES = 32


class Config:
    # Set from POS_DATABASE_URL; empty means the SQLite file in the instance folder.
    DATABASE_URL = ""
    SECRET_KEY = ""
    BCRYPT_ROUNDS = 12
    SQLITE_BUSY_TIMEOUT_MS = 5000
    MAX_CONTENT_LENGTH = 16 * 1024

    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ACCESS_TOKEN_EXPIRES = False  # each token gets its own lifetime when issued
    # Password guessing: this many wrong passwords for one profile within the window lock it
    # until the window (counted from the first of them) has passed.
    LOCKOUT_ATTEMPTS = 5
    LOCKOUT_WINDOW_SECONDS = 900
    # The journal's Ed25519 key and signed head (docs/journal.md); empty: the instance folder.
    JOURNAL_DIR = ""
    # A worker signs its journal heads at most this often, and at every closing.
    JOURNAL_SIGN_INTERVAL_SECONDS = 5.0
    # `make bench` only: adds GET /pos-session/ping, a no-op route to compare the API with.
    BENCH_BASELINE = False


def load_secret(instance_path: str) -> str:
    """Read the signing secret from the instance folder, creating it once."""
    path = Path(instance_path) / "secret_key"
    create_once(path, lambda: secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def create_once(path: Path, content) -> None:
    """Write ``content()`` to ``path`` (mode 0600) unless it exists.

    Every gunicorn worker calls this at start; the file is linked into place atomically so
    all of them end up with the same content, whoever wins the race.
    """
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
