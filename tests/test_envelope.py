"""The wire conventions: envelope, statuses, parameter sources, Authorization handling."""

import json

import pytest
from helpers import FAR, LAMP, OWNER, RECIPIENT


def test_success_envelope_has_all_four_fields(api):
    body = api.get("userInfo", OWNER)
    assert api.last.status_code == 200
    assert list(body) == ["code", "msg", "data", "extMsg"]
    assert body["code"] == 200 and body["msg"] == "" and body["extMsg"] is None


def test_business_error_is_http_200_with_documented_message(api):
    body = api.post("shareInfo", OWNER, dk="x", acceptingExpireAt=FAR)
    assert api.last.status_code == 200
    assert body == {"code": 5066, "msg": "Please enter Product Key", "data": None, "extMsg": None}


def test_void_success_has_null_data(api):
    code = api.share()
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)["data"] is None


def test_unknown_path_is_404_envelope(api):
    body = api.get("/v2/binding/enduserapi/noSuchThing", OWNER)
    assert api.last.status_code == 404
    assert body["code"] == 404 and body["data"] is None


def test_wrong_method_is_405_envelope(api):
    body = api.get("shareInfo", OWNER)
    assert api.last.status_code == 405
    assert body["code"] == 405 and "POST" in api.last.headers["Allow"]


@pytest.mark.parametrize("via", ["query", "form", "json"])
def test_each_parameter_source_works(api, via):
    body = api.call("POST", "shareInfo", OWNER, via=via, acceptingExpireAt=FAR, **LAMP)
    assert body["code"] == 200 and body["data"].startswith("share_dv_C")


def test_query_string_wins_over_form_body(api):
    resp = api.client.post(
        "/v2/binding/enduserapi/shareInfo?pk=p11u5w&dk=LAMP00000001",
        data={"pk": "nope", "dk": "nope", "acceptingExpireAt": str(FAR)},
        headers={"Authorization": OWNER},
    )
    assert resp.get_json()["code"] == 200


def test_form_body_wins_over_json_body_is_moot_but_json_fills_gaps(api):
    resp = api.client.post(
        "/v2/binding/enduserapi/shareInfo?pk=p11u5w",
        json={"dk": "LAMP00000001", "acceptingExpireAt": FAR, "pk": "ignored"},
        headers={"Authorization": OWNER},
    )
    assert resp.get_json()["code"] == 200


def test_names_are_case_sensitive(api):
    assert api.post("shareInfo", OWNER, PK="p11u5w", dk="LAMP00000001", acceptingExpireAt=FAR)["code"] == 5066


def test_non_json_body_is_ignored_not_a_500(api):
    resp = api.client.post(
        "/v2/binding/enduserapi/shareInfo",
        data=b"{not json",
        headers={"Authorization": OWNER, "Content-Type": "application/json"},
    )
    assert resp.status_code == 200 and resp.get_json()["code"] == 5066


def test_json_array_body_is_ignored(api):
    resp = api.client.post("/v2/binding/enduserapi/shareInfo", json=[1, 2], headers={"Authorization": OWNER})
    assert resp.get_json()["code"] == 5066


def test_object_where_a_string_belongs_gets_the_field_code(api):
    body = api.call("POST", "shareInfo", OWNER, via="json", pk={"a": 1}, dk="d", acceptingExpireAt=FAR)
    assert body["code"] == 5066


def test_huge_body_gets_413_envelope(api):
    resp = api.client.post(
        "/v2/binding/enduserapi/shareInfo",
        data={"pk": "x" * (2 * 1024 * 1024)},
        headers={"Authorization": OWNER},
    )
    assert resp.status_code == 413 and resp.get_json()["code"] == 413


def test_huge_value_is_an_ordinary_business_error(api):
    body = api.post("shareInfo", OWNER, pk="p" * 100_000, dk="d", acceptingExpireAt=FAR)
    assert body["code"] == 5135


def test_unexpected_error_is_a_500_envelope_without_trace(api, monkeypatch):
    from mock_server.cloud import shares

    def boom(*args):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(shares, "share_info", boom)
    resp = api.client.post(
        "/v2/binding/enduserapi/shareInfo",
        query_string={**LAMP, "acceptingExpireAt": FAR},
        headers={"Authorization": OWNER},
    )
    assert resp.status_code == 500
    assert resp.get_json()["code"] == 500
    assert b"secret internals" not in resp.data and b"Traceback" not in resp.data


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer "])
def test_missing_or_blank_token_is_5106(api, header):
    assert api.get("userInfo", header)["code"] == 5106


@pytest.mark.parametrize("header", ["nope", "Bearer nope", "Bearer Bearer owner-token"])
def test_unknown_token_is_5032(api, header):
    body = api.get("userInfo", header)
    assert body == {"code": 5032, "msg": "Token validation failed", "data": None, "extMsg": None}


@pytest.mark.parametrize("header", ["owner-token", "Bearer owner-token", "bearer owner-token"])
def test_token_with_or_without_bearer(api, header):
    assert api.get("userInfo", header)["data"]["uid"] == "C1001"


def test_token_check_comes_before_parameters(api):
    assert api.post("shareInfo", "nope")["code"] == 5032
    assert api.post("shareInfo")["code"] == 5106


def test_body_is_compact_json(api):
    resp = api.client.get("/v2/enduser/enduserapi/userInfo", headers={"Authorization": RECIPIENT})
    assert resp.mimetype == "application/json"
    assert json.loads(resp.data)["data"]["email"] == "recipient@example.com"
