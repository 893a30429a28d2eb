"""Bodies that once made a 500: each is bad input, so each must be a 400 in the error format."""

import pytest

from tests.helpers import CREATE


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * 5000 + b"]" * 5000, "JSON nested too deeply"),
        (b'{"profileId": "a", "openningCash": 1e-99999999999999999999, "password": "x"}', "range"),
        (rb'{"profileId": "\ud800", "openningCash": 1, "password": "x"}', "surrogates"),
        (rb'{"profileId": "a", "openningCash": 1, "password": "\udfff\ud800"}', "surrogates"),
        (rb'{"\ud800": 1}', "surrogates"),
        (rb'{"a": [["\udc00"]]}', "surrogates"),
    ],
)
def test_unparseable_bodies_are_a_400(client, headers, raw, reason):
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)

    assert response.status_code == 400
    body = response.get_json()
    assert body["statusCode"] == 400
    assert reason in body["message"]


def test_a_surrogate_pair_is_ordinary_text(client, headers):
    raw = rb'{"profileId": "\ud83d\ude00", "openningCash": 1, "password": "x"}'
    response = client.post(CREATE, data=raw, content_type="application/json", headers=headers)

    assert response.get_json() == {"message": "Profile not found", "statusCode": 400}
