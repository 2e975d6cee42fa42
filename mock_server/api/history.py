"""History and statistics of a device: reported values, aggregates, events and positions."""

from __future__ import annotations

from flask import Blueprint

from ..cloud import history
from . import schemas as s
from .dispatch import Call, endpoint

bp = Blueprint("history", __name__, url_prefix="/v2/quecdatastorage/enduserapi")
# deviceEventList lives one level down, under .../enduserapi/v2/.
events = Blueprint("history_events", __name__, url_prefix="/v2/quecdatastorage/enduserapi/v2")


@endpoint(bp, "GET", "getPropertyDataList", s.PropertyDataParams, data="PropertyDataPage")
def property_data_list(call: Call) -> dict:
    """The values a device reported for a property over a period, newest first, paged."""
    return history.property_data_list(call.world, call.user, call.params)


@endpoint(bp, "GET", "getPropertyChartList", s.ChartParams, data="PropertyCharts")
def property_chart_list(call: Call) -> list:
    """Up to 10 numeric properties aggregated per month, day or hour over a period."""
    return history.property_chart_list(call.world, call.user, call.params)


@endpoint(bp, "GET", "getPropertyStatistics", s.StatisticsParams, data="PropertyStatistics")
def property_statistics(call: Call) -> list:
    """A numeric property aggregated over the current day, week, month or year, and the one before."""
    return history.property_statistics(call.world, call.user, call.params)


@endpoint(events, "POST", "deviceEventList", s.EventListParams, data="EventPage", body="json")
def device_event_list(call: Call) -> dict:
    """The events a device raised over a period, newest first, paged (JSON body)."""
    return history.device_event_list(call.world, call.user, call.params)


@endpoint(bp, "GET", "getLocationHistory", s.LocationParams, data="LocationHistory")
def location_history(call: Call) -> list:
    """Where a device was over a period, oldest first."""
    return history.location_history(call.world, call.user, call.params)
