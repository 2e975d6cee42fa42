"""The device endpoints under /v2/binding/enduserapi/ that show shared devices."""

from __future__ import annotations

from functools import partial

from flask import Blueprint

from ..cloud import devices, views
from . import schemas as s
from .dispatch import Call, endpoint

bp = Blueprint("devices", __name__, url_prefix="/v2/binding/enduserapi")


@endpoint(bp, "GET", "userDeviceList", s.UserDeviceListParams, data="PageInfo")
def user_device_list(call: Call) -> dict:
    """Owned devices, then devices shared with the caller, a page at a time."""
    params = call.params
    page = params["page"] or params["pageNumber"] or params["pageNum"] or 1
    items = devices.user_device_list(call.world, call.user, params)
    render = partial(views.device_details, call.world, viewer=call.user.uid)
    return views.page_info(items, page, params["pageSize"], render)


@endpoint(bp, "GET", "deviceInfo", s.DeviceInfoParams, data="DeviceDetails")
def device_info(call: Call) -> dict:
    """One device, by pk and dk or by share code."""
    view = devices.device_info(call.world, call.user, call.params)
    return views.device_details(call.world, view, viewer=call.user.uid)


@endpoint(bp, "DELETE", "unbundlingDeviceDk", s.UnbindParams, data="Binding")
def unbind(call: Call) -> dict:
    """The owner unbinds a device (every share ends), or a recipient leaves it."""
    return {"bindingSum": devices.unbind(call.world, call.user, call.params)}
