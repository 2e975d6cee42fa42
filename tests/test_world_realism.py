"""The default world looks real to a client that reads it (requests against a served world):
one product, one name; generated devices named after what they are; values plausible and
physically consistent; an online device's values recent on the world's clock."""

from __future__ import annotations

import json
import re

import pytest
import requests
from helpers import Running

DEVICES = "/v2/binding/enduserapi/userDeviceList"
ATTRIBUTES = "/v2/binding/enduserapi/getDeviceBusinessAttributes"
GENERATED_DK = re.compile(r"^[0-9A-F]{12}$")
KIND = {"Smart Lamp": "lamp", "Smart Plug with metering": "plug", "Climate Sensor": "sensor",
        "Portable Power Station E300": "power station"}  # fmt: skip


@pytest.fixture(scope="module")
def world():
    """A served default world, every device as its owner's userDeviceList shows it, with the
    owner's token and the device's business attributes."""
    server = Running()
    try:
        state = requests.get(server.base + "/_mock/state", timeout=10).json()
        tokens = {}
        for owner in {d["owner"] for d in state["devices"] if d["owner"]}:
            answer = requests.post(server.base + "/_mock/tokens", json={"uid": owner}, timeout=10).json()
            tokens[owner] = answer["accessToken"]["token"]
        listed = {}
        for token in tokens.values():
            page = _get(server, DEVICES, token, pageSize=100)["list"]
            listed.update({(d["productKey"], d["deviceKey"]): {**d, "token": token} for d in page})
        for (pk, dk), device in listed.items():
            device["attributes"] = _get(server, ATTRIBUTES, device["token"], pk=pk, dk=dk)
        products = _get(server, "/v2/enduser/enduserapi/getProductList", tokens["C1001"], pageSize=100)
        yield server, state, listed, products
    finally:
        server.stop()


def _get(server: Running, path: str, token: str, **params) -> dict:
    body = requests.get(server.base + path, params=params, headers={"Authorization": token}, timeout=10).json()
    assert body["code"] == 200, body
    return body["data"]


def _values(device: dict) -> dict:
    """Property code to value (STRUCT members parsed), as getDeviceBusinessAttributes says."""
    items = device["attributes"]["customizeTslInfo"] or []
    return {i["resourceCode"]: _native(i["resourceValce"]) for i in items}


def _native(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def test_one_product_has_one_name_everywhere(world):
    server, state, listed, products = world
    names = {p["productKey"]: p["productName"] for p in products["list"]}
    assert names["p11u5w"] == "Smart Lamp"
    assert len(listed) >= 40
    assert {key: d["productName"] for key, d in listed.items()} == {key: names[key[0]] for key in listed}
    lamp = _get(server, "/v2/binding/enduserapi/deviceInfo", "owner-token", pk="p11u5w", dk="LAMP00000001")
    assert lamp["productName"] == "Smart Lamp"


def test_generated_devices_are_named_after_their_product(world):
    _, _, listed, _ = world
    generated = [d for (_, dk), d in listed.items() if GENERATED_DK.match(dk)]
    assert len(generated) >= 30
    wrong = [(d["deviceName"], d["productName"]) for d in generated
             if not d["deviceName"].endswith("'s " + KIND[d["productName"]])]  # fmt: skip
    assert wrong == []


def test_metered_plugs_agree_with_physics(world):
    _, _, listed, _ = world
    plugs = [_values(d) for (pk, _), d in listed.items() if pk == "p11u6t"]
    assert len(plugs) >= 5 and any(p["switch"] is True for p in plugs)
    for plug in plugs:
        volts, amps, watts = float(plug["voltage"]), float(plug["current"]), float(plug["power"])
        assert 200 <= volts <= 250, plug  # mains, not 13.5 V
        if plug["switch"] is False:
            assert (amps, watts) == (0, 0), plug  # a plug switched off draws nothing
        else:  # within the rounding of a current to 0.01 A and a power to 0.1 W
            assert abs(volts * amps - watts) <= volts * 0.005 + 0.05, plug
            assert watts <= 0.15 * 3680 + 0.1, plug


def test_climate_values_are_those_of_a_room(world):
    _, _, listed, _ = world
    sensors = [_values(d) for (pk, _), d in listed.items() if pk == "p11u7a"]
    assert sensors
    for sensor in sensors:
        assert 15 <= float(sensor["temperature"]) <= 30 and 30 <= int(sensor["humidity"]) <= 65, sensor
    lamps = [_values(d) for (pk, _), d in listed.items() if pk == "p11u5w"]
    assert all(15 <= int(lamp["lamp_stats"]["led_temp"]) <= 30 for lamp in lamps)


def test_an_online_device_reported_a_moment_ago(world):
    server, _, listed, _ = world
    now = requests.get(server.base + "/_mock/clock", timeout=10).json()["now"]
    online = [d for d in listed.values() if d["onlineStatus"] == 1]
    assert len(online) >= 10
    for device in online:
        updated = device["attributes"]["deviceData"]["updateTime"]
        assert now - 5 * 60_000 <= updated <= now, (device["deviceKey"], now - updated)
        assert device["deviceBindTimeTs"] < now - 29 * 86_400_000  # bound a month ago all the same


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_generated_value_is_within_its_specs(seed):
    """Plausible, and still valid: every value of every device passes the thing model's check."""
    from mock_server.cloud import shadows, things
    from mock_server.harness.scenario import Scenario

    world = Scenario.load("default", seed=seed).build()
    for device in world.devices.values():
        values = shadows.shadow_of(world, device).reported
        product = world.products[device.pk]
        assert things.check_values(product, values) == values, device.dk
