"""Rules: every condition, every action kind, nth, every, chance, times and rule order."""

import concurrent.futures
import time

import pytest
import requests
from helpers import LAMP, OWNER, RECIPIENT, SECOND, api_with, codes_of

from mock_server.api.faults import DroppedOnPurpose


def rules(*items):
    return api_with({"rules": list(items)})


def world_of(api):
    return api.client.application.extensions["mock_server"].world()


# ---- actions -------------------------------------------------------------------------------


def test_code_with_documented_message_by_default():
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"code": 5033}})
    assert api.get("userInfo", OWNER) == {"code": 5033, "msg": "User does not exist", "data": None, "extMsg": None}


def test_code_with_msg_data_ext_msg_and_status():
    action = {"code": 5032, "msg": "custom", "data": {"a": 1}, "extMsg": "more", "status": 401}
    api = rules({"match": {"endpoint": "userInfo"}, "action": action})
    body = api.get("userInfo", OWNER)
    assert api.last.status_code == 401
    assert body == {"code": 5032, "msg": "custom", "data": {"a": 1}, "extMsg": "more"}


def test_forced_answer_skips_normal_handling():
    api = rules({"match": {"endpoint": "shareInfo"}, "action": {"code": 200, "data": "share_dv_Cforced"}})
    assert api.post("shareInfo", OWNER)["data"] == "share_dv_Cforced"
    assert world_of(api).shares == {}


def test_fixed_delay_then_normal_answer():
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"delay": "60ms"}})
    start = time.monotonic()
    assert api.get("userInfo", OWNER)["code"] == 200
    assert time.monotonic() - start >= 0.06


def test_delay_range():
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"delay": {"min": "20ms", "max": "40ms"}}})
    start = time.monotonic()
    api.get("userInfo", OWNER)
    assert time.monotonic() - start >= 0.02


def test_fault_drop_breaks_the_body():
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"fault": "drop"}})
    with pytest.raises(DroppedOnPurpose):
        api.client.get("/v2/enduser/enduserapi/userInfo", headers={"Authorization": OWNER}).get_data()


def test_fault_hang_holds_then_drops():
    api = api_with(
        {"settings": {"hangSeconds": 1}, "rules": [{"match": {"endpoint": "userInfo"}, "action": {"fault": "hang"}}]}
    )
    start = time.monotonic()
    with pytest.raises(DroppedOnPurpose):
        api.client.get("/v2/enduser/enduserapi/userInfo").get_data()
    assert time.monotonic() - start >= 1


@pytest.mark.parametrize(
    "kind, status, body",
    [
        ("empty", 200, b""),
        ("malformed", 200, b'{"code":200,"msg":"","data":{"shareCode":'),
        ("http500", 500, b"<html><body><h1>500 Internal Server Error</h1></body></html>"),
        ("http502", 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
        ("http503", 503, b"<html><body><h1>503 Service Unavailable</h1></body></html>"),
    ],
)
def test_fault_bodies(kind, status, body):
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"fault": kind}})
    resp = api.client.get("/v2/enduser/enduserapi/userInfo")
    assert resp.status_code == status and resp.data == body


def test_effect_expire_share_then_normal_handling():
    api = rules({"match": {"endpoint": "changeShareDeviceName"}, "action": {"expireShare": True}})
    code = api.share()
    api.accept(code)
    assert api.put("changeShareDeviceName", RECIPIENT, shareCode=code, deviceName="x")["code"] == 5142
    assert codes_of(world_of(api), code) == (2, 2)


def test_effect_expire_accept_window():
    api = rules({"match": {"endpoint": "shareDevice"}, "action": {"expireAcceptWindow": True}})
    code = api.share()
    assert api.accept(code)["code"] == 5137
    assert codes_of(world_of(api), code) == (2, 1)


def test_effect_advance_clock():
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"advanceClock": "3h"}})
    world = world_of(api)
    world.clock.freeze()
    before = world.now()
    api.get("userInfo", OWNER)
    assert world.now() - before == 3 * 3_600_000


