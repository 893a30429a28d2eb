"""The buffering front: nginx on POS_BIND in front of gunicorn's sync workers.

A sync worker is held by one connection from its first byte to its last, so a few clients that
trickle their headers or stall in their body would hold every worker. nginx reads requests
whole first, answers what it refuses in the app's error format, and keeps the terminals'
connections alive; gunicorn listens on a unix socket in the front's folder, which only this
user can reach. gunicorn.conf.py starts nginx once gunicorn listens, and stops it when gunicorn
exits: `make run` and the systemd unit run the same thing.

Whatever gunicorn still answers itself (a request it cannot parse, a worker killed by its
timeout; all of them when it runs without the front) is written in the app's error format too.
"""

import ctypes
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from gunicorn import util

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf.in"
_PR_SET_PDEATHSIG = 1


def nginx_path(choice: str) -> str | None:
    """The nginx to run for POS_FRONT: "nginx" requires it, "none" runs gunicorn alone, "auto"
    uses nginx when it is installed."""
    if choice not in ("auto", "nginx", "none"):
        raise RuntimeError(f"POS_FRONT must be auto, nginx or none, not {choice!r}")
    if choice == "none":
        return None
    # Debian installs it in /usr/sbin, which is not on every user's PATH.
    path = shutil.which("nginx", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")
    if path is None and choice == "nginx":
        raise RuntimeError(
            "POS_FRONT=nginx but nginx is not installed (Debian: apt-get install nginx)"
        )
    return path


def folder(bind: str) -> Path:
    """Config, pid, temp files and gunicorn's socket of the front listening on ``bind``: under
    systemd's RuntimeDirectory, else in instance/. One per address, so instances can coexist."""
    base = Path(os.environ.get("RUNTIME_DIRECTORY") or "instance")
    return base.resolve() / ("front-" + re.sub(r"[^A-Za-z0-9.]+", "-", bind).strip("-"))


def config(directory: Path, bind: str, client_timeout: int, keepalive: int, upstream_timeout: int):
    # Run as root (a container, a test), nginx would hand its workers to "nobody", who cannot
    # reach the socket: keep them as this user.
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.geteuid() == 0 else ""
    return TEMPLATE.read_text() % {
        "user": user,
        "dir": directory,
        "socket": directory / "gunicorn.sock",
        "bind": bind,
        "client_timeout": client_timeout,
        "keepalive": keepalive,
        "upstream_timeout": upstream_timeout,
    }


def die_with_parent():
    """In a child about to run: SIGTERM when its parent dies. Should gunicorn's master be
    killed outright, nginx must not keep holding the port."""
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(nginx: str, directory: Path, config_text: str, wait: float = 10) -> None:
    """Write the config and start nginx; return once it listens (it writes its pid file after
    binding), or raise if it exits first (its own message is on stderr)."""
    conf, pidfile = directory / "nginx.conf", directory / "nginx.pid"
    conf.write_text(config_text)
    pidfile.unlink(missing_ok=True)
    # In a process group of its own, which its workers join: stop() ends them through it even
    # once their master is gone.
    process = subprocess.Popen(
        [nginx, "-p", str(directory), "-c", str(conf), "-e", "stderr"],
        preexec_fn=die_with_parent,
        process_group=0,
    )
    deadline = time.monotonic() + wait
    while not pidfile.exists():
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with status {process.returncode}")
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError("nginx did not start listening in time")
        time.sleep(0.02)


def stop(directory: Path, wait: float = 5) -> None:
    """Stop the nginx started from ``directory`` (by its pid file: gunicorn rereads its config,
    and so this module's state, on every reload), and remove the folder. All of its process
    group is stopped: a worker whose master was killed outright keeps serving the port, and
    nothing else would stop it."""
    try:
        group = int((directory / "nginx.pid").read_text())
    except (FileNotFoundError, ValueError):
        group = None
    if group is not None and not signal_group(group, signal.SIGTERM, wait):
        signal_group(group, signal.SIGKILL, 1)
    shutil.rmtree(directory, ignore_errors=True)


def signal_group(group: int, sent: int, wait: float) -> bool:
    """Send ``sent`` to the process group; whether it is gone within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    try:
        os.killpg(group, sent)
        while time.monotonic() < deadline:
            try:
                os.waitpid(group, os.WNOHANG)  # the master, once it has stopped its workers
            except ChildProcessError:  # reaped by gunicorn's arbiter, or not our child
                pass
            os.killpg(group, 0)
            time.sleep(0.02)
    except ProcessLookupError:
        return True
    return False


def json_errors() -> None:
    """Have gunicorn write its own error answers as JSON: its one writer of them is
    ``gunicorn.util.write_error``, looked up on each call, which writes HTML."""
    util.write_error = _write_json_error


def _write_json_error(sock, status_int, reason, mesg):
    # ``mesg`` may echo the request; the reason alone is what the app would say.
    message = "Internal server error" if status_int == 500 else reason
    body = json.dumps({"message": message, "statusCode": status_int})
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        f"X-Request-ID: {uuid.uuid4().hex}\r\n\r\n"
    )
    util.write_nonblock(sock, (head + body).encode("latin1"))
