"""The one renderer of the Quectel envelope, for successes and for every error."""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response

from ..cloud.errors import QuectelError, message_for


def envelope(code: int, msg: str, data: Any = None, ext_msg: Any = None, status: int = 200) -> Response:
    body = {"code": code, "msg": msg, "data": data, "extMsg": ext_msg}
    try:
        payload = orjson.dumps(body)
    except TypeError:  # what orjson refuses (integers past 64 bits in a rule's data) json takes
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    response = Response(payload, status=status, mimetype="application/json")
    response.quectel_code = code  # for the journal
    return response


def ok(data: Any = None) -> Response:
    return envelope(200, "", data)


def error(err: QuectelError, status: int | None = None) -> Response:
    return envelope(err.code, err.msg, ext_msg=err.ext_msg, status=err.http_status if status is None else status)


def http_error(status: int, allow: list[str] | None = None) -> Response:
    """404, 405, 413 and the like, in the same envelope with the HTTP status as the code
    (a 405 names the methods the path does take, as RFC 9110 asks)."""
    response = envelope(status, message_for(status) or "Error", status=status)
    if allow:
        response.headers["Allow"] = ", ".join(allow)
    return response
