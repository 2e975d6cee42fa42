"""Binding endpoints under /v2/binding/enduserapi/: binding a device in stock by dk, sn, Wi-Fi
binding code or Bluetooth, and the helpers around a bound device."""

from __future__ import annotations

from typing import Any

from marshmallow import validates

from ...cloud import binding
from ...cloud.views import page_info
from ..declare import Area, UserCall
from ..schemas import Flag, Lenient, NamedParams, Params, Text, described, ignored

area = Area("/v2/binding/enduserapi")
AUTH_KEY = "d/DTr7TI9piTf+Xr6Xb0kQ=="
# Every binding: the product (5229), the device (5314, 5361), the caller's share of it (6040),
# the binding mode (5049, 5412), the name (5333) and a family (5041, 5624, 5636, 5669).
BINDING_CODES = (5041, 5049, 5066, 5229, 5333, 5412, 5624, 5636, 5669, 6040)


def _pk() -> Text:
    return described(Text(missing=5066), "Product Key of the device", "p11u5w")


def _dk() -> Text:
    return described(Text(missing=5067), "Device Key of the device", "LAMP00000009")


def _name() -> Text:
    return described(Text(), "the device's name, at most 64 characters", "Hall lamp")


def _accepted(what: str, example: Any) -> Text:
    return ignored(described(Text(), f"{what} (accepted and ignored)", example))


class _Family(NamedParams):
    """What every binding takes beside the device: home mode's family and room, capabilities."""

    capabilitiesBitmask = _accepted("the device's network capabilities", 3)
    fid = described(Text(), "the family to bind the device into (home mode)", "F1001")
    frid = described(Text(), "a room of that family", "R1")
    isCommonDevice = described(Flag(default=True), "with fid: also a frequently used device (default true)", True)


class BindDkParams(_Family):
    pk = _pk()
    dk = _dk()
    name = _name()

    @validates("name")
    def _name_length(self, value: str, **kwargs: Any) -> None:
        self._check_name_length(value)


@area.endpoint(
    "POST", "bindDeviceDk", BindDkParams, codes=(*BINDING_CODES, 5067, 5314, 5361), data={"authKey": AUTH_KEY}
)
def bind_device_dk(call: UserCall) -> dict:
    """Binds a device in stock by its device key; data is its new authKey."""
    return binding.bind_dk(call.world, call.user, **call.params)


class BindSnParams(_Family):
    pk = _pk()
    sn = described(Text(missing=5088), "the device's serial number", "SN-LAMP-0009")
    deviceName = _name()


@area.endpoint(
    "POST", "bindDeviceSn", BindSnParams, codes=(*BINDING_CODES, 5088, 5090), devices=None,
    data={"authKey": AUTH_KEY, "dk": "LAMP00000009", "moduleType": None, "pk": "p11u5w"},
)  # fmt: skip
def bind_device_sn(call: UserCall) -> dict:
    """Binds a device in stock by its serial number; data has its pk, dk and new authKey."""
    return binding.bind_sn(call.world, call.user, **call.params)


class WifiBindParams(_Family):
    productKey = _pk()
    deviceKey = _dk()
    bindingCode = described(Text(missing=5179), "the code the device reported while provisioned", "482913")
    deviceName = _name()
    isMatter = _accepted("whether it is a Matter device", "false")


@area.endpoint(
    "POST", "v2/deviceBindingByWifi", WifiBindParams, body="json", devices=("productKey", "deviceKey"),
    codes=(*BINDING_CODES, 5067, 5179, 5314, 5361, 5460, 5462),
    data={"authKey": AUTH_KEY, "bindingMode": 1, "productLogo": "", "productName": "Smart Lamp"},
)  # fmt: skip
def device_binding_by_wifi(call: UserCall) -> dict:
    """Binds a Wi-Fi device with the binding code it reported (JSON body)."""
    return binding.bind_wifi(call.world, call.user, **call.params)


