"""The realtime channel with a real client (paho-mqtt) over a real WebSocket, against the
real server: sign-in, subscriptions, reports from REST, JSON and TTLV writes, reads, sharing
ending, the clock, rules, and bad input."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request
import uuid

import pytest
from helpers import Running, free_port

from mock_server.realtime import ttlv
from mock_server.realtime.client import RealtimeClient
from mock_server.realtime.serving import Realtime

LAMP = ("p11u5w", "LAMP00000001")
CHANNEL = "qdp11u5wLAMP00000001"
DOWN = f"q/2/d/{CHANNEL}/"
UP = f"q/1/d/{CHANNEL}/"
QUIET = 0.7  # how long "nothing arrives" is watched for


@pytest.fixture(scope="module")
def server():
    mqtt_port = free_port()
    running = Running("--mqtt-port", str(mqtt_port))
    running.mqtt_port = mqtt_port
    yield running
    running.stop()


class World:
    """One test's own world on the shared server, reached by REST and by MQTT."""

    def __init__(self, server: Running) -> None:
        self.server = server
        self.name = "rt-" + uuid.uuid4().hex[:10]
        self.clients: list[RealtimeClient] = []

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/s/{self.name}/ws/v2"

    def connect(self, token: str, **kwargs) -> RealtimeClient:
        client = RealtimeClient(self.ws_url, token, **kwargs)
        self.clients.append(client)
        return client

    def api(self, method: str, name: str, token: str, body=None, **params) -> dict:
        area = "quecdatastorage" if name == "getPropertyDataList" else "binding"
        path = f"/s/{self.name}/v2/{area}/enduserapi/{name}"
        return self.server.request(method, path, body=body, headers={"Authorization": token}, **params)[1]

    def control(self, method: str, path: str, body=None) -> dict:
        return self.server.request(method, f"/s/{self.name}/_mock{path}", body=body)[1]

    def switch(self, token: str, **kv) -> dict:
        body = {"data": json.dumps([kv]), "deviceList": [{"productKey": LAMP[0], "deviceKey": LAMP[1]}], "type": 2}
        return self.api("POST", "batchControlDevice", token, body=body)

    def values(self, token: str = "owner-token") -> dict:
        data = self.api("GET", "getDeviceBusinessAttributes", token, pk=LAMP[0], dk=LAMP[1])["data"]
        return {item["resourceCode"]: item["resourceValce"] for item in data["customizeTslInfo"]}

    def share_lamp_with_rui(self) -> None:
        answer = self.api("POST", "shareByUid", "owner-token", pk=LAMP[0], dk=LAMP[1], shareUid="C1002")
        assert answer["code"] == 200, answer

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture
def world(server):
    w = World(server)
    yield w
    w.close()


def kv_of(messages) -> list[dict]:
    return [m.json["data"]["kv"] for m in messages]


# ---- signing in --------------------------------------------------------------------------------


def test_a_token_signs_in_with_or_without_bearer_and_a_bad_one_gets_connack_5(world):
    assert world.connect("owner-token").connack == 0
    assert world.connect("Bearer owner-token").connack == 0
    assert world.connect("no-such-token").connack == 5
    assert world.connect("").connack == 5


def test_an_expired_token_is_refused_at_connect(world):
    token = world.control("POST", "/tokens", {"uid": "C1002"})["accessToken"]["token"]
    assert world.connect(token).connack == 0
    world.control("POST", "/clock", {"advance": "3h"})  # access tokens live 2 h
    assert world.connect(token).connack == 5


def test_a_token_of_one_world_does_not_open_another(server, world):
    token = world.control("POST", "/tokens", {"uid": "C1001"})["accessToken"]["token"]
    other = World(server)
    try:
        assert other.connect(token).connack == 5
        assert world.connect(token).connack == 0
    finally:
        other.close()


# ---- subscriptions and reports ---------------------------------------------------------------


def test_owner_and_recipient_see_a_rest_switch_as_ack_and_report(world):
    world.share_lamp_with_rui()
    owner, rui = world.connect("owner-token"), world.connect("recipient-token")
    for client in (owner, rui):
        assert client.subscribe(DOWN + "bus_", DOWN + "ack_", DOWN + "onl_") == [1, 1, 1]
    answer = world.switch("recipient-token", switch=True)
    assert answer["data"]["successList"][0]["ticket"]
    for client in (owner, rui):
        [report] = client.wait_for("bus_")
        assert report.json == {"deviceKey": LAMP[1], "productKey": LAMP[0], "data": {"kv": {"switch": True}}}
        [ack] = client.wait_for("ack_")
        assert ack.json["status"] == "succ" and ack.json["data"]["kv"] == {"switch": True}
        assert ack.json["ticket"] == answer["data"]["successList"][0]["ticket"]
        [online] = client.wait_for("onl_")  # the current state, once, retained
        assert online.retain and online.json["data"] == {"value": 1}


