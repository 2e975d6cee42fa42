"""The one renderer of the Quectel envelope, for successes and for every error."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from ..domain.errors import QuectelError, message_for

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def envelope(code: int, msg: str, data: Any = None, ext_msg: Any = None, status: int = 200) -> Response:
    body = {"code": code, "msg": msg, "data": data, "extMsg": ext_msg}
    response = Response(_dumps(body), status=status, mimetype="application/json")
    response.quectel_code = code  # for the journal
    return response


def ok(data: Any = None) -> Response:
    return envelope(200, "", data)


def error(err: QuectelError, status: int | None = None) -> Response:
    return envelope(err.code, err.msg, status=err.http_status if status is None else status)


def http_error(status: int) -> Response:
    """404, 405, 413 and the like, in the same envelope with the HTTP status as the code."""
    return envelope(status, message_for(status) or "Error", status=status)
