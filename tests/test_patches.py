"""Each patch of a library's internals (app.patches) is in place and does what it claims, and
the app refuses to start on a version of the library the patches were not written for."""

import pytest
from flask_jwt_extended import view_decorators

from app import create_app
from app.api.auth import jwt
from app.machinery import patches
from tests.helpers import SECRET

PROFILES = "/pos-session/profiles"


def test_a_token_is_verified_once_then_its_claims_are_kept(client, headers, monkeypatch):
    verified = jwt._decode_jwt_from_config
    assert isinstance(verified, patches.VerifiedTokens)
    assert not isinstance(verified.decode, patches.VerifiedTokens)  # applied once, not per app
    decoded = []

    def decode(*args):
        decoded.append(args[0])
        return original(*args)

    original = verified.decode
    monkeypatch.setattr(verified, "decode", decode)
    monkeypatch.setattr(verified, "claims", {})

    assert client.get(PROFILES, headers=headers).status_code == 200
    assert client.get(PROFILES, headers=headers).status_code == 200

    assert len(decoded) == 1


def test_a_token_header_is_read_once(client, headers):
    read_header = view_decorators.get_unverified_jwt_headers
    read_header.cache_clear()

    assert client.get(PROFILES, headers=headers).status_code == 200
    assert client.get(PROFILES, headers=headers).status_code == 200

    assert (read_header.cache_info().misses, read_header.cache_info().hits) == (1, 1)


@pytest.mark.parametrize("found", ["4.6.3", "4.8.0", "5.0.0", "4.8.0rc1"])
def test_another_flask_jwt_extended_version_refuses_to_start(monkeypatch, tmp_path, found):
    monkeypatch.setattr(patches, "installed_version", lambda distribution: found)
    expected = (
        f"flask-jwt-extended {found} is installed; app/machinery/patches.py was written for "
        ">=4.7,<4.8"
    )
    with pytest.raises(RuntimeError, match=expected.replace(".", r"\.")):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'pos.sqlite3'}", "SECRET_KEY": SECRET})


@pytest.mark.parametrize("found", ["4.7.0", "4.7.10", "4.7.4.post1"])
def test_a_supported_version_starts(monkeypatch, found):
    monkeypatch.setattr(patches, "installed_version", lambda distribution: found)
    patches.check_versions()
