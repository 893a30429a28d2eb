"""Strict input at the edge: size, JSON syntax, content type, headers, and the signing secret.

Field-level rules (NaN and Infinity, non-object bodies, lengths, bcrypt's 72 bytes) are tested
with create-session in test_create_session.py; here, the one rule for how a money amount may be
written (docs/api.md), in the API, the CLI and the page.
"""

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
import requests
from marshmallow import ValidationError

from app import create_app
from app.api.schemas import TypedMoney
from tests.helpers import CLOSE, CREATE, PASSWORD, ROOT, close_body, move, open_shift
from tests.journaling import instance  # noqa: F401 (a fixture)

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
        # Python would refuse it too, but naming an interpreter setting (sys.set_int_max...).
        ('{"openningCash": ' + "9" * 5000 + "}", "JSON number out of range"),
        ('{"openningCash": -' + "9" * 101 + "}", "JSON number out of range"),
    ],
    ids=[
        "duplicate-keys",
        "syntax",
        "empty",
        "bad-utf8",
        "deep-nesting",
        "huge-integer",
        "long-integer",
    ],
)
def test_malformed_json_is_a_400_saying_why(client, headers, raw, reason):
    message = assert_error(post_raw(client, headers, raw), 400)
    assert reason in message and "sys." not in message


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_415(client, headers, open_body, content_type):
    response = post_raw(client, headers, json.dumps(open_body), content_type)
    assert "Content-Type" in assert_error(response, 415)


def test_json_with_a_charset_parameter_is_fine(client, headers, open_body):
    response = post_raw(client, headers, json.dumps(open_body), "application/json; charset=utf-8")
    assert response.status_code == 200


PLACES = "Must have at most 2 decimal places."
RANGE = "Must be between 0 and 1000000000000."
NUMBER = "Must be a number."

# A JSON amount is judged by the number it is, whatever JSON notation wrote it; negative zero
# is zero. (raw JSON, the number answered back or the refusal)
JSON_AMOUNTS = [
    ("0", "0"),
    ("-0", "0"),
    ("-0.0", "0"),
    ("-0.00", "0"),
    ("-0e3", "0"),
    ("1e-2", "0.01"),
    ("0.1e1", "1"),
    ("1E2", "100"),
    ("1.5E+4", "15000"),
    ("1e12", "1000000000000"),
    ("1.0", "1"),
    ("1.500", "1.5"),
    ("1.005", PLACES),
    ("1e-3", PLACES),
    ("0.001e1", "0.01"),
    ("1.1e12", RANGE),
    ("-0.01", RANGE),
    ("-1e-2", RANGE),
    ('"1.0"', NUMBER),
    ('"-0"', NUMBER),
    ('"1e2"', NUMBER),
]


@pytest.mark.usefixtures("instance")
@pytest.mark.parametrize(("raw", "answer"), JSON_AMOUNTS)
def test_a_json_amount_is_judged_by_its_number(client, headers, profile, raw, answer):
    body = f'{{"profileId": "{profile}", "openningCash": {raw}, "password": "{PASSWORD}"}}'
    response = post_raw(client, headers, body)

    if answer in (PLACES, RANGE, NUMBER):
        assert assert_error(response, 400) == "Invalid value for openningCash"
        assert response.get_json()["errors"] == {"openningCash": [answer]}
        return
    assert response.status_code == 200
    assert f'"openingCash":{answer},' in response.get_data(as_text=True)
    # The journal writes the same amount as the row keeps: never "-0.00".
    [entry] = client.get("/pos-session/journal", headers=headers).get_json()["data"]
    assert entry["data"]["openingCash"] == f"{Decimal(answer):.2f}"


@pytest.mark.usefixtures("instance")
def test_negative_zero_is_journaled_as_the_zero_verify_finds(client, headers, profile, runner):
    body = f'{{"profileId": "{profile}", "openningCash": -0.00, "password": "{PASSWORD}"}}'
    assert post_raw(client, headers, body).status_code == 200
    session = client.get(f"/pos-session/current-session/{profile}", headers=headers).get_json()
    assert move(client, headers, session["data"]["id"], "sale", 5).status_code == 201
    closed = client.post(CLOSE, json=close_body(profile, 5), headers=headers)
    assert closed.status_code == 200

    result = runner.invoke(args=["journal", "verify"])

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("raw", "answer"),
    [("-0.00", "0"), ("1e-2", "0.01"), ("0.1e1", "1"), ("1.005", PLACES), ('"1"', NUMBER)],
)
def test_closing_cash_follows_the_same_rule(client, headers, profile, raw, answer):
    open_shift(client, headers, profile, cash=0)
    body = f'{{"profileId": "{profile}", "closingCash": {raw}, "password": "{PASSWORD}"}}'
    response = client.post(CLOSE, data=body, content_type="application/json", headers=headers)

    if answer in (PLACES, NUMBER):
        assert response.get_json()["errors"] == {"closingCash": [answer]}
    else:
        assert f'"closingCash":{answer},' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("raw", "answer"),
    [("-0.00", "Must be greater than 0."), ("1e-2", "0.01"), ("0.1e1", "1"), ("1.005", PLACES)],
)
def test_a_movements_amount_follows_the_same_rule(client, headers, profile, raw, answer):
    session_id = open_shift(client, headers, profile)["id"]
    response = client.post(
        f"/pos-session/sessions/{session_id}/cash-movements",
        data=f'{{"type": "sale", "amount": {raw}}}',
        content_type="application/json",
        headers=headers,
    )

    if answer.startswith("M"):
        assert response.get_json()["errors"] == {"amount": [answer]}
    else:
        assert f'"amount":{answer},' in response.get_data(as_text=True)


TYPED = "Enter an amount such as 152.30."


# Typed on the page or the command line: the same notation as JSON's, with commas allowed
# between thousands only. (typed, the amount or the refusal)
@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("152.30", "152.30"),
        (" 152.3 ", "152.3"),
        ("1,234.50", "1234.50"),
        ("1,234,567", "1234567"),
        ("-0", "0"),
        ("-0.00", "0.00"),
        ("1e-2", "0.01"),
        ("0.1e1", "1"),
        ("1E2", "100"),
        ("1.0", "1.0"),
        ("1.005", PLACES),
        ("-1", RANGE),
        ("1,50", TYPED),
        ("12,34.5", TYPED),
        ("1,234,56", TYPED),
        (",5", TYPED),
        (".5", TYPED),
        ("5.", TYPED),
        ("+5", TYPED),
        ("05", TYPED),
        ("1_000", TYPED),
        ("1 000", TYPED),
        ("\u0661\u0662", TYPED),  # Arabic-Indic digits
        ("1e-99999999999999999999", TYPED),
        ("1e99999", RANGE),
        ("Infinity", TYPED),
        ("NaN", TYPED),
        ("", TYPED),
    ],
)
def test_a_typed_amount_follows_the_same_rule(typed, answer):
    try:
        amount = TypedMoney().deserialize(typed)
    except ValidationError as err:
        assert err.messages == [answer]
    else:
        assert answer not in (PLACES, RANGE, TYPED), amount
        assert (amount, amount.is_signed()) == (Decimal(answer), False)


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
            "POS_FRONT": "none",  # nginx cannot listen on port 0
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
