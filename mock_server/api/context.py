"""What the HTTP layer knows about the request in hand, gathered once.

Flask's `request` and `g` are context-local proxies, and each access costs a lookup; on the
hot path they are read once into this object, which the steps (steps.py), the dispatcher and
the journal share. The request is a Werkzeug Request (Flask's own in the app) or, on the RSGI
fast path, a LightRequest (light_request.py), which reads alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import g

from ..cloud.jsontext import JsonRefused, read_json
from ..harness.world import World
from .light_request import AnyRequest

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(slots=True)
class RequestState:
    world: World
    world_name: str
    request: AnyRequest
    control: bool
    warnings: list[str] = field(default_factory=list)
    rule: str | None = None
    refuse: Callable[[str, str, dict], str | None] | None = None  # a controlFailure rule's, for the call
    started: float = field(default_factory=time.perf_counter)
    _params: dict[str, Any] | None = None

    @property
    def authorization(self) -> str | None:
        return self.request.environ.get("HTTP_AUTHORIZATION")

    def params(self) -> dict[str, Any]:
        """Query string, then form body, then JSON object body (or the world's own order):
        the first source that has a name wins. Read once per request."""
        if self._params is None:
            self._params = read_params(self.request, self.world.settings.parameter_sources)
        return self._params

    def json_array(self) -> list | None:
        """The JSON body when it is an array (setFamilyRoomSort, family setDeviceInfo), else None."""
        if not self.request.is_json:
            return None
        body = json_body(self.request)
        return body if isinstance(body, list) else None


def read_params(req: AnyRequest, sources: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    typed = bool(req.environ.get("CONTENT_TYPE"))  # without a Content-Type, neither form nor JSON
    for source in reversed(sources):
        if source == "query":
            params.update(query_params(req))
        elif not typed:
            continue
        elif source == "form":
            if req.mimetype in FORM_TYPES:
                params.update(req.form.items())
        elif req.is_json:
            body = json_body(req)
            if isinstance(body, dict):
                params.update(body)
    return params


def query_params(req: AnyRequest) -> dict[str, str]:
    """The query's parameters, the first value of each name: `req.args`, which Werkzeug reads
    with urllib's parse_qsl. A plain query (ASCII, nothing escaped, no `+`) is split here to
    the same pairs without it: parse_qsl's unquoting costs more than the rest of the request's
    parsing."""
    query = req.environ.get("QUERY_STRING", "")
    if not query.isascii() or "%" in query or "+" in query:
        return dict(req.args.items())
    params: dict[str, str] = {}
    for pair in query.split("&"):
        if pair:  # parse_qsl skips empty fields, keeps blank values, and a name without "=" has ""
            name, _, value = pair.partition("=")
            params.setdefault(name, value)
    return params


def json_body(req: AnyRequest) -> Any:
    """The JSON body; None when there is none or it is refused (cloud/jsontext.py): the
    endpoint then answers the documented code of the parameter it lacks."""
    try:
        return read_json(req.get_data(cache=True))
    except JsonRefused:
        return None


def current() -> RequestState:
    return g.state
