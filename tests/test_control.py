"""The control API under /_mock/."""

import re
from urllib.parse import urljoin

import pytest
from conftest import LAMP, OWNER, RECIPIENT, Api, app_with


@pytest.fixture
def ctl(app):
    return app.test_client()


def test_health(ctl):
    body = ctl.get("/_mock/health").get_json()
    assert body["status"] == "ok" and body["scenario"] == "default" and "default" in body["worlds"]


def test_scenarios_lists_the_library_with_descriptions(ctl):
    items = {i["name"]: i for i in ctl.get("/_mock/scenarios").get_json()}
    assert {"default", "cover-mark", "flaky-network", "slow-network", "token-expiry"} <= set(items)
    assert all(i.get("description") for i in items.values())


def test_reset_rebuilds_the_world(api, ctl, world):
    api.share()
    assert ctl.post("/_mock/reset").get_json() == {"world": "default", "scenario": "default"}
    assert ctl.get("/_mock/state").get_json()["counts"]["shares"] == 0


def test_reset_to_another_scenario(ctl):
    assert ctl.post("/_mock/reset", json={"scenario": "cover-mark"}).get_json()["scenario"] == "cover-mark"
    assert ctl.get("/_mock/state").get_json()["counts"]["shares"] == 5
    assert ctl.post("/_mock/reset").get_json()["scenario"] == "cover-mark"  # the world keeps its scenario


def test_reset_to_unknown_scenario_is_404(ctl):
    resp = ctl.post("/_mock/reset", json={"scenario": "nope"})
    assert resp.status_code == 404 and "nope" in resp.get_json()["error"]


def test_put_scenario_by_name_and_inline(ctl):
    assert ctl.put("/_mock/scenario", json={"name": "code-5138"}).status_code == 200
    inline = {"name": "tiny", "users": [{"uid": "C7", "token": "t7"}]}
    assert ctl.put("/_mock/scenario", json={"scenario": inline}).get_json()["scenario"] == "tiny"
    state = ctl.get("/_mock/state").get_json()
    assert [u["uid"] for u in state["users"]] == ["C7"]


def test_bad_inline_scenario_is_400_with_problems_and_changes_nothing(api, ctl):
    code = api.share()
    resp = ctl.put("/_mock/scenario", json={"scenario": {"rules": [{"action": {"code": "x"}}], "bogus": 1}})
    assert resp.status_code == 400
    assert resp.get_json()["problems"] == [
        "inline: rules[0].action.code: must be an integer",
        "inline: bogus: unknown field",
    ]
    assert code in {s["code"] for s in ctl.get("/_mock/state").get_json()["shares"]}


def test_put_scenario_needs_exactly_one_of_name_or_scenario(ctl):
    assert ctl.put("/_mock/scenario", json={}).status_code == 400
    assert ctl.put("/_mock/scenario", json={"name": "default", "scenario": {}}).status_code == 400


def test_body_must_be_json(ctl):
    resp = ctl.post("/_mock/clock", data="advance=2h", content_type="text/plain")
    assert resp.status_code == 400 and resp.get_json()["error"] == "the body must be JSON"


def test_state_shows_shares_with_states_and_causes(api, ctl):
    code = api.share()
    api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)
    state = ctl.get("/_mock/state").get_json()
    share = next(s for s in state["shares"] if s["code"] == code)
    assert share["state"] == "ended" and share["failureCause"] == 3 and share["cause"] == "cancelled_by_owner"
    assert {"users", "devices", "tokens", "clock", "counts"} <= set(state)
    assert any(t["token"] == "owner-token" and t["live"] for t in state["tokens"])
    assert len(ctl.get("/_mock/state?limit=2").get_json()["users"]) == 2


