"""Thing models, device values and control: productTSL, getDeviceBusinessAttributes,
batchControlDevice and the helper endpoints, as owners and as share recipients."""

from __future__ import annotations

import json
import re
from dataclasses import fields

import pytest
from conftest import ACCEPT_BY, LAMP, OWNER, RECIPIENT, SECOND, Api, api_with

from mock_server.cloud.models import Device

STATION = {"pk": "p11u8k", "dk": "POWR00000001"}
PLUG = {"pk": "p11u6t", "dk": "PLUG00000001"}
BEDROOM = {"pk": "p11u5w", "dk": "LAMP00000002"}  # offline in the default world


def control(api: Api, token: str, data, devices=(LAMP,), kind: int = 2, **extra) -> dict:
    body = {
        "data": data if isinstance(data, str) else json.dumps(data),
        "deviceList": [{"productKey": d["pk"], "deviceKey": d["dk"]} for d in devices],
        "type": kind,
        **extra,
    }
    return api.post("batchControlDevice", token, via="json", **body)


def values(api: Api, token: str = OWNER, device=LAMP, **params) -> dict:
    body = api.get("getDeviceBusinessAttributes", token, **device, **params)
    assert body["code"] == 200, body
    return {item["resourceCode"]: item["resourceValce"] for item in body["data"]["customizeTslInfo"] or []}


def shared_lamp(api: Api) -> str:
    code = api.share(accepting=ACCEPT_BY)
    assert api.accept(code)["code"] == 200
    return code


# ---- productTSL ------------------------------------------------------------------------------


def test_product_tsl_is_the_live_shape(api):
    body = api.get("productTSL", RECIPIENT, pk="p11u5w")
    assert body["code"] == 200 and body["msg"] == ""
    tsl = body["data"]
    assert tsl["profile"] == {"tslVersion": "1.2.0", "productKey": "p11u5w", "version": "20250101090000000"}
    switch, brightness, _, stats = tsl["properties"]
    assert switch == {
        "id": 1, "code": "switch", "name": "Power", "type": "PROPERTY", "dataType": "BOOL", "subType": "RW",
        "sort": 0, "desc": "", "specs": [{"dataType": "BOOL", "name": "On", "value": "true"},
                                          {"dataType": "BOOL", "name": "Off", "value": "false"}],
    }  # fmt: skip
    assert brightness["specs"] == {"min": "0", "max": "100", "step": "1", "unit": "%", "multiple": ""}
    assert [m["code"] for m in stats["specs"]] == ["power_w", "led_temp"] and stats["subType"] == "R"
    assert tsl["events"][0]["code"] == "overheat" and tsl["services"][0]["code"] == "blink"


def test_product_tsl_codes(api):
    assert api.get("productTSL", OWNER)["code"] == 5066
    assert api.get("productTSL", OWNER, pk="nope")["code"] == 5193
    assert api.get("productTSL", None, pk="p11u5w")["code"] == 5106
    assert api.get("productTSL", "dead-token", pk="p11u5w")["code"] == 5032
    assert "events" not in api.get("productTSL", OWNER, pk="p11u7a")["data"]


# ---- getDeviceBusinessAttributes -------------------------------------------------------------


def test_values_are_encoded_as_the_live_service_writes_them(api):
    body = api.get("getDeviceBusinessAttributes", OWNER, **LAMP)
    items = body["data"]["customizeTslInfo"]
    first = items[0]
    assert set(first) == {"abId", "resourceCode", "resourceValce", "dataType", "name", "type", "subType", "createTime"}
    assert first["abId"] == 1 and first["type"] == "PROPERTY" and first["createTime"].isdigit()
    got = {i["resourceCode"]: i["resourceValce"] for i in items}
    assert got["switch"] == "false" and got["brightness"] == "80" and got["colour_temp"] == "3000"
    assert json.loads(got["lamp_stats"]) == {"power_w": "0", "led_temp": "24"}
    station = values(api, device=STATION)
    assert station["battery_percentage"] == "87" and json.loads(station["cell_voltages"])[0] == "3.31"
    assert json.loads(station["host_packet_data_jdb"])["voltage"] == "51.2"
    data = body["data"]["deviceData"]
    assert data["productKey"] == "p11u5w" and data["version"] and isinstance(data["signalStrength"], int)
    assert body["data"]["deviceLocateInfo"] is None  # never located


