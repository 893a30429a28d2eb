"""JSON in and out through simplejson, so money stays exact both ways.

Numbers with a fraction are parsed as Decimal (0.1 stays 0.1) and Decimals are written as JSON
numbers, not strings. NaN and Infinity are refused, and so are duplicate keys, which would
otherwise let two values of one field pass with only the last one seen.
"""

import simplejson
from flask import Request
from flask.json.provider import JSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request as WerkzeugRequest


def _reject_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


class ExactJSONProvider(JSONProvider):
    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("separators", (",", ":"))
        return simplejson.dumps(obj, use_decimal=True, allow_nan=False, **kwargs)

    def loads(self, s, **kwargs):
        try:
            return simplejson.loads(
                s,
                use_decimal=True,
                allow_nan=False,
                object_pairs_hook=_reject_duplicate_keys,
                **kwargs,
            )
        except RecursionError:
            # "[[[[...": a few KiB of brackets exhaust the parser's stack; a bad body, not a 500.
            raise ValueError("nested too deeply") from None


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
