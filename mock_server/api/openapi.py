"""OpenAPI documents derived from the marshmallow schemas that parse the requests."""

from __future__ import annotations

import functools
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .. import __version__
from ..harness import scenario_schema as ss


def _spec(title: str, description: str, field_types=None, **options) -> APISpec:
    """An OpenAPI 3.1 document whose marshmallow fields of our own classes get their JSON
    Schema types from `field_types` (the scenario fields' by default)."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title, __version__, "3.1.0", plugins=[plugin], info={"description": description}, **options)
    plugin.converter.add_attribute_function(field_types or _custom_fields)  # type: ignore[union-attr]
    return spec


def _custom_fields(self, field, ret: dict | None = None, **kwargs) -> dict:
    """JSON Schema types for the scenario schema's own field classes."""
    if isinstance(field, ss.Instant):
        return {"type": ["integer", "string"], "description": "epoch ms, ISO 8601, or relative such as +10m"}
    if isinstance(field, ss.Duration):
        return {"type": ["integer", "string"], "description": "90s, 10m, 2h, 30d, 500ms, or milliseconds"}
    if isinstance(field, ss.DelayField):
        return {"oneOf": [{"type": ["integer", "string"]}, {"$ref": "#/components/schemas/Delay"}]}
    if isinstance(field, ss.Matcher):
        return {
            "oneOf": [
                {"type": ["string", "number", "boolean"]},
                {"type": "object", "properties": {"regex": {"type": "string"}}, "required": ["regex"]},
                {"type": "object", "properties": {"present": {"type": "boolean"}}, "required": ["present"]},
                {"type": "object", "properties": {"equals": {}}, "required": ["equals"]},
            ]
        }
    if isinstance(field, ss.ReplayField):
        return {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/Replay"}]}
    if isinstance(field, ss.OnlineField):
        return {"oneOf": [{"type": "boolean"}, {"const": "toggle"}]}
    return {}


def _scenario_components(spec: APISpec) -> None:
    spec.components.schema("Delay", schema=ss.DelaySpec)
    spec.components.schema("Replay", schema=ss.ReplaySpec)
    spec.components.schema("Rule", schema=ss.RuleSpec)
    spec.components.schema("Scenario", schema=ss.ScenarioSpec)


@functools.cache
def scenario_json_schema() -> dict:
    """The scenario file format as JSON Schema (2020-12), for editors."""
    spec = _spec("Scenario", "")
    _scenario_components(spec)
    defs = spec.to_dict()["components"]["schemas"]
    text = _rewrite_refs(defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://quectel-mock-server.local/scenario.schema.json",
        "title": "Quectel sharing simulator scenario",
        "$ref": "#/$defs/Scenario",
        "$defs": text,
    }


def _rewrite_refs(node):
    if isinstance(node, dict):
        return {
            k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _rewrite_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _json_body(ref: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _ok(description: str) -> dict:
    return {"200": {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}}


ERROR = {"400": {"description": "invalid body: {error, problems[]}"}}
NO_SHARE = {
    "404": {"description": "no such device or share"},
    "409": {"description": "the cloud refused: {error, code} with the Quectel code (5142: already ended)"},
}
CODE_PARAM = {
    "name": "code", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "the share code", "example": "share_dv_C00000000000000000000000000000000000aa",
}  # fmt: skip
DEVICE_PATH = [
    {"name": "pk", "in": "path", "required": True, "schema": {"type": "string"}, "description": "product key"},
    {"name": "dk", "in": "path", "required": True, "schema": {"type": "string"}, "description": "device key"},
]
SESSION_PARAMS = [
    {"name": "X-Mock-Session", "in": "header", "schema": {"type": "string"}, "description": "the world to act on"},
]


@functools.cache
def control_document() -> dict:
    from .control import ClockBody, DeviceBody, ResetBody, ScenarioBody, ShareCodeBody, TokenBody

    spec = _spec(
        "Quectel sharing simulator: control API",
        "Drive the simulator: worlds, scenarios, the clock, rules and the journal. Every path also "
        "works under /s/{session}/ and honours X-Mock-Session.",
    )
    _scenario_components(spec)
    for name, schema in (("ResetBody", ResetBody), ("ScenarioBody", ScenarioBody), ("ClockBody", ClockBody)):
        spec.components.schema(name, schema=schema)
    spec.components.schema("TokenBody", schema=TokenBody)
    spec.components.schema("ShareCodeBody", schema=ShareCodeBody)
    spec.components.schema("DeviceBody", schema=DeviceBody)
    ops = {
        "/_mock/health": {"get": {"summary": "Readiness and the worlds held", "responses": _ok("status")}},
        "/_mock/scenarios": {"get": {"summary": "The scenario library", "responses": _ok("names and descriptions")}},
        "/_mock/reset": {
            "post": {
                "summary": "Rebuild this world from its scenario, or another",
                "requestBody": {**_json_body("ResetBody"), "required": False},
                "responses": {**_ok("the world and its scenario"), **ERROR},
            }
        },
        "/_mock/scenario": {
            "put": {
                "summary": "Load a scenario (by name or inline) into this world",
                "requestBody": _json_body("ScenarioBody"),
                "responses": {**_ok("the world and its scenario"), **ERROR},
            }
        },
        "/_mock/state": {"get": {"summary": "Users, devices, shares and tokens", "responses": _ok("state")}},
        "/_mock/clock": {
            "get": {"summary": "The world's clock", "responses": _ok("now, iso, frozen")},
            "post": {
                "summary": "Set, advance, freeze or unfreeze the clock",
                "requestBody": _json_body("ClockBody"),
                "responses": {**_ok("now, iso, frozen"), **ERROR},
            },
        },
        "/_mock/rules": {
            "get": {"summary": "The rules, with how often each fired", "responses": _ok("rules")},
            "post": {
                "summary": "Append a rule (or a list of rules)",
                "requestBody": _json_body("Rule"),
                "responses": {"201": {"description": "the rules as stored"}, **ERROR},
            },
            "delete": {"summary": "Remove every rule", "responses": _ok("deleted")},
        },
        "/_mock/rules/{id}": {
            "delete": {
                "summary": "Remove one rule",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "the rule's id (r1, r2, ... or its own)",
                        "example": "r1",
                    }
                ],
                "responses": {**_ok("deleted"), "404": {"description": "no such rule"}},
            }
        },
        "/_mock/journal": {
            "get": {
                "summary": "Requests this world received",
                "parameters": [
                    {
                        "name": "path",
                        "in": "query",
                        "schema": {"type": "string"},
                        "example": "shareInfo",
                        "description": "only requests to this path, or to this endpoint name",
                    },
                    {
                        "name": "code",
                        "in": "query",
                        "schema": {"type": "integer"},
                        "example": 5151,
                        "description": "only requests answered with this business code",
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer"},
                        "example": 100,
                        "description": "at most this many entries, the latest; total still counts all that match",
                    },
                    {
                        "name": "kind",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["rest", "mqtt"]},
                        "example": "mqtt",
                        "description": "only requests (rest) or only realtime sessions and messages (mqtt)",
                    },
                ],
                "responses": _ok("total and entries"),
            },
            "delete": {"summary": "Empty the journal", "responses": _ok("deleted")},
        },
        "/_mock/devices/{pk}/{dk}": {
            "get": {
                "summary": "One device's state: values and when each was reported, pending writes, version",
                "parameters": list(DEVICE_PATH),
                "responses": {**_ok("the device"), "404": {"description": "no such device"}},
            },
            "post": {
                "summary": "The device reports values, moves, or goes online or offline",
                "parameters": list(DEVICE_PATH),
                "requestBody": _json_body("DeviceBody"),
                "responses": {**_ok("the device"), **ERROR, "404": {"description": "no such device"}},
            },
        },
        "/_mock/tokens": {
            "post": {
                "summary": "A fresh token pair for a user, without logging in",
                "requestBody": _json_body("TokenBody"),
                "responses": {"201": {"description": "the login token object"}, "404": {"description": "no user"}},
            }
        },
        "/_mock/shares": {
            "post": {
                "summary": "A share code for a device, created as its owner (as shareInfo would)",
                "requestBody": _json_body("ShareCodeBody"),
                "responses": {"201": {"description": "the share, as in /_mock/state"}, **ERROR, **NO_SHARE},
            }
        },
        "/_mock/shares/{code}": {
            "delete": {
                "summary": "End a share as its owner (cause 3)",
                "parameters": [CODE_PARAM],
                "responses": {**_ok("the share, ended"), **NO_SHARE},
            }
        },
        "/_mock/shares/{code}/expire": {
            "post": {
                "summary": "Close the share's current window now: accept window (cause 1) or usage (cause 2)",
                "parameters": [CODE_PARAM],
                "responses": {**_ok("the share, ended"), **NO_SHARE},
            }
        },
        "/_mock/worlds": {"get": {"summary": "Every world held", "responses": _ok("names")}},
        "/_mock/world": {"delete": {"summary": "Forget this world", "responses": _ok("dropped")}},
        "/_mock/openapi.json": {"get": {"summary": "This document", "responses": _ok("OpenAPI 3.1")}},
    }
    for path, operations in ops.items():
        for operation in operations.values():
            # a new list: operations share lists such as DEVICE_PATH, which must not grow twice
            operation["parameters"] = [*operation.get("parameters", []), *SESSION_PARAMS]
        spec.path(path=path, operations=operations)
    return spec.to_dict()


