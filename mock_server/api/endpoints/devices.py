"""The device endpoints under /v2/binding/enduserapi/ that show shared devices."""

from __future__ import annotations

from functools import partial
from typing import Any

from ...cloud import devices, views
from .. import schemas as s
from ..declare import Area, UserCall

binding = Area("/v2/binding/enduserapi")


def _page(sample) -> list:
    return [views.page_info(sample.details, 1, 10), views.page_info([], 1, 10)]


@binding.endpoint(
    "GET",
    "userDeviceList",
    s.UserDeviceListParams,
    codes=(5047, 5333),
    data=_page,
    shape="PageInfo",
    devices=None,
)
def user_device_list(call: UserCall) -> dict:
    """Owned devices, then devices shared with the caller, a page at a time."""
    params = dict(call.params)
    page, size = params.pop("page"), params.pop("pageSize")
    items = devices.user_device_list(call.world, call.user, **params)
    return views.page_info(items, page, size, render_all=partial(views.device_rows, call.world, viewer=call.user.uid))


@binding.endpoint(
    "GET", "deviceInfo", s.DeviceInfoParams, codes=(5041, 5047, 5052, 5140, 5141),
    data=lambda sample: sample.details, shape="DeviceDetails",
)  # fmt: skip
def device_info(call: UserCall) -> Any:
    """One device, by pk and dk or by share code."""
    view = devices.device_info(call.world, call.user, **call.params)
    return views.device_rows(call.world, [view], viewer=call.user.uid)[0]


@binding.endpoint(
    "DELETE", "unbundlingDeviceDk", s.UnbindParams, codes=(5050, 5052, 5066, 5067),
    data=lambda sample: [{"bindingSum": 0}, {"bindingSum": 2}], shape="Binding",
)  # fmt: skip
def unbind(call: UserCall) -> dict:
    """The owner unbinds a device (every share ends), or a recipient leaves it."""
    return {"bindingSum": devices.unbind(call.world, call.user, **call.params)}
