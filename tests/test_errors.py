"""Every failure, from every layer, answers in the one JSON error format."""

import inspect

import click
import pytest

from app.backoffice.views import NOT_FOUND
from app.cli.answers import refusals
from app.errors import ANSWERS, answer_for
from app.exceptions import DomainError, StoreNotFound
from tests.helpers import CREATE, text


def assert_error(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["statusCode"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"message", "statusCode", "errors"}
    text = response.get_data(as_text=True)
    assert "<html" not in text.lower() and "Traceback" not in text
    return body


@pytest.mark.parametrize(
    "path", ["/", "/pos-session", "/pos-session/nope", "/pos-session/profiles/x"]
)
def test_unknown_route_is_404(client, headers, path):
    assert assert_error(client.get(path, headers=headers), 404)["message"] == "Not Found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", CREATE),
        ("delete", "/pos-session/profiles"),
        ("put", "/pos-session/session-status/x"),
    ],
)
def test_wrong_method_is_405_with_allow_header(client, headers, method, path):
    response = getattr(client, method)(path, headers=headers)
    assert assert_error(response, 405)["message"] == "Method Not Allowed"
    assert "Allow" in response.headers


@pytest.mark.parametrize("raw", ["{", '{"profileId": }', "{'a': 1}", '{"a": 1} x', '{"a": NaN}'])
def test_malformed_json_is_400_saying_so(client, headers, raw):
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)
    assert assert_error(response, 400)["message"].startswith("Failed to decode JSON object")


def test_duplicate_keys_are_refused(client, headers, profile):
    raw = f'{{"profileId": "{profile}", "openningCash": 1, "openningCash": 2, "password": "x"}}'
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)
    assert "duplicate key" in assert_error(response, 400)["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(client, headers, content_type):
    response = client.post(CREATE, data='{"a": 1}', content_type=content_type, headers=headers)
    assert_error(response, 415)


def test_body_too_large_is_413(client, headers):
    raw = '{"profileId": "' + "x" * 20_000 + '"}'
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)
    assert assert_error(response, 413)["message"] == "Request Entity Too Large"


def test_unexpected_error_is_500_without_details(app, headers, monkeypatch):
    from app.sessions import queries

    def explode(*args):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "profiles_with_status", explode)
    response = app.test_client().get("/pos-session/profiles", headers=headers)

    body = assert_error(response, 500)
    assert body == {"message": "Internal server error", "statusCode": 500}
    assert "secret internals" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/pos-session/profiles", "/nope"])
def test_responses_are_not_cached_or_sniffed(client, headers, path):
    response = client.get(path, headers=headers)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


class StoreClosedForGood(StoreNotFound):
    """A new error, defined here, that says nothing of its own answer: it has its parent's."""


def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


# Every refusal of the rules, and one defined by the test.
REFUSALS = sorted(
    {cls for cls in subclasses(DomainError) if cls.__module__.startswith("app.")},
    key=lambda cls: cls.__name__,
) + [StoreClosedForGood]
# A value for each parameter an error's constructor takes.
SAMPLES = {
    "retry_after_seconds": 90,
    "errors": {"name": ["Required."]},
    "field": "code",
    "at": "0008",
    "expected": "0009",
    "missing": ["siren"],
    "format": "fec",
    "country": "FR",
    "reason": "Z 1: debit 1.00, credit 2.00",
}


def build(cls) -> DomainError:
    named = [
        p.name
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]  # after self
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert set(named) <= set(SAMPLES), f"{cls.__name__}: add its parameters to SAMPLES"
    return cls(**{name: SAMPLES[name] for name in named})


@pytest.fixture
def raising(app):
    """The app, with a route on the API and one on the page that raise the error named."""
    errors = {cls.__name__: build(cls) for cls in REFUSALS}

    def refuse(name):
        raise errors[name]

    app.add_url_rule("/test-refusal/<name>", "test_refusal", refuse)
    app.add_url_rule("/backoffice/test-refusal/<name>", "backoffice.test_refusal", refuse)
    return errors


def test_a_new_error_has_its_parents_answer():
    assert (
        answer_for(StoreClosedForGood()) is answer_for(StoreClosedForGood) is ANSWERS[StoreNotFound]
    )


@pytest.mark.parametrize("cls", REFUSALS, ids=lambda cls: cls.__name__)
def test_every_refusal_has_an_answer_on_the_api_the_page_and_the_cli(app, raising, cls):
    err = raising[cls.__name__]
    answer = answer_for(err)
    message = answer.message.format(err=err)
    assert 400 <= answer.status < 600 and message and "{" not in message
    client = app.test_client()

    response = client.get(f"/test-refusal/{cls.__name__}")
    assert assert_error(response, answer.status) == {
        "message": message,
        "statusCode": answer.status,
    }
    assert set(answer.headers) <= set(response.headers.keys())

    page = client.get(f"/backoffice/test-refusal/{cls.__name__}")
    assert page.status_code == (404 if isinstance(err, NOT_FOUND) else answer.status)
    assert page.mimetype == "text/html" and message in text(page)

    @click.command()
    def refused():
        with refusals():
            raise err

    result = app.test_cli_runner().invoke(refused)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"Error: {message}.")
