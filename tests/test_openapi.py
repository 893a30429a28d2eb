"""The OpenAPI document: complete, and what the service really answers conforms to it."""

import pytest
import schemathesis
from apispec.ext.marshmallow import resolver
from marshmallow import Schema

from app.api import sessions as routes
from app.api.openapi import ERROR_RESPONSES, _schema_refs
from app.api.schemas import RowsShapedOnce
from tests.helpers import (
    CLOSE,
    CREATE,
    HISTORY,
    PASSWORD,
    PROFILES,
    movements_url,
    open_shift,
    report_url,
)

STATUS = "/pos-session/session-status/{profile_id}"
CURRENT = "/pos-session/current-session/{profile_id}"


@pytest.fixture
def document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def conforms(document):
    """Check one real response against the document's operation for it."""
    schema = schemathesis.openapi.from_dict(document)

    def check(path: str, method: str, response):
        assert str(response.status_code) in document["paths"][path][method.lower()]["responses"]
        schema[path][method].validate_response(response)  # raises on any violation

    return check


def store_scoped_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("pos_session.")]


def test_every_pos_session_route_is_documented_with_a_success_response(app, document):
    rules = store_scoped_rules(app)
    assert len(rules) >= 4
    for rule in rules:
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
            assert operation["summary"]


def test_auth_store_header_and_errors_on_every_pos_session_operation(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    store_header = document["components"]["parameters"]["StoreId"]
    assert (store_header["name"], store_header["in"], store_header["required"]) == (
        "x-store-id",
        "header",
        True,
    )
    for path, item in document["paths"].items():
        if not path.startswith("/pos-session/"):
            continue
        assert {"$ref": "#/components/parameters/StoreId"} in item["parameters"]
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["security"] == [{"bearerAuth": []}]
            assert {"400", "401", "403", "500"} <= set(operation["responses"]), path
            if "requestBody" in operation:
                assert {"413", "415"} <= set(operation["responses"]), path


def test_error_responses_share_the_envelope(document):
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"message", "statusCode", "errors"}
    assert error["required"] == ["message", "statusCode"]
    assert set(document["components"]["responses"]) == {str(s) for s in ERROR_RESPONSES}
    for response in document["components"]["responses"].values():
        assert response["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }


def test_money_is_a_number_and_timestamps_are_date_times(document):
    schemas = document["components"]["schemas"]
    for field in ("openningCash", "openingCash"):
        assert schemas["CreateSession"]["properties"][field]["type"] == "number"
        assert schemas["CreateSession"]["properties"][field]["minimum"] == 0
    session = schemas["Session"]["properties"]
    assert session["openingCash"]["type"] == "number"
    assert session["createdAt"] == {"type": "string", "format": "date-time"}
    assert "password" not in str(schemas["Session"]) + str(schemas["Profile"])


def test_no_auth_needed_for_the_document_and_health(document):
    assert "security" not in document["paths"]["/openapi.json"]["get"]
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_real_success_responses_conform(client, headers, profile, conforms):
    body = {"profileId": profile, "openningCash": 12.5, "password": PASSWORD}
    status_path = STATUS.replace("{profile_id}", profile)
    current_path = CURRENT.replace("{profile_id}", profile)
    # Before opening: the null answers.
    conforms(STATUS, "GET", client.get(status_path, headers=headers))
    conforms(CURRENT, "GET", client.get(current_path, headers=headers))

    conforms(CREATE, "POST", client.post(CREATE, json=body, headers=headers))

    conforms(STATUS, "GET", client.get(status_path, headers=headers))
    conforms(CURRENT, "GET", client.get(current_path, headers=headers))
    conforms(PROFILES, "GET", client.get(PROFILES, headers=headers))
    conforms("/healthz", "GET", client.get("/healthz"))


def test_a_short_drawer_conforms(client, headers, profile, conforms):
    """Computed figures may be negative: a close 5 cents short, and its Z-report."""
    opened = {"profileId": profile, "openningCash": 10, "password": PASSWORD}
    session_id = client.post(CREATE, json=opened, headers=headers).get_json()["data"][0]["id"]
    closed = {"profileId": profile, "closingCash": 9.95, "password": PASSWORD}
    close = client.post("/pos-session/close-session", json=closed, headers=headers)
    assert close.get_json()["data"]["closing"]["difference"] < 0

    conforms("/pos-session/close-session", "POST", close)
    report = client.get(f"/pos-session/sessions/{session_id}", headers=headers)
    conforms("/pos-session/sessions/{session_id}", "GET", report)


def test_real_error_responses_conform(app, client, headers, open_body, conforms):
    bad_token = {**headers, "Authorization": "Bearer nope"}
    other_store = {**headers, "x-store-id": "nosuchstore"}
    cases = [
        (CREATE, client.post(CREATE, json={}, headers=headers)),  # 400 with field errors
        (CREATE, client.post(CREATE, json=open_body, headers=bad_token)),  # 401
        (CREATE, client.post(CREATE, json=open_body, headers=other_store)),  # 403
        (CREATE, client.post(CREATE, json="x" * 20000, headers=headers)),  # 413
        (CREATE, client.post(CREATE, data="{}", headers=headers)),  # 415
        (STATUS, client.get("/pos-session/session-status/a%2Fb", headers=headers)),  # 404
    ]
    for path, response in cases:
        conforms(path, "POST" if path == CREATE else "GET", response)
    assert [r.status_code for _, r in cases] == [400, 401, 403, 413, 415, 404]


def test_a_document_that_lies_is_caught(client, document, headers):
    # The check above can fail: a Session without its id does not conform.
    schema = schemathesis.openapi.from_dict(document)
    response = client.get(PROFILES, headers=headers)
    response.set_data(b'[{"name": "x"}]')
    with pytest.raises(Exception, match="required"):
        schema[PROFILES]["GET"].validate_response(response)


JOIN = "/pos-session/sessions/{session_id}/attendants"
LEAVE = "/pos-session/sessions/{session_id}/attendants/{profile_id}/leave"
HANDOVER = "/pos-session/sessions/{session_id}/handover"
IDEMPOTENT = {
    ("post", CREATE),
    ("post", "/pos-session/close-session"),
    ("post", "/pos-session/sessions/{session_id}/cash-movements"),
    ("post", JOIN),
    ("post", LEAVE),
    ("post", HANDOVER),
}
PASSWORD_CHECKED = {
    ("post", CREATE),
    ("post", "/pos-session/close-session"),
    ("post", JOIN),
    ("post", HANDOVER),
}


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path, item, operation


def test_the_document_follows_the_code(document):
    """Idempotent views declare the key and the 422, password routes the 429 with Retry-After,
    every operation has a tag, and no operation lists a parameter twice."""
    seen = set()
    for method, path, item, operation in operations(document):
        seen.add((method, path))
        assert operation.get("tags"), (method, path)
        parameters = [
            document["components"]["parameters"][p["$ref"].rpartition("/")[2]] if "$ref" in p else p
            for p in item.get("parameters", []) + operation.get("parameters", [])
        ]
        named = [(p["in"], p["name"]) for p in parameters]
        assert len(named) == len(set(named)), (method, path, named)
        key_declared = ("header", "Idempotency-Key") in named
        assert key_declared == ((method, path) in IDEMPOTENT), (method, path)
        assert ("422" in operation["responses"]) == key_declared, (method, path)
        locked_out = operation["responses"].get("429")
        assert (locked_out is not None) == ((method, path) in PASSWORD_CHECKED), (method, path)
        if locked_out:
            assert "Retry-After" in locked_out["headers"]
    assert IDEMPOTENT | PASSWORD_CHECKED <= seen


def documented_answer(operation) -> str | None:
    """The component name of the schema an operation's success response names, if it names one."""
    status = next(code for code in operation["responses"] if code.startswith("2"))
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    ref = schema.get("items", schema).get("$ref")
    return ref and ref.rpartition("/")[2]


def test_every_answer_is_shaped_by_the_schema_the_document_names(
    client, document, headers, profile, monkeypatch, make_profile, store
):
    """The first schema that dumps during a request (the outermost one) is the one the
    document gives as the success response, on every operation that names a schema."""
    shaped_by = []
    dump = Schema.dump

    def recorded(schema, *args, **kwargs):
        shaped_by.append(type(schema))
        return dump(schema, *args, **kwargs)

    monkeypatch.setattr(Schema, "dump", recorded)
    # A fresh cache, so the rows are shaped during this test's request.
    monkeypatch.setattr(routes, "profile_list", RowsShapedOnce(routes.profile_list.schema))
    opened = {"profileId": profile, "openningCash": 10, "password": PASSWORD}
    bob = make_profile(store, "bob")
    joined = {"profileId": bob, "password": PASSWORD}
    handed = {**joined, "countedCash": 11}
    closed = {"profileId": bob, "closingCash": 11, "password": PASSWORD}  # bob holds it then
    movement = {"type": "sale", "amount": 1}
    requests = [
        ("get", STATUS, STATUS.replace("{profile_id}", profile), None),
        ("post", CREATE, CREATE, opened),
        ("get", CURRENT, CURRENT.replace("{profile_id}", profile), None),
        ("get", PROFILES, PROFILES, None),
        ("post", "/pos-session/sessions/{session_id}/cash-movements", "movements", movement),
        ("get", "/pos-session/sessions/{session_id}", "report", None),
        ("post", JOIN, "join", joined),
        ("post", LEAVE, "leave", None),
        ("post", HANDOVER, "handover", handed),
        ("get", HISTORY, HISTORY, None),
        ("get", "/pos-session/tenders", "/pos-session/tenders", None),
        ("post", CLOSE, CLOSE, closed),
        ("get", "/pos-session/journal", "/pos-session/journal", None),
        ("get", "/healthz", "/healthz", None),
    ]
    session_id = None
    for method, path, url, body in requests:
        if session_id:
            url = {
                "movements": movements_url(session_id),
                "report": report_url(session_id),
                "join": f"{report_url(session_id)}/attendants",
                "leave": f"{report_url(session_id)}/attendants/{bob}/leave",
                "handover": f"{report_url(session_id)}/handover",
            }.get(url, url)
        shaped_by.clear()
        response = client.open(url, method=method, json=body, headers=headers)
        assert response.status_code < 300, (path, response.get_json())
        if path == CREATE:
            session_id = response.get_json()["data"][0]["id"]
        assert resolver(shaped_by[0]) == documented_answer(document["paths"][path][method]), path
    named = {
        (method, path)
        for method, path, _item, operation in operations(document)
        if documented_answer(operation)
    }
    assert named == {(method, path) for method, path, _url, _body in requests}


# The objects the cash day (issue 19) added or grew; with every request body, each field says
# what it is.
CASH_DAY = {
    *("Movement", "Tender", "TenderLine", "Attendance", "CountedLine"),
    *("AttendantFigures", "AttendantTender"),
}


def test_every_field_a_terminal_sends_and_every_cash_day_field_is_described(document):
    schemas = document["components"]["schemas"]
    bodies = [operation.get("requestBody") for *_, operation in operations(document)]
    described = _schema_refs(bodies, schemas, set()) | CASH_DAY | {"Summary"}
    assert {
        "CreateSession",
        "CashMovement",
        "JoinSession",
        "Handover",
        "CashCountLine",
    } <= described
    for name in described:
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), (name, field)
    movement = schemas["Movement"]["properties"]["type"]
    assert movement["enum"] == ["sale", "refund", "pay_in", "pay_out", "drop", "no_sale"]
    # A figure's own description, then what money is (apispec's money line replaced it).
    drops = schemas["Summary"]["properties"]["drops"]["description"]
    assert drops.startswith("cash taken to the safe. An exact amount")


@pytest.mark.parametrize(
    ("path", "amount"),
    [(CREATE, "openningCash"), (CLOSE, "closingCash"), (HANDOVER, "countedCash")],
)
def test_a_count_that_is_not_the_amount_sent_is_a_documented_400(
    client, document, headers, profile, path, amount
):
    said = document["paths"][path]["post"]["responses"]["400"]["description"]
    assert said.startswith(f"`cashCount adds up to TOTAL, not the {amount} sent (SENT).`, ")
    session = open_shift(client, headers, profile) if path != CREATE else None
    url = path.replace("{session_id}", session["id"]) if session else path
    count = [{"value": 50, "count": 1}]
    body = {"profileId": profile, "password": PASSWORD, amount: 40, "cashCount": count}
    refused = client.post(url, json=body, headers=headers).get_json()
    assert refused["message"] == f"cashCount adds up to 50.00, not the {amount} sent (40.00)."