def test_effect_revoke_token():
    api = rules({"match": {"endpoint": "userInfo", "uid": "C1002"}, "action": {"revokeToken": True}})
    assert api.get("userInfo", RECIPIENT)["code"] == 5032
    assert api.get("userInfo", OWNER)["code"] == 200


def test_effect_without_a_share_leaves_a_journal_warning():
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"expireShare": True}})
    api.get("userInfo", OWNER)
    assert "shareCode" in world_of(api).journal.query()[-1]["warnings"][0]


# ---- conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "match, hit, miss",
    [
        ({"endpoint": "userInfo"}, ("GET", "userInfo", {}), ("GET", "userDeviceList", {})),
        ({"endpoint": "/v2/enduser/enduserapi/userInfo"}, ("GET", "userInfo", {}), ("GET", "deviceInfo", {})),
        ({"path": "enduser/.*Info$"}, ("GET", "userInfo", {}), ("GET", "deviceInfo", {})),
        ({"method": "DELETE"}, ("DELETE", "userInfo", {}), ("GET", "userInfo", {})),
        ({"method": ["PUT", "delete"]}, ("DELETE", "userInfo", {}), ("GET", "userInfo", {})),
        ({"params": {"pk": "p11u5w"}}, ("GET", "userInfo", {"pk": "p11u5w"}), ("GET", "userInfo", {"pk": "x"})),
        ({"params": {"n": 5}}, ("GET", "userInfo", {"n": "5"}), ("GET", "userInfo", {"n": "6"})),
        ({"params": {"pk": {"regex": "^p11"}}}, ("GET", "userInfo", {"pk": "p11x"}), ("GET", "userInfo", {"pk": "q"})),
        ({"params": {"pk": {"present": True}}}, ("GET", "userInfo", {"pk": "a"}), ("GET", "userInfo", {})),
        ({"params": {"pk": {"present": False}}}, ("GET", "userInfo", {}), ("GET", "userInfo", {"pk": "a"})),
        ({"params": {"pk": {"equals": "a"}}}, ("GET", "userInfo", {"pk": "a"}), ("GET", "userInfo", {"pk": "b"})),
    ],
)
def test_conditions(match, hit, miss):
    api = rules({"match": match, "action": {"code": 5999}})
    method, name, params = hit
    assert api.call(method, name, OWNER, **params)["code"] == 5999
    method, name, params = miss
    assert api.call(method, name, OWNER, **params)["code"] != 5999


def test_condition_on_header():
    api = rules({"match": {"headers": {"X-App": {"regex": "^ios"}}}, "action": {"code": 5999}})
    hit = api.client.get("/v2/enduser/enduserapi/userInfo", headers={"Authorization": OWNER, "x-app": "ios/1.2"})
    assert hit.get_json()["code"] == 5999
    assert api.get("userInfo", OWNER)["code"] == 200


def test_condition_on_caller_uid_and_token():
    api = rules(
        {"match": {"uid": "C1002"}, "action": {"code": 5998}},
        {"match": {"token": "Bearer owner-token"}, "action": {"code": 5997}},
    )
    assert api.get("userInfo", RECIPIENT)["code"] == 5998
    assert api.get("userInfo", OWNER)["code"] == 5997
    assert api.get("userInfo", SECOND)["code"] == 200


def test_condition_on_clock_window():
    api = rules({"match": {"window": {"from": "+1h", "until": "+2h"}}, "action": {"code": 5999}})
    world = world_of(api)
    world.clock.freeze()
    assert api.get("userInfo", OWNER)["code"] == 200
    world.clock.advance(3_600_000)
    assert api.get("userInfo", OWNER)["code"] == 5999
    world.clock.advance(3_600_000)
    assert api.get("userInfo", OWNER)["code"] == 200


def test_nth_second_accept_of_a_code_gives_5151():
    api = api_with()
    code = api.share()
    world_of(api).rules.add({"match": {"endpoint": "shareDevice", "params": {"shareCode": code}, "nth": 2},
                              "action": {"code": 5151}})  # fmt: skip
    assert api.accept(code)["code"] == 200
    assert api.accept(code)["code"] == 5151
    assert api.accept(code)["code"] == 5049