def test_a_device_one_may_not_use_is_refused_in_the_suback(world):
    rui = world.connect("recipient-token")
    own = "q/2/d/qdp11u7aSENS00000001/bus_"
    assert rui.subscribe(DOWN + "bus_", own, f"q/1/u/{rui.client_id}/sys_", "elsewhere/topic") == [128, 1, 1, 128]
    world.switch("owner-token", brightness=33)
    time.sleep(QUIET)
    assert rui.received("bus_") == []


def test_a_json_write_attr_is_acknowledged_with_its_msg_id_and_reported(world):
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "bus_", DOWN + "ack_")
    kv = json.dumps([{"switch": True, "brightness": 40}])
    owner.publish(UP + "sys_", {"msgId": 4711, "productKey": LAMP[0], "deviceKey": LAMP[1], "type": "WRITE-ATTR",
                                "kv": kv, "cacheTime": 0, "isCache": False, "isCover": False})
    [ack] = owner.wait_for("ack_")
    assert ack.json["msgId"] == 4711 and ack.json["data"]["kv"] == {"switch": True, "brightness": 40}
    assert kv_of(owner.wait_for("bus_")) == [{"switch": True, "brightness": 40}]
    assert world.values()["brightness"] == "40"


def test_a_json_read_attr_answers_the_codes_asked_for(world):
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "#")
    owner.publish(UP + "sys_", {"msgId": 9, "type": "READ-ATTR", "kv": json.dumps(["switch", "brightness"])})
    [ack] = owner.wait_for("ack_")
    assert ack.json["msgId"] == 9 and ack.json["data"]["kv"] == {"switch": False, "brightness": 80}
    assert kv_of(owner.wait_for("bus_")) == [{"switch": False, "brightness": 80}]


def test_ttlv_frames_write_and_read_all(world):
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "bus_", DOWN + "ack_")
    owner.publish(UP + "bus", bytes.fromhex("AA AA 00 07 1E 00 02 00 13 00 09"))  # switch on, packet 2
    owner.publish(UP + "bus", bytes.fromhex("AA AA 00 09 78 00 03 00 13 00 12 00 50"))  # brightness 80
    owner.publish(UP + "bus", bytes.fromhex("AA AA 00 05 12 00 01 00 11"))  # read all, packet 1
    acks = owner.wait_for("ack_", count=3)
    assert [a.json["packetId"] for a in acks] == [2, 3, 1]
    assert acks[0].json["data"]["kv"] == {"switch": True}
    everything = acks[2].json["data"]["kv"]
    assert everything["switch"] is True and everything["brightness"] == 80 and "lamp_stats" in everything
    assert kv_of(owner.wait_for("bus_", count=3))[2] == everything


def test_a_delayed_write_is_published_by_the_clock_with_no_request(world):
    world.control("PUT", "/scenario", {"scenario": {"extends": "default", "settings": {"writeDelay": "1s"}}})
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "bus_")
    world.switch("owner-token", brightness=12)
    assert owner.received("bus_") == []  # not yet: the device applies it a second later
    [report] = owner.wait_for("bus_", timeout=5)
    assert report.json["data"]["kv"] == {"brightness": 12}


def test_going_offline_publishes_onl_and_commands_get_4021(world):
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "onl_")
    owner.wait_for("onl_")  # the retained current state
    world.control("POST", f"/devices/{LAMP[0]}/{LAMP[1]}", {"online": False})
    offline = owner.wait_for("onl_", count=2)[1]
    assert offline.json["data"] == {"value": 0} and not offline.retain
    owner.publish(UP + "sys_", {"msgId": 1, "type": "WRITE-ATTR", "kv": json.dumps([{"switch": True}])})
    [error] = owner.wait_for("sys_")
    assert error.topic == f"q/1/u/{owner.client_id}/sys_"
    assert error.json == {"deviceKey": LAMP[1], "code": 4021, "msg": "Device offline", "type": "BUSI-ERROR"}


# ---- sharing ends ------------------------------------------------------------------------------


