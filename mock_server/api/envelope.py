"""The one renderer of the Quectel envelope, for successes and for every error.

Answers are built as a `Reply` (status, body, headers): plain data that the Flask app turns
into a Response and the RSGI fast path (fastpath.py) sends as it is, so both paths put the
same bytes on the wire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import Response

from ..cloud.errors import QuectelError, message_for

JSON = "application/json"
DROP_LENGTH = "64"  # what a dropped response promises before the connection goes


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes | None  # None: the headers promise a body that never comes (a "drop" fault)
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    code: int | None = None  # the envelope's code, for the journal (None: not an envelope)

    def wire_headers(self) -> list[tuple[str, str]]:
        """The headers as Werkzeug writes them for this Reply's Response, in the same order."""
        length = DROP_LENGTH if self.body is None else str(len(self.body))
        return [("Content-Type", self.content_type), ("Content-Length", length), *self.headers]


def render(code: int, msg: str, data: Any = None, ext_msg: Any = None, status: int = 200) -> Reply:
    body = {"code": code, "msg": msg, "data": data, "extMsg": ext_msg}
    try:
        payload = orjson.dumps(body)
    except TypeError:  # what orjson refuses (integers past 64 bits in a rule's data) json takes
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, payload, code=code)


def render_error(err: QuectelError, status: int | None = None) -> Reply:
    return render(err.code, err.msg, ext_msg=err.ext_msg, status=err.http_status if status is None else status)


def render_http_error(status: int, allow: list[str] | None = None) -> Reply:
    """404, 405, 413 and the like, in the same envelope with the HTTP status as the code
    (a 405 names the methods the path does take, as RFC 9110 asks)."""
    reply = render(status, message_for(status) or "Error", status=status)
    if allow:
        reply.headers.append(("Allow", ", ".join(allow)))
    return reply


def to_response(reply: Reply) -> Response:
    """The Flask Response of a Reply."""
    from .faults import dropping_body  # faults builds Replies with this module

    body = dropping_body() if reply.body is None else reply.body
    response = Response(body, status=reply.status, content_type=reply.content_type)
    if reply.body is None:
        response.headers["Content-Length"] = DROP_LENGTH
    for name, value in reply.headers:
        response.headers.add(name, value)
    response.quectel_code = reply.code  # for the journal
    return response
