"""A trivial Flask handler served exactly as the simulator is (granian, RSGI bridge): each
path answered with the simulator's bytes for it, from a view that does nothing else. What
Flask's per-request machinery alone costs."""

from __future__ import annotations

from flask import Flask, Response
from replies import PING, load

from mock_server.server import serve

METHODS = ["GET", "POST", "PUT", "DELETE"]


def make_app(replies: dict[str, bytes]) -> Flask:
    app = Flask(__name__)
    app.config["MQTT"] = False  # the bridge opens no realtime channel for it

    @app.route("/<path:path>", methods=METHODS)
    def answer(path: str) -> Response:
        return Response(replies.get("/" + path, PING), mimetype="application/json")

    return app


if __name__ == "__main__":
    port, replies = load()
    serve(lambda: make_app(replies), "127.0.0.1", port)
