"""JSON in and out through simplejson, so money stays exact both ways.

Numbers with a fraction are parsed as Decimal (0.1 stays 0.1) and Decimals are written as JSON
numbers, not strings. NaN and Infinity are refused, and so are duplicate keys, which would
otherwise let two values of one field pass with only the last one seen. Whatever else a parse
trips on is turned into the ValueError that makes a 400, never a 500.
"""

import simplejson
from flask import Request
from flask.json.provider import JSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request as WerkzeugRequest


class DuplicateKeyError(ValueError):
    pass


def reject_duplicate_keys(pairs):
    """An ``object_pairs_hook``: the object, unless a key comes twice."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKeyError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


class ExactJSONProvider(JSONProvider):
    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("separators", (",", ":"))
        return simplejson.dumps(obj, use_decimal=True, allow_nan=False, **kwargs)

    def loads(self, s, **kwargs):
        try:
            value = simplejson.loads(
                s,
                use_decimal=True,
                allow_nan=False,
                object_pairs_hook=reject_duplicate_keys,
                parse_int=_integer,
                **kwargs,
            )
            _reject_lone_surrogates(value)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        except ArithmeticError:  # decimal cannot hold an exponent like 1e-99999999999999999999
            raise ValueError("JSON number out of range") from None
        return value


# Far beyond any amount or count, far below Python's own limit (4300 digits), whose refusal
# names an interpreter setting rather than the number.
MAX_INTEGER_DIGITS = 100


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError("JSON number out of range")
    return int(text)


def _reject_lone_surrogates(value) -> None:
    """``"\\ud800"`` is valid JSON but not text: it cannot be encoded to be stored or hashed."""
    if isinstance(value, str):
        value.encode()  # UnicodeEncodeError is a ValueError
    elif isinstance(value, dict):
        for key, item in value.items():
            key.encode()
            _reject_lone_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            _reject_lone_surrogates(item)


class ApiRequest(Request):
    # Flask hides why a body failed to parse unless in debug mode; a terminal developer needs
    # to know, and the parser's message reveals nothing about the server.
    on_json_loading_failed = WerkzeugRequest.on_json_loading_failed

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        data = super().get_data(cache, False, parse_form_data)
        # A chunked body has no Content-Length to refuse up front, and Werkzeug silently
        # stops reading it at the limit; one more byte from the server says it was cut short.
        limit = self.max_content_length
        if self.content_length is None and limit is not None and len(data) >= limit:
            if self.environ["wsgi.input"].read(1):
                raise RequestEntityTooLarge()
        return data.decode(errors="replace") if as_text else data
