"""The endpoint declarations: every route, document and helper derives from them."""

from __future__ import annotations

from conftest import app_with

from mock_server.api.declare import AUTH_CODES, paths, registry
from mock_server.api.openapi import quectel_document


def test_every_declared_endpoint_is_routed_once_and_nothing_else_is_api():
    app = app_with()
    routed = {(rule.rule, m) for rule in app.url_map.iter_rules() for m in rule.methods - {"HEAD", "OPTIONS"}}
    declared = {(ep.path, ep.method) for ep in registry()}
    assert declared <= routed
    api_routes = {r for r in routed if r[0].startswith("/v2/")}
    assert api_routes == declared


def test_the_document_lists_each_declared_endpoint_with_its_codes():
    doc = quectel_document()
    for ep in registry():
        operation = doc["paths"][ep.path][ep.method.lower()]
        codes = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["code"]["enum"]
        assert codes == list(ep.codes)
        assert 200 in codes
        assert set(AUTH_CODES) <= set(codes) or not ep.auth


def test_helpers_find_paths_by_name_and_names_are_unique():
    found = paths()
    assert found["deviceEventList"] == "/v2/quecdatastorage/enduserapi/v2/deviceEventList"
    assert found["userInfo"] == "/v2/enduser/enduserapi/userInfo"
    assert len(found) == len(registry())