def test_the_recipients_stream_stops_when_the_owner_cancels_while_the_owners_goes_on(world):
    world.share_lamp_with_rui()
    owner, rui = world.connect("owner-token"), world.connect("recipient-token")
    for client in (owner, rui):
        client.subscribe(DOWN + "bus_")
    world.switch("owner-token", brightness=10)
    rui.wait_for("bus_")
    shares = world.api("GET", "deviceShareUserList", "owner-token", pk=LAMP[0], dk=LAMP[1])["data"]
    code = shares[0]["shareInfo"]["shareCode"]
    assert world.api("DELETE", "ownerUserUnshareDevice", "owner-token", shareCode=code)["code"] == 200
    world.switch("owner-token", brightness=20)
    world.switch("owner-token", brightness=30)
    assert kv_of(owner.wait_for("bus_", count=3)) == [{"brightness": 10}, {"brightness": 20}, {"brightness": 30}]
    time.sleep(QUIET)
    assert kv_of(rui.received("bus_")) == [{"brightness": 10}]
    rui.publish(UP + "sys_", {"msgId": 2, "type": "WRITE-ATTR", "kv": json.dumps([{"switch": True}])})
    assert rui.wait_for("sys_")[0].json["code"] == 4007


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "topic, payload, why",
    [
        ("sys_", b"{not json", "malformed JSON"),
        ("sys_", json.dumps({"type": "WRITE-ATTR", "kv": json.dumps([{"brightness": 900}])}).encode(), "brightness"),
        ("sys_", json.dumps({"type": "WRITE-ATTR", "kv": json.dumps([{"lamp_stats": {}}])}).encode(), "read-only"),
        ("bus", bytes.fromhex("AA AA 00 07 1F 00 02 00 13 00 09"), "checksum"),
        ("bus", ttlv.encode_frame(2, ttlv.WRITE, bytes.fromhex("01F1")), "id 62"),
        ("bus", b"\x00\x01", "not a TTLV frame"),
    ],
)
def test_a_bad_message_gets_a_sys_error_changes_nothing_and_disturbs_no_one(world, topic, payload, why):
    owner, other = world.connect("owner-token"), world.connect("owner-token")
    other.subscribe(DOWN + "bus_")
    before = world.values()
    owner.publish(UP + topic, payload)
    [error] = owner.wait_for("sys_")
    assert error.json["code"] == 5340 and why in error.json["msg"] and error.json["type"] == "BUSI-ERROR"
    assert world.values() == before
    world.switch("owner-token", brightness=55)  # both clients are still connected and served
    assert kv_of(other.wait_for("bus_")) == [{"brightness": 55}]
    assert other.received("sys_") == []


# ---- rules, journal, state ----------------------------------------------------------------------


def test_rules_refuse_a_connect_with_4_and_a_subscribe(world):
    world.control("POST", "/rules", [
        {"match": {"mqtt": "connect", "uid": "C1002"}, "action": {"code": 4}},
        {"match": {"mqtt": "subscribe", "topic": "ack_$"}, "action": {"code": 128}},
    ])
    assert world.connect("recipient-token").connack == 4
    owner = world.connect("owner-token")
    assert owner.subscribe(DOWN + "bus_", DOWN + "ack_") == [1, 128]


def test_the_recipients_connection_drops_after_3_reports(world):
    world.share_lamp_with_rui()
    world.control("POST", "/rules", {
        "match": {"mqtt": "deliver", "uid": "C1002", "topic": "/bus_$", "nth": 3}, "action": {"disconnect": True},
    })
    owner, rui = world.connect("owner-token"), world.connect("recipient-token")
    for client in (owner, rui):
        client.subscribe(DOWN + "bus_")
    for level in (1, 2, 3, 4):
        world.switch("owner-token", brightness=level)
    assert len(owner.wait_for("bus_", count=4)) == 4
    assert rui.disconnected.wait(5)
    assert kv_of(rui.received("bus_")) == [{"brightness": 1}, {"brightness": 2}, {"brightness": 3}]


def test_a_rule_withholds_the_ack_and_another_delays_reports(world):
    world.control("POST", "/rules", [
        {"match": {"mqtt": "deliver", "topic": "ack_$", "dk": LAMP[1]}, "action": {"fault": "drop"}},
        {"match": {"mqtt": "deliver", "topic": "bus_$"}, "action": {"delay": "800ms"}},
    ])
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "bus_", DOWN + "ack_")
    sent = time.monotonic()
    world.switch("owner-token", switch=True)
    [report] = owner.wait_for("bus_", timeout=5)
    assert report.at - sent >= 0.75
    assert owner.received("ack_") == []


def test_a_fault_on_connect_loses_the_connection_before_any_connack(world):
    world.control("POST", "/rules", {"match": {"mqtt": "connect", "uid": "C1002"}, "action": {"fault": "drop"}})
    with pytest.raises(TimeoutError, match="no CONNACK"):
        world.connect("recipient-token", timeout=2)
    [entry] = [e for e in world.control("GET", "/journal?kind=mqtt")["entries"] if e["endpoint"] == "mqtt.connect"]
    assert entry["rule"] and entry["code"] is None
    assert world.connect("owner-token").connack == 0  # the rule names Rui alone