def test_generated_values_are_valid_and_the_same_for_the_same_seed(api):
    plug = values(api, device=PLUG)
    assert set(plug) == {"switch", "power", "voltage", "current", "energy_total", "child_lock", "countdown", "label"}
    assert 0 <= float(plug["power"]) <= 3680 and plug["switch"] in ("true", "false")
    assert values(api_with(), device=PLUG) == plug


def test_type_and_code_filters(api):
    body = api.get("getDeviceBusinessAttributes", OWNER, **LAMP, type="2", codeList="switch,brightness")["data"]
    assert [i["resourceCode"] for i in body["customizeTslInfo"]] == ["switch", "brightness"]
    assert body["deviceData"] is None and body["deviceLocateInfo"] is None
    only_module = api.get("getDeviceBusinessAttributes", OWNER, **LAMP, typeList="1")["data"]
    assert only_module["customizeTslInfo"] is None and only_module["deviceData"]["deviceKey"] == "LAMP00000001"
    assert api.get("getDeviceBusinessAttributes", OWNER, **LAMP, codeList="switch")["code"] == 5471


def test_business_attributes_codes(api):
    assert api.get("getDeviceBusinessAttributes", OWNER, dk="LAMP00000001")["code"] == 5066
    assert api.get("getDeviceBusinessAttributes", OWNER, pk="p11u5w")["code"] == 5067
    assert api.get("getDeviceBusinessAttributes", OWNER, pk="p11u5w", dk="LAMP00000009")["code"] == 5052
    assert api.get("getDeviceBusinessAttributes", OWNER, pk="p11u5w", dk="NOPE")["code"] == 5052
    assert api.get("getDeviceBusinessAttributes", SECOND, **LAMP)["code"] == 5041


# ---- sharing decides access ------------------------------------------------------------------


def test_a_recipient_reads_and_controls_only_while_the_share_is_active(api):
    code = api.share(accepting=ACCEPT_BY)
    assert api.get("getDeviceBusinessAttributes", RECIPIENT, **LAMP)["code"] == 5041  # pending
    assert control(api, RECIPIENT, [{"switch": True}])["code"] == 5041
    assert api.accept(code)["code"] == 200
    assert values(api, RECIPIENT)["switch"] == "false"
    done = control(api, RECIPIENT, [{"switch": True}])
    assert done["code"] == 200 and done["data"]["failureList"] == []
    assert values(api, RECIPIENT)["switch"] == "true" and values(api, OWNER)["switch"] == "true"
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)["code"] == 200
    assert api.get("getDeviceBusinessAttributes", RECIPIENT, **LAMP)["code"] == 5041
    assert control(api, RECIPIENT, [{"switch": False}])["code"] == 5041


@pytest.mark.parametrize("end", ["leave", "unbind-recipient", "expire", "unbind-owner"])
def test_every_way_a_share_ends_cuts_access_at_once(end):
    api = api_with({"clock": {"frozen": True}})
    code = shared_lamp(api)
    if end == "leave":
        api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=code)
    elif end == "unbind-recipient":
        api.delete("unbundlingDeviceDk", RECIPIENT, **LAMP)
    elif end == "expire":
        api.put("setShareTime", OWNER, shareCode=code, sharingExpireAt=ACCEPT_BY - 1)
        api.client.post("/_mock/clock", json={"set": ACCEPT_BY})
    else:
        api.delete("unbundlingDeviceDk", OWNER, **LAMP)
    expected = 5052 if end == "unbind-owner" else 5041
    assert api.get("getDeviceBusinessAttributes", RECIPIENT, **LAMP)["code"] == expected
    assert control(api, RECIPIENT, [{"switch": True}])["code"] == 5041
    assert api.get("getDeviceOnlineStatus", RECIPIENT, **LAMP)["code"] == 5052


# ---- batchControlDevice ----------------------------------------------------------------------