def test_clock_get_set_advance_freeze(ctl):
    assert ctl.post("/_mock/clock", json={"set": "2030-01-01T00:00:00Z", "freeze": True}).get_json() == {
        "now": 1_893_456_000_000,
        "iso": "2030-01-01 00:00:00",
        "frozen": True,
    }
    assert ctl.post("/_mock/clock", json={"advance": "2h"}).get_json()["now"] == 1_893_463_200_000
    assert ctl.post("/_mock/clock", json={"set": "+1d"}).get_json()["iso"] == "2030-01-02 02:00:00"
    assert ctl.get("/_mock/clock").get_json()["frozen"] is True
    assert ctl.post("/_mock/clock", json={"freeze": False}).get_json()["frozen"] is False


def test_clock_errors(ctl):
    assert ctl.post("/_mock/clock", json={}).status_code == 400
    resp = ctl.post("/_mock/clock", json={"advance": "soon", "set": "never"})
    assert sorted(resp.get_json()["problems"]) == [
        "advance: must be a duration such as 90s, 10m, 2h or 30d",
        "set: must be epoch milliseconds, ISO 8601, or relative such as +10m",
    ]


def test_advancing_the_clock_expires_a_share(api, ctl):
    code = api.share(sharingExpireAt=4_100_000_000_000)
    api.accept(code)
    ctl.post("/_mock/clock", json={"set": 4_100_000_000_000})
    assert api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=code)["code"] == 5142


def test_rules_crud_and_fired_counts(api, ctl):
    rule = {"id": "slow", "match": {"endpoint": "userInfo"}, "action": {"code": 5033}, "times": 1}
    assert ctl.post("/_mock/rules", json=rule).status_code == 201
    added = ctl.post("/_mock/rules", json=[{"action": {"delay": "1ms"}}]).get_json()
    assert added[0]["id"] == "r1"
    assert api.get("userInfo", OWNER)["code"] == 5033
    listed = ctl.get("/_mock/rules").get_json()
    assert [(r["id"], r["fired"], r["exhausted"]) for r in listed] == [("slow", 1, True), ("r1", 0, False)]
    assert ctl.delete("/_mock/rules/slow").status_code == 200
    assert ctl.delete("/_mock/rules/slow").status_code == 404
    assert ctl.delete("/_mock/rules").status_code == 200
    assert ctl.get("/_mock/rules").get_json() == []


def test_bad_rules_are_refused_whole(ctl):
    resp = ctl.post("/_mock/rules", json=[{"action": {"code": 1}}, {"action": {"fault": "explode"}}])
    assert resp.status_code == 400
    assert resp.get_json()["problems"] == [
        "[1].action.fault: must be one of: drop, empty, malformed, http500, http502, http503, hang"
    ]
    assert ctl.get("/_mock/rules").get_json() == []


def test_duplicate_rule_id_is_409(ctl):
    ctl.post("/_mock/rules", json={"id": "a", "action": {"code": 1}})
    assert ctl.post("/_mock/rules", json={"id": "a", "action": {"code": 2}}).status_code == 409


def test_journal_records_and_filters(api, ctl):
    api.get("userInfo", OWNER)
    api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=4_102_444_800)  # seconds: a warning
    api.get("userInfo")
    body = ctl.get("/_mock/journal").get_json()
    assert body["total"] == 3
    first, second, third = body["entries"]
    assert first["method"] == "GET" and first["endpoint"] == "userInfo" and first["uid"] == "C1001"
    assert first["code"] == 200 and first["status"] == 200 and isinstance(first["time"], int)
    assert second["params"]["pk"] == "p11u5w"
    assert second["warnings"] == ["acceptingExpireAt=4102444800 looks like seconds, not milliseconds"]
    assert third["code"] == 5106 and third["uid"] is None
    assert [e["seq"] for e in ctl.get("/_mock/journal?code=5106").get_json()["entries"]] == [3]
    assert len(ctl.get("/_mock/journal?path=userInfo").get_json()["entries"]) == 2
    assert len(ctl.get("/_mock/journal?path=/v2/binding/enduserapi/shareInfo").get_json()["entries"]) == 1
    assert ctl.get("/_mock/journal?limit=1").get_json()["entries"][0]["seq"] == 3
    ctl.delete("/_mock/journal")
    assert ctl.get("/_mock/journal").get_json()["entries"] == []


