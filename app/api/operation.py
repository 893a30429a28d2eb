"""One declaration per API view: what it reads, what it answers, and what the document says.

``@operation`` loads the JSON body and the query string with their schemas (the view gets them
as ``body`` and ``query``), dumps the view's value with the answer's schema, and keeps the
declaration on the view as ``view.operation``, where app/api/openapi.py reads it: the schema that
shapes an answer is the one the document names, declared once.

flask-smorest does this too, but through webargs, which would change the wire: it parses JSON
with the standard library (floats, where MoneyField takes only the exact Decimal of
app/machinery/jsonio.py), reads a body of another content type as no body ("Missing data" where
the API answers 415), drops unknown query parameters (StrictSchema refuses them) and answers a
validation error with 422 and its own envelope; its ``Api`` also installs its own handler for
every HTTPException. Each of its decorators adds a wrapper too, about 10 us a request for
``@response`` and 40 us for ``@arguments`` on a query string, measured beside a bare
``schema.load``/``dump``.
"""

from dataclasses import dataclass, field
from functools import wraps

from flask import Response, request
from marshmallow import Schema


@dataclass(frozen=True)
class Operation:
    summary: str
    # A schema dumps the view's value; a JSON Schema (a dict) only documents it.
    answer: Schema | dict
    answered: str  # the success response's description
    status: int = 200
    description: str | None = None
    body: Schema | None = None
    example: dict | None = None
    query: Schema | None = None
    tag: str | None = None
    # Other responses only this view can describe: status -> description.
    also: dict[int, str] = field(default_factory=dict)


def operation(summary: str, **declared):
    """Declare a view's operation (the fields of ``Operation``); see the module's docstring."""
    declaration = Operation(summary, **declared)
    body, query, status = declaration.body, declaration.query, declaration.status
    answer = declaration.answer if isinstance(declaration.answer, Schema) else None

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if body is not None:
                kwargs["body"] = body.load(request.get_json())
            if query is not None:
                kwargs["query"] = query.load(request.args.to_dict())
            value = view(*args, **kwargs)
            # A Response is shaped already, by the declared schema (RowsShapedOnce).
            if answer is None or isinstance(value, Response):
                return value
            shaped = answer.dump(value)
            return shaped if status == 200 else (shaped, status)

        wrapper.operation = declaration
        return wrapper

    return decorate
