"""The benchmark's no-op route exists only when the bench asks for it; the bench's timed writes
run in a tree of their own."""

import json
import os
import subprocess
import sys

from app import create_app
from tests.helpers import ROOT, SECRET


def test_no_ping_route_in_production(client):
    response = client.get("/pos-session/ping")
    assert response.status_code == 404


def test_the_bench_gets_a_no_op_route_through_the_same_app(tmp_path):
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "SECRET_KEY": SECRET,
            "BENCH_BASELINE": True,
        }
    )
    response = app.test_client().get("/pos-session/ping")

    assert response.get_json() == {"ok": True}
    assert response.headers["Cache-Control"] == "no-store"


def run_writes(*flags: str, tree=ROOT) -> subprocess.CompletedProcess:
    """bench/writes.py for one of each write, run in ``tree`` with this tree's app importable."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "writes.py"), "1", *flags],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_bench_times_this_trees_writes_with_a_full_count():
    done = run_writes("--full-count")

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["app"] == str(ROOT / "app" / "__init__.py")
    assert found["count"] == 1 and found["pieces"] == 15  # EUR's notes and coins
    for write in ("create-session", "cash-movement", "close-session"):
        assert found[write] > 0
        assert found["statements"][write] > 1  # its BEGIN and more


def test_the_bench_refuses_to_time_another_trees_app(tmp_path):
    done = run_writes(tree=tmp_path)  # run in tmp_path, it would import this tree's app

    assert done.returncode != 0
    assert "not " + str(tmp_path) in done.stderr