def test_every_and_times():
    api = rules(
        {"match": {"endpoint": "userInfo", "every": 2}, "action": {"code": 5999}},
        {"match": {"endpoint": "deviceInfo"}, "action": {"code": 5998}, "times": 2},
    )
    assert [api.get("userInfo", OWNER)["code"] for _ in range(4)] == [200, 5999, 200, 5999]
    assert [api.get("deviceInfo", OWNER, **LAMP)["code"] for _ in range(3)] == [5998, 5998, 200]
    exhausted = world_of(api).rules.rules[1]
    assert exhausted.fired == 2 and exhausted.exhausted


def test_chance_follows_the_seed():
    def run():
        api = rules({"match": {"endpoint": "userInfo", "chance": 0.5}, "action": {"code": 5999}})
        return [api.get("userInfo", OWNER)["code"] for _ in range(20)]

    first = run()
    assert first == run()
    assert 0 < first.count(5999) < 20


def test_first_matching_rule_wins():
    api = rules(
        {"match": {"endpoint": "userInfo", "uid": "C1001"}, "action": {"code": 5001}},
        {"match": {"endpoint": "userInfo"}, "action": {"code": 5002}},
    )
    assert api.get("userInfo", OWNER)["code"] == 5001
    assert api.get("userInfo", RECIPIENT)["code"] == 5002


def test_rules_stub_paths_the_simulator_does_not_implement():
    api = rules(
        {"match": {"endpoint": "/v2/enduser/enduserapi/userSetting"}, "action": {"code": 200, "data": {"lang": "en"}}}
    )
    assert api.get("/v2/enduser/enduserapi/userSetting")["data"] == {"lang": "en"}
    assert api.get("/v2/enduser/enduserapi/messages")["code"] == 404


def test_rule_before_token_check():
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"code": 200, "data": "no token needed"}})
    assert api.get("userInfo")["data"] == "no token needed"


def test_forced_data_with_a_huge_integer_is_still_json():
    api = rules({"match": {"endpoint": "userInfo"}, "action": {"code": 200, "data": {"n": 2**70}}})
    assert api.get("userInfo", OWNER)["data"] == {"n": 2**70}


# ---- one outcome: the same rule means the same thing wherever it fires --------------------------

EVENTS = "/v2/quecdatastorage/enduserapi/v2/deviceEventList"


@pytest.mark.parametrize("match", [{"pk": "p11u5w", "dk": "LAMP00000001"}, {"dk": "LAMP00000001"}])
def test_a_device_condition_fires_on_device_event_list_which_names_it_product_key_and_device_key(match):
    api = rules({"match": {"endpoint": "deviceEventList", **match}, "action": {"code": 5151}})
    body = {"productKey": "p11u5w", "deviceKey": "LAMP00000001", "codeList": ["overheat"]}
    assert api.post(EVENTS, OWNER, via="json", **body)["code"] == 5151
    other = {**body, "deviceKey": "PLUG00000001"}
    assert api.post(EVENTS, OWNER, via="json", **other)["code"] != 5151


def test_a_property_condition_reads_device_event_lists_code_list_as_an_array():
    api = rules({"match": {"endpoint": "deviceEventList", "property": "overheat"}, "action": {"code": 5151}})
    body = {"productKey": "p11u5w", "deviceKey": "LAMP00000001"}
    assert api.post(EVENTS, OWNER, via="json", codeList=["overheat"], **body)["code"] == 5151
    assert api.post(EVENTS, OWNER, via="json", codeList=["other"], **body)["code"] != 5151


def test_a_delayed_rules_effect_warning_survives_the_wait_on_the_real_server(server):
    rule = {"match": {"endpoint": "userInfo"}, "action": {"delay": "50ms", "expireShare": True}}
    assert server.request("POST", "/s/warned/_mock/rules", rule)[0] == 201
    resp = requests.get(server.base + "/s/warned/v2/enduser/enduserapi/userInfo", headers={"Authorization": OWNER})
    assert resp.json()["code"] == 200
    assert "shareCode" in resp.headers["X-Mock-Warning"]
    [entry] = server.request("GET", "/s/warned/_mock/journal")[1]["entries"]
    assert entry["rule"] and "shareCode" in entry["warnings"][0]


