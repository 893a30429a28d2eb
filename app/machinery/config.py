"""Defaults, overridden by ``POS_*`` environment variables (see the table in docs/operations.md)."""

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

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
    # bcrypt work per profile (or manager), in checks at cost 12 (a cheaper hash's check counts
    # for less): a bucket of this many checks begun or running at once, refilled at this many
    # per second; more is 429 with Retry-After.
    PASSWORD_CHECK_BURST = 4
    PASSWORD_CHECKS_PER_SECOND = 1
    # /healthz runs its write probe and PRAGMA quick_check at most this often per worker.
    HEALTH_CHECK_INTERVAL_SECONDS = 5
    # The journal's Ed25519 key and signed head (docs/journal.md); empty: the instance folder.
    JOURNAL_DIR = ""
    # A worker signs its journal heads at most this often, and at every closing.
    JOURNAL_SIGN_INTERVAL_SECONDS = 5.0
    # Where Litestream replicates the SQLite database (app/machinery/replica.py): an absolute
    # folder (a NAS mount) or a URL such as s3://bucket/path; empty: no replica.
    REPLICA = ""
    # `make bench` only: adds GET /pos-session/ping, a no-op route to compare the API with.
    BENCH_BASELINE = False


def load_secret(instance_path: str, database_url: str) -> str:
    """Read the signing secret from the instance folder, creating it on a fresh box only.

    Every gunicorn worker calls this at start; the file is linked into place atomically so
    all of them end up with the same secret, whoever wins the race. Once a database exists,
    its tokens were signed with the old secret: a new one would silently refuse them all.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite" and Path(url.database or ":memory:").is_file():
            raise RuntimeError(
                f"{path} is missing but the database {url.database} exists, and its tokens "
                "were signed with that secret: put the file back or set POS_SECRET_KEY (to "
                "restore a backup, which carries its secret, move the database away first)"
            )
        _write_private(path, secrets.token_urlsafe(48), replace=False)
    return path.read_text().strip()


def install_secret(instance_path: str, secret: str) -> None:
    """Replace the secret file (``restore`` puts back the one the backup was made with)."""
    _write_private(Path(instance_path) / "secret_key", secret, replace=True)


def create_once(path: Path, content) -> None:
    """Write ``content()`` (bytes) to ``path``, mode 0600, unless it exists; of workers racing
    to create it, the first one's wins and all read the same."""
    if not path.exists():
        _write_private(path, content(), replace=False)


def _write_private(path: Path, data: str | bytes, replace: bool) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    try:
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # the first worker's wins; the others read it
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