def test_a_write_answers_with_a_ticket_per_device(api):
    body = control(api, OWNER, '[{"switch": true}, {"brightness": 35}]', devices=(LAMP, BEDROOM))
    assert body["code"] == 200
    (ok,) = body["data"]["successList"]
    assert ok["data"] == {"productKey": "p11u5w", "deviceKey": "LAMP00000001", "gatewayProductKey": None,
                          "gatewayDeviceKey": None}  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{24}", ok["ticket"])
    assert body["data"]["failureList"] == [
        {"data": {"productKey": "p11u5w", "deviceKey": "LAMP00000002", "gatewayProductKey": None,
                  "gatewayDeviceKey": None}, "msg": "Device offline"}
    ]  # fmt: skip
    assert values(api)["brightness"] == "35"


@pytest.mark.parametrize(
    ("data", "msg"),
    [
        ([{"lamp_stats": {"power_w": 1, "led_temp": 2}}], "lamp_stats: read-only property"),
        ([{"brightness": 120}], "brightness: 120 is above max 100"),
        ([{"brightness": "bright"}], "brightness: 'bright' is not a number"),
        ([{"dimmer": 5}], "dimmer: no such property in the thing model of p11u5w"),
        ([{"switch": "maybe"}], "switch: 'maybe' is not true or false"),
        ("not json", "data is not JSON text of [{code: value}, ...]"),
    ],
)
def test_bad_commands_fail_per_device_with_a_clear_message(api, data, msg):
    body = control(api, OWNER, data)
    assert body["code"] == 200 and body["data"]["successList"] == []
    assert body["data"]["failureList"][0]["msg"] == msg
    assert values(api)["brightness"] == "80"  # nothing half-written


def test_enum_struct_and_text_writes(api):
    assert control(api, OWNER, [{"ac_charging_power_ios": 4}], devices=(STATION,))["data"]["failureList"] == []
    assert values(api, device=STATION)["ac_charging_power_ios"] == "4"
    failed = control(api, OWNER, [{"ac_charging_power_ios": 9}], devices=(STATION,))["data"]["failureList"]
    assert failed[0]["msg"] == "ac_charging_power_ios: 9 is not one of 0, 1, 2, 3, 4"
    assert control(api, OWNER, [{"label": "Desk"}], devices=(PLUG,))["data"]["failureList"] == []
    assert values(api, device=PLUG)["label"] == "Desk"


def test_control_codes_in_the_documented_order(api):
    lamp = [{"productKey": "p11u5w", "deviceKey": "LAMP00000001"}]
    good = {"data": '[{"switch": true}]', "deviceList": lamp, "type": 2}

    def code(**changes):
        body = {k: v for k, v in {**good, **changes}.items() if v is not None}
        return api.post("batchControlDevice", OWNER, via="json", **body)["code"]

    assert code(type=None) == 5070
    assert code(type=7) == 5071
    assert code(data=None) == 5074
    assert code(data="x" * 4097) == 5075
    assert code(deviceList=None) == 5311
    assert code(deviceList=[]) == 5311
    assert code(deviceList=lamp * 101) == 5312
    assert code(type=1, data="AABB") == 5072
    assert code(type=1, data="AABB", dataFormat=3) == 5073
    assert code(isCache=3) == 5330
    assert code(isCache=1) == 5328
    assert code(isCache=1, cacheTime=0) == 5329
    assert code(isCover=9) == 5331
    assert code(dataFormat=0, cacheTime=60, isCache=2, isCover=1) == 200  # a live client's write
    assert code(deviceList=[{"productKey": "p11u7a", "deviceKey": "SENS00000001"}]) == 5041


def test_passthrough_and_services(api):
    hexed = control(api, OWNER, "AA01FF", kind=1, dataFormat=1)
    assert hexed["data"]["successList"] and not hexed["data"]["failureList"]
    assert control(api, OWNER, "AZ", kind=1, dataFormat=1)["data"]["failureList"][0]["msg"].startswith("data is not")
    blink = control(api, OWNER, [{"blink": {"brightness": 50}}], kind=3)
    assert blink["data"]["successList"]
    unknown = control(api, OWNER, [{"dance": {}}], kind=3)["data"]["failureList"][0]["msg"]
    assert unknown == "dance: no such service in the thing model of p11u5w"