@pytest.mark.parametrize("fault", ["http503", "empty", "malformed"])
def test_any_fault_on_delivery_withholds_the_message(world, fault):
    world.control("POST", "/rules", {"match": {"mqtt": "deliver", "topic": "ack_$"}, "action": {"fault": fault}})
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "bus_", DOWN + "ack_")
    world.switch("owner-token", switch=True)
    owner.wait_for("bus_", timeout=5)
    time.sleep(QUIET)
    assert owner.received("ack_") == []


def test_any_fault_on_publish_loses_the_message(world):
    world.control("POST", "/rules", {"match": {"mqtt": "publish"}, "action": {"fault": "http500"}})
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "ack_")
    before = world.values()
    assert str(before["brightness"]) != "42"
    owner.publish(UP + "sys_", {"msgId": 7, "type": "WRITE-ATTR", "kv": json.dumps([{"brightness": 42}])})
    time.sleep(QUIET)
    assert owner.received() == [] and world.values() == before


def write_brightness(client: RealtimeClient, level: int, qos: int = 1) -> None:
    client.publish(UP + "sys_", {"msgId": level, "type": "WRITE-ATTR", "kv": json.dumps([{"brightness": level}])}, qos)


@pytest.mark.parametrize("qos", [0, 1])
def test_a_code_on_publish_answers_the_sender_alone_and_changes_nothing(world, qos):
    world.control("POST", "/rules", {"match": {"mqtt": "publish"}, "action": {"code": 5151}})
    owner, other = world.connect("owner-token", client_id="qu_owner"), world.connect("owner-token")
    owner.subscribe("q/1/u/qu_owner/sys_")
    before = world.values()
    write_brightness(owner, 42, qos)
    [error] = owner.wait_for("sys_")
    assert error.json["code"] == 5151 and error.json["type"] == "BUSI-ERROR"
    time.sleep(QUIET)
    assert other.received() == [] and world.values() == before
    [entry] = [e for e in world.control("GET", "/journal?kind=mqtt")["entries"] if e["endpoint"] == "mqtt.publish"]
    assert entry["rule"] and entry["code"] == 5151 and entry["clientId"] == "qu_owner"


def test_a_delay_on_publish_holds_that_write_back_and_the_next_ones_go_on(world):
    world.control("POST", "/rules", {"match": {"mqtt": "publish"}, "action": {"delay": "800ms"}, "times": 1})
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "bus_")
    started = time.monotonic()
    write_brightness(owner, 41)
    write_brightness(owner, 43)
    first, second = owner.wait_for("bus_", count=2, timeout=5)
    # amqtt handled each message in a task of its own: the delayed one does not hold the next
    assert [first.json["data"]["kv"]["brightness"], second.json["data"]["kv"]["brightness"]] == [43, 41]
    assert time.monotonic() - started >= 0.8


def test_a_disconnect_on_publish_cuts_the_sender_and_carries_nothing_out(world):
    world.control("POST", "/rules", {"match": {"mqtt": "publish"}, "action": {"disconnect": True}})
    owner = world.connect("owner-token")
    before = world.values()
    write_brightness(owner, 42)
    assert owner.disconnected.wait(5)
    assert world.values() == before


@pytest.mark.parametrize("dedicated", [False, True], ids=["http-port", "mqtt-port"])
def test_a_disconnect_on_subscribe_cuts_the_connection_after_the_suback(server, world, dedicated):
    world.control("POST", "/rules", {"match": {"mqtt": "subscribe", "topic": "bus_$"}, "action": {"disconnect": True}})
    if dedicated:
        owner = RealtimeClient(f"ws://127.0.0.1:{server.mqtt_port}/s/{world.name}/ws/v2", "owner-token")
        world.clients.append(owner)
    else:
        owner = world.connect("owner-token")
    assert owner.subscribe(DOWN + "ack_") == [1] and not owner.disconnected.is_set()
    assert owner.subscribe(DOWN + "bus_") == [1]  # granted, then cut
    assert owner.disconnected.wait(5)


def test_warnings_from_a_rules_effects_reach_the_realtime_journal(world):
    world.control("POST", "/rules", {"match": {"mqtt": "connect"}, "action": {"expireShare": True}})
    assert world.connect("owner-token").connack == 0  # an effect alone answers nothing
    [entry] = [e for e in world.control("GET", "/journal?kind=mqtt")["entries"] if e["endpoint"] == "mqtt.connect"]
    assert entry["rule"] and "shareCode" in entry["warnings"][0]


