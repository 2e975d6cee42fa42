"""OpenAPI documents derived from the marshmallow schemas that parse the requests."""

from __future__ import annotations

import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .. import __version__
from ..domain import scenario_schema as ss


def _plugin() -> MarshmallowPlugin:
    plugin = MarshmallowPlugin()
    return plugin


def _spec(title: str, description: str) -> tuple[APISpec, MarshmallowPlugin]:
    plugin = _plugin()
    spec = APISpec(title, __version__, "3.1.0", plugins=[plugin], info={"description": description})
    converter = plugin.converter
    converter.add_attribute_function(_custom_fields)  # type: ignore[union-attr]
    return spec, plugin


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
    return {}


def _scenario_components(spec: APISpec) -> None:
    spec.components.schema("Delay", schema=ss.DelaySpec)
    spec.components.schema("Rule", schema=ss.RuleSpec)
    spec.components.schema("Scenario", schema=ss.ScenarioSpec)


@functools.cache
def scenario_json_schema() -> dict:
    """The scenario file format as JSON Schema (2020-12), for editors."""
    spec, _ = _spec("Scenario", "")
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
SESSION_PARAMS = [
    {"name": "X-Mock-Session", "in": "header", "schema": {"type": "string"}, "description": "the world to act on"},
]


@functools.cache
def control_document() -> dict:
    from .control import ClockBody, ResetBody, ScenarioBody, TokenBody

    spec, _ = _spec(
        "Quectel sharing simulator: control API",
        "Drive the simulator: worlds, scenarios, the clock, rules and the journal. Every path also "
        "works under /s/{session}/ and honours X-Mock-Session.",
    )
    _scenario_components(spec)
    for name, schema in (("ResetBody", ResetBody), ("ScenarioBody", ScenarioBody), ("ClockBody", ClockBody)):
        spec.components.schema(name, schema=schema)
    spec.components.schema("TokenBody", schema=TokenBody)
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
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {**_ok("deleted"), "404": {"description": "no such rule"}},
            }
        },
        "/_mock/journal": {
            "get": {
                "summary": "Requests this world received",
                "parameters": [
                    {"name": "path", "in": "query", "schema": {"type": "string"}},
                    {"name": "code", "in": "query", "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": _ok("total and entries"),
            },
            "delete": {"summary": "Empty the journal", "responses": _ok("deleted")},
        },
        "/_mock/tokens": {
            "post": {
                "summary": "A fresh token pair for a user, without logging in",
                "requestBody": _json_body("TokenBody"),
                "responses": {"201": {"description": "the login token object"}, "404": {"description": "no user"}},
            }
        },
        "/_mock/worlds": {"get": {"summary": "Every world held", "responses": _ok("names")}},
        "/_mock/world": {"delete": {"summary": "Forget this world", "responses": _ok("dropped")}},
        "/_mock/openapi.json": {"get": {"summary": "This document", "responses": _ok("OpenAPI 3.1")}},
    }
    for path, operations in ops.items():
        for operation in operations.values():
            operation.setdefault("parameters", []).extend(SESSION_PARAMS)
        spec.path(path=path, operations=operations)
    return spec.to_dict()
