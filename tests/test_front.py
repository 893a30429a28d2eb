"""The front (nginx started by gunicorn.conf.py): slow clients starve no one, terminals keep their
connections alive, and every answer given before the app is in the JSON error format.

Each server here is the production gunicorn.conf.py on a free 127.0.0.1 port, with shorter
client and keep-alive timeouts so the tests stay short. Tests of nginx skip where it is not
installed and REQUIRE_NGINX is not set (.ci/run sets it); the error-path tests also run against
gunicorn alone (POS_FRONT=none), which answers them itself.
"""

import http.client
import json
import os
import selectors
import signal
import socket
import time

import pytest
import requests

from app.machinery import front
from tests.helpers import LiveServer

CLIENT_TIMEOUT = 2
KEEPALIVE_TIMEOUT = 2
IDLE_BOUND = 512  # worker_connections in deploy/nginx.conf.in


def require_nginx():
    if front.nginx_path("auto") is None:
        if os.environ.get("REQUIRE_NGINX"):
            pytest.fail("REQUIRE_NGINX is set but nginx is not installed")
        pytest.skip("nginx is not installed (Debian: apt-get install nginx)")


@pytest.fixture
def serve(app, tmp_path, monkeypatch):
    """Start gunicorn.conf.py with POS_FRONT=``mode`` and the test timeouts; stopped after."""
    servers = []

    def start(mode="nginx", workers=4, **env):
        if mode == "nginx":
            require_nginx()
        settings = {
            "POS_FRONT": mode,
            "POS_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT),
            "POS_KEEPALIVE_TIMEOUT": str(KEEPALIVE_TIMEOUT),
            **env,
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        server = LiveServer(app, tmp_path / f"gunicorn-{len(servers)}.log", workers)
        servers.append(server)
        server.port = int(server.url.rsplit(":", 1)[1])
        return server

    yield start
    for server in servers:
        server.stop()


def status_url(server, profile):
    return f"{server.url}/pos-session/session-status/{profile}"


# --- slow clients ----------------------------------------------------------------------------

HEADER_START = b"GET /pos-session/profiles HTTP/1.1\r\nHost: box\r\n"
BODY_START = (
    b"POST /pos-session/create-session HTTP/1.1\r\nHost: box\r\n"
    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
)
TRICKLE_EVERY = 0.25


class SlowClient:
    """One of three: trickles header lines without end, trickles a body for a second and then
    stalls, or connects and sends nothing."""

    def __init__(self, port: int, kind: str):
        self.kind = kind
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.started = self.last_sent = time.monotonic()
        self.received = b""
        self.closed_at = None
        self.sent = 0
        self.send({"header": HEADER_START, "body": BODY_START, "silent": b""}[kind])

    def send(self, data: bytes):
        if data:
            self.sock.send(data)
            self.last_sent = time.monotonic()
        self.sent += 1

    def trickle(self):
        if self.kind == "header":
            self.send(b"X-Slow-%d: 1\r\n" % self.sent)
        elif self.kind == "body" and time.monotonic() - self.started < 1:
            self.send(b" ")

    def read(self):
        try:
            data = self.sock.recv(4096)
        except ConnectionResetError:
            data = b""
        self.received += data
        if not data:
            self.closed_at = time.monotonic()


def test_slow_clients_starve_no_one(serve, headers, profile):
    server = serve()
    kinds = ["header", "body", "silent"]
    slow = [SlowClient(server.port, kinds[i % 3]) for i in range(64)]
    selector = selectors.DefaultSelector()
    for client in slow:
        selector.register(client.sock, selectors.EVENT_READ, client)
    latencies = []
    deadline = time.monotonic() + CLIENT_TIMEOUT + 5
    try:
        while any(c.closed_at is None for c in slow) and time.monotonic() < deadline:
            for client in slow:
                if client.closed_at is None:
                    client.trickle()
            # A terminal's poll, on a new connection each time, while they hang on.
            started = time.monotonic()
            response = requests.get(status_url(server, profile), headers=headers, timeout=1)
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            for key, _ in selector.select(timeout=TRICKLE_EVERY):
                key.data.read()
                if key.data.closed_at is not None:
                    selector.unregister(key.fileobj)
    finally:
        for client in slow:
            client.sock.close()

    # Several polls while they hung on (about 8 on an idle machine; fewer on a loaded one,
    # where 64 trickles take longer, so the floor is low and the latency bound is the test).
    assert len(latencies) >= 3
    assert max(latencies) < 1, latencies
    for client in slow:
        assert client.closed_at is not None, f"a {client.kind} client was never closed"
        # Cut off after the configured time: headers within it of connecting, however slowly
        # they come; a body at a pause that long. Nothing was answered to them.
        since = client.closed_at - (client.started if client.kind != "body" else client.last_sent)
        assert CLIENT_TIMEOUT - 0.3 < since < CLIENT_TIMEOUT + 1.5, (client.kind, since)
        assert client.received == b""
    log = server.log()
    assert "/pos-session/profiles" not in log and "create-session" not in log


# --- keep-alive ------------------------------------------------------------------------------


def test_a_polling_terminal_keeps_one_connection(serve, headers, profile):
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    ports = set()
    for _ in range(5):
        conn.request("GET", f"/pos-session/session-status/{profile}", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        response.read()
        ports.add(conn.sock.getsockname()[1])
    assert len(ports) == 1
    # Idle longer than the keep-alive timeout, the connection is closed by the box.
    conn.sock.settimeout(KEEPALIVE_TIMEOUT + 2)
    started = time.monotonic()
    assert conn.sock.recv(1) == b""
    assert KEEPALIVE_TIMEOUT - 0.3 < time.monotonic() - started < KEEPALIVE_TIMEOUT + 1.5
    conn.close()


def test_idle_connections_are_bounded(serve, headers, profile):
    server = serve(workers=2)
    idle = []
    try:
        for _ in range(IDLE_BOUND + 40):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: box\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            idle.append(sock)
        # Over the bound, nginx closes the oldest idle ones to take new connections.
        response = requests.get(status_url(server, profile), headers=headers, timeout=1)
        assert response.status_code == 200
        time.sleep(0.2)
        open_now = 0
        for sock in idle:
            sock.setblocking(False)
            try:
                open_now += sock.recv(1) != b""
            except BlockingIOError:
                open_now += 1
            except ConnectionResetError:
                pass
        assert open_now < IDLE_BOUND
    finally:
        for sock in idle:
            sock.close()


def test_the_front_stops_with_gunicorn(serve):
    server = serve()
    folder = front.folder(f"127.0.0.1:{server.port}")
    pid = int((folder / "nginx.pid").read_text())
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)
    assert not folder.exists()


def test_the_front_stops_with_gunicorn_after_its_master_was_killed(serve):
    # nginx's workers outlive a master killed outright, and keep the port.
    server = serve()
    folder = front.folder(f"127.0.0.1:{server.port}")
    os.kill(int((folder / "nginx.pid").read_text()), signal.SIGKILL)
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)
    assert not folder.exists()


