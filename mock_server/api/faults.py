"""What a rule's action turns into on the wire: a delay, a fault, or a forced answer."""

from __future__ import annotations

from collections.abc import Iterator

from ..cloud.errors import message_for
from .envelope import Reply, render

MALFORMED = b'{"code":200,"msg":"","data":{"shareCode":'
HTML = "text/html; charset=utf-8"
GATEWAY_PAGES = {
    "http500": (500, "Internal Server Error"),
    "http502": (502, "Bad Gateway"),
    "http503": (503, "Service Unavailable"),
}


class DroppedOnPurpose(ConnectionAbortedError):
    """Raised inside a response body so the server closes the connection mid-response."""


def dropping_body() -> Iterator[bytes]:
    raise DroppedOnPurpose("connection dropped by a rule")
    yield b""  # pragma: no cover - makes this a generator


def fault(kind: str) -> Reply:
    """The fault's answer; a hang has already been waited for and ends as a drop."""
    if kind == "malformed":
        return Reply(200, MALFORMED)
    if kind == "empty":
        return Reply(200, b"")
    if kind in GATEWAY_PAGES:
        status, text = GATEWAY_PAGES[kind]
        return Reply(status, f"<html><body><h1>{status} {text}</h1></body></html>".encode(), HTML)
    # "drop" (and a hang that outlived the client): headers promise a body that never comes.
    return Reply(200, None)


def forced_answer(action: dict) -> Reply:
    code = action.get("code", 200)
    msg = action.get("msg", message_for(code))
    return render(code, msg, action.get("data"), action.get("extMsg"), status=action.get("status", 200))
