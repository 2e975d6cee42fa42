"""History and statistics of a device: reported values, aggregates, events and positions.

Only 5032 and 5106 are documented; 5066/5067 and 5145 answer as on the other device pages,
5041/5052 come from the access decision, and 5000 (the reason in extMsg) any other missing or
malformed parameter."""

from __future__ import annotations

from ...cloud import history, views
from .. import schemas as s
from ..declare import Area, UserCall

storage = Area("/v2/quecdatastorage/enduserapi")
CODES = (5000, 5041, 5052, 5066, 5067, 5145)


def _every_value(sample) -> list:
    """A page of every property of each of the owner's devices with a thing model: one sample of
    each data type's native value; and an empty page."""
    world, pages = sample.world, []
    for device in world.devices.values():
        if device.owner_uid == sample.owner.uid and device.pk in world.products:
            codes = list(world.products[device.pk].properties)
            window = {**sample.window, "pk": device.pk, "dk": device.dk, "pageSize": len(codes) + 10}
            pages.append(history.property_data_list(world, sample.owner, attributeCode=codes, **window))
    return [*pages, views.page_info([], 1, 10)]


@storage.endpoint(
    "GET", "getPropertyDataList", s.PropertyDataParams, shape="PropertyDataPage", codes=CODES, data=_every_value
)
def property_data_list(call: UserCall) -> dict:
    """The values a device reported for a property over a period, newest first, paged."""
    return history.property_data_list(call.world, call.user, **call.params)


def _chart(sample) -> dict:
    return {k: v for k, v in sample.window.items() if k not in ("page", "pageSize")}


@storage.endpoint(
    "GET", "getPropertyChartList", s.ChartParams, shape="PropertyCharts", codes=CODES,
    data=lambda sample: [history.property_chart_list(
        sample.world, sample.owner, attributeCode=["brightness", "switch"], countType=3, timeGranularity=2,
        **_chart(sample),
    )],
)  # fmt: skip
def property_chart_list(call: UserCall) -> list:
    """Up to 10 numeric properties aggregated per month, day or hour over a period."""
    return history.property_chart_list(call.world, call.user, **call.params)


def _statistics(sample) -> list:
    chart = _chart(sample)
    del chart["startTimestamp"], chart["endTimestamp"]
    return [
        history.property_statistics(
            sample.world, sample.owner, attributeCode=["brightness"], timeGranularities=["1", "2", "3", "4"], **chart
        )
    ]


@storage.endpoint(
    "GET", "getPropertyStatistics", s.StatisticsParams, shape="PropertyStatistics", codes=CODES, data=_statistics
)
def property_statistics(call: UserCall) -> list:
    """A numeric property aggregated over the current day, week, month or year, and the one before."""
    return history.property_statistics(call.world, call.user, **call.params)


def _events(sample) -> list:
    lamp, now = sample.lamp, sample.world.now()
    window = {"productKey": lamp.pk, "deviceKey": lamp.dk, "codeList": ["overheat"], "startTime": 0,
              "endTime": now, "page": 1, "pageSize": 10, "timezone": "+08:00"}  # fmt: skip
    return [history.device_event_list(sample.world, sample.owner, **window), views.page_info([], 1, 10)]


# deviceEventList lives one level down, under .../enduserapi/v2/, and names its device
# productKey and deviceKey.
@storage.endpoint(
    "POST", "v2/deviceEventList", s.EventListParams, shape="EventPage", body="json", codes=CODES, data=_events,
    devices=("productKey", "deviceKey"),
)  # fmt: skip
def device_event_list(call: UserCall) -> dict:
    """The events a device raised over a period, newest first, paged (JSON body)."""
    return history.device_event_list(call.world, call.user, **call.params)


@storage.endpoint(
    "GET", "getLocationHistory", s.LocationParams, shape="LocationHistory", codes=CODES,
    data=lambda sample: [history.location_history(sample.world, sample.owner, **_chart(sample))],
)  # fmt: skip
def location_history(call: UserCall) -> list:
    """Where a device was over a period, oldest first."""
    return history.location_history(call.world, call.user, **call.params)
