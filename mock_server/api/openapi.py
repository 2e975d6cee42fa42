"""OpenAPI documents derived from the marshmallow schemas that parse the requests."""

from __future__ import annotations

import functools

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
    from .control import ClockBody, DeviceBody, ResetBody, ScenarioBody, ShareCodeBody, StockBody, TokenBody

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
    spec.components.schema("StockBody", schema=StockBody)
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
        "/_mock/outbox": {
            "get": {"summary": "Every SMS and e-mail sent in this world, newest first", "responses": _ok("messages")},
            "delete": {"summary": "Empty the outbox (sent codes stay valid)", "responses": _ok("how many went")},
        },
        "/_mock/stock": {
            "post": {
                "summary": "A new device bound to nobody, for a user to bind",
                "requestBody": _json_body("StockBody"),
                "responses": {"201": {"description": "the device, as in /_mock/state"}, **ERROR},
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


def _samples() -> dict[str, list]:
    """Rendered examples of every `data` shape, from a small world with one share of each kind."""
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
    world = Scenario.from_spec(spec, "samples").build()
    owner = world.users["C1001"]
    tokens = accounts.issue_tokens(world, owner)
    device = world.devices[("p11u5w", "LAMP00000001")]
    shares = [world.shares["share_dv_Csample1"], world.shares["share_dv_Csample2"]]
    details = [
        views.device_details(world, DeviceView(device)),
        views.device_details(world, DeviceView(device, shares[0])),
    ]
    return {
        "DeviceDetails": details,
        "PageInfo": [views.page_info(details, 1, 10), views.page_info([], 1, 10)],
        "ShareRows": [views.share_rows(world, shares)],
        "TokenPair": [tokens],
        "UserInfo": [views.user_info(owner), views.user_info(world.users["C900001"])],
        "Binding": [{"bindingSum": 0}, {"bindingSum": 2}],
        **_device_samples(world, owner),
        **_history_samples(world, owner),
        **_account_samples(world, owner),
    }


def _account_samples(world, owner) -> dict[str, list]:
    """Rendered examples of registration, binding and message-centre `data`: the spare lamp
    bound by serial number, shared by uid, and an event it raised."""
    from ..cloud import binding, messages, shares, things, views

    lamp = world.devices[("p11u5w", "LAMP00000009")]
    bound = binding.bind_sn(world, owner, pk=lamp.pk, sn=lamp.sn)
    shares.share_by_uid(world, owner, {"pk": lamp.pk, "dk": lamp.dk, "shareUid": "C1002", "coverMark": 1})
    things.raise_event(world, lamp, "overheat", {"lamp_stats": {"power_w": 7.5, "led_temp": 96}})
    rui = world.users["C1002"]
    rows = messages.message_list(world, rui)
    product = world.products[lamp.pk]
    return {
        "Registered": [{"uid": "C800001"}],
        "SnBinding": [bound],
        "WifiBinding": [
            {"authKey": bound["authKey"], "bindingMode": 1, "productLogo": "", "productName": product.name}
        ],
        "Verified": [{"verified": "1"}],
        "TimeZone": [binding.time_zone(world, owner, pk=lamp.pk, dk=lamp.dk)],
        "ProductManual": [{"url": ""}],
        "MessagePage": [views.page_info(rows, 1, 10, messages.render), views.page_info([], 1, 10)],
        "MessageStats": [messages.stats(world, rui)],
        "MessageBatch": [
            {"successList": [{"id": "M1"}], "failureList": [{"id": "M9", "failureMsg": "Message does not exist"}]}
        ],
        "PushSetting": [messages.push_setting(world, rui)],
    }


def _device_samples(world, owner) -> dict[str, list]:
    """Rendered examples of the device endpoints' `data`: every product's thing model, the
    values of a lamp and a power station, and a control answer with both lists filled."""
    from ..cloud import control, devices, views

    lamp = world.devices[("p11u5w", "LAMP00000001")]
    station = world.devices[("p11u8k", "POWR00000001")]
    keys = [{"productKey": d.pk, "deviceKey": d.dk} for d in (lamp, world.devices[("p11u5w", "LAMP00000002")])]
    command = {"type": 2, "data": '[{"switch": true}]', "deviceList": keys, "isCache": 2}
    by_key = {"pk": lamp.pk, "dk": lamp.dk}
    return {
        "Tsl": [p.tsl for p in world.products.values()],
        "BusinessAttributes": [
            views.business_attributes(world, device, None, None) for device in (lamp, station)
        ] + [views.business_attributes(world, lamp, ["2"], ["switch"])],
        "ControlResult": [control.batch_control(world, owner, command)],
        "BindingCheck": [devices.info_by_binding(world, owner, {"pk": "p11u5w"})],
        "AuthKey": [devices.auth_key(world, owner, by_key)],
        "BindingInfo": [devices.binding_info(world, owner, by_key)],
        "OnlineStatus": [devices.online_status(world, owner, by_key)],
        "ProductPage": [views.page_info(devices.product_list(world), 1, 10), views.page_info([], 1, 10)],
    }


def _history_samples(world, owner) -> dict[str, list]:
    """Rendered examples of the history endpoints' `data`, from a lamp that reported values
    over two days, raised an event and moved."""
    from ..cloud import history, things, views

    lamp = world.devices[("p11u5w", "LAMP00000001")]
    now = world.now()
    for hours in range(48, 0, -6):
        things.report(world, lamp, {"brightness": hours, "switch": hours % 12 == 0}, now - hours * 3_600_000)
    things.raise_event(world, lamp, "overheat", {"lamp_stats": {"power_w": 7.5, "led_temp": 96}}, now - 60_000)
    things.update_module(world, lamp, None, {"lat": 31.23, "lng": 121.47, "locateType": "GP"})
    window = {"pk": lamp.pk, "dk": lamp.dk, "startTimestamp": 0, "endTimestamp": now, "page": 1, "pageSize": 10}
    chart = {**window, "attributeCode": ["brightness", "switch"], "countType": 3, "timeGranularity": 2}
    events = {"productKey": lamp.pk, "deviceKey": lamp.dk, "codeList": ["overheat"], "startTime": 0,
              "endTime": now, "page": 1, "pageSize": 10, "timezone": "+08:00"}  # fmt: skip
    return {
        "PropertyDataPage": [
            _every_value(world, owner, device, window)
            for device in world.devices.values()
            if device.owner_uid == owner.uid and device.pk in world.products
        ]
        + [views.page_info([], 1, 10)],
        "PropertyCharts": [history.property_chart_list(world, owner, chart)],
        "PropertyStatistics": [
            history.property_statistics(
                world, owner, {**chart, "attributeCode": ["brightness"], "timeGranularities": ["1", "2", "3", "4"]}
            )
        ],
        "EventPage": [history.device_event_list(world, owner, events), views.page_info([], 1, 10)],
        "LocationHistory": [history.location_history(world, owner, window)],
    }


def _every_value(world, owner, device, window: dict) -> dict:
    """A page of every property of `device`: one sample of each data type's native value."""
    from ..cloud import history

    codes = list(world.products[device.pk].properties)
    params = {**window, "pk": device.pk, "dk": device.dk, "attributeCode": codes, "pageSize": len(codes) + 10}
    return history.property_data_list(world, owner, params)


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


def _data_schema(kind: str) -> dict:
    if kind == "string":
        return {"type": "string"}
    if kind == "null":
        return {}
    return {"$ref": f"#/components/schemas/{kind}"}


def _codes_table(codes: tuple[int, ...]) -> str:

    rows = "\n".join(f"| {c} | {_msg(c) or '(empty)'} |" for c in codes)
    return "Business codes (always HTTP 200, in the envelope):\n\n| code | msg |\n| --- | --- |\n" + rows


@functools.cache
def quectel_document() -> dict:
    """OpenAPI 3.1 of the simulated endpoints, from the request schemas and rendered samples."""
    from ..cloud.errors import ENDPOINT_CODES
    from . import accounts, binding, devices, history, messages, registration, sharing, things  # noqa: F401
    from .dispatch import REGISTRY

    spec = _spec(
        "Quectel / Acceleronix end-user API (simulated)",
        "The device-sharing endpoints the simulator serves. Parameters are read from the query string, "
        "a form body or a JSON body; every answer is the envelope below.",
        _param_fields,
        servers=[{"url": "/"}],
    )
    spec.plugins[0].converter.add_parameter_attribute_function(_parameter_example)  # type: ignore[union-attr]
    spec.components.security_scheme("token", {"type": "apiKey", "in": "header", "name": "Authorization"})
    samples = _samples()
    for kind, values in samples.items():
        spec.components.schema(kind, component=infer(values))
    for status, text in TRANSPORT_ERRORS.items():
        spec.components.response(f"E{status}", {"description": text, "content": _json(_envelope((status,), {}))})
    for doc in REGISTRY:
        codes = ENDPOINT_CODES[doc.name]
        example = {"code": 200, "msg": "", "data": _data_example(doc.data, samples), "extMsg": None}
        ok = {
            "description": "the envelope; code 200 is success",
            "content": {"application/json": {"schema": _envelope(codes, _data_schema(doc.data)), "example": example}},
        }
        operation = {
            "operationId": doc.name,
            "summary": doc.summary,
            "description": _codes_table(codes),
            "tags": [doc.path.split("/")[2]],
            "parameters": [{"in": "query", "schema": doc.schema}] if doc.schema and doc.body == "query" else [],
            "responses": {
                "200": ok,
                **{str(s): {"$ref": f"#/components/responses/E{s}"} for s in TRANSPORT_ERRORS},
            },
        }
        if doc.schema and doc.body == "json":
            operation["requestBody"] = {"required": True, "content": _json(doc.schema)}
        if doc.auth:
            operation["security"] = [{"token": []}]
        spec.path(path=doc.path, operations={doc.method.lower(): operation})
    return spec.to_dict()


def _data_example(kind: str, samples: dict[str, list]):
    if kind == "string":
        return "share_dv_C0123456789abcdef0123456789abcdef0123"
    return samples[kind][0] if kind in samples else None


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}
