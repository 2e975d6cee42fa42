"""What a rule's fault turns into on the HTTP wire (the rule's outcome is harness/rules.py's)."""

from __future__ import annotations

from collections.abc import Iterator

from .envelope import Reply

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
