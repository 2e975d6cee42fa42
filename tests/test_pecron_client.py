"""A published client of this cloud, unmodified, against the real server: unofficial-pecron-api
signs in, lists devices, reads a power station's thing model and values, switches its AC output
on and off and reads the value back, as the owner and as the recipient of an active share; and
the recipient is refused the moment the owner cancels the share.

The client has no option for another host: its users patch its region table, and so does this
test (base URL, user domain and that domain's secret), exactly as its README's users would.
"""

from __future__ import annotations

import pytest

pecron = pytest.importorskip("unofficial_pecron_api", reason="unofficial-pecron-api is a test dependency")
from unofficial_pecron_api import PecronAPI  # noqa: E402
from unofficial_pecron_api.const import REGIONS  # noqa: E402
from unofficial_pecron_api.exceptions import CommandError, PecronAPIError  # noqa: E402

STATION = ("p11u8k", "POWR00000001")


@pytest.fixture
def region(server, monkeypatch):
    """Point the client's CN region at the simulator, as its users patch it."""
    patched = {**REGIONS["CN"], "base_url": server.base, "user_domain": "C.DM.5903.1",
               "user_domain_secret": "sim-domain-secret"}  # fmt: skip
    monkeypatch.setitem(REGIONS, "CN", patched)
    server.request("POST", "/_mock/reset")
    return "CN"


def signed_in(region: str, email: str, password: str) -> PecronAPI:
    client = PecronAPI(region)
    client.login(email, password)
    return client


def station_of(client: PecronAPI):
    (device,) = [d for d in client.get_devices() if (d.product_key, d.device_key) == STATION]
    return device


def switch_and_read_back(client: PecronAPI, device) -> None:
    tsl = {p.code: p for p in client.get_product_tsl(device)}
    assert tsl["ac_switch_hm"].writable and not tsl["battery_percentage"].writable
    assert [v.value for v in tsl["ac_charging_power_ios"].enum_values] == ["0", "1", "2", "3", "4"]
    before = client.get_device_properties(device)
    assert before.battery_percentage == 87 and before.ac_switch is False
    assert before.battery_pack["voltage"] == "51.2" and device.firmware_version
    for wanted in (True, False):
        result = client.set_ac_output(device, wanted)
        assert result.success and len(result.ticket) == 24, result
        assert client.get_device_properties(device).ac_switch is wanted
    assert client.set_ac_charge_speed(device, 3).success
    assert client.get_device_properties(device).ac_charge_speed == "3"
    refused = client.set_device_property(device, {"battery_percentage": 5})
    assert not refused.success and refused.error_message == "battery_percentage: read-only property"


def test_the_owner_uses_the_power_station(region):
    with signed_in(region, "owner@example.com", "owner-pass-1") as owner:
        device = station_of(owner)
        assert device.online and device.product_name == "Portable Power Station E300"
        assert owner.get_device_info(device)["deviceType"] == 1
        switch_and_read_back(owner, device)


def test_a_recipient_uses_it_until_the_owner_cancels(region, server):
    shared = server.api("POST", "shareByUid", "owner-token", pk=STATION[0], dk=STATION[1], shareUid="C1002")
    assert shared["code"] == 200, shared
    with signed_in(region, "recipient@example.com", "recipient-pass-2") as rui:
        device = station_of(rui)
        assert rui.get_device_info(device)["deviceType"] == 2
        switch_and_read_back(rui, device)
        cancelled = server.api("DELETE", "ownerUserUnshareDevice", "owner-token", shareCode=shared["data"])
        assert cancelled["code"] == 200
        with pytest.raises(PecronAPIError) as refused:
            rui.get_device_properties(device)
        assert refused.value.code == 5041
        with pytest.raises(CommandError) as not_sent:
            rui.set_ac_output(device, True)
        assert not_sent.value.code == 5041
        assert STATION not in {(d.product_key, d.device_key) for d in rui.get_devices()}
