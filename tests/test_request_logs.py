"""One JSON line per request, with a request id that the caller may choose and always gets back."""

import json
import logging
import re
import sys

import pytest
import requests

from app.machinery.logs import JsonFormatter
from app.sessions import queries

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def request_records(caplog):
    return [r for r in caplog.records if r.name == "app.requests"]


def test_one_record_per_request_with_its_fields(client, headers, store, caplog):
    caplog.set_level(logging.INFO, logger="app.requests")

    response = client.get("/pos-session/profiles", headers={**headers, "X-Request-ID": "till-7.42"})

    [record] = request_records(caplog)
    assert (record.method, record.path, record.status) == ("GET", "/pos-session/profiles", 200)
    assert record.store_id == store
    assert record.request_id == "till-7.42"
    assert record.duration_ms >= 0
    assert response.headers["X-Request-ID"] == "till-7.42"


def test_a_request_id_is_generated_when_none_is_sent(client, caplog):
    caplog.set_level(logging.INFO, logger="app.requests")

    response = client.get("/healthz")

    assert HEX_ID.match(response.headers["X-Request-ID"])
    assert request_records(caplog)[0].request_id == response.headers["X-Request-ID"]


@pytest.mark.parametrize("sent", ["x" * 129, "has space", 'quote"d', "new\\nline", "é"])
def test_an_unusable_request_id_is_replaced(client, sent):
    response = client.get("/healthz", headers={"X-Request-ID": sent})

    assert HEX_ID.match(response.headers["X-Request-ID"])


def test_the_store_is_logged_only_once_granted(client, headers, caplog):
    caplog.set_level(logging.INFO, logger="app.requests")

    client.get("/pos-session/profiles", headers={**headers, "x-store-id": "not-mine"})

    [record] = request_records(caplog)
    assert (record.status, record.store_id) == (403, None)


def test_an_unhandled_error_is_logged_with_traceback_but_not_answered(
    client, headers, monkeypatch, caplog
):
    def broken(store_id):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(queries, "profiles_with_status", broken)
    caplog.set_level(logging.INFO)

    response = client.get("/pos-session/profiles", headers={**headers, "X-Request-ID": "req-500"})

    assert response.status_code == 500
    assert response.get_json() == {"message": "Internal server error", "statusCode": 500}
    assert "secret detail" not in response.get_data(as_text=True)
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    line = json.loads(JsonFormatter().format(error))
    assert "RuntimeError: secret detail" in line["traceback"]
    assert request_records(caplog)[0].status == 500


def test_only_the_request_log_skips_looking_up_its_caller(client, caplog):
    caplog.set_level(logging.INFO)

    client.get("/healthz")
    logging.getLogger("app.x").warning("elsewhere")

    [request_line] = request_records(caplog)
    assert (request_line.funcName, request_line.lineno) == ("(unknown function)", 0)
    [other] = [r for r in caplog.records if r.name == "app.x"]
    assert other.funcName == "test_only_the_request_log_skips_looking_up_its_caller"


def test_the_formatter_writes_one_json_line(app):
    formatter = JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("app.x").makeRecord(
            "app.x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info()
        )
    record.__dict__.update(status=500)
    with app.test_request_context():
        from flask import g

        g.request_id = "abc"
        text = formatter.format(record)

    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "failed here"
    assert (line["level"], line["logger"], line["status"]) == ("ERROR", "app.x", 500)
    assert line["request_id"] == "abc"
    assert line["time"].endswith("Z")
    assert "ValueError: boom" in line["traceback"]


def test_gunicorn_logs_each_request_once_as_json(live_server, headers):
    response = requests.get(
        live_server.url + "/pos-session/profiles",
        headers={**headers, "X-Request-ID": "live-1"},
        timeout=10,
    )
    assert response.headers["X-Request-ID"] == "live-1"
    live_server.stop()  # flushes and closes the log

    lines = [json.loads(line) for line in live_server.log().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "live-1"]
    assert len(mine) == 1
    assert mine[0]["logger"] == "app.requests"
    assert (mine[0]["method"], mine[0]["status"]) == ("GET", 200)
    assert mine[0]["store_id"] == headers["x-store-id"]
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]
