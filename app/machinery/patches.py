"""The one module that patches a library's private internals: only for speed no public hook
gives (measured with bench/cpu.py), and only on the versions each patch was written for.

What is touched, all of it flask-jwt-extended's:

- ``JWTManager._decode_jwt_from_config``, on our manager: replaced by ``VerifiedTokens``;
- ``view_decorators.get_unverified_jwt_headers``: wrapped in an ``lru_cache``.

``apply``, called by the app factory, first checks the installed version of every patched
library and refuses to start on one outside the range in ``SUPPORTED``: a minor upgrade may rework
what a patch relies on and break sign-in or the hot path silently. setup.cfg pins the same ranges.
"""

import re
import time
from functools import lru_cache
from importlib.metadata import version

from flask import current_app
from flask_jwt_extended import JWTManager, view_decorators

# The versions the patches were written for, by distribution: at least the first, below the second.
SUPPORTED = {"flask-jwt-extended": ((4, 7), (4, 8))}


def installed_version(distribution: str) -> str:
    return version(distribution)


def _dotted(release: tuple[int, ...]) -> str:
    return ".".join(map(str, release))


def check_versions() -> None:
    for distribution, (lowest, below) in SUPPORTED.items():
        found = installed_version(distribution)
        release = tuple(int(n) for n in re.findall(r"\d+", found))
        if not lowest <= release < below:
            raise RuntimeError(
                f"{distribution} {found} is installed; app/machinery/patches.py was written for "
                f">={_dotted(lowest)},<{_dotted(below)}: install that, or check the patches"
            )


class VerifiedTokens:
    """``JWTManager._decode_jwt_from_config``, the one method behind every decode, keeping the
    claims of each token it verified, by its exact text and the secret, until it expires.

    A terminal sends the same token on every request, and PyJWT's decoding is the costliest part
    of a read (flask-jwt-extended parses the token three times, and PyJWT checks every character
    of each segment in Python). Whether given bytes carry a valid signature cannot change while
    the secret does not; what can change (revocation, the token's row) is read on every request
    (app.auth).
    """

    SIZE = 1024  # tokens; the cache starts afresh when full

    def __init__(self, decode):
        self.decode = decode
        self.claims: dict[tuple[str, str], dict] = {}

    def __call__(self, encoded_token, csrf_value=None, allow_expired=False):
        key = (encoded_token, current_app.config["JWT_SECRET_KEY"])
        claims = self.claims.get(key)
        if claims is not None and not allow_expired and claims.get("exp", 0) > time.time():
            return claims
        claims = self.decode(encoded_token, csrf_value, allow_expired)
        if not allow_expired and "exp" in claims:
            if len(self.claims) >= self.SIZE:
                self.claims.clear()
            self.claims[key] = claims
        return claims


def apply(jwt: JWTManager) -> None:
    """Check the versions, then patch; once per process, however many apps it makes."""
    check_versions()
    if not isinstance(jwt._decode_jwt_from_config, VerifiedTokens):
        jwt._decode_jwt_from_config = VerifiedTokens(jwt._decode_jwt_from_config)
    # The one parse outside the manager: each request reads the token's header again, a third of
    # a cached token's decoding. A header is a function of the token's text alone, so it is read
    # once per distinct token; this only runs after the token was verified.
    headers = view_decorators.get_unverified_jwt_headers
    if not hasattr(headers, "cache_info"):
        view_decorators.get_unverified_jwt_headers = lru_cache(VerifiedTokens.SIZE)(headers)
