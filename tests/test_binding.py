"""Binding devices in stock, under each binding mode, and the binding helpers, against a real
server (the pytest plugin's), through `requests`."""

from __future__ import annotations

import base64
import json

import pytest
from accounts_client import Client

from mock_server.cloud import crypto

OWNER, RUI, SAM, FAY = "owner-token", "recipient-token", "second-token", "family-token"
STOCK = {"pk": "p11u5w", "dk": "LAMP00000009"}  # the default world's lamp in stock, SN-LAMP-0009
SWITCH = {"id": 1, "code": "switch", "name": "Power", "dataType": "BOOL", "subType": "RW"}
SWITCH["specs"] = [{"name": "On", "value": "true"}, {"name": "Off", "value": "false"}]


def _product(pk: str, mode: int) -> dict:
    return {"pk": pk, "name": f"Mode {mode} lock", "bindingMode": mode, "tsl": {"properties": [SWITCH]}}


MODES = {
    "name": "binding-modes",
    "extends": "default",
    "products": [_product("pmulti", 1), _product("punique", 2), _product("protate", 3)],
    "devices": [{"pk": pk, "dk": "LOCK0001", "owner": None} for pk in ("pmulti", "punique", "protate")],
}


@pytest.fixture
def api(quectel_mock) -> Client:
    return Client(quectel_mock)


@pytest.fixture
def modes(quectel_mock) -> Client:
    quectel_mock.control("PUT", "/scenario", {"scenario": MODES})
    return Client(quectel_mock)


def _owned(api: Client, token: str) -> list[str]:
    rows = api.call("GET", "userDeviceList", token, pageSize=100)["data"]["list"]
    return [f"{d['productKey']}/{d['deviceKey']}:{d['deviceType']}" for d in rows]


# ---- binding a device in stock -------------------------------------------------------------------


def test_bind_by_sn_lists_the_device_at_once_controllable_and_shareable(api):
    api.mock.set_online("p11u5w", "LAMP00000009", True)
    before = api.mock.device_state(**STOCK)["values"]
    answer = api.call("POST", "bindDeviceSn", SAM, pk="p11u5w", sn="SN-LAMP-0009", deviceName="Sam's lamp")
    assert answer["code"] == 200, answer
    data = answer["data"]
    assert (data["pk"], data["dk"], data["moduleType"]) == ("p11u5w", "LAMP00000009", None)
    assert len(base64.b64decode(data["authKey"])) == 16
    assert "p11u5w/LAMP00000009:1" in _owned(api, SAM)
    info = api.call("GET", "deviceInfo", SAM, **STOCK)["data"]
    assert (info["deviceName"], info["authKey"], info["onlineStatus"]) == ("Sam's lamp", data["authKey"], 1)
    assert api.mock.device_state(**STOCK)["values"] == before  # values and online state are kept
    command = {"data": json.dumps([{"switch": True}]), "type": 2}
    command["deviceList"] = [{"productKey": "p11u5w", "deviceKey": "LAMP00000009"}]
    assert api.call("POST", "batchControlDevice", SAM, json=command)["code"] == 200
    share = api.call("POST", "shareInfo", SAM, **STOCK, acceptingExpireAt=4_000_000_000_000)
    assert share["code"] == 200


def test_authkeys_are_new_for_each_binding_and_follow_the_seed(api):
    keys = []
    for _ in range(2):
        api.mock.reset()
        api.mock.clock(set="2031-01-01T00:00:00Z", freeze=True)
        keys.append(api.call("POST", "bindDeviceDk", SAM, **STOCK)["data"]["authKey"])
    assert keys[0] == keys[1]
    assert api.call("DELETE", "unbundlingDeviceDk", SAM, **STOCK)["code"] == 200
    api.mock.advance("1s")
    assert api.call("POST", "bindDeviceDk", SAM, **STOCK)["data"]["authKey"] != keys[0]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"pk": "p11u5w", "dk": "LAMP00000009", "name": "n" * 65}, 5333),
        ({"dk": "LAMP00000009"}, 5066),
        ({"pk": "p11u5w"}, 5067),
        ({"pk": "p11u5w", "dk": "bad dk!"}, 5361),
        ({"pk": "nope", "dk": "LAMP00000009"}, 5229),
        ({"pk": "p11u5w", "dk": "LAMP0000NONE"}, 5314),
        ({"pk": "p11u5w", "dk": "LAMP00000001"}, 5049),  # Olivia's own lamp
        ({"pk": "p11u5w", "dk": "LAMP00000009", "fid": "F404"}, 5041),
    ],
)
def test_bind_by_dk_refusals(api, params, code):
    assert api.call("POST", "bindDeviceDk", OWNER, **params)["code"] == code