def test_sessions_and_messages_are_in_the_journal_and_the_state(world):
    world.share_lamp_with_rui()
    rui = world.connect("recipient-token")
    rui.subscribe(DOWN + "bus_")
    world.switch("owner-token", switch=True)
    rui.wait_for("bus_")
    [session] = world.control("GET", "/state")["mqttSessions"]
    assert session["uid"] == "C1002" and session["clientId"] == rui.client_id
    assert session["subscriptions"] == [{"topic": DOWN + "bus_", "qos": 1}] and session["delivered"] >= 1
    entries = world.control("GET", "/journal?kind=mqtt")["entries"]
    assert entries and all(e["kind"] == "mqtt" for e in entries)
    events = [(e["endpoint"], e["uid"]) for e in entries]
    assert ("mqtt.connect", "C1002") in events and ("mqtt.subscribe", "C1002") in events
    [delivery] = [e for e in entries if e["endpoint"] == "mqtt.deliver" and e["path"] == DOWN + "bus_"]
    assert delivery["to"] == [rui.client_id] and '"switch":true' in delivery["payload"]
    rest = world.control("GET", "/journal?kind=rest")["entries"]
    assert [e["endpoint"] for e in rest] == ["shareByUid", "batchControlDevice"]


# ---- serving -------------------------------------------------------------------------------------


def test_the_dedicated_port_answers_the_mqtt_subprotocol_and_serves_the_same_worlds(server, world):
    port = server.mqtt_port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /ws/v2 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Protocol: mqtt\r\n\r\n")
        head = sock.recv(4096).decode().lower()
    assert head.startswith("http/1.1 101") and "sec-websocket-protocol: mqtt" in head
    client = RealtimeClient(f"ws://127.0.0.1:{port}/ws/v2", "owner-token", headers={"X-Mock-Session": world.name})
    world.clients.append(client)
    client.subscribe(DOWN + "bus_")
    world.switch("owner-token", brightness=66)
    assert kv_of(client.wait_for("bus_")) == [{"brightness": 66}]


def test_an_unknown_websocket_path_is_404_and_no_mqtt_turns_the_channel_off():
    def upgrade(port: int, path: str) -> str:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
            return sock.recv(4096).decode().split("\r\n", 1)[0]

    off = Running("--no-mqtt")
    try:
        assert upgrade(off.port, "/ws/v2") == "HTTP/1.1 404 Not Found"
    finally:
        off.stop()
    on = Running()
    try:
        assert upgrade(on.port, "/ws/v1") == "HTTP/1.1 404 Not Found"
        assert upgrade(on.port, "/ws/v2").startswith("HTTP/1.1 101")
    finally:
        on.stop()


def test_ttlv_codec_reads_and_writes_the_documented_bytes():
    from mock_server.harness.scenario import Scenario

    lamp = Scenario.load("default").build().products["p11u5w"]
    assert ttlv.encode_frame(1, ttlv.READ_ALL) == bytes.fromhex("AAAA00051200010011")
    assert ttlv.encode_frame(2, ttlv.WRITE, ttlv.encode_fields(lamp, {"switch": True})) == bytes.fromhex(
        "AAAA00071E000200130009")
    frame = ttlv.decode_frame(bytes.fromhex("AA AA 00 09 78 00 03 00 13 00 12 00 50"))
    assert (frame.packet_id, frame.cmd) == (3, ttlv.WRITE)
    assert ttlv.decode_fields(lamp, frame.payload) == {"brightness": 80}
    assert ttlv.encode_number(229.8) == bytes.fromhex("0908FA")
    assert ttlv.encode_number(-10.7) == bytes.fromhex("886B")
    stats = lamp.properties["lamp_stats"]
    assert ttlv._read_value(stats.members["power_w"], 2, bytes.fromhex("0908FA"), 0) == (229.8, 3)
    assert ttlv.decode_fields(lamp, bytes([(1 << 3) | 1])) == {"switch": True}  # a one-byte header
    struct = ttlv.encode_fields(lamp, {"lamp_stats": {"power_w": 7.5, "led_temp": -3}})
    assert ttlv.decode_fields(lamp, struct) == {"lamp_stats": {"power_w": 7.5, "led_temp": -3}}
    with pytest.raises(ttlv.TTLVError, match="checksum"):
        ttlv.decode_frame(bytes.fromhex("AAAA00051300010011"))


def test_the_readme_example_pasted_into_a_shell_prints_the_report():
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"<!-- realtime example -->\s*```bash\n(.*?)```", readme, re.S).group(1)
    fresh = Running()
    try:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        script = block.replace("8080", str(fresh.port))
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    finally:
        fresh.stop()
    topic, payload = out.stdout.strip().split(" ", 1)
    assert topic == DOWN + "bus_", out.stderr
    assert json.loads(payload) == {"deviceKey": LAMP[1], "productKey": LAMP[0], "data": {"kv": {"switch": True}}}


