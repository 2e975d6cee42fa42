"""Rules that force control failures: per device (pk, dk) or per property code, only the
matching devices of a batchControlDevice call land in failureList."""

from __future__ import annotations

import json

from helpers import LAMP, OWNER, api_with

PLUG = {"pk": "p11u6t", "dk": "PLUG00000001"}
STATION = {"pk": "p11u8k", "dk": "POWR00000001"}


def control(api, data: list[dict], devices=(LAMP, PLUG), token=OWNER) -> dict:
    body = {"type": 2, "data": json.dumps(data),
            "deviceList": [{"productKey": d["pk"], "deviceKey": d["dk"]} for d in devices]}  # fmt: skip
    answer = api.post("batchControlDevice", token, via="json", **body)
    assert answer["code"] == 200, answer
    return answer["data"]


def outcome(data: dict) -> tuple[list, list]:
    ok = [e["data"]["deviceKey"] for e in data["successList"]]
    failed = [(e["data"]["deviceKey"], e["msg"]) for e in data["failureList"]]
    return ok, failed


def rule_api(match: dict, action: dict | None = None, **extra):
    api = api_with({"rules": [{"match": {"endpoint": "batchControlDevice", **match},
                               "action": action or {"controlFailure": "Device busy"}, **extra}]})  # fmt: skip
    return api


def switch_of(api, device) -> bool:
    state = api.client.get(f"/_mock/devices/{device['pk']}/{device['dk']}").get_json()
    return state["values"]["switch"]


def test_a_rule_on_one_dk_fails_only_that_device():
    api = rule_api({"dk": "LAMP00000001"})
    assert switch_of(api, LAMP) is False
    assert outcome(control(api, [{"switch": True}])) == (["PLUG00000001"], [("LAMP00000001", "Device busy")])
    assert switch_of(api, LAMP) is False  # the refused write changed nothing
    assert switch_of(api, PLUG) is True


def test_a_rule_on_a_pk_fails_every_device_of_the_product():
    api = rule_api({"pk": "p11u5w"})
    lamp2 = {"pk": "p11u5w", "dk": "LAMP00000002"}  # offline, but the rule's message wins
    ok, failed = outcome(control(api, [{"switch": True}], devices=(LAMP, lamp2, PLUG)))
    assert ok == ["PLUG00000001"]
    assert failed == [("LAMP00000001", "Device busy"), ("LAMP00000002", "Device busy")]


def test_a_rule_on_a_property_fails_only_commands_touching_it():
    api = rule_api({"property": "child_lock", "pk": "p11u6t"}, {"controlFailure": "Child lock is managed by the installer"})
    assert outcome(control(api, [{"switch": True}])) == (["LAMP00000001", "PLUG00000001"], [])
    ok, failed = outcome(control(api, [{"child_lock": True}], devices=(PLUG,)))
    assert ok == [] and failed == [("PLUG00000001", "Child lock is managed by the installer")]
    journal = api.client.get("/_mock/journal").get_json()["entries"]
    assert [e["rule"] for e in journal] == [None, "r1"]


def test_a_rule_for_a_device_not_in_the_call_does_not_fire():
    api = rule_api({"dk": "POWR00000001"})
    assert outcome(control(api, [{"switch": True}])) == (["LAMP00000001", "PLUG00000001"], [])
    assert api.client.get("/_mock/rules").get_json()[0]["fired"] == 0


def test_times_bounds_the_forced_failures():
    api = rule_api({"dk": "PLUG00000001"}, times=1)
    assert outcome(control(api, [{"switch": True}]))[1] == [("PLUG00000001", "Device busy")]
    assert outcome(control(api, [{"switch": True}]))[1] == []


def test_a_match_on_dk_also_reads_query_parameters():
    api = api_with({"rules": [{"match": {"endpoint": "getDeviceBusinessAttributes", "dk": "PLUG00000001"},
                               "action": {"code": 5041}}]})  # fmt: skip
    assert api.get("getDeviceBusinessAttributes", OWNER, **PLUG)["code"] == 5041
    assert api.get("getDeviceBusinessAttributes", OWNER, **LAMP)["code"] == 200


def test_rules_added_at_run_time_and_their_checks():
    api = api_with()
    answer = api.client.post("/_mock/rules", json={"match": {"endpoint": "batchControlDevice", "dk": "LAMP00000001"},
                                                   "action": {"controlFailure": "Device busy", "code": 5041}})  # fmt: skip
    assert answer.status_code == 400
    assert "action.controlFailure: cannot be combined with code, status or fault" in answer.get_json()["problems"]
    answer = api.client.post("/_mock/rules", json={"match": {"endpoint": "batchControlDevice", "property": "switch"},
                                                   "action": {"controlFailure": "Relay stuck"}})  # fmt: skip
    assert answer.status_code == 201
    assert outcome(control(api, [{"switch": True}]))[1] == [("LAMP00000001", "Relay stuck"), ("PLUG00000001", "Relay stuck")]


def test_a_delayed_control_failure_over_real_http(server):
    """Through granian, where a delay defers the request and the rule is applied on resume."""
    server.request("POST", "/_mock/rules", {"match": {"endpoint": "batchControlDevice", "dk": "PLUG00000001"},
                                            "action": {"controlFailure": "Device busy", "delay": "300ms"}})  # fmt: skip
    body = {"type": 2, "data": json.dumps([{"switch": True}]),
            "deviceList": [{"productKey": d["pk"], "deviceKey": d["dk"]} for d in (LAMP, PLUG)]}  # fmt: skip
    status, answer = server.request("POST", "/v2/binding/enduserapi/batchControlDevice", body,
                                    headers={"Authorization": OWNER})  # fmt: skip
    assert status == 200 and outcome(answer["data"]) == (["LAMP00000001"], [("PLUG00000001", "Device busy")])
