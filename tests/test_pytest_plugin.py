"""The pytest plugin, exercised the way users use it: in an inner pytest run (pytester)."""

import pytest

pytest_plugins = ["pytester"]

EXAMPLE = """
import pytest

LAMP = {"pk": "p11u5w", "dk": "LAMP00000001"}


def test_share_and_accept(quectel_mock):
    owner, rui = "owner-token", quectel_mock.token("C1002")
    code = quectel_mock.call("POST", "shareInfo", owner, **LAMP, acceptingExpireAt=4_000_000_000_000)["data"]
    assert quectel_mock.call("POST", "shareDevice", rui, shareCode=code)["code"] == 200
    devices = quectel_mock.call("GET", "userDeviceList", rui)["data"]["list"]
    assert [d["deviceKey"] for d in devices if d["deviceType"] == 2] == ["LAMP00000001"]
    quectel_mock.assert_called("shareDevice", times=1, code=200)


def test_each_test_has_a_fresh_world(quectel_mock):
    assert quectel_mock.state()["counts"]["shares"] == 0
    assert quectel_mock.journal() == []


def test_rules_and_clock(quectel_mock):
    quectel_mock.rule(match={"endpoint": "shareDevice", "nth": 2}, action={"code": 5151})
    quectel_mock.clock(set="2030-01-01T00:00:00Z", freeze=True)
    quectel_mock.advance("2h")
    assert quectel_mock.clock()["iso"] == "2030-01-01 02:00:00"
    assert quectel_mock.call("POST", "shareDevice", "recipient-token", shareCode="x")["code"] == 5137
    assert quectel_mock.call("POST", "shareDevice", "recipient-token", shareCode="x")["code"] == 5151


@pytest.mark.quectel_scenario("cover-mark")
def test_marker_picks_the_scenario(quectel_mock):
    assert quectel_mock.state()["counts"]["shares"] == 5


def test_assert_called_explains_a_miss(quectel_mock):
    quectel_mock.call("GET", "userInfo", "owner-token")
    with pytest.raises(AssertionError, match="expected shareInfo called at least once, got 0"):
        quectel_mock.assert_called("shareInfo")


def test_base_url_reaches_the_world(quectel_mock):
    import json, urllib.request
    req = urllib.request.Request(quectel_mock.base_url + "/v2/enduser/enduserapi/userInfo",
                                 headers={"Authorization": "owner-token"})
    assert json.load(urllib.request.urlopen(req))["data"]["uid"] == "C1001"


def test_mqtt_helper_collects_the_reports_of_a_shared_lamp(quectel_mock):
    assert quectel_mock.call("POST", "shareByUid", "owner-token", **LAMP, shareUid="C1002")["code"] == 200
    rui = quectel_mock.mqtt("recipient-token", quectel_mock.topic(**LAMP, suffix="bus_"))
    quectel_mock.call("POST", "batchControlDevice", "owner-token")  # code 5074: nothing reported
    quectel_mock.control("POST", "/devices/p11u5w/LAMP00000001", {"values": {"brightness": 21}})
    [report] = rui.wait_for("bus_")
    assert report.json["data"]["kv"] == {"brightness": 21}
    assert [e["endpoint"] for e in quectel_mock.journal(kind="mqtt")][:2] == ["mqtt.connect", "mqtt.subscribe"]
    assert quectel_mock.mqtt("no-such-token").connack == 5
"""


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_plugin_example_suite(pytester, mode):
    pytester.makepyfile(test_example=EXAMPLE)
    result = pytester.runpytest_subprocess(f"--quectel-mock-mode={mode}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=7)


PROXIED = """
def test_helpers_reach_the_simulator(quectel_mock):
    assert quectel_mock.call("GET", "userInfo", "owner-token")["data"]["uid"] == "C1001"
    assert quectel_mock.state()["counts"]["shares"] == 0
"""


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_the_helpers_go_straight_to_the_simulator_whatever_proxy_the_environment_names(pytester, monkeypatch, mode):
    # A CI runner's proxy variables: helpers that honoured them sent the calls to the proxy.
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing answers
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_proxied=PROXIED)
    result = pytester.runpytest_subprocess(f"--quectel-mock-mode={mode}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_readme_example_runs(pytester):
    """The README's example test file, as a user would paste it."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = re.search(r"<!-- pytest example -->\s*```python\n(.*?)```", readme, re.S).group(1)
    pytester.makepyfile(test_readme_example=example)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_unknown_scenario_is_a_usage_error(pytester):
    pytester.makepyfile(
        test_bad="""
import pytest

@pytest.mark.quectel_scenario("no-such-scenario")
def test_x(quectel_mock):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*cannot load scenario 'no-such-scenario'*"])


def test_a_scenario_file_of_the_test_suite_works_in_both_modes(pytester):
    """A path in the marker is read by the plugin and sent inline: the server itself reads
    no path a request names."""
    pytester.makefile(".yaml", own_world="extends: default\ndevices:\n  - {pk: p1, dk: MINE01, owner: C1001}\n")
    pytester.makepyfile(
        test_own="""
import pytest

@pytest.mark.quectel_scenario("own_world.yaml")
def test_x(quectel_mock):
    dks = [d["dk"] for d in quectel_mock.state()["devices"]]
    assert "MINE01" in dks
"""
    )
    for mode in ("thread", "process"):
        pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--quectel-mock-mode={mode}").assert_outcomes(passed=1)


DEVICES_EXAMPLE = """
import json

import pytest

LAMP = {"pk": "p11u5w", "dk": "LAMP00000001"}


def test_set_property_and_device_state(quectel_mock):
    state = quectel_mock.set_property("p11u5w", "LAMP00000001", brightness=42, switch=True)
    assert state["values"]["brightness"] == 42 and state["values"]["switch"] is True
    assert quectel_mock.device_state("p11u5w", "LAMP00000001")["values"]["brightness"] == 42
    attrs = quectel_mock.call("GET", "getDeviceBusinessAttributes", "owner-token", **LAMP, type="2", codeList="brightness")
    assert [(a["resourceCode"], a["resourceValce"]) for a in attrs["data"]["customizeTslInfo"]] == [("brightness", "42")]


def test_set_property_refuses_a_value_outside_the_specs(quectel_mock):
    with pytest.raises(AssertionError, match="brightness: 150 is above max 100"):
        quectel_mock.set_property("p11u5w", "LAMP00000001", brightness=150)


def test_set_online_and_control_with_a_json_body(quectel_mock):
    assert quectel_mock.set_online("p11u5w", "LAMP00000001", False)["online"] is False
    body = {"type": 2, "data": json.dumps([{"switch": True}]),
            "deviceList": [{"productKey": "p11u5w", "deviceKey": "LAMP00000001"}]}
    result = quectel_mock.call("POST", "batchControlDevice", "owner-token", json=body)
    assert result["data"]["failureList"][0]["msg"] == "Device offline"
    quectel_mock.set_online("p11u5w", "LAMP00000001", True)
    result = quectel_mock.call("POST", "batchControlDevice", "owner-token", json=body)
    assert result["data"]["failureList"] == [] and len(result["data"]["successList"]) == 1
    assert quectel_mock.device_state("p11u5w", "LAMP00000001")["values"]["switch"] is True


def test_call_finds_every_registered_endpoint(quectel_mock):
    products = quectel_mock.call("GET", "getProductList", "owner-token")     # under /v2/enduser/
    assert products["code"] == 200 and products["data"]["total"] >= 4
    assert quectel_mock.call("GET", "userInfo", "owner-token")["data"]["uid"] == "C1001"
    quectel_mock.assert_called("/v2/enduser/enduserapi/getProductList", times=1)
"""


def test_device_helpers(pytester):
    pytester.makepyfile(test_devices=DEVICES_EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


WORLDS_GO = """
import json, urllib.request

SEEN = []


def _worlds(mock):
    with urllib.request.urlopen(mock.server_url + "/_mock/worlds") as resp:
        return [w["name"] for w in json.loads(resp.read())]


def test_first(quectel_mock):
    SEEN.append(quectel_mock.world)
    assert quectel_mock.world in _worlds(quectel_mock)


def test_second(quectel_mock):
    assert quectel_mock.world in _worlds(quectel_mock) and SEEN[0] not in _worlds(quectel_mock)
"""


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_each_world_is_made_for_its_test_and_dropped_after_it(pytester, mode):
    """In thread mode the plugin makes and drops worlds by calling the simulator it runs,
    in process mode over HTTP: the server sees the same either way."""
    pytester.makepyfile(test_worlds=WORLDS_GO)
    result = pytester.runpytest_subprocess(f"--quectel-mock-mode={mode}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_session_without_realtime_loads_neither_broker_nor_jwt(pytester):
    """What the first answer does not need is not loaded for it: the broker (amqtt) comes
    with the first realtime client, jwt and cryptography with the first login."""
    pytester.makepyfile(
        test_lazy="""
import sys

def test_rest_only(quectel_mock):
    assert quectel_mock.call("GET", "userInfo", "owner-token")["code"] == 200
    assert [m for m in ("amqtt", "jwt", "cryptography") if m in sys.modules] == []

def test_then_realtime(quectel_mock):
    client = quectel_mock.mqtt(quectel_mock.token("C1001"))
    assert client.connack == 0 and "amqtt" in sys.modules and "jwt" in sys.modules
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


KEPT_ALIVE = """
import http.client, urllib.parse


def test_one_connection_serves_call_after_call(quectel_mock):
    where = urllib.parse.urlsplit(quectel_mock.base_url)
    conn = http.client.HTTPConnection(where.netloc, timeout=10)
    sockets = []
    for _ in range(3):
        conn.request("GET", where.path + "/v2/enduser/enduserapi/userInfo", headers={"Authorization": "owner-token"})
        answer = conn.getresponse()
        assert answer.status == 200 and answer.read() and answer.getheader("Connection") != "close"
        sockets.append(conn.sock)
    assert sockets[0] is not None and sockets == [sockets[0]] * 3  # never reopened
    conn.close()


def test_the_realtime_channel_shares_the_http_port(quectel_mock):
    assert urllib.parse.urlsplit(quectel_mock.realtime_url).port == urllib.parse.urlsplit(quectel_mock.base_url).port
    assert quectel_mock.mqtt(quectel_mock.token("C1001")).connack == 0
"""


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_the_simulator_keeps_connections_open_in_both_modes(pytester, mode):
    """A test's calls (the helpers' and its app's) reuse one connection: a connection and a
    server thread per call, as a development server makes them, were most of a call's cost."""
    pytester.makepyfile(test_kept=KEPT_ALIVE)
    result = pytester.runpytest_subprocess(f"--quectel-mock-mode={mode}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


OWN_SCENARIO = """
import pytest


def test_the_default_world_comes_from_the_scenario_the_server_loaded(quectel_mock):
    sim = quectel_mock.server_url.simulator
    assert sim.worlds[quectel_mock.world].scenario is sim.scenario


@pytest.mark.quectel_scenario("cover-mark")
def test_another_scenario_is_loaded_by_its_name(quectel_mock):
    sim = quectel_mock.server_url.simulator
    assert sim.worlds[quectel_mock.world].scenario is sim.scenario_named("cover-mark") is not sim.scenario
"""


def test_thread_mode_builds_default_worlds_from_the_servers_own_scenario(pytester):
    """The default scenario is read once a session (the server's), not a second time by the
    first test; the worlds built from it equal those of a fresh load (test_fresh_worlds)."""
    pytester.makepyfile(test_own=OWN_SCENARIO)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
