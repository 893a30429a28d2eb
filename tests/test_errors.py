"""Every failure, from every layer, answers in the one JSON error format."""

import pytest

from tests.helpers import CREATE


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
    from app.pos_session import queries

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
