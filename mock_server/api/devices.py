"""The device endpoints under /v2/binding/enduserapi/ that show shared devices."""

from __future__ import annotations

from functools import partial

from flask import Blueprint

from ..domain import devices, views
from . import schemas as s
from .dispatch import Call, endpoint

bp = Blueprint("devices", __name__, url_prefix="/v2/binding/enduserapi")


@endpoint(bp, "GET", "userDeviceList", s.UserDeviceListParams)
def user_device_list(call: Call) -> dict:
    params = call.params
    page = params["page"] or params["pageNumber"] or 1
    items = devices.user_device_list(call.world, call.user, params)
    return views.page_info(items, page, params["pageSize"], partial(views.device_details, call.world))


@endpoint(bp, "GET", "deviceInfo", s.DeviceInfoParams)
def device_info(call: Call) -> dict:
    return views.device_details(call.world, devices.device_info(call.world, call.user, call.params))


@endpoint(bp, "DELETE", "unbundlingDeviceDk", s.UnbindParams)
def unbind(call: Call) -> dict:
    return {"bindingSum": devices.unbind(call.world, call.user, call.params)}
