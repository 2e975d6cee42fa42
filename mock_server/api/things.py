"""The endpoints that make a device usable: its thing model, its values, control, and the
helpers apps and published clients call beside them."""

from __future__ import annotations

from flask import Blueprint

from ..cloud import access, control, devices, views
from . import schemas as s
from .dispatch import Call, endpoint

bp = Blueprint("things", __name__, url_prefix="/v2/binding/enduserapi")
catalogue = Blueprint("catalogue", __name__, url_prefix="/v2/enduser/enduserapi")


@endpoint(bp, "GET", "productTSL", s.ProductKeyParams, data="Tsl")
def product_tsl(call: Call) -> dict:
    """A product's thing model (TSL): properties, events and services."""
    return devices.product_tsl(call.world, call.params)


@endpoint(bp, "GET", "getDeviceBusinessAttributes", s.BusinessAttributesParams, data="BusinessAttributes")
def business_attributes(call: Call) -> dict:
    """A device's current property values, module data and location."""
    params = call.params
    device = access.view_of(call.world, call.user, params["pk"], params["dk"]).device
    types = params.get("type") or params.get("typeList")
    return views.business_attributes(call.world, device, types, params.get("codeList"))


@endpoint(bp, "POST", "batchControlDevice", s.BatchControlParams, data="ControlResult", body="json")
def batch_control(call: Call) -> dict:
    """Write properties, call a service or pass data through, for one or more devices."""
    return control.batch_control(call.world, call.user, call.params, call.refuse)


@endpoint(bp, "GET", "getDeviceInfoByBinding", s.BindingCheckParams, data="BindingCheck")
def info_by_binding(call: Call) -> dict:
    """Whether the caller can bind a device of a product, and how it binds."""
    return devices.info_by_binding(call.world, call.user, call.params)


@endpoint(bp, "POST", "getAuthKey", s.DeviceKeyParams, data="AuthKey")
def get_auth_key(call: Call) -> dict:
    """The device's LAN key (base64 of 16 bytes)."""
    return devices.auth_key(call.world, call.user, call.params)


@endpoint(bp, "POST", "regenerateAuthKey", s.DeviceKeyParams, data="AuthKey")
def regenerate_auth_key(call: Call) -> dict:
    """The device's LAN key again (the key in use is kept, as on the live service)."""
    return devices.auth_key(call.world, call.user, call.params)


@endpoint(bp, "GET", "getDeviceBindingInfo", s.DeviceKeyParams, data="BindingInfo")
def binding_info(call: Call) -> dict:
    """Product and binding facts of a device the caller uses (undocumented; clients call it)."""
    return devices.binding_info(call.world, call.user, call.params)


@endpoint(bp, "GET", "getDeviceOnlineStatus", s.DeviceKeyParams, data="OnlineStatus")
def online_status(call: Call) -> dict:
    """Whether a device is online (undocumented; clients call it)."""
    return devices.online_status(call.world, call.user, call.params)


@endpoint(catalogue, "GET", "getProductList", s.ProductListParams, data="ProductPage")
def product_list(call: Call) -> dict:
    """The products the cloud knows, a page at a time (undocumented for end users)."""
    params = call.params
    page = params["page"] or params["pageNumber"] or params["pageNum"] or 1
    return views.page_info(devices.product_list(call.world), page, params["pageSize"])
