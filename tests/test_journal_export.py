"""Following the journal over the API, signed exports checked offline, and an independent
verifier written from docs/journal.md alone (it imports nothing of the app)."""

import hashlib
import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app import journal
from tests.helpers import ROOT
from tests.journaling import a_day, instance  # noqa: F401  (instance: a fixture)

JOURNAL = "/pos-session/journal"
pytestmark = pytest.mark.usefixtures("instance")


def independent_check(entries, start_prev_hash):
    """docs/journal.md, "Checking a chain yourself", in a few lines."""
    prev = start_prev_hash
    for i, entry in enumerate(entries):
        body = {k: v for k, v in entry.items() if k != "hash"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(text.encode("utf-8")).hexdigest() == entry["hash"], entry["seq"]
        assert entry["prevHash"] == prev, entry["seq"]
        assert i == 0 or entry["seq"] == entries[i - 1]["seq"] + 1
        prev = entry["hash"]


def follow(client, headers, limit) -> list[dict]:
    found, after = [], 0
    while after is not None:
        response = client.get(
            JOURNAL, headers=headers, query_string={"afterSeq": after, "limit": limit}
        )
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["success"] is True and len(body["data"]) <= limit
        found += body["data"]
        after = body["nextAfterSeq"]
    return found


def test_an_accounting_system_follows_and_checks_the_journal(app, client, headers, profile, store):
    for _ in range(3):
        a_day(client, headers, profile)

    found = follow(client, headers, limit=4)

    assert [e["seq"] for e in found] == list(range(1, 16))
    independent_check(found, hashlib.sha256(store.encode()).hexdigest())


@pytest.mark.parametrize(
    "query", [{"limit": 0}, {"limit": 1001}, {"afterSeq": -1}, {"afterSeq": "x"}, {"other": 1}]
)
def test_bad_paging_is_a_400(client, headers, query):
    response = client.get(JOURNAL, headers=headers, query_string=query)
    assert response.status_code == 400
    assert response.get_json()["statusCode"] == 400


def test_the_journal_is_store_scoped(app, client, headers, profile, make_store, make_token):
    a_day(client, headers, profile)
    other = make_store("Other")
    other_headers = {"Authorization": f"Bearer {make_token(other)}", "x-store-id": other}
    assert client.get(JOURNAL, headers=other_headers).get_json() == {
        "success": True,
        "data": [],
        "nextAfterSeq": None,
    }
    assert client.get(JOURNAL, headers={**headers, "x-store-id": other}).status_code == 403
    assert client.get(JOURNAL).status_code == 401


def test_the_route_is_documented(client):
    operation = client.get("/openapi.json").get_json()["paths"][JOURNAL]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"200", "400", "401", "403"} <= set(operation["responses"])


@pytest.fixture
def exported(app, client, headers, profile, store, runner, tmp_path):
    for _ in range(2):
        a_day(client, headers, profile)
    out = tmp_path / "journal.jsonl"
    result = runner.invoke(args=["journal", "export", "--store", store, str(out)])
    assert result.exit_code == 0, result.output
    key = runner.invoke(args=["journal", "public-key"]).stdout.strip()
    return out, key


def verify_export(path, key):
    """The command as an accountant runs it: a process of its own, no database, no secret."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "journal",
            "verify-export",
            str(path),
            "--public-key",
            key,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "POS_DATABASE_URL": "sqlite:////nonexistent/no.db",
            "POS_SECRET_KEY": "x" * 40,
        },
    )


def test_an_export_verifies_offline(exported, store):
    path, key = exported
    result = verify_export(path, key)
    assert result.returncode == 0, result.stderr
    assert f"valid: store {store}, seqs 1 to 10 (10 entries)" in result.stdout


def test_the_independent_verifier_checks_an_export(exported, store):
    path, key = exported
    *lines, last = path.read_text(encoding="utf-8").splitlines()
    signed = json.loads(last)
    manifest = signed["manifest"]
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(key)).verify(
        bytes.fromhex(signed["signature"]), text.encode("utf-8")
    )
    entries = [json.loads(line) for line in lines]
    independent_check(entries, manifest["startPrevHash"])
    assert (manifest["storeId"], manifest["count"], manifest["lastHash"]) == (
        store,
        10,
        entries[-1]["hash"],
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda lines: lines.__setitem__(2, lines[2].replace('"2.00"', '"1.00"')),
            "seq 3: hash does not match",
        ),
        (lambda lines: lines.pop(4), "seq 6: follows seq 4"),
        (lambda lines: lines.pop(-2), "do not match the manifest's lastSeq, lastHash, count"),
        (
            lambda lines: lines.__setitem__(-1, lines[-1].replace('"count":10', '"count":9')),
            "signature is not this key's",
        ),
        # The last of two "amount" keys is the real one, so the hash still matches.
        (
            lambda lines: lines.__setitem__(
                1, lines[1].replace('"amount"', '"amount":"999999.00","amount"')
            ),
            "line 2: duplicate key 'amount'",
        ),
        (
            lambda lines: lines.__setitem__(0, lines[0].replace('"seq":1,', '"seq": 1,')),
            "line 1 is not in canonical form",
        ),
        (
            lambda lines: lines.__setitem__(3, lines[3] + "\r"),
            "line 4 is not in canonical form",
        ),
        (
            lambda lines: lines.__setitem__(-1, lines[-1].replace('{"manifest"', '{ "manifest"')),
            "line 11 is not in canonical form",
        ),
        # Valid JSON but no text: it has no UTF-8 bytes a hash could have been taken over.
        (
            lambda lines: lines.__setitem__(0, lines[0].replace('"note":null', '"note":"\\ud800"')),
            "line 1 is not in canonical form",
        ),
    ],
)
def test_a_doctored_export_is_refused(exported, change, message):
    path, key = exported
    lines = path.read_text(encoding="utf-8").splitlines()
    change(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = verify_export(path, key)
    assert result.returncode == 1 and message in result.stderr, result.stderr


def test_another_key_is_refused(exported):
    path, _key = exported
    result = verify_export(path, "ab" * 32)
    assert result.returncode == 1 and "signature is not this key's" in result.stderr


def test_export_by_dates(app, client, headers, profile, store, runner, tmp_path):
    a_day(client, headers, profile)
    out = tmp_path / "day.jsonl"
    empty = runner.invoke(
        args=["journal", "export", "--store", store, "--to", "2000-01-01", str(out)]
    )
    assert empty.exit_code == 1 and "no journal entry in that range" in empty.output
    whole = runner.invoke(
        args=["journal", "export", "--store", store, "--from", "2000-01-01", str(out)]
    )
    assert whole.exit_code == 0, whole.output
    assert len(out.read_text().splitlines()) == 6


def test_verify_export_refuses_a_duplicate_key_anywhere_in_a_line(exported, tmp_path):
    path, key = exported
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for number, (old, new) in enumerate(
        [
            ('"kind"', '"kind":"x","kind"'),
            ('"by"', '"by":"x","by"'),
            ('"signature"', '"signature":"x","signature"'),
        ]
    ):
        line = -1 if old == '"signature"' else number
        doctored = [*lines]
        doctored[line] = doctored[line].replace(old, new, 1)
        path.write_text("".join(doctored), encoding="utf-8")
        with pytest.raises(journal.JournalError, match=f"duplicate key {old[1:-1]!r}"):
            journal.verify_export(path, key)
    path.write_text("".join(lines), encoding="utf-8")
    assert journal.verify_export(path, key)["count"] == 10