def test_bind_by_dk_names_the_device(api):
    assert api.call("POST", "bindDeviceDk", OWNER, **STOCK, name="Porch lamp")["code"] == 200
    assert api.call("GET", "deviceInfo", OWNER, **STOCK)["data"]["deviceName"] == "Porch lamp"
    assert api.call("POST", "bindDeviceDk", OWNER, **STOCK)["code"] == 5049


def test_bind_by_sn_refusals(api):
    assert api.call("POST", "bindDeviceSn", SAM, pk="p11u5w")["code"] == 5088
    assert api.call("POST", "bindDeviceSn", SAM, sn="SN-LAMP-0009")["code"] == 5066
    assert api.call("POST", "bindDeviceSn", SAM, pk="p11u5w", sn="SN-NONE")["code"] == 5090
    assert api.call("POST", "bindDeviceSn", SAM, pk="p11u6t", sn="SN-LAMP-0009")["code"] == 5090
    assert api.call("POST", "bindDeviceSn", SAM, pk="nope", sn="SN-LAMP-0009")["code"] == 5229


def test_bind_by_wifi_binding_code_json_body(api):
    body = {"productKey": "p11u5w", "deviceKey": "LAMP00000009", "bindingCode": "000000"}
    assert api.call("POST", "deviceBindingByWifi", SAM, json=body)["code"] == 5462
    assert api.call("POST", "deviceBindingByWifi", SAM, json={**body, "bindingCode": None})["code"] == 5179
    answer = api.call("POST", "deviceBindingByWifi", SAM, json={**body, "bindingCode": "482913"})
    assert answer["code"] == 200
    assert set(answer["data"]) == {"authKey", "bindingMode", "productLogo", "productName"}
    assert (answer["data"]["bindingMode"], answer["data"]["productName"]) == (1, "Smart Lamp")
    api.mock.put_in_stock("p11u5w", "LAMP00000077")  # reported no binding code
    body = {"productKey": "p11u5w", "deviceKey": "LAMP00000077", "bindingCode": "1"}
    assert api.call("POST", "deviceBindingByWifi", SAM, json=body)["code"] == 5460


def test_bind_over_bluetooth_checks_the_signature_and_code(api):
    body = {**STOCK, "random": "0123456789abcdef", "encryptedNewBindingSecret": "q83vEjRWeJA=", "bindingCode": "482913"}
    good = crypto.signature("p11u5w", "LAMP00000009", "482913", "", "sim-domain-secret")
    assert api.call("POST", "deviceBindingByPureBt", SAM, json=body)["code"] == 5550
    assert api.call("POST", "deviceBindingByPureBt", SAM, json={**body, "signature": "0" * 64})["code"] == 5420
    wrong = {
        **body,
        "bindingCode": "1",
        "signature": crypto.signature("p11u5w", "LAMP00000009", "1", "", "sim-domain-secret"),
    }
    assert api.call("POST", "deviceBindingByPureBt", SAM, json=wrong)["code"] == 5213
    no_code = {k: v for k, v in body.items() if k != "bindingCode"}
    assert api.call("POST", "deviceBindingByPureBt", SAM, json={**no_code, "signature": good})["code"] == 5179
    assert (
        api.call("POST", "deviceBindingByPureBt", SAM, json={**body, "random": None, "signature": good})["code"] == 5000
    )
    answer = api.call("POST", "deviceBindingByPureBt", SAM, json={**body, "signature": good})
    assert answer == {"code": 200, "msg": "", "data": {"verified": "1"}, "extMsg": None}
    assert "p11u5w/LAMP00000009:1" in _owned(api, SAM)


def test_a_share_recipient_cannot_bind_the_shared_device(quectel_mock):
    quectel_mock.reset("code-6040")
    api = Client(quectel_mock)
    assert api.call("POST", "bindDeviceSn", RUI, pk="p11u5w", sn="SN-LAMP-0001")["code"] == 6040
    assert api.call("POST", "bindDeviceDk", RUI, pk="p11u5w", dk="LAMP00000001")["code"] == 6040


# ---- binding modes ----------------------------------------------------------------------------------


