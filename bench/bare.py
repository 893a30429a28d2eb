"""The bare Flask no-op `make bench` compares against: one route returning jsonify(ok=True),
served by the same gunicorn.conf.py (workers, front, logging) as the box, at the same path as
the app's own no-op route."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/pos-session/ping")
def ping():
    return jsonify(ok=True)