def test_a_cached_command_waits_for_the_device_to_connect(api):
    body = control(api, OWNER, [{"brightness": 10}], devices=(BEDROOM,), isCache=1, cacheTime=60)
    assert body["data"]["successList"] and values(api, device=BEDROOM).get("brightness") != "10"
    assert api.client.post("/_mock/devices/p11u5w/LAMP00000002", json={"online": True}).status_code == 200
    assert values(api, device=BEDROOM)["brightness"] == "10"


def test_a_write_takes_the_scenario_s_delay():
    api = api_with({"clock": {"frozen": True}, "settings": {"writeDelay": "2s"}})
    assert control(api, OWNER, [{"brightness": 33}])["data"]["successList"]
    assert values(api)["brightness"] == "80"
    state = api.client.get("/_mock/devices/p11u5w/LAMP00000001").get_json()
    assert state["desired"] == {"brightness": 33}
    api.client.post("/_mock/clock", json={"advance": "2s"})
    assert values(api)["brightness"] == "33"
    assert api.client.get("/_mock/devices/p11u5w/LAMP00000001").get_json()["desired"] == {}


def test_real_client_habits_are_tolerated(api):
    headers = {"appId": "633", "appVersion": "1.9.0", "appSystemType": "android", "X-Q-Language": "en",
               "quec-random-url": "0c6f", "app-info": "[a][b][c][d]", "Authorization": OWNER}  # fmt: skip
    resp = api.client.get("/v2/binding/enduserapi/getDeviceBusinessAttributes?pk=p11u5w&dk=LAMP00000001&_t=1",
                          headers=headers)  # fmt: skip
    assert resp.get_json()["code"] == 200
    form = api.post("getAuthKey", OWNER, via="form", **LAMP)
    assert form["code"] == 200 and api.post("regenerateAuthKey", OWNER, via="json", **LAMP)["data"] == form["data"]


# ---- helpers ---------------------------------------------------------------------------------


def test_helper_endpoints(api):
    info = api.get("getDeviceBindingInfo", OWNER, **LAMP)["data"]
    assert info == {"productKey": "p11u5w", "deviceKey": "LAMP00000001", "productName": "Smart Lamp",
                    "deviceName": "Living room lamp", "bindingMode": 1}  # fmt: skip
    assert api.get("getDeviceBindingInfo", SECOND, **LAMP)["code"] == 5052
    assert api.get("getDeviceOnlineStatus", OWNER, **LAMP)["data"]["online"] == 1
    assert api.get("getDeviceOnlineStatus", OWNER, **BEDROOM)["data"] == {
        "productKey": "p11u5w", "deviceKey": "LAMP00000002", "online": 0, "value": 0}  # fmt: skip
    key = api.post("getAuthKey", OWNER, **LAMP)["data"]["authKey"]
    assert len(key) == 24 and key.endswith("==")
    assert api.post("getAuthKey", OWNER, pk="p11u5w")["code"] == 5067
    products = api.get("/v2/enduser/enduserapi/getProductList", OWNER, pageNum=1, pageSize=100)["data"]
    assert {p["productKey"] for p in products["list"]} == {"p11u5w", "p11u6t", "p11u7a", "p11u8k"}
    assert api.get("/v2/enduser/enduserapi/getProductList", OWNER, pageNumber=2, pageSize=3)["data"]["size"] == 1


def test_info_by_binding(api):
    assert api.get("getDeviceInfoByBinding", OWNER, pk="p11u5w")["data"] == {
        "activeBluetooth": False, "bindingMode": 1, "productLogo": "", "productName": "Smart Lamp"}  # fmt: skip
    assert api.get("getDeviceInfoByBinding", OWNER)["code"] == 5066
    assert api.get("getDeviceInfoByBinding", OWNER, pk="p11u5w", dk="bad dk!")["code"] == 5361
    assert api.get("getDeviceInfoByBinding", OWNER, pk="nope")["code"] == 5913
    assert api.get("getDeviceInfoByBinding", OWNER, **LAMP)["code"] == 5049
    shared_lamp(api)
    assert api.get("getDeviceInfoByBinding", RECIPIENT, **LAMP)["code"] == 6040


