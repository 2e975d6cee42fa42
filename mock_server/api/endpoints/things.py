"""The endpoints that make a device usable: its thing model, its values, control, and the
helpers apps and published clients call beside them."""

from __future__ import annotations

from ...cloud import access, control, devices, views
from .. import schemas as s
from ..declare import Area, UserCall

binding = Area("/v2/binding/enduserapi")
enduser = Area("/v2/enduser/enduserapi")
# Devices in use: 5041/5052 come from the one access decision (cloud/access.py).
IN_USE = (5052, 5066, 5067)


def _lamp(sample) -> dict:
    return {"pk": sample.lamp.pk, "dk": sample.lamp.dk}


@binding.endpoint(
    "GET", "productTSL", s.ProductKeyParams, shape="Tsl", codes=(5066, 5193),
    data=lambda sample: [p.tsl for p in sample.world.products.values()],
)  # fmt: skip
def product_tsl(call: UserCall) -> dict:
    """A product's thing model (TSL): properties, events and services."""
    return devices.product_tsl(call.world, **call.params)


def _attributes(sample) -> list:
    world = sample.world
    every = [views.business_attributes(world, device, None, None) for device in (sample.lamp, sample.station)]
    return [*every, views.business_attributes(world, sample.lamp, ["2"], ["switch"])]


@binding.endpoint(
    "GET",
    "getDeviceBusinessAttributes",
    s.BusinessAttributesParams,
    shape="BusinessAttributes",
    codes=(5041, *IN_USE, 5471),
    data=_attributes,
)
def business_attributes(call: UserCall) -> dict:
    """A device's current property values, module data and location."""
    params = call.params
    device = access.view_of(call.world, call.user, params["pk"], params["dk"]).device
    types = params.get("type") or params.get("typeList")
    return views.business_attributes(call.world, device, types, params.get("codeList"))


def _control(sample) -> list:
    keys = [
        {"productKey": d.pk, "deviceKey": d.dk} for d in (sample.lamp, sample.world.devices[("p11u5w", "LAMP00000002")])
    ]
    command = {"type": 2, "data": '[{"switch": true}]', "isCache": 2}
    return [control.batch_control(sample.world, sample.owner, deviceList=keys, **command)]


@binding.endpoint(
    "POST", "batchControlDevice", s.BatchControlParams, shape="ControlResult", body="json", data=_control, devices=None,
    codes=(5041, 5070, 5071, 5072, 5073, 5074, 5075, 5311, 5312, 5328, 5329, 5330, 5331),
)  # fmt: skip
def batch_control(call: UserCall) -> dict:
    """Write properties, call a service or pass data through, for one or more devices."""
    return control.batch_control(call.world, call.user, refuse=call.refuse, **call.params)


@binding.endpoint(
    "GET", "getDeviceInfoByBinding", s.BindingCheckParams, shape="BindingCheck", codes=(5049, 5066, 5361, 5913, 6040),
    data=lambda sample: [devices.info_by_binding(sample.world, sample.owner, pk="p11u5w")],
)  # fmt: skip
def info_by_binding(call: UserCall) -> dict:
    """Whether the caller can bind a device of a product, and how it binds."""
    return devices.info_by_binding(call.world, call.user, **call.params)


def _auth_key(sample) -> list:
    return [devices.auth_key(sample.world, sample.owner, **_lamp(sample))]


@binding.endpoint("POST", "getAuthKey", s.DeviceKeyParams, shape="AuthKey", codes=IN_USE, data=_auth_key)
def get_auth_key(call: UserCall) -> dict:
    """The device's LAN key (base64 of 16 bytes)."""
    return devices.auth_key(call.world, call.user, **call.params)


@binding.endpoint("POST", "regenerateAuthKey", s.DeviceKeyParams, shape="AuthKey", codes=IN_USE, data=_auth_key)
def regenerate_auth_key(call: UserCall) -> dict:
    """The device's LAN key again (the key in use is kept, as on the live service)."""
    return devices.auth_key(call.world, call.user, **call.params)


@binding.endpoint(
    "GET", "getDeviceBindingInfo", s.DeviceKeyParams, shape="BindingInfo", codes=IN_USE,
    data=lambda sample: [devices.binding_info(sample.world, sample.owner, **_lamp(sample))],
)  # fmt: skip
def binding_info(call: UserCall) -> dict:
    """Product and binding facts of a device the caller uses (undocumented; clients call it)."""
    return devices.binding_info(call.world, call.user, **call.params)


@binding.endpoint(
    "GET", "getDeviceOnlineStatus", s.DeviceKeyParams, shape="OnlineStatus", codes=IN_USE,
    data=lambda sample: [devices.online_status(sample.world, sample.owner, **_lamp(sample))],
)  # fmt: skip
def online_status(call: UserCall) -> dict:
    """Whether a device is online (undocumented; clients call it)."""
    return devices.online_status(call.world, call.user, **call.params)


@enduser.endpoint(
    "GET", "getProductList", s.ProductListParams, shape="ProductPage", devices=None,
    data=lambda sample: [views.page_info(devices.product_list(sample.world), 1, 10), views.page_info([], 1, 10)],
)  # fmt: skip
def product_list(call: UserCall) -> dict:
    """The products the cloud knows, a page at a time (undocumented for end users)."""
    return views.page_info(devices.product_list(call.world), call.params["page"], call.params["pageSize"])
