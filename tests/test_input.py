"""Strict input at the edge: size, JSON syntax, content type, headers, and the signing secret.

Field-level rules (NaN and Infinity, non-object bodies, lengths, bcrypt's 72 bytes, money) are
tested with create-session in test_create_session.py.
"""

import json
import os
import subprocess
import sys

import pytest
import requests

from app import create_app
from tests.helpers import CREATE, PASSWORD, ROOT

LIMIT = 16 * 1024


def post_raw(client, headers, data, content_type="application/json"):
    return client.post(CREATE, data=data, content_type=content_type, headers=headers)


def assert_error(response, status):
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert body["statusCode"] == status and body["message"]
    return body["message"]


class TestBodySize:
    def body_of(self, size, profile):
        head = f'{{"profileId": "{profile}", "openningCash": 1, "password": "{PASSWORD}", "x": "'
        return head + "x" * (size - len(head) - 2) + '"}'

    def test_just_under_the_limit_is_read(self, client, headers, profile):
        response = post_raw(client, headers, self.body_of(LIMIT, profile))
        # Parsed, then refused for the unknown field: the size itself was fine.
        assert assert_error(response, 400) == "Invalid value for x"

    def test_over_the_limit_is_413(self, client, headers, profile):
        response = post_raw(client, headers, self.body_of(LIMIT + 1, profile))
        assert assert_error(response, 413) == "Request Entity Too Large"

    def test_a_chunked_body_without_length_is_held_to_the_limit_too(
        self, live_server, headers, profile
    ):
        def post_chunked(size):
            body = self.body_of(size, profile).encode()
            return requests.post(
                live_server.url + CREATE,
                # A generator: requests sends it with Transfer-Encoding: chunked.
                data=(body[i : i + 1000] for i in range(0, len(body), 1000)),
                headers={**headers, "Content-Type": "application/json"},
                timeout=10,
            )

        assert post_chunked(LIMIT).json()["message"] == "Invalid value for x"
        for size in (LIMIT + 1, 4 * LIMIT):
            response = post_chunked(size)
            assert response.status_code == 413
            assert response.json() == {"message": "Request Entity Too Large", "statusCode": 413}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"profileId": "a", "profileId": "b", "openningCash": 1, "password": "p"}', "duplicate"),
        ('{"profileId": "a",}', "Failed to decode JSON"),
        ("", "Failed to decode JSON"),
        (b'{"profileId": "\xff"}', "utf-8"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"openningCash": ' + "9" * 5000 + "}", "digits"),
    ],
    ids=["duplicate-keys", "syntax", "empty", "bad-utf8", "deep-nesting", "huge-integer"],
)
def test_malformed_json_is_a_400_saying_why(client, headers, raw, reason):
    message = assert_error(post_raw(client, headers, raw), 400)
    assert reason in message


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_415(client, headers, open_body, content_type):
    response = post_raw(client, headers, json.dumps(open_body), content_type)
    assert "Content-Type" in assert_error(response, 415)


def test_json_with_a_charset_parameter_is_fine(client, headers, open_body):
    response = post_raw(client, headers, json.dumps(open_body), "application/json; charset=utf-8")
    assert response.status_code == 200


class TestHeaders:
    @pytest.mark.parametrize("field", ["x-store-id", "Authorization"])
    def test_huge_header_values_are_plain_4xx(self, client, headers, field):
        response = client.get("/pos-session/profiles", headers={**headers, field: "A" * 8000})
        assert_error(response, 403 if field == "x-store-id" else 401)

    def test_every_kind_of_response_says_no_store_and_nosniff(self, app, client, headers, profile):
        def boom():
            raise RuntimeError("a bug")

        app.add_url_rule("/boom", view_func=boom)
        responses = {
            200: client.get("/pos-session/profiles", headers=headers),
            400: post_raw(client, headers, "{"),
            401: client.get("/pos-session/profiles"),
            403: client.get("/pos-session/profiles", headers={**headers, "x-store-id": "other"}),
            404: client.get("/nowhere"),
            405: client.delete("/pos-session/profiles", headers=headers),
            413: post_raw(client, headers, "x" * (LIMIT + 1)),
            415: post_raw(client, headers, "{}", "text/plain"),
            500: client.get("/boom"),
        }
        for status, response in responses.items():
            assert response.status_code == status
            assert response.headers["Cache-Control"] == "no-store", status
            assert response.headers["X-Content-Type-Options"] == "nosniff", status
            assert response.is_json, status
        assert "a bug" not in responses[500].get_data(as_text=True)


class TestSecret:
    def config(self, tmp_path, secret):
        return {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": secret}

    @pytest.mark.parametrize("secret", ["s" * 31, "é" * 15 + "s"])  # 31 bytes, by bytes not chars
    def test_a_short_secret_is_refused(self, tmp_path, secret):
        with pytest.raises(RuntimeError, match="at least 32 bytes"):
            create_app(self.config(tmp_path, secret))

    @pytest.mark.parametrize("secret", ["s" * 32, "é" * 16])
    def test_32_bytes_is_enough(self, tmp_path, secret):
        assert create_app(self.config(tmp_path, secret)).config["SECRET_KEY"] == secret

    def test_gunicorn_will_not_start_with_a_short_secret(self, tmp_path):
        env = {
            **os.environ,
            "POS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "POS_SECRET_KEY": "too-short",
            "POS_BIND": "127.0.0.1:0",
            "POS_WORKERS": "1",
        }
        result = subprocess.run(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert "POS_SECRET_KEY must be at least 32 bytes" in result.stdout + result.stderr
