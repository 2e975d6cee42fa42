"""The control API's request bodies and the description of every /_mock operation, declared on
its view (`@documented`); api/openapi.py collects the control document from the app's routes.

The views (api/control.py, ui/dashboard.py) and the document generator both import this
module, and it imports neither of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from marshmallow import Schema, fields

from ..harness.scenario_schema import Bool, Duration, Instant, Int, Mapping, Str, Strict, one_of

# ---- request bodies ----------------------------------------------------------------------------


class ResetBody(Strict):
    scenario = Str(
        metadata={"description": "a scenario name (library or --scenario-dir); default: the world's own, re-read"}
    )


class ScenarioBody(Strict):
    name = Str(metadata={"description": "a scenario name from the library or a --scenario-dir (never a path)"})
    scenario = fields.Dict(metadata={"description": "an inline scenario, as in a file"})


class ClockBody(Strict):
    set = Instant(metadata={"description": "epoch ms, ISO 8601, or relative to now (+2h)"})
    advance = Duration()
    freeze = Bool(metadata={"description": "true freezes, false lets time run again"})


class TokenBody(Strict):
    uid = Str(required=True)


class ShareCodeBody(Strict):
    pk = Str(required=True)
    dk = Str(required=True)
    acceptingExpireAt = Instant(
        load_default="+1h", metadata={"description": "when the code stops being acceptable; default +1h from now"}
    )
    sharingExpireAt = Instant(metadata={"description": "when the share ends once accepted; default lifelong"})
    coverMark = Int(load_default=1, validate=one_of((1, 2, 3)))


class DeviceBody(Strict):
    online = Bool(metadata={"description": "connect (true) or disconnect (false): onl_ on the realtime channel"})
    values = Mapping(metadata={"description": "property code -> value: the device reports them (bus_), checked"})
    location = Mapping(metadata={"description": "lat, lng and optional locateType, hdop, satellites"})
    deviceData = Mapping(metadata={"description": "module facts merged into deviceData (version, battery, ...)"})
    event = Mapping(
        metadata={"description": "{code, output}: the device raises an event of its thing model (deviceEventList)"}
    )


# ---- operations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """What the control document says of one method of one route. Path parameters not listed
    in `parameters` are added bare (and the document test then asks for their description)."""

    summary: str
    responses: dict[str, Any]
    body: type[Schema] | None = None  # a JSON body, as a component named after the schema
    body_required: bool = True
    form: dict[str, Any] | None = None  # a form body's JSON Schema
    parameters: tuple[dict[str, Any], ...] = ()


OPERATIONS = "control_operations"  # the view function's attribute: {method or None: Operation}
View = TypeVar("View", bound=Callable[..., Any])


def documented(
    summary: str,
    responses: dict[str, Any],
    *,
    body: type[Schema] | None = None,
    body_required: bool = True,
    form: dict[str, Any] | None = None,
    parameters: Iterable[dict[str, Any]] = (),
    method: str | None = None,
) -> Callable[[View], View]:
    """Describe a /_mock view for the control document: every method it serves, or `method`."""
    operation = Operation(summary, responses, body, body_required, form, tuple(parameters))

    def attach(view: View) -> View:
        view.__dict__.setdefault(OPERATIONS, {})[method] = operation
        return view

    return attach


def operation_of(view: Callable[..., Any], method: str) -> Operation | None:
    table = getattr(view, OPERATIONS, {})
    return table.get(method) or table.get(None)


# ---- pieces several operations share -----------------------------------------------------------


def ok(description: str) -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}}


def page(description: str, media: str = "text/html") -> dict[str, Any]:
    return {"200": {"description": description, "content": {media: {"schema": {"type": "string"}}}}}


def redirect(description: str) -> dict[str, Any]:
    return {"302": {"description": description}}


ERROR = {"400": {"description": "invalid body: {error, problems[]}"}}
NO_DEVICE = {"404": {"description": "no such device"}}
NO_SHARE = {
    "404": {"description": "no such device or share"},
    "409": {"description": "the cloud refused: {error, code} with the Quectel code (5142: already ended)"},
}
CODE_PARAM = {
    "name": "code", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "the share code", "example": "share_dv_C00000000000000000000000000000000000aa",
}  # fmt: skip
DEVICE_PATH = (
    {"name": "pk", "in": "path", "required": True, "schema": {"type": "string"}, "description": "product key"},
    {"name": "dk", "in": "path", "required": True, "schema": {"type": "string"}, "description": "device key"},
)
RULE_ID = {
    "name": "rule_id", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "the rule's id (r1, r2, ... or its own)", "example": "r1",
}  # fmt: skip
LIMIT = {
    "name": "limit", "in": "query", "schema": {"type": "integer"}, "example": 100,
    "description": "at most this many entries",
}  # fmt: skip
JOURNAL_QUERY = (
    {
        "name": "path", "in": "query", "schema": {"type": "string"}, "example": "shareInfo",
        "description": "only requests to this path, or to this endpoint name",
    },
    {
        "name": "code", "in": "query", "schema": {"type": "integer"}, "example": 5151,
        "description": "only requests answered with this business code",
    },
    {**LIMIT, "description": "at most this many entries, the latest; total still counts all that match"},
    {
        "name": "kind", "in": "query", "schema": {"type": "string", "enum": ["rest", "mqtt"]}, "example": "mqtt",
        "description": "only requests (rest) or only realtime sessions and messages (mqtt)",
    },
)  # fmt: skip
ASSET = {
    "name": "name", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "a file of the page's assets", "example": "swagger-ui.css",
}  # fmt: skip
STATIC = Operation(
    "The dashboard's own files (styles, scripts)",
    page("the file", "application/octet-stream"),
    parameters=(
        {
            "name": "filename", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "a file of the dashboard's", "example": "dashboard.css",
        },
    ),
)  # fmt: skip