def test_journal_names_the_rule(ctl):
    rigged = app_with({"rules": [{"id": "boom", "match": {"endpoint": "userInfo"}, "action": {"code": 5033}}]})
    api = Api(rigged.test_client())
    api.get("userInfo", OWNER)
    entry = api.client.get("/_mock/journal").get_json()["entries"][0]
    assert entry["rule"] == "boom" and entry["code"] == 5033


def test_control_calls_are_not_journaled(ctl):
    ctl.get("/_mock/health")
    assert ctl.get("/_mock/journal").get_json()["total"] == 0


def test_tokens_for_a_user(api, ctl):
    resp = ctl.post("/_mock/tokens", json={"uid": "C1002"})
    assert resp.status_code == 201
    token = resp.get_json()["accessToken"]["token"]
    assert api.get("userInfo", token)["data"]["uid"] == "C1002"
    assert ctl.post("/_mock/tokens", json={"uid": "C404"}).status_code == 404
    assert ctl.post("/_mock/tokens", json={}).get_json()["problems"] == ["uid: is required"]


def test_openapi_document(ctl):
    doc = ctl.get("/_mock/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert {"/_mock/reset", "/_mock/clock", "/_mock/rules", "/_mock/journal", "/_mock/tokens"} <= set(doc["paths"])
    rule = doc["components"]["schemas"]["Rule"]
    assert rule["required"] == ["action"] and "times" in rule["properties"]


def test_unknown_control_path_is_404(ctl):
    assert ctl.get("/_mock/nothing").status_code == 404


def test_quectel_openapi_document_lists_every_endpoint_and_its_codes(ctl):
    doc = ctl.get("/_mock/openapi/quectel.json").get_json()
    assert doc["openapi"] == "3.1.0" and len(doc["paths"]) == 58  # 30, and home mode's 28
    assert "/v2/family/enduserapi/familyMemberInviteHandle" in doc["paths"]
    share_info = doc["paths"]["/v2/binding/enduserapi/shareInfo"]["post"]
    names = [p["name"] for p in share_info["parameters"]]
    assert names == ["pk", "dk", "acceptingExpireAt", "sharingExpireAt", "coverMark", "authKey"]
    envelope = share_info["responses"]["200"]["content"]["application/json"]["schema"]
    assert 5153 in envelope["properties"]["code"]["enum"]
    assert {"code": 5360, "msg": "Cannot share unverified bound device"} in envelope["x-codes"]
    assert share_info["security"] == [{"token": []}]
    assert "deviceType" in doc["components"]["schemas"]["DeviceDetails"]["properties"]
    events = doc["paths"]["/v2/quecdatastorage/enduserapi/v2/deviceEventList"]["post"]
    body = doc["components"]["schemas"][events["requestBody"]["content"]["application/json"]["schema"]["$ref"][21:]]
    assert "epoch milliseconds" in body["properties"]["startTime"]["description"] and "startTime" in body["required"]
    assert body["properties"]["codeList"]["items"] == {"type": "string"}
    assert "eventType" in doc["components"]["schemas"]["EventPage"]["properties"]["list"]["items"]["properties"]


def test_docs_page_works_offline(ctl):
    assert ctl.get("/_mock/docs").status_code == 302
    page = ctl.get("/_mock/docs/").get_data(as_text=True)
    assert (
        "openapi/quectel.json" in page
        and "assets/swagger-ui-bundle.js" in page
        and "http" not in page.split("<body>")[1]
    )
    # The documents the page names load from where the page is (/_mock/docs/).
    for url in re.findall(r'url: "([^"]+)"', page):
        assert ctl.get(urljoin("/_mock/docs/", url)).get_json()["openapi"] == "3.1.0"
    asset = ctl.get("/_mock/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    assert ctl.get("/_mock/docs/assets/../../../setup.cfg").status_code == 404