def test_mode_1_each_binder_is_an_owner(modes):
    lock = {"pk": "pmulti", "dk": "LOCK0001"}
    assert modes.call("POST", "bindDeviceDk", OWNER, **lock)["code"] == 200
    assert modes.call("POST", "bindDeviceDk", SAM, **lock)["code"] == 200
    assert modes.call("POST", "bindDeviceDk", SAM, **lock)["code"] == 5049
    assert "pmulti/LOCK0001:1" in _owned(modes, OWNER) and "pmulti/LOCK0001:1" in _owned(modes, SAM)
    assert modes.call("DELETE", "unbundlingDeviceDk", OWNER, **lock)["data"] == {"bindingSum": 1}
    assert "pmulti/LOCK0001:1" in _owned(modes, SAM) and "pmulti/LOCK0001:1" not in _owned(modes, OWNER)


def test_mode_2_one_owner(modes):
    lock = {"pk": "punique", "dk": "LOCK0001"}
    assert modes.call("POST", "bindDeviceDk", OWNER, **lock)["code"] == 200
    assert modes.call("POST", "bindDeviceDk", OWNER, **lock)["code"] == 5049
    assert modes.call("POST", "bindDeviceDk", SAM, **lock)["code"] == 5412
    assert "punique/LOCK0001:1" not in _owned(modes, SAM)


def test_mode_3_the_newest_binder_takes_it_over(modes):
    lock = {"pk": "protate", "dk": "LOCK0001"}
    assert modes.call("POST", "bindDeviceDk", OWNER, **lock)["code"] == 200
    assert modes.call("POST", "shareByUid", OWNER, **lock, shareUid="C1002")["code"] == 200
    assert modes.call("GET", "deviceInfo", RUI, **lock)["code"] == 200
    assert modes.call("POST", "bindDeviceDk", SAM, **lock)["code"] == 200
    assert modes.call("POST", "bindDeviceDk", SAM, **lock)["code"] == 5049
    assert "protate/LOCK0001:1" in _owned(modes, SAM)
    assert "protate/LOCK0001:1" not in _owned(modes, OWNER)
    assert modes.call("GET", "deviceInfo", RUI, **lock)["code"] == 5141  # the old owner's share ended
    [share] = [s for s in modes.mock.state()["shares"] if s["device"]["dk"] == "LOCK0001"]
    assert (share["shareStatus"], share["failureCause"]) == (2, 6)


# ---- binding into a family ------------------------------------------------------------------------------


def test_binding_into_a_family(api):
    gus, rui = "guest-token", RUI  # Gus: a regular member of F1001; Rui: home mode off
    assert api.call("POST", "bindDeviceDk", rui, **STOCK, fid="F1001")["code"] == 5624
    assert api.call("POST", "bindDeviceDk", gus, **STOCK, fid="F404")["code"] == 5041  # not a member
    assert api.call("POST", "bindDeviceDk", gus, **STOCK, fid="F1001")["code"] == 5669
    assert api.call("POST", "bindDeviceDk", FAY, **STOCK, fid="F1001", frid="F404-R9")["code"] == 5041
    assert api.call("POST", "bindDeviceDk", FAY, **STOCK, frid="F1001-R2")["code"] == 5636
    # Fay, an admin, binds it into the kitchen: the family's members may use it at once
    assert api.call("POST", "bindDeviceDk", FAY, **STOCK, fid="F1001", frid="F1001-R2")["code"] == 200
    kitchen = api.call("GET", "/v2/family/enduserapi/getFamilyRoomDeviceList", gus, frid="F1001-R2")["data"]["list"]
    assert "LAMP00000009" in [d["deviceKey"] for d in kitchen]
    assert api.call("GET", "deviceInfo", gus, **STOCK)["code"] == 200
    common = api.call("GET", "/v2/family/enduserapi/getCommonUsedDeviceList", gus, fid="F1001")["data"]["list"]
    assert "LAMP00000009" in [d["deviceKey"] for d in common]


# ---- the helpers --------------------------------------------------------------------------------------


def test_owner_renames_and_recipients_keep_their_own_names(api):
    lamp = {"pk": "p11u5w", "dk": "LAMP00000001"}
    code = api.call("POST", "shareByUid", OWNER, **lamp, shareUid="C1002")["data"]
    assert api.call("PUT", "changeShareDeviceName", RUI, shareCode=code, deviceName="Rui's name")["code"] == 200
    assert api.call("PUT", "setDeviceInfo", OWNER, **lamp, deviceName="Lounge")["code"] == 200
    assert api.call("GET", "deviceInfo", OWNER, **lamp)["data"]["deviceName"] == "Lounge"
    assert api.call("GET", "deviceInfo", RUI, **lamp)["data"]["deviceName"] == "Rui's name"
    assert api.call("PUT", "setDeviceInfo", RUI, **lamp, deviceName="Mine")["code"] == 5041
    assert api.call("PUT", "setDeviceInfo", OWNER, **lamp, deviceName="n" * 65)["code"] == 5333
    assert api.call("PUT", "setDeviceInfo", OWNER, **lamp)["code"] == 5068
    assert api.call("PUT", "setDeviceInfo", OWNER, deviceName="x", dk="LAMP00000001")["code"] == 5066