# --- errors answered before the app ----------------------------------------------------------


def exchange(port: int, raw: bytes):
    """Send raw bytes; the answer's status, headers (lower-case names) and JSON body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = json.loads(response.read())
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def assert_json_error(status, headers, body, expected=None):
    assert 400 <= status < 500, (status, body)
    if expected:
        assert status == expected
    assert body == {"message": body["message"], "statusCode": status}
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert headers["x-request-id"]


GET = b"GET /pos-session/profiles HTTP/1.1\r\nHost: box\r\n"
# Finding 5 of issue 10: what gunicorn used to answer itself, in HTML.
BEFORE_THE_APP = {
    "header over 8 KiB": GET + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n",
    "101 headers": GET + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n",
    "headers over 32 KiB": GET + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 4000) for i in range(9)),
    "request line over 4 KiB": b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: box\r\n\r\n",
    "request line over 8 KiB": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: box\r\n\r\n",
    "Content-Length and chunked": b"POST /pos-session/create-session HTTP/1.1\r\nHost: box\r\n"
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two Content-Lengths": b"POST /pos-session/create-session HTTP/1.1\r\nHost: box\r\n"
    b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "NUL in a header": GET + b"X-A: a\x00b\r\n\r\n",
    "control character in a header": GET + b"X-A: a\x01b\r\n\r\n",
    "folded header": GET + b"X-A: a\r\n b\r\n\r\n",
    "bare LF": b"GET /pos-session/profiles HTTP/1.1\nHost: box\nX-A: b\n\n",
    "space before the colon": GET + b"X-A : b\r\n\r\n",
    "non-ASCII target": b"GET /pos-session/profiles/\xc3\xa9 HTTP/1.1\r\nHost: box\r\n\r\n",
    "bad method": b"G@T / HTTP/1.1\r\nHost: box\r\n\r\n",
    "unknown Expect": GET + b"Expect: tea\r\n\r\n",
}
for name, raw in BEFORE_THE_APP.items():
    if not raw.endswith(b"\n\n"):
        BEFORE_THE_APP[name] = raw + b"\r\n"

# Finding 4: malformed chunked bodies, sent with a valid token so the app reads them.
CHUNKED = {
    "bad hex size": b"zz\r\nab\r\n0\r\n\r\n",
    "negative size": b"-2\r\nab\r\n0\r\n\r\n",
    "missing CRLF": b"2\r\nabXY0\r\n\r\n",
    "size and a space": b"2 \r\nab\r\n0\r\n\r\n",
}

MODES = ["nginx", "none"]


@pytest.fixture(params=MODES)
def either(request, serve):
    return serve(request.param, workers=2)


def each_answer(port: int, cases: dict, expected=None) -> dict:
    """The cases whose answer is not a JSON error, with what was wrong."""
    wrong = {}
    for name, raw in cases.items():
        try:
            assert_json_error(*exchange(port, raw), expected)
        except (AssertionError, ValueError, KeyError, http.client.HTTPException) as err:
            wrong[name] = repr(err)
    return wrong


def test_errors_before_the_app_are_json(either):
    assert each_answer(either.port, BEFORE_THE_APP) == {}


def test_a_method_refused_before_the_app_says_what_is_allowed(either, headers):
    raw = b"TRACE /pos-session/profiles HTTP/1.1\r\nHost: box\r\n\r\n"
    status, answer_headers, body = exchange(either.port, raw)
    assert_json_error(status, answer_headers, body, 405)
    assert "GET" in answer_headers["allow"]


def test_http_09_gets_a_json_error(either):
    # An HTTP/0.9 answer has no status line nor headers (nginx), or is an HTTP/1.1 400 (gunicorn).
    with socket.create_connection(("127.0.0.1", either.port), timeout=10) as sock:
        sock.sendall(b"GET /pos-session/profiles\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    body = json.loads(reply.partition(b"\r\n\r\n")[2] if reply.startswith(b"HTTP/") else reply)
    assert body == {"message": "Bad Request", "statusCode": 400}


def test_malformed_chunked_bodies_are_400(either, headers):
    start = (
        b"POST /pos-session/create-session HTTP/1.1\r\nHost: box\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    cases = {name: start + chunks for name, chunks in CHUNKED.items()}
    assert each_answer(either.port, cases, 400) == {}
    assert "Traceback" not in either.log() and '"level": "ERROR"' not in either.log()


def test_a_worker_timeout_is_a_json_504(serve, headers, profile):
    # nginx gives up two seconds before gunicorn kills the worker (whose answer would be its own).
    server = serve(workers=1, GUNICORN_CMD_ARGS="--timeout 3")
    [worker] = server.workers()
    os.kill(worker, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = requests.get(
            status_url(server, profile), headers={**headers, "X-Request-ID": "till-7"}, timeout=5
        )
    finally:
        os.kill(worker, signal.SIGCONT)
    assert response.status_code == 504
    assert time.monotonic() - started < 2
    assert response.json() == {"message": "Gateway Timeout", "statusCode": 504}
    assert response.headers["X-Request-ID"] == "till-7"
    assert response.headers["Cache-Control"] == "no-store"


def test_gunicorn_writes_its_own_errors_as_json():
    # What gunicorn alone answers when its timeout kills a worker mid-request.
    ours, theirs = socket.socketpair()
    with ours, theirs:
        front._write_json_error(ours, 500, "Internal Server Error", "<traceback>")
        response = http.client.HTTPResponse(theirs)
        response.begin()
        status, body = response.status, json.loads(response.read())
        headers = {k.lower(): v for k, v in response.getheaders()}
    assert status == 500
    assert body == {"message": "Internal server error", "statusCode": 500}
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert headers["x-request-id"]
