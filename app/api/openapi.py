"""The OpenAPI document, built from the views' ``@operation`` declarations
(app/api/operation.py).

Every view of the store-scoped blueprints is documented, found by walking the URL map, so a new
route appears here by itself; what all of them share (bearer auth, the ``x-store-id`` header,
the error responses) is added here rather than repeated in each declaration.
"""

from collections import defaultdict
from importlib.metadata import version

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, current_app, jsonify, render_template, send_from_directory
from marshmallow import Schema, fields
from swagger_ui_bundle import swagger_ui_path

from ..errors import answer_for
from ..machinery.logs import REQUEST_ID_HEADER
from .idempotency import HEADER as IDEMPOTENCY_KEY
from .idempotency import MAX_KEY_LENGTH
from .operation import Operation
from .operation import operation as declared_as
from .schemas import MAX_MONEY, MoneyField

bp = Blueprint("docs", __name__)

STORE_SCOPED_BLUEPRINTS = {"pos_session", "journal"}
# An operation's tag, unless its declaration names its own: one per blueprint.
TAGS = {"pos_session": "pos-session"}
DEFAULT_TAG = "operations"
IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_KEY,
    "description": "Send the same key again (same body) to get the first answer back, once.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}
HEADER_DOCS = {
    "Retry-After": {
        "description": "Seconds to wait before the next attempt.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
ERROR_RESPONSES = {
    400: "The x-store-id header is missing, or the request is invalid (see the message).",
    401: "Missing, malformed, invalid, expired, revoked or unknown bearer token.",
    403: "The token does not grant this store, or the store does not exist, or the token is "
    "a follower's, which reads the journal only.",
    404: "No such resource.",
    405: "The route exists but not with this method.",
    413: "The request body is too large.",
    415: "The request body is not application/json.",
    500: "Unexpected server error; the details are in the server's log under the request id.",
}
ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
REQUEST_ID = {"$ref": "#/components/headers/RequestId"}


class ErrorSchema(Schema):
    """The one envelope of every error, whatever its layer."""

    message = fields.String(required=True)
    statusCode = fields.Integer(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "Per-field details of a validation error"},
    )


MONEY = "An exact amount in the store's currency units, at most 2 decimal places."


def _money_properties(self, field, **kwargs) -> dict:
    if not isinstance(field, MoneyField):
        return {}
    own = field.metadata.get("description")  # what the figure is, then what money is
    properties = {
        "description": f"{own.rstrip('.')}. {MONEY}" if own else MONEY,
        "example": 15000,
    }
    if not field.signed:
        properties.update(minimum=0, maximum=MAX_MONEY)
    return properties


def _null_is_only_null(self, field, ret, **kwargs) -> dict:
    # For OpenAPI 3.0 apispec writes "null or a Session" as anyOf [any nullable object, Session],
    # which any object matches; pinning the first branch to null keeps the Session checked.
    for branch in ret.get("anyOf", []):
        if branch == {"type": "object", "nullable": True}:
            branch["enum"] = [None]
    return {}


def build_spec(app: Flask) -> dict:
    marshmallow = MarshmallowPlugin()
    spec = APISpec(
        title="POS Session API",
        version=version("pos-session"),
        openapi_version="3.0.3",
        plugins=[marshmallow],
        info={
            "description": "Cash sessions of POS profiles, per store. Every response carries "
            "an `X-Request-ID` header, the one the request sent if it is 1 to 128 characters "
            "of `A-Za-z0-9._:@+=/-`, else a new one; the server's log lines carry it too."
        },
    )
    # MoneyField is a custom field, which apispec would otherwise document as "any type".
    marshmallow.map_to_openapi_type(MoneyField, "number", None)
    marshmallow.converter.add_attribute_function(_money_properties)
    marshmallow.converter.add_attribute_function(_null_is_only_null)
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.parameter(
        "StoreId",
        "header",
        {
            "name": "x-store-id",
            "required": True,
            "description": "The store this request acts on; the token must grant it.",
            "schema": {"type": "string", "minLength": 1},
        },
    )
    spec.components.header(
        "RequestId",
        {
            "description": "The caller's X-Request-ID if it was usable, else a new one.",
            "schema": {"type": "string"},
        },
    )
    for status, description in ERROR_RESPONSES.items():
        spec.components.response(
            str(status),
            {
                "description": description,
                "headers": {REQUEST_ID_HEADER: REQUEST_ID},
                "content": ERROR_BODY,
            },
        )

    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions[rule.endpoint]
        blueprint = rule.endpoint.partition(".")[0]
        scoped = blueprint in STORE_SCOPED_BLUEPRINTS
        declared = getattr(view, "operation", None)
        if not scoped and declared is None:
            continue
        path = FlaskPlugin.flaskpath2openapi(rule.rule)
        # Declared once, for the whole path: its arguments and the store header.
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in sorted(rule.arguments)
        ]
        if scoped:
            parameters.append("StoreId")
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = operations[method.lower()] = _declared(declared)
            operation.setdefault("tags", [TAGS.get(blueprint, DEFAULT_TAG)])
            if getattr(view, "idempotent", False):
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
            _add_refusals(operation, getattr(view, "raises", ()))
            if getattr(view, "conditional", False):
                _add_conditional(operation)
            _add_shared_parts(operation, path, scoped)
        spec.path(path=path, operations=operations, parameters=parameters)

    document = spec.to_dict()
    _require_every_response_field(document)
    return document