class PureBtParams(_Family):
    pk = _pk()
    dk = _dk()
    random = described(Text(missing=5000), "the AES iv of the encrypted fields", "0123456789abcdef")
    encryptedNewBindingSecret = described(
        Text(missing=5000), "Base64 AES-128-CBC of 'pk,dk,bindingSecret' (taken as sent)", "q83vEjRWeJA="
    )
    signature = described(
        Text(missing=5550), "hex SHA-256 of pk + dk + bindingCode + pwd + the user domain's secret", "9f86d081884c"
    )
    bindingCode = described(Text(), "the device's binding code (or encryptedBindingCode)", "482913")
    encryptedBindingCode = described(Text(), "the binding code encrypted (taken as sent)", "")
    encryptedOldBindingSecret = _accepted("the former binding secret, encrypted", "")
    pwd = described(Text(), "the device's Bluetooth password", "")
    deviceName = _name()


# 5000: random or encryptedNewBindingSecret missing (no code is documented); 5550/5420: the signature.
@area.endpoint(
    "POST", "deviceBindingByPureBt", PureBtParams, body="json",
    codes=(*BINDING_CODES, 5000, 5067, 5179, 5213, 5314, 5361, 5420, 5550), data={"verified": "1"},
)  # fmt: skip
def device_binding_by_pure_bt(call: UserCall) -> dict:
    """Binds a Bluetooth-only device (JSON body)."""
    return binding.bind_pure_bt(call.world, call.user, **call.params)


class RenameParams(NamedParams):
    deviceName = described(Text(missing=5068), "the device's new name, at most 64 characters", "Hall lamp")
    pk = _pk()
    dk = _dk()


@area.endpoint("PUT", "setDeviceInfo", RenameParams, codes=(5041, 5054, 5066, 5067, 5068, 5333))
def set_device_info(call: UserCall) -> None:
    """The owner renames a device (recipients keep their own names)."""
    binding.rename(call.world, call.user, **call.params)


class DeviceParams(Params):
    pk = _pk()
    dk = _dk()


@area.endpoint(
    "GET", "getDeviceTimeZone", DeviceParams, codes=(5041, 5066, 5067),
    data={"timeZone": "+00:00", "timeZoneId": "Etc/UTC"},
)  # fmt: skip
def get_device_time_zone(call: UserCall) -> dict:
    """The device's time zone (+00:00 until one is set)."""
    return binding.time_zone(call.world, call.user, **call.params)


class TimeZoneParams(Params):
    pk = _pk()
    dk = _dk()
    timeZone = described(Text(missing=5000), "+HH:mm or +HH (a leading GMT is taken)", "+01:00")
    timeZoneId = described(Text(), "the zone's name", "Europe/Lisbon")


# 5000: a timeZone missing or not +HH:mm or +HH (no code is documented).
@area.endpoint("PUT", "v2/setDeviceTimeZone", TimeZoneParams, body="json", codes=(5000, 5041, 5066, 5067))
def set_device_time_zone(call: UserCall) -> None:
    """The owner sets the device's time zone (JSON body)."""
    binding.set_time_zone(call.world, call.user, **call.params)


class ProductParams(Params):
    pk = _pk()


@area.endpoint("GET", "getProductManual", ProductParams, codes=(5066,), data={"url": ""}, devices=None)
def get_product_manual(call: UserCall) -> dict:
    """The product manual's URL (empty: no product here carries one)."""
    return binding.product_manual(call.world, **call.params)


class GatewayParams(Params):
    pk = _pk()
    dk = _dk()
    gatewayType = _accepted("1 network proxy, 2 product integration, 3 both", 2)
    page = described(Lenient(default=1), "page number, from 1", 1)
    pageSize = described(Lenient(default=10), "rows per page", 10)


@area.endpoint(
    "GET", "getGatewayDeviceChildList", GatewayParams, codes=(5009, 5041, 5066, 5067),
    data=page_info([], 1, 10),
)  # fmt: skip
def get_gateway_device_child_list(call: UserCall) -> dict:
    """A gateway's sub-devices (none: the simulator models no gateways)."""
    return binding.gateway_children(call.world, call.user, **call.params)
