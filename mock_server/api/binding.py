"""Binding endpoints under /v2/binding/enduserapi/: binding a device in stock by dk, sn, Wi-Fi
binding code or Bluetooth, and the helpers around a bound device."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import validates

from ..cloud import binding
from .dispatch import Call, endpoint
from .schemas import Lenient, NamedParams, Params, Text, described

bp = Blueprint("binding", __name__, url_prefix="/v2/binding/enduserapi")
v2 = Blueprint("binding_v2", __name__, url_prefix="/v2/binding/enduserapi/v2")


def _pk(missing: int | None = 5066) -> Text:
    return described(Text(missing=missing), "Product Key of the device", "p11u5w")


def _dk(missing: int | None = 5067) -> Text:
    return described(Text(missing=missing), "Device Key of the device", "LAMP00000009")


def _name(what: str = "the device's name, at most 64 characters") -> Text:
    return described(Text(), what, "Hall lamp")


def _fid() -> Text:
    return described(Text(), "the family to put the device in (home mode)", "F1001")


def _frid() -> Text:
    return described(Text(), "the room of that family", "R1")


def _ignored(what: str, example: object) -> Text:
    return described(Text(), f"{what} (accepted and ignored)", example)


class BindDkParams(Params):
    pk = _pk()
    dk = _dk()
    name = _name()
    capabilitiesBitmask = _ignored("the device's network capabilities", 3)
    fid = _fid()
    frid = _frid()
    isCommonDevice = _ignored("in home mode, also a frequently used device", "true")

    @validates("name")
    def _name_length(self, value: str, **kwargs: object) -> None:
        self._check_name_length(value)


def _binding_args(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in ("capabilitiesBitmask", "isCommonDevice")}


@endpoint(bp, "POST", "bindDeviceDk", BindDkParams, data="AuthKey")
def bind_device_dk(call: Call) -> dict:
    """Binds a device in stock by its device key; data is its new authKey."""
    return binding.bind_dk(call.world, call.user, **_binding_args(call.params))


class BindSnParams(NamedParams):
    pk = _pk()
    sn = described(Text(missing=5088), "the device's serial number", "SN-LAMP-0009")
    deviceName = _name()
    capabilitiesBitmask = _ignored("the device's network capabilities", 3)
    fid = _fid()
    frid = _frid()
    isCommonDevice = _ignored("in home mode, also a frequently used device", "true")


@endpoint(bp, "POST", "bindDeviceSn", BindSnParams, data="SnBinding")
def bind_device_sn(call: Call) -> dict:
    """Binds a device in stock by its serial number; data has its pk, dk and new authKey."""
    return binding.bind_sn(call.world, call.user, **_binding_args(call.params))


class WifiBindParams(NamedParams):
    productKey = _pk()
    deviceKey = _dk()
    bindingCode = described(Text(missing=5179), "the code the device reported while provisioned", "482913")
    deviceName = _name()
    capabilitiesBitmask = _ignored("the device's network capabilities", 3)
    fid = _fid()
    frid = _frid()
    isCommonDevice = _ignored("in home mode, also a frequently used device", "true")
    isMatter = _ignored("whether it is a Matter device", "false")


@endpoint(v2, "POST", "deviceBindingByWifi", WifiBindParams, data="WifiBinding", body="json")
def device_binding_by_wifi(call: Call) -> dict:
    """Binds a Wi-Fi device with the binding code it reported (JSON body)."""
    params = {k: v for k, v in _binding_args(call.params).items() if k != "isMatter"}
    return binding.bind_wifi(call.world, call.user, **params)


class PureBtParams(NamedParams):
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
    encryptedOldBindingSecret = _ignored("the former binding secret, encrypted", "")
    pwd = described(Text(), "the device's Bluetooth password", "")
    deviceName = _name()
    capabilitiesBitmask = _ignored("the device's network capabilities", 4)
    fid = _fid()
    frid = _frid()
    isCommonDevice = _ignored("in home mode, also a frequently used device", "true")


@endpoint(bp, "POST", "deviceBindingByPureBt", PureBtParams, data="Verified", body="json")
def device_binding_by_pure_bt(call: Call) -> dict:
    """Binds a Bluetooth-only device (JSON body)."""
    params = {k: v for k, v in _binding_args(call.params).items() if k != "encryptedOldBindingSecret"}
    return binding.bind_pure_bt(call.world, call.user, **params)


class RenameParams(NamedParams):
    deviceName = described(Text(missing=5068), "the device's new name, at most 64 characters", "Hall lamp")
    pk = _pk()
    dk = _dk()


@endpoint(bp, "PUT", "setDeviceInfo", RenameParams)
def set_device_info(call: Call) -> None:
    """The owner renames a device (recipients keep their own names)."""
    binding.rename(call.world, call.user, **call.params)


class DeviceParams(Params):
    pk = _pk()
    dk = _dk()


@endpoint(bp, "GET", "getDeviceTimeZone", DeviceParams, data="TimeZone")
def get_device_time_zone(call: Call) -> dict:
    """The device's time zone (+00:00 until one is set)."""
    return binding.time_zone(call.world, call.user, **call.params)


class TimeZoneParams(Params):
    pk = _pk()
    dk = _dk()
    timeZone = described(Text(missing=5000), "+HH:mm or +HH (a leading GMT is taken)", "+01:00")
    timeZoneId = described(Text(), "the zone's name", "Europe/Lisbon")


@endpoint(v2, "PUT", "setDeviceTimeZone", TimeZoneParams, body="json")
def set_device_time_zone(call: Call) -> None:
    """The owner sets the device's time zone (JSON body)."""
    binding.set_time_zone(call.world, call.user, **call.params)


class ProductParams(Params):
    pk = _pk()


@endpoint(bp, "GET", "getProductManual", ProductParams, data="ProductManual")
def get_product_manual(call: Call) -> dict:
    """The product manual's URL (empty: no product here carries one)."""
    return binding.product_manual(call.world, **call.params)


class GatewayParams(Params):
    pk = _pk()
    dk = _dk()
    gatewayType = _ignored("1 network proxy, 2 product integration, 3 both", 2)
    page = described(Lenient(default=1), "page number, from 1", 1)
    pageSize = described(Lenient(default=10), "rows per page", 10)


@endpoint(bp, "GET", "getGatewayDeviceChildList", GatewayParams, data="PageInfo")
def get_gateway_device_child_list(call: Call) -> dict:
    """A gateway's sub-devices (none: the simulator models no gateways)."""
    params = {k: v for k, v in call.params.items() if k != "gatewayType"}
    return binding.gateway_children(call.world, call.user, **params)


BLUEPRINTS = (bp, v2)