def _declared(declared: Operation | None) -> dict:
    """The operation as a view's ``@operation`` declares it; the schemas become references."""
    if declared is None:
        return {}
    content = {"schema": declared.answer}
    operation = {
        "summary": declared.summary,
        "responses": {
            str(declared.status): {
                "description": declared.answered,
                "content": {"application/json": content},
            }
        },
    }
    if declared.description:
        operation["description"] = declared.description
    if declared.tag:
        operation["tags"] = [declared.tag]
    if declared.query is not None:
        operation["parameters"] = [{"in": "query", "schema": declared.query}]
    if declared.body is not None:
        body = {"schema": declared.body}
        if declared.example:
            body["example"] = declared.example
        operation["requestBody"] = {"required": True, "content": {"application/json": body}}
    for status, description in declared.also.items():
        operation["responses"][str(status)] = {"description": description}
    return operation


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, operation


def _schema_refs(node, schemas: dict, found: set) -> set:
    """The names of the component schemas ``node`` uses, directly or through other schemas."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        name = ref.removeprefix("#/components/schemas/")
        if ref.startswith("#/components/schemas/") and name not in found:
            found.add(name)
            _schema_refs(schemas[name], schemas, found)
        for value in node.values():
            _schema_refs(value, schemas, found)
    elif isinstance(node, list):
        for value in node:
            _schema_refs(value, schemas, found)
    return found


def _require_every_response_field(document: dict) -> None:
    # A dump writes every field of its schema (None as null), so a schema used only to answer
    # has all its fields required, unless it says otherwise; a missing field is then a bug the
    # document catches.
    schemas = document["components"]["schemas"]
    operations = [operation for _path, operation in _operations(document)]
    in_requests = _schema_refs([op.get("requestBody") for op in operations], schemas, set())
    in_responses = _schema_refs([op.get("responses") for op in operations], schemas, set())
    for name in in_responses - in_requests:
        schemas[name].setdefault("required", sorted(schemas[name].get("properties", {})))


def _add_refusals(operation: dict, errors) -> None:
    """The responses of the domain errors a view declares, read from the error table, after
    what its declaration says of the same status (``also``: its body's own refusals)."""
    by_status = defaultdict(list)
    for answer in map(answer_for, errors):
        by_status[answer.status].append(answer)
    responses = operation.setdefault("responses", {})
    for status, answers in sorted(by_status.items()):
        declared = responses.get(str(status), {}).get("description")
        listed = [f"`{answer.message}`" for answer in answers]
        messages = ", ".join([declared, *listed] if declared else listed)
        shared = ERROR_RESPONSES.get(status)
        response = {
            "description": f"{messages}; or: {shared}" if shared else messages,
            "content": ERROR_BODY,
        }
        headers = {name: HEADER_DOCS[name] for answer in answers for name in answer.headers}
        if headers:
            response["headers"] = headers
        responses[str(status)] = response


def _add_conditional(operation: dict) -> None:
    """If-None-Match and its 304, for a view marked ``@conditional``."""
    operation.setdefault("parameters", []).append(
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "The ETag of an earlier answer: 304 with no body while it is unchanged.",
        }
    )
    responses = operation["responses"]
    etag = {"description": "A hash of the body", "schema": {"type": "string"}}
    responses["200"].setdefault("headers", {})["ETag"] = etag
    responses["304"] = {"description": "Unchanged since the ETag sent; no body."}


def _add_shared_parts(operation: dict, path: str, scoped: bool) -> None:
    """Auth, the error responses that apply to this operation unless it names its own, and the
    request id every response carries."""
    statuses = {500}
    if scoped:
        operation["security"] = [{"bearerAuth": []}]
        statuses |= {400, 401, 403}
    if "{" in path:
        statuses.add(404)  # a path segment that routing cannot match, e.g. one with a slash
    if "requestBody" in operation:
        statuses |= {400, 413, 415}
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses):
        responses.setdefault(str(status), {"$ref": f"#/components/responses/{status}"})
    for status, response in responses.items():
        if "$ref" in response:
            continue
        if status.startswith(("4", "5")):
            response.setdefault("content", ERROR_BODY)
        response.setdefault("headers", {})[REQUEST_ID_HEADER] = REQUEST_ID


@bp.get("/openapi.json")
@declared_as(
    "The OpenAPI document",
    answer={"type": "object"},
    answered="The OpenAPI 3 document of this API.",
)
def openapi():
    """This document."""
    # Built on each call: it is fetched once per page of docs, and it always matches the code.
    return jsonify(build_spec(current_app))


@bp.get("/docs")
def docs():
    response = current_app.make_response(render_template("docs.html"))
    # The page may load nothing from outside this box: shops are often offline.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
    )
    return response


@bp.get("/docs/assets/<path:filename>")
def docs_asset(filename):
    return send_from_directory(swagger_ui_path, filename)