def test_validate_checks_realtime_rules(tmp_path):
    from helpers import run_cli

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "extends: default\n"
        "rules:\n"
        "  - {match: {mqtt: connect}, action: {code: 7}}\n"
        "  - {match: {mqtt: gossip}, action: {fault: drop}}\n"
        "  - {match: {topic: bus_}, action: {fault: drop}}\n"
        "  - {match: {mqtt: deliver, endpoint: shareInfo}, action: {disconnect: true}}\n"
        "  - {match: {endpoint: shareInfo}, action: {disconnect: true}}\n"
        "  - {match: {mqtt: deliver, topic: '(unclosed'}, action: {fault: drop}}\n"
    )
    good = tmp_path / "good.yaml"
    good.write_text(
        "extends: default\n"
        "rules:\n"
        "  - {match: {mqtt: connect, uid: C1002}, action: {code: 4}}\n"
        "  - {match: {mqtt: deliver, uid: C1002, topic: /bus_$, nth: 3}, action: {disconnect: true}}\n"
    )
    result = run_cli("validate", str(bad))
    assert result.returncode == 2
    problems = result.stdout + result.stderr
    for expected in (
        "rules[0].action.code: a refused CONNECT answers a CONNACK code from 1 to 5",
        "rules[1].match.mqtt:",
        "rules[2].match.topic: needs mqtt",
        "rules[3].match.endpoint: does not apply to mqtt events",
        "rules[4].action.disconnect: needs match.mqtt",
        "rules[5].match.topic: is not a valid regular expression",
    ):
        assert expected in problems, problems
    assert run_cli("validate", str(good)).returncode == 0