# ---- the simulated Quectel API -------------------------------------------------------------

TRANSPORT_ERRORS = {404: "unknown path", 405: "known path, wrong method", 413: "body over 1 MB"}


def _param_fields(self, field, ret: dict | None = None, **kwargs) -> dict:
    """JSON Schema types for the request schemas' own field classes."""
    from . import schemas as rs

    if isinstance(field, rs.Timestamp):
        return {"type": "integer", "format": "int64", "minimum": 0, "maximum": rs.INT64_MAX}
    if isinstance(field, rs.Choice):
        schema = {"type": "integer", "enum": list(field.choices)}
        if field.load_default is not None and not field.required:
            schema["default"] = field.load_default
        return schema
    if isinstance(field, rs.Lenient):
        # No `default: null` (invalid for an integer): the field's description names the default.
        return {"type": "integer", "minimum": 1, **({"default": field.default} if field.default else {})}
    if isinstance(field, rs.CodeArray):
        return {"type": ["array", "string"], "items": {"type": "string"}}
    if isinstance(field, rs.CommaList):
        # The field's own description, when it has one, says what the list holds.
        return {"type": "string", "description": field.metadata.get("description", "comma-separated")}
    return {}


def infer(values: list) -> dict:
    """A JSON Schema that every one of `values` satisfies, from rendered samples: the response
    shapes are documented from the code that makes them, so they cannot drift apart."""
    types: set[str] = set()
    objects, items = [], []
    for value in values:
        if value is None:
            types.add("null")
        elif isinstance(value, bool):
            types.add("boolean")
        elif isinstance(value, int):
            types.add("integer")
        elif isinstance(value, float):
            types.add("number")
        elif isinstance(value, str):
            types.add("string")
        elif isinstance(value, dict):
            types.add("object")
            objects.append(value)
        else:
            types.add("array")
            items.extend(value)
    if types <= {"null"}:
        return {}  # never seen filled in: no constraint
    if types & {"string", "integer", "boolean", "number"}:
        types.add("null")  # absent values are null, as in the real service
    schema: dict = {"type": sorted(types) if len(types) > 1 else next(iter(types))}
    if objects:
        keys = list(dict.fromkeys(k for o in objects for k in o))
        schema["properties"] = {k: infer([o[k] for o in objects if k in o]) for k in keys}
        schema["required"] = [k for k in keys if all(k in o for o in objects)]
    if "array" in types:
        schema["items"] = infer(items)
    return schema