def test_time_zone(api):
    lamp = {"pk": "p11u5w", "dk": "LAMP00000001"}
    assert api.call("GET", "getDeviceTimeZone", OWNER, **lamp)["data"] == {
        "timeZone": "+00:00",
        "timeZoneId": "Etc/UTC",
    }
    body = {**lamp, "timeZone": "+05:30", "timeZoneId": "Asia/Kolkata"}
    assert api.call("PUT", "setDeviceTimeZone", OWNER, json=body)["code"] == 200
    assert api.call("GET", "getDeviceTimeZone", OWNER, **lamp)["data"] == {
        "timeZone": "+05:30",
        "timeZoneId": "Asia/Kolkata",
    }
    assert api.call("PUT", "setDeviceTimeZone", OWNER, json={**body, "timeZone": "GMT+01"})["code"] == 200
    assert api.call("PUT", "setDeviceTimeZone", OWNER, json={**body, "timeZone": "5.5"})["code"] == 5000
    assert api.call("PUT", "setDeviceTimeZone", SAM, json=body)["code"] == 5041
    assert api.call("GET", "getDeviceTimeZone", SAM, **lamp)["code"] == 5041
    assert api.call("GET", "getDeviceTimeZone", OWNER, pk="p11u5w")["code"] == 5067


def test_product_manual_and_gateway_children(api):
    assert api.call("GET", "getProductManual", OWNER, pk="p11u5w")["data"] == {"url": ""}
    assert api.call("GET", "getProductManual", OWNER)["code"] == 5066
    lamp = {"pk": "p11u5w", "dk": "LAMP00000001"}
    page = api.call("GET", "getGatewayDeviceChildList", OWNER, **lamp)["data"]
    assert (page["list"], page["total"]) == ([], 0)
    assert api.call("GET", "getGatewayDeviceChildList", SAM, **lamp)["code"] == 5041


def test_control_api_puts_a_device_in_stock(api):
    made = api.mock.put_in_stock("p11u6t", "PLUG00000077", sn="SN-PLUG-77", name="New plug")
    assert (made["owner"], made["name"]) == (None, "New plug")
    with pytest.raises(AssertionError, match="409"):
        api.mock.put_in_stock("p11u6t", "PLUG00000077")
    with pytest.raises(AssertionError, match="400"):
        api.mock.control("POST", "/stock", {"pk": "p11u6t"})
    assert api.call("POST", "bindDeviceSn", SAM, pk="p11u6t", sn="SN-PLUG-77")["code"] == 200
    assert "p11u6t/PLUG00000077:1" in _owned(api, SAM)


# ---- deleting an account ----------------------------------------------------------------------------


def test_deleting_an_account_unbinds_its_devices_and_ends_its_shares(api):
    lamp = {"pk": "p11u5w", "dk": "LAMP00000001"}
    given = api.call("POST", "shareByUid", OWNER, **lamp, shareUid="C1002")["data"]
    held = api.call("POST", "shareByUid", RUI, pk="p11u7a", dk="SENS00000001", shareUid="C1001")["data"]
    assert api.call("DELETE", "userDelete", OWNER, type=1)["code"] == 200
    assert api.call("GET", "userInfo", OWNER)["code"] == 5032
    assert api.call("GET", "deviceInfo", RUI, shareCode=given)["code"] == 5041
    shares = {s["code"]: (s["shareStatus"], s["failureCause"]) for s in api.mock.state()["shares"]}
    assert shares[given] == (2, 6) and shares[held] == (2, 4)
    state = api.mock.state()
    assert "C1001" not in [u["uid"] for u in state["users"]]
    assert api.call("GET", "deviceInfo", FAY, pk="p11u5w", dk="LAMP00000002")["code"] == 5052  # her family went
    assert api.call("GET", "/v2/family/enduserapi/getFamilyList", FAY)["data"]["list"] == []
    assert {d["owner"] for d in state["devices"] if d["dk"] in ("LAMP00000001", "PLUG00000001")} == {None}
    # the lamp is in stock again, and the phone can register anew
    assert api.call("POST", "bindDeviceSn", SAM, pk="p11u5w", sn="SN-LAMP-0001")["code"] == 200
    assert api.register_phone("13800000001")
