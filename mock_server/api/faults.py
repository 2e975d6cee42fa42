"""What a rule's action turns into on the wire: a delay, a fault, or a forced answer."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response

from ..cloud.errors import message_for
from ..harness.timeparse import delay_seconds  # noqa: F401 (used by the hooks)
from .envelope import envelope

MALFORMED = b'{"code":200,"msg":"","data":{"shareCode":'
GATEWAY_PAGES = {
    "http500": (500, "Internal Server Error"),
    "http502": (502, "Bad Gateway"),
    "http503": (503, "Service Unavailable"),
}


class DroppedOnPurpose(ConnectionAbortedError):
    """Raised inside a response body so the server closes the connection mid-response."""


def _dropping_body() -> Iterator[bytes]:
    raise DroppedOnPurpose("connection dropped by a rule")
    yield b""  # pragma: no cover - makes this a generator


def fault(kind: str) -> Response:
    """The fault's response; a hang has already been waited for and ends as a drop."""
    if kind == "malformed":
        return Response(MALFORMED, 200, mimetype="application/json")
    if kind == "empty":
        return Response(b"", 200, mimetype="application/json")
    if kind in GATEWAY_PAGES:
        status, text = GATEWAY_PAGES[kind]
        return Response(f"<html><body><h1>{status} {text}</h1></body></html>", status, mimetype="text/html")
    # "drop" (and a hang that outlived the client): headers promise a body that never comes.
    response = Response(_dropping_body(), 200, mimetype="application/json")
    response.headers["Content-Length"] = "64"
    return response


def forced_answer(action: dict) -> Response:
    code = action["code"]
    msg = action.get("msg", message_for(code))
    return envelope(code, msg, action.get("data"), action.get("extMsg"), status=action.get("status", 200))