class SampleWorld:
    """A small world, with one share of each kind and a lamp with two days of history, in which
    each endpoint's `data` examples are rendered (its declaration's sampler is called with it)."""

    def __init__(self) -> None:
        from ..cloud import accounts, views
        from ..cloud.access import DeviceView
        from ..harness.scenario import Scenario

        lamp = {"pk": "p11u5w", "dk": "LAMP00000001"}
        spec = {
            "extends": "default",
            "clock": {"start": 1_800_000_000_000, "frozen": True},
            "shares": [
                {"device": lamp, "code": "share_dv_Csample1", "recipient": "C1002", "state": "active",
                 "sharingExpireAt": "+1d", "deviceName": "Hall"},
                {"device": lamp, "code": "share_dv_Csample2", "acceptingExpireAt": "+1h"},
            ],
        }  # fmt: skip
        self.world = world = Scenario.from_spec(spec, "samples").build()
        self.owner = world.users["C1001"]
        self.tokens = accounts.issue_tokens(world, self.owner)
        self.lamp = world.devices[("p11u5w", "LAMP00000001")]
        self.station = world.devices[("p11u8k", "POWR00000001")]
        self.shares = [world.shares["share_dv_Csample1"], world.shares["share_dv_Csample2"]]
        self.details = [
            views.device_details(world, DeviceView(self.lamp)),
            views.device_details(world, DeviceView(self.lamp, self.shares[0])),
        ]
        self.window = {"pk": self.lamp.pk, "dk": self.lamp.dk, "startTimestamp": 0, "endTimestamp": world.now(),
                       "page": 1, "pageSize": 10}  # fmt: skip
        self._history()

    def _history(self) -> None:
        """The lamp reports values over two days, raises an event and moves."""
        from ..cloud import shadows

        world, lamp, now = self.world, self.lamp, self.world.now()
        for hours in range(48, 0, -6):
            shadows.report(world, lamp, {"brightness": hours, "switch": hours % 12 == 0}, now - hours * 3_600_000)
        shadows.raise_event(world, lamp, "overheat", {"lamp_stats": {"power_w": 7.5, "led_temp": 96}}, now - 60_000)
        shadows.update_module(world, lamp, None, {"lat": 31.23, "lng": 121.47, "locateType": "GP"})

    def examples(self, data: Any) -> list:
        """The examples of one declaration's `data`: rendered, or the literal given."""
        if data is None:
            return []
        return data(self) if callable(data) else [data]