def test_a_stubbed_path_waits_through_flask_without_holding_others_and_is_journalled_once(server):
    """A path the simulator lacks goes through the Flask app, not the fast path: the same steps
    (session world, rule, wait, answer, journal, warning) in the same order."""
    stub = {"match": {"endpoint": "notSimulatedYet"}, "action": {"delay": "1500ms", "code": 5151, "revokeToken": True}}
    assert server.request("POST", "/s/stubbed/_mock/rules", stub)[0] == 201
    base = server.base + "/s/stubbed/v2/binding/enduserapi/"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        slow = pool.submit(requests.post, base + "notSimulatedYet", headers={"Authorization": "nobody"}, timeout=10)
        time.sleep(0.1)
        quick = requests.get(server.base + "/s/stubbed/v2/enduser/enduserapi/userInfo",
                             headers={"Authorization": OWNER}, timeout=10)  # fmt: skip
        assert quick.json()["code"] == 200 and time.monotonic() - started < 1.2  # not behind the delay
        answer = slow.result()
    assert time.monotonic() - started >= 1.5
    assert answer.json()["code"] == 5151 and "no token to revoke" in answer.headers["X-Mock-Warning"]
    entries = server.request("GET", "/s/stubbed/_mock/journal")[1]["entries"]
    assert [(e["endpoint"], e["code"], e["rule"]) for e in entries] == [("userInfo", 200, None), ("notSimulatedYet", 5151, "r1")]


# ---- which requests the rules look at -------------------------------------------------------


def test_a_rule_added_removed_or_cleared_takes_effect_on_a_path_already_asked_for():
    """The rules' per-path answer to "can any rule fire here?" is worked out again whenever
    the rules change: a path asked for under other rules is not left unruled afterwards."""
    api = rules({"match": {"endpoint": "deviceInfo"}, "action": {"code": 5033}})
    control = api.client
    assert api.get("userInfo", OWNER)["code"] == 200  # asked for: no rule can fire on userInfo
    added = control.post("/_mock/rules", json={"match": {"endpoint": "userInfo"}, "action": {"code": 5034}}).get_json()
    assert api.get("userInfo", OWNER)["code"] == 5034
    assert control.delete(f"/_mock/rules/{added['id']}").status_code == 200
    assert api.get("userInfo", OWNER)["code"] == 200
    control.post("/_mock/rules", json={"match": {"path": "user.nfo"}, "action": {"code": 5035}})
    assert api.get("userInfo", OWNER)["code"] == 5035
    control.delete("/_mock/rules")
    assert api.get("userInfo", OWNER)["code"] == 200


def test_a_request_no_rule_can_fire_on_gathers_nothing_for_the_rules(monkeypatch):
    from mock_server.api import steps

    gathered = []
    real = steps.incoming
    monkeypatch.setattr(steps, "incoming", lambda state: gathered.append(state.request.path) or real(state))
    api = rules({"match": {"endpoint": "deviceInfo", "method": "GET"}, "action": {"code": 5033}})
    for _ in range(3):
        assert api.get("userInfo", OWNER)["code"] == 200
    assert gathered == []
    assert api.get("deviceInfo", OWNER, pk="p11u5w", dk=LAMP)["code"] == 5033
    assert api.post("deviceInfo", OWNER, pk="p11u5w", dk=LAMP)["code"] != 5033  # the method: not for this rule
    assert gathered == ["/v2/binding/enduserapi/deviceInfo"]


def test_the_rules_answers_per_path_are_bounded():
    from mock_server.harness.rules import ROUTES_KEPT, RuleSet

    ruleset = RuleSet([{"match": {"path": "^/x/7$"}, "action": {"code": 5033}}])
    assert [p for p in (f"/x/{i}" for i in range(3 * ROUTES_KEPT)) if ruleset.may_match(None, "GET", p)] == ["/x/7"]
    assert len(ruleset._routes) <= ROUTES_KEPT
    assert ruleset.may_match(None, "GET", "/x/7") and not ruleset.may_match("deliver", "MQTT", "/x/7")
