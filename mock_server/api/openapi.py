"""OpenAPI documents derived from the marshmallow schemas that parse the requests."""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Iterator
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from werkzeug.routing import Rule

from .. import __version__
from ..harness import scenario_schema as ss
from .control_schemas import STATIC, Operation, operation_of
from .paths import is_control


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
    if isinstance(field, ss.MemberField):
        return {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/Member"}]}
    if isinstance(field, ss.RoomField):
        room = {"type": "object", "properties": {"name": {"type": "string"}, "frid": {"type": "string"}}}
        return {"oneOf": [{"type": "string"}, {**room, "required": ["name"], "additionalProperties": False}]}
    return {}


def _scenario_components(spec: APISpec) -> dict[type, str]:
    """The scenario format's schemas as components; their names by schema."""
    names = {
        ss.DelaySpec: "Delay", ss.ReplaySpec: "Replay", ss.MemberSpec: "Member", ss.RuleSpec: "Rule",
        ss.ScenarioSpec: "Scenario",
    }  # fmt: skip
    for schema, name in names.items():
        spec.components.schema(name, schema=schema)
    return dict(names)


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


SESSION_PARAMS = [
    {"name": "X-Mock-Session", "in": "header", "schema": {"type": "string"}, "description": "the world to act on"},
]
_ROUTE_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")  # <pk>, <path:name>
_control_documents: weakref.WeakKeyDictionary[Flask, dict] = weakref.WeakKeyDictionary()


def control_document(app: Flask) -> dict:
    """The control API's document, collected from the app's /_mock routes and the operation
    each view declares (control_schemas.documented); made once per app."""
    document = _control_documents.get(app)
    if document is None:
        document = _control_documents[app] = _control_document(app)
    return document


def control_operations(app: Flask) -> Iterator[tuple[Rule, str, Operation | None]]:
    """(route, method, its declared operation or None) for every /_mock route of the app."""
    for rule in app.url_map.iter_rules():
        if not is_control(rule.rule):  # the control API's routes and the dashboard's
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            # A blueprint's static files are served by Flask's own view: no place to declare.
            yield rule, method, STATIC if rule.endpoint.endswith(".static") else operation_of(view, method)


def _control_document(app: Flask) -> dict:
    spec = _spec(
        "Quectel sharing simulator: control API",
        "Drive the simulator: worlds, scenarios, the clock, rules and the journal; the dashboard's "
        "pages. Every path also works under /s/{session}/ and honours X-Mock-Session.",
    )
    components = _scenario_components(spec)
    paths: dict[str, dict] = {}
    for rule, method, operation in control_operations(app):
        if operation is not None:
            path = _ROUTE_ARGUMENT.sub(r"{\1}", rule.rule)
            paths.setdefault(path, {})[method.lower()] = _control_operation(spec, components, rule, operation)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _control_operation(spec: APISpec, components: dict[type, str], rule: Rule, operation: Operation) -> dict:
    parameters = list(operation.parameters)
    declared = {p["name"] for p in parameters if p["in"] == "path"}
    for name in _ROUTE_ARGUMENT.findall(rule.rule):
        if name not in declared:  # undescribed: the document test asks for a description
            parameters.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
    result: dict = {
        "summary": operation.summary,
        "parameters": [*parameters, *SESSION_PARAMS],
        "responses": operation.responses,
    }
    if operation.body is not None:
        name = components.get(operation.body) or _component(spec, components, operation.body)
        media = {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        result["requestBody"] = {"required": operation.body_required, "content": media}
    elif operation.form is not None:
        media = {"application/x-www-form-urlencoded": {"schema": operation.form}}
        result["requestBody"] = {"required": True, "content": media}
    return result


def _component(spec: APISpec, components: dict[type, str], schema: type) -> str:
    """A body schema as a component named after its class."""
    spec.components.schema(schema.__name__, schema=schema)
    components[schema] = schema.__name__
    return schema.__name__


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