# ---- the control API -------------------------------------------------------------------------


def test_the_control_api_makes_a_device_report_and_go_offline(api):
    ctl = api.client
    resp = ctl.post("/_mock/devices/p11u5w/LAMP00000001", json={"values": {"brightness": 5}, "online": False})
    assert resp.status_code == 200 and resp.get_json()["values"]["brightness"] == 5
    assert values(api)["brightness"] == "5"
    assert control(api, OWNER, [{"switch": True}])["data"]["failureList"][0]["msg"] == "Device offline"
    bad = ctl.post("/_mock/devices/p11u5w/LAMP00000001", json={"values": {"brightness": 500}})
    assert bad.status_code == 400 and bad.get_json()["problems"] == ["values.brightness: 500 is above max 100"]
    assert ctl.post("/_mock/devices/p11u5w/NOPE", json={"online": True}).status_code == 404
    listed = {(d["pk"], d["dk"]): d for d in ctl.get("/_mock/state").get_json()["devices"]}
    assert listed[("p11u5w", "LAMP00000001")]["values"]["brightness"] == 5
    moved = ctl.post("/_mock/devices/p11u5w/LAMP00000001", json={"location": {"lat": 31.2, "lng": -121.5}})
    assert moved.status_code == 200
    located = api.get("getDeviceBusinessAttributes", OWNER, **LAMP)["data"]["deviceLocateInfo"]
    assert located["lat"] == "31.2" and located["lngType"] == "W"


# ---- validate --------------------------------------------------------------------------------


def test_validate_checks_models_and_values(tmp_path):
    from serving import run_cli

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "products:\n"
        "  - pk: pX\n"
        "    tsl: {properties: [{id: 1, code: a, dataType: INT, specs: {min: '5', max: '1'}},\n"
        "                       {id: 1, code: b, dataType: COLOUR}]}\n"
        "  - pk: p11u5w\n"
        "    tsl:\n"
        "      properties:\n"
        "        - {id: 2, code: brightness, dataType: INT, specs: {min: '0', max: '100'}}\n"
        "        - id: 4\n"
        "          code: lamp_stats\n"
        "          dataType: STRUCT\n"
        "          specs: [{id: 1, code: power_w, dataType: FLOAT}, {id: 2, code: led_temp, dataType: INT}]\n"
        "devices:\n"
        "  - pk: p11u5w\n"
        "    dk: LAMPX\n"
        "    values: {brightness: 120, dimmer: 3, lamp_stats: {power_w: 1.5}}\n"
    )
    done = run_cli("validate", str(bad))
    assert done.returncode == 2
    problems = done.stderr.splitlines()
    assert "bad.yaml: products[0].tsl.properties[0].specs: min is above max" in problems
    assert "bad.yaml: products[0].tsl.properties[1].id: duplicate id 1 (also a)" in problems
    assert any(p.startswith("bad.yaml: products[0].tsl.properties[1].dataType: must be one of: BOOL") for p in problems)
    assert "bad.yaml: devices[0].values.brightness: 120 is above max 100" in problems
    assert any(p.startswith("bad.yaml: devices[0].values.dimmer: unknown property code dimmer") for p in problems)
    assert "bad.yaml: devices[0].values.lamp_stats: member led_temp is missing" in problems


def test_a_new_auth_key_shows_in_device_info_and_the_list_and_the_device_record_is_data_only(api):
    # The list and deviceInfo render the key; their rendering is cached off the record, by value.
    before = api.get("deviceInfo", OWNER, **LAMP)["data"]["authKey"]
    listed = {d["deviceKey"]: d for d in api.devices(OWNER)}
    assert listed[LAMP["dk"]]["authKey"] == before
    key = api.post("getAuthKey", OWNER, **LAMP)["data"]["authKey"]
    if before:
        assert key == before  # the live service hands out the key the device already has
    assert api.get("deviceInfo", OWNER, **LAMP)["data"]["authKey"] == key
    assert {d["deviceKey"]: d for d in api.devices(OWNER)}[LAMP["dk"]]["authKey"] == key
    assert not [f.name for f in fields(Device) if "render" in f.name or "cache" in f.name]