def test_a_connected_client_follows_its_world_through_a_reset(world):
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "bus_")
    world.control("POST", "/reset")
    deadline = time.monotonic() + 10  # the channel takes the new world over within a tick
    while not world.control("GET", "/state")["mqttSessions"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [s["clientId"] for s in world.control("GET", "/state")["mqttSessions"]] == [owner.client_id]
    world.switch("owner-token", brightness=77)
    assert kv_of(owner.wait_for("bus_")) == [{"brightness": 77}]


def test_wss_with_the_servers_certificate_on_both_ports(tmp_path):
    import ssl

    tls_dir = tmp_path / "tls"
    mqtt_port = free_port()
    server = Running("--tls", "--tls-dir", str(tls_dir), "--mqtt-port", str(mqtt_port),
                     scheme="https", context=ssl._create_unverified_context())
    try:
        trusted = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
        for port in (server.port, mqtt_port):
            client = RealtimeClient(f"wss://127.0.0.1:{port}/ws/v2", "owner-token", tls=trusted)
            try:
                assert client.connack == 0 and client.subscribe(DOWN + "bus_") == [1]
            finally:
                client.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            RealtimeClient(f"wss://127.0.0.1:{mqtt_port}/ws/v2", "owner-token", tls=ssl.create_default_context())
    finally:
        server.stop()


def test_a_wildcard_subscription_carries_only_the_users_own_devices(world):
    rui = world.connect("recipient-token")
    assert rui.subscribe("q/2/d/+/bus_", "#") == [1, 1]
    world.switch("owner-token", brightness=44)  # Olivia's lamp: not Rui's
    world.control("POST", "/devices/p11u7a/SENS00000001", {"online": False})  # Rui's own sensor
    deadline = time.monotonic() + 10
    while not [m for m in rui.received("onl_") if not m.retain] and time.monotonic() < deadline:
        time.sleep(0.05)
    [offline] = [m for m in rui.received("onl_") if not m.retain]
    assert offline.topic == "q/2/d/qdp11u7aSENS00000001/onl_" and offline.json["data"] == {"value": 0}
    time.sleep(QUIET)
    assert [m.topic for m in rui.messages if "LAMP" in m.topic] == []


@pytest.mark.parametrize("ending", ["recipient leaves", "expiry on the clock", "owner unbinds"])
def test_every_way_a_share_ends_stops_the_recipients_stream_at_once(world, ending):
    expires = world.control("GET", "/clock")["now"] + 3_600_000
    answer = world.api("POST", "shareByUid", "owner-token", pk=LAMP[0], dk=LAMP[1], shareUid="C1002",
                       sharingExpireAt=expires)
    assert answer["code"] == 200, answer
    owner, rui = world.connect("owner-token"), world.connect("recipient-token")
    for client in (owner, rui):
        client.subscribe(DOWN + "bus_")
    shares = world.api("GET", "deviceShareUserList", "owner-token", pk=LAMP[0], dk=LAMP[1])["data"]
    code = shares[0]["shareInfo"]["shareCode"]
    if ending == "recipient leaves":
        assert world.api("DELETE", "shareUserUnshareDevice", "recipient-token", shareCode=code)["code"] == 200
    elif ending == "expiry on the clock":
        world.control("POST", "/clock", {"advance": "2h"})
    else:
        assert world.api("DELETE", "unbundlingDeviceDk", "owner-token", pk=LAMP[0], dk=LAMP[1])["code"] == 200
    world.control("POST", f"/devices/{LAMP[0]}/{LAMP[1]}", {"values": {"brightness": 5}})
    if ending != "owner unbinds":
        assert kv_of(owner.wait_for("bus_")) == [{"brightness": 5}]
    time.sleep(QUIET)
    assert rui.received("bus_") == []


def test_a_scenario_script_on_the_clock_publishes_onl_and_reports_with_no_request(world):
    world.control("PUT", "/scenario", {"scenario": {"extends": "default", "clock": {"frozen": True}, "scripts": [
        {"device": {"pk": LAMP[0], "dk": LAMP[1]}, "at": "+2h", "online": False},
        {"device": {"pk": LAMP[0], "dk": LAMP[1]}, "property": "brightness", "every": "30m", "set": 15},
    ]}})
    owner = world.connect("owner-token")
    owner.subscribe(DOWN + "onl_", DOWN + "bus_")
    owner.wait_for("onl_")  # the retained current state: online
    world.control("POST", "/clock", {"advance": "2h"})
    offline = owner.wait_for("onl_", count=2)[1]
    assert offline.json["data"] == {"value": 0} and not offline.retain
    assert kv_of(owner.wait_for("bus_", count=3)) == [{"brightness": 15}] * 3  # at +30m, +1h, +1h30m


# ---- client ids --------------------------------------------------------------------------------


def _write_brightness(client: RealtimeClient, level: int) -> None:
    client.publish(UP + "sys_", {"msgId": level, "type": "WRITE-ATTR", "kv": json.dumps([{"brightness": level}])})


def test_one_client_id_in_two_worlds_makes_two_clients_each_in_its_own_world(server, world):
    other = World(server)
    try:
        first = world.connect("owner-token", client_id="ci-job-fixed-id")
        second = other.connect("owner-token", client_id="ci-job-fixed-id")
        for client in (first, second):
            assert client.subscribe(DOWN + "bus_", DOWN + "ack_") == [1, 1]
        _write_brightness(first, 31)  # acts in the first client's world, answered to it
        assert first.wait_for("ack_")[0].json["msgId"] == 31
        _write_brightness(second, 62)
        assert second.wait_for("ack_")[0].json["msgId"] == 62
        assert world.values()["brightness"] == "31" and other.values()["brightness"] == "62"
        time.sleep(QUIET)
        assert kv_of(first.received("bus_")) == [{"brightness": 31}]
        assert kv_of(second.received("bus_")) == [{"brightness": 62}]
        assert not first.disconnected.is_set() and not second.disconnected.is_set()
    finally:
        other.close()


def test_one_client_id_for_two_users_keeps_each_users_identity(world):
    owner = world.connect("owner-token", client_id="shared-id")
    rui = world.connect("recipient-token", client_id="shared-id")  # the lamp is not shared with rui
    assert owner.subscribe(DOWN + "bus_", DOWN + "ack_") == [1, 1]
    assert rui.subscribe(DOWN + "bus_", "q/1/u/shared-id/sys_") == [128, 1]
    _write_brightness(owner, 44)  # the owner's write, as the owner: done
    assert owner.wait_for("ack_")[0].json["msgId"] == 44
    assert kv_of(owner.wait_for("bus_")) == [{"brightness": 44}]
    _write_brightness(rui, 45)  # rui's, as rui: refused to rui alone
    assert rui.wait_for("sys_")[0].json["code"] == 4007
    time.sleep(QUIET)
    assert world.values()["brightness"] == "44"
    assert owner.received("sys_") == [] and rui.received("bus_") == []
    assert not owner.disconnected.is_set() and not rui.disconnected.is_set()
    sessions = {s["uid"]: s for s in world.control("GET", "/state")["mqttSessions"]}
    assert sessions["C1001"]["subscriptions"] == [{"topic": DOWN + "bus_", "qos": 1}, {"topic": DOWN + "ack_", "qos": 1}]
    assert sessions["C1002"]["subscriptions"] == [{"topic": "q/1/u/shared-id/sys_", "qos": 1}]


def test_the_same_users_second_connection_with_one_client_id_takes_over_and_the_first_is_closed(world):
    first = world.connect("owner-token", client_id="phone")
    first.subscribe(DOWN + "bus_")
    second = world.connect("owner-token", client_id="phone")
    assert first.disconnected.wait(5)
    assert second.subscribe(DOWN + "bus_") == [1]
    world.switch("owner-token", brightness=70)
    assert kv_of(second.wait_for("bus_")) == [{"brightness": 70}]
    assert first.received("bus_") == []
    [session] = world.control("GET", "/state")["mqttSessions"]
    assert session["clientId"] == "phone" and session["subscriptions"] == [{"topic": DOWN + "bus_", "qos": 1}]
    ends = [e for e in world.control("GET", "/journal?kind=mqtt")["entries"] if e["endpoint"] == "mqtt.disconnect"]
    assert len(ends) == 1 and "taken over" in ends[0]["reason"]


# ---- a subscription is live when its SUBACK goes out ---------------------------------------------


class ThreadedRealtime:
    """The channel's dedicated listener (`--mqtt-port`'s) on a loop in a thread of its own,
    on 127.0.0.1 and a free port."""

    def __init__(self, app) -> None:
        self.loop = asyncio.new_event_loop()
        self.realtime = Realtime(app, self.loop)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="realtime")
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self.realtime.listen("127.0.0.1", 0), self.loop)
        self.port: int = future.result(timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.realtime.close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def threaded():
    """REST answered on other threads than the realtime channel's loop (a WSGI server's), as
    a test's own thread changes a world in the pytest plugin's thread mode; MQTT on the
    dedicated listener, on a loop in a thread of its own."""
    from werkzeug.serving import make_server

    from mock_server.app import create_app

    app = create_app()
    http = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=http.serve_forever, daemon=True)
    serving.start()
    realtime = ThreadedRealtime(app)
    yield http.server_port, realtime
    realtime.stop()
    http.shutdown()


