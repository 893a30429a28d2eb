"""Schemathesis against the served /openapi.json of a real gunicorn: no 5xx, nothing off-document.

Slow (about a minute), so it is deselected from `make test` and run by `make fuzz` and .ci/run.
Schemathesis prints its seed; FUZZ_SEED=N replays a run.
"""

import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import requests

EXAMPLES = 300
# Every check but positive_data_acceptance, which expects any schema-valid body to succeed: a
# valid create-session body for a profile that does not exist is rightly a 400.
CHECKS = ["--checks", "all", "--exclude-checks", "positive_data_acceptance"]


def operation_of(method: str, uri: str, base: str, paths: list[str]) -> str:
    path = uri.removeprefix(base).split("?")[0]
    for template in paths:
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]*", template), path):
            return f"{method} {template}"
    return f"{method} {path}"


@pytest.mark.fuzz
def test_schemathesis_finds_no_failure(live_server, headers, tmp_path):
    document = requests.get(live_server.url + "/openapi.json", timeout=10).json()
    report = tmp_path / "events.ndjson"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        live_server.url + "/openapi.json",
        *CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "2",
        "--header",
        f"Authorization: {headers['Authorization']}",
        "--header",
        f"x-store-id: {headers['x-store-id']}",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    if os.environ.get("FUZZ_SEED"):
        command += ["--seed", os.environ["FUZZ_SEED"]]

    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert '"status": 5' not in live_server.log()  # no 5xx, whatever the checks said
    # Each operation that takes input was fuzzed: Schemathesis sends a case once however often
    # Hypothesis draws it, so an operation with little to vary (a path id and an optional header)
    # sends fewer than EXAMPLES distinct requests (243 of 300 seen); half is the floor, far above
    # the handful an operation gets when its generation fails.
    sent = Counter()
    for line in report.read_text().splitlines():
        recorder = json.loads(line).get("ScenarioFinished", {}).get("recorder", {})
        for interaction in recorder.get("interactions", {}).values():
            method, uri = interaction["request"]["method"], interaction["request"]["uri"]
            sent[operation_of(method, uri, live_server.url, document["paths"])] += 1
    print(sorted(sent.items()))
    for path, item in document["paths"].items():
        for method, operation in item.items():
            takes_input = "requestBody" in operation or "{" in path
            if method != "parameters" and takes_input:
                assert sent[f"{method.upper()} {path}"] >= EXAMPLES // 2, (method, path, sent)