def _envelope(codes: tuple[int, ...], data: dict) -> dict:

    return {
        "type": "object",
        "required": ["code", "msg", "data", "extMsg"],
        "properties": {
            "code": {"type": "integer", "enum": list(codes)},
            "msg": {"type": "string"},
            "data": {"anyOf": [data, {"type": "null"}]} if data else {"type": "null"},
            "extMsg": {"type": ["string", "null"]},
        },
        "x-codes": [{"code": c, "msg": _msg(c)} for c in codes],
    }


def _msg(code: int) -> str:
    """The `msg` an answer with `code` carries: "" on success, as the live service sends."""
    from ..cloud.errors import message_for

    return "" if code == 200 else message_for(code) or ""


def _parameter_example(self, field, ret: dict | None = None, **kwargs) -> dict:
    """An example on the parameter itself (where Swagger UI shows it), not inside its schema;
    and no `default: null`, which an integer schema cannot have."""
    schema = (ret or {}).get("schema", {})
    if schema.get("default", 0) is None:
        del schema["default"]
    example = schema.pop("example", None)
    return {} if example is None else {"example": example}


def _codes_table(codes: tuple[int, ...]) -> str:

    rows = "\n".join(f"| {c} | {_msg(c) or '(empty)'} |" for c in codes)
    return "Business codes (always HTTP 200, in the envelope):\n\n| code | msg |\n| --- | --- |\n" + rows


@functools.cache
def quectel_document() -> dict:
    """OpenAPI 3.1 of the simulated endpoints, from their declarations (api/declare.py): the
    request schemas, the codes, and `data` schemas inferred from rendered examples."""
    from .declare import registry

    spec = _spec(
        "Quectel / Acceleronix end-user API (simulated)",
        "The device-sharing endpoints the simulator serves. Parameters are read from the query string, "
        "a form body or a JSON body; every answer is the envelope below.",
        _param_fields,
        servers=[{"url": "/"}],
    )
    spec.plugins[0].converter.add_parameter_attribute_function(_parameter_example)  # type: ignore[union-attr]
    spec.components.security_scheme("token", {"type": "apiKey", "in": "header", "name": "Authorization"})
    for status, text in TRANSPORT_ERRORS.items():
        spec.components.response(f"E{status}", {"description": text, "content": _json(_envelope((status,), {}))})
    endpoints = registry()
    sample = SampleWorld()
    examples = {ep.path: sample.examples(ep.data) for ep in endpoints}
    data_schemas = _data_schemas(spec, endpoints, examples)
    for ep in endpoints:
        spec.path(path=ep.path, operations={ep.method.lower(): _operation(ep, examples[ep.path], data_schemas)})
    return spec.to_dict()


def _data_schemas(spec: APISpec, endpoints: list, examples: dict[str, list]) -> dict[str, dict]:
    """Each endpoint's `data` schema: a shared component where declarations name a shape, else
    inline."""
    by_shape: dict[str, list] = {}
    for ep in endpoints:
        if ep.shape:
            by_shape.setdefault(ep.shape, []).extend(examples[ep.path])
    for shape, values in by_shape.items():
        spec.components.schema(shape, component=infer(values))
    schemas = {}
    for ep in endpoints:
        if ep.shape:
            schemas[ep.path] = {"$ref": f"#/components/schemas/{ep.shape}"}
        else:
            schemas[ep.path] = infer(examples[ep.path]) if examples[ep.path] else {}
    return schemas


def _operation(ep, examples: list, data_schemas: dict[str, dict]) -> dict:
    example = {"code": 200, "msg": "", "data": examples[0] if examples else None, "extMsg": None}
    ok = {
        "description": "the envelope; code 200 is success",
        "content": {"application/json": {"schema": _envelope(ep.codes, data_schemas[ep.path]), "example": example}},
    }
    operation = {
        "operationId": ep.key.replace("/", "_"),
        "summary": ep.summary,
        "description": _codes_table(ep.codes),
        "tags": [ep.path.split("/")[2]],
        "parameters": [{"in": "query", "schema": ep.schema}] if ep.schema and ep.body == "query" else [],
        "responses": {"200": ok, **{str(s): {"$ref": f"#/components/responses/E{s}"} for s in TRANSPORT_ERRORS}},
    }
    if ep.schema and ep.body == "json":
        body = {"type": "array", "items": ep.schema} if ep.array else ep.schema
        operation["requestBody"] = {"required": True, "content": _json(body)}
    if ep.auth:
        operation["security"] = [{"token": []}]
    return operation


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}