def test_a_subscription_is_live_before_its_suback_is_written(threaded, monkeypatch):
    from mock_server.realtime.transport import WebSocketsWriter

    _, realtime = threaded
    hub = realtime.realtime.hub
    at_suback: list[dict] = []
    write = WebSocketsWriter.write

    def watching(self, data: bytes) -> None:
        if data[:1] == b"\x90":  # SUBACK: what the hub holds for this client at that moment
            [connection] = [c for c in hub.connections.by_peer.values() if c.writer is self]
            at_suback.append(dict(connection.subscriptions))
        write(self, data)

    monkeypatch.setattr(WebSocketsWriter, "write", watching)
    name = "rt-" + uuid.uuid4().hex[:10]
    with RealtimeClient(f"ws://127.0.0.1:{realtime.port}/s/{name}/ws/v2", "owner-token") as client:
        assert client.subscribe(DOWN + "bus_", DOWN + "ack_") == [1, 1]
    assert at_suback == [{DOWN + "bus_": 1, DOWN + "ack_": 1}]


READ_SWITCH = {"msgId": 1, "type": "READ-ATTR", "kv": json.dumps(["switch"])}


def _report_on_every_suback(url: str, rounds: int, report) -> None:
    """`rounds` clients each subscribe to the lamp's acknowledgements and, the moment the
    SUBACK arrives, make the lamp report (`report(client)`): each must get the ack."""
    for attempt in range(rounds):
        with RealtimeClient(url, "owner-token", client_id=f"race-{attempt}") as client:
            assert client.subscribe_then(DOWN + "ack_", then=lambda: report(client)) == [1]
            assert client.wait_for("ack_", timeout=5)[0].json["data"]["kv"], attempt


def _read_by_mqtt(client: RealtimeClient) -> None:
    client.publish(UP + "sys_", READ_SWITCH)


@pytest.mark.parametrize("port", ["http", "mqtt"])
def test_what_is_published_the_moment_the_suback_arrives_is_delivered_every_time(server, world, port):
    url = world.ws_url if port == "http" else f"ws://127.0.0.1:{server.mqtt_port}/s/{world.name}/ws/v2"
    _report_on_every_suback(url, 20, _read_by_mqtt)
    _report_on_every_suback(url, 20, lambda client: world.switch("owner-token", brightness=50))


def test_in_thread_mode_a_rest_switch_the_moment_the_suback_arrives_is_delivered_every_time(threaded):
    port, realtime = threaded
    name = "rt-" + uuid.uuid4().hex[:10]

    def switch(client: RealtimeClient) -> None:
        body = {"data": json.dumps([{"brightness": 50}]), "deviceList": [{"productKey": LAMP[0], "deviceKey": LAMP[1]}],
                "type": 2}  # fmt: skip
        request = urllib.request.Request(f"http://127.0.0.1:{port}/s/{name}/v2/binding/enduserapi/batchControlDevice",
                                         data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": "owner-token", "Content-Type": "application/json"})  # fmt: skip
        urllib.request.urlopen(request, timeout=10).close()

    url = f"ws://127.0.0.1:{realtime.port}/s/{name}/ws/v2"
    _report_on_every_suback(url, 30, switch)
    _report_on_every_suback(url, 20, _read_by_mqtt)
