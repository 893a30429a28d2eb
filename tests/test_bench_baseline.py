"""The benchmark's no-op route exists only when the bench asks for it."""

from app import create_app
from tests.helpers import SECRET


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
