"""Every scenario in the library loads, and does what its description promises."""

import pytest
from helpers import LAMP, OWNER, RECIPIENT, SECOND, Api, app_with, codes_of

from mock_server.api.faults import DroppedOnPurpose
from mock_server.harness.scenario import Scenario, library

MINUTE = 60_000
Z34 = "share_dv_C" + "0" * 34


def load(name: str) -> Api:
    return Api(app_with(name).test_client())


def world(api: Api):
    return api.client.application.extensions["mock_server"].world()


@pytest.mark.parametrize("name", library())
def test_each_scenario_loads_and_describes_itself(name):
    scenario = Scenario.load(name)
    assert scenario.name == name
    assert len(scenario.description) > 60
    world = scenario.build()
    assert world.users or (name == "products" and len(world.products) >= 3)


def test_the_library_has_what_testers_need():
    assert {
        "default", "code-5134", "code-5138", "code-5047", "code-5050", "code-6040", "expiring-shares",
        "cover-mark", "token-expiry", "flaky-network", "slow-network",
    } <= set(library())  # fmt: skip


def test_code_5134():
    api = load("code-5134")
    assert api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000_000)["code"] == 5134
    assert api.post("shareByUid", OWNER, **LAMP, shareUid="C1002")["code"] == 200


def test_code_5138():
    api = load("code-5138")
    assert api.accept("share_dv_C0000000000000000000000000000000005138")["code"] == 5138


def test_code_5047():
    api = load("code-5047")
    assert api.get("userDeviceList", RECIPIENT)["code"] == 5047
    assert api.get("deviceInfo", RECIPIENT, **LAMP)["code"] == 5047
    assert api.get("userDeviceList", OWNER)["code"] == 200


def test_code_5050():
    api = load("code-5050")
    assert api.delete("unbundlingDeviceDk", OWNER, **LAMP)["code"] == 5050
    assert api.get("deviceInfo", OWNER, **LAMP)["code"] == 200


def test_code_6040():
    api = load("code-6040")
    path = "/v2/binding/enduserapi/bindDeviceSn"
    assert api.post(path, RECIPIENT, pk="p11u5w", sn="SN-LAMP-0001")["code"] == 6040
    body = api.post(path, SECOND, pk="p11u5w", sn="SN-LAMP-0001")
    assert body["code"] == 200 and set(body["data"]) == {"pk", "dk", "authKey", "moduleType"}
    assert [d["deviceType"] for d in api.devices(RECIPIENT) if d["deviceKey"] == "LAMP00000001"] == [2]


def test_expiring_shares():
    api = load("expiring-shares")
    clock = world(api).clock
    clock.freeze()
    shared = lambda: sorted(d["deviceKey"] for d in api.devices() if d["deviceType"] == 2)  # noqa: E731
    assert shared() == ["LAMP00000001", "PLUG00000001"]
    clock.advance(2 * MINUTE)
    assert api.accept("share_dv_C00000000000000000000000000000000000e1")["code"] == 5137
    assert shared() == ["PLUG00000001"]
    lamp = "share_dv_C00000000000000000000000000000000000e2"
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode=lamp)["code"] == 5142
    clock.advance(8 * MINUTE)
    assert shared() == []


@pytest.mark.parametrize(
    "suffix, code, held_after, listed",
    [("c1", 200, (2, 5), "c1"), ("c2", 200, (1, None), "c0"), ("3a", 200, (2, 5), "3a"), ("3e", 5151, (1, None), "c0")],
)
def test_cover_mark(suffix, code, held_after, listed):
    api = load("cover-mark")
    new = Z34 + suffix
    assert api.accept(new)["code"] == code
    assert codes_of(world(api), Z34 + "c0") == held_after
    assert [d["shareCode"] for d in api.devices() if d["deviceType"] == 2] == [Z34 + listed]


def test_token_expiry():
    api = load("token-expiry")
    clock = world(api).clock
    clock.freeze()
    assert api.get("userInfo", "stale-token")["code"] == 5032
    assert [api.get("userInfo", RECIPIENT)["code"] for _ in range(4)] == [200, 200, 5032, 5032]
    assert api.get("userInfo", OWNER)["code"] == 200
    clock.advance(2 * MINUTE)
    assert api.get("userInfo", OWNER)["code"] == 5032
    tokens = api.client.post("/_mock/tokens", json={"uid": "C1003"}).get_json()
    assert tokens["accessToken"]["expirationTime"] - clock.now_ms() // 1000 == 60


def _fetch(api: Api, method: str, path: str, **params):
    try:
        resp = api.client.open(path, method=method, query_string=params, headers={"Authorization": OWNER})
        return resp.status_code, resp.get_data()
    except DroppedOnPurpose:
        return "drop", None


def _user_info_outcomes(count: int) -> list:
    api = load("flaky-network")
    return [_fetch(api, "GET", "/v2/enduser/enduserapi/userInfo")[0] for _ in range(count)]


def test_flaky_network():
    outcomes = _user_info_outcomes(40)
    assert outcomes.count("drop") == 10 and outcomes[3] == outcomes[7] == "drop"
    assert 503 in outcomes and outcomes.count(200) > 20
    assert outcomes == _user_info_outcomes(40)  # the same failures for the same seed


def test_flaky_network_second_share_info_is_malformed():
    api = load("flaky-network")
    params = {**LAMP, "acceptingExpireAt": 4_000_000_000_000}
    _fetch(api, "POST", "/v2/binding/enduserapi/shareInfo", **params)
    status, body = _fetch(api, "POST", "/v2/binding/enduserapi/shareInfo", **params)
    assert status == 200 and body == b'{"code":200,"msg":"","data":{"shareCode":'


def test_slow_network_rules_delay_api_calls_only():
    scenario = Scenario.load("slow-network")
    rules = {r["id"]: r for r in scenario.spec["rules"]}
    assert rules["slow-share-info"]["action"]["delay"] == "2s"
    api = load("slow-network")
    w = world(api)
    w.rules.rules[1].spec["action"]["delay"] = "1ms"  # keep the suite fast: the matching is what is tested here
    api.get("userInfo", OWNER)
    api.client.get("/_mock/health")
    fired = {r.id: r.fired for r in w.rules.rules}
    assert fired == {"slow-share-info": 0, "slow-everything": 1}
