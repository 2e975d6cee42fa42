"""History and statistics (`/v2/quecdatastorage/enduserapi/`): what a device reported, raised
and where it was, answered from the bounded histories its state keeps (`shadows.DeviceState`),
on the cloud's clock.

Every query is a pure function of the cloud, the caller and the parsed parameters. Checks run
in the documented order: parameters (already parsed), their ranges and cross-field rules, then
who may use the device (`access.view_of`: an ended share ends history access too), then state.
Buckets and periods are UTC calendar units.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from . import shadows
from .access import view_of
from .errors import QuectelError
from .models import Device, User
from .store import Cloud
from .views import page_info, time_string

GENERIC = 5000  # parameters the history pages document no code for; `extMsg` says why
MAX_CHART_CODES = 10
CHARTABLE = ("BOOL", "INT", "FLOAT", "DOUBLE", "ENUM")  # BOOL counts as 0 and 1
LOCATE_TYPES = ("GP", "GL", "GA", "GN", "BD", "PQ", "LBS")
DAY = 86_400_000
HOUR = 3_600_000
LAST_YEAR = 253_370_764_800_000  # 9999-01-01 UTC: statistics need the period after "now" to be a date


def _bad(reason: str) -> QuectelError:
    return QuectelError(GENERIC, ext_msg=reason)


# ---- getPropertyDataList ---------------------------------------------------------------------


def property_data_list(
    cloud: Cloud,
    user: User,
    *,
    pk: str,
    dk: str,
    attributeCode: list[str],
    startTimestamp: int,
    endTimestamp: int,
    page: int = 1,
    pageSize: int = 10,
) -> dict:
    """The values a device reported for the properties asked for, newest first, a page at a time."""
    start, end = _window(startTimestamp, endTimestamp)
    device = _device(cloud, user, pk, dk)
    codes = _properties(cloud, device, attributeCode)
    found = sorted(_values(cloud, device, codes, start, end), key=lambda item: item[0], reverse=True)

    def render(item: tuple) -> dict:
        at, code, value = item
        return {
            "productKey": device.pk,
            "deviceKey": device.dk,
            "propertyCode": code,
            "propertyValue": value,
            "createTime": str(at),
            "createTimeStr": time_string(at),
            "createTimeTs": at,
            "tsCreateTime": at,
        }

    return page_info(found, page, pageSize, render)


# ---- getPropertyChartList --------------------------------------------------------------------

COUNT: dict[int, Callable[[list], Any]] = {
    1: max,
    2: min,
    3: lambda values: round(sum(values) / len(values), 6),
    4: lambda values: _tidy(values[-1] - values[0]),
    5: lambda values: _tidy(sum(values)),
}


def _tidy(number: Any) -> Any:
    """Sums of decimals without binary noise (0.1 + 0.2 is 0.3 here)."""
    return round(number, 6) if isinstance(number, float) else number


def property_chart_list(
    cloud: Cloud,
    user: User,
    *,
    pk: str,
    dk: str,
    attributeCode: list[str],
    startTimestamp: int,
    endTimestamp: int,
    countType: int = 3,
    timeGranularity: int = 2,
) -> list[dict]:
    """Per property, its values in time buckets (month, day or hour), one aggregate each."""
    start, end = _window(startTimestamp, endTimestamp)
    if len(attributeCode) > MAX_CHART_CODES:
        raise _bad(f"attributeCode names {len(attributeCode)} codes; at most {MAX_CHART_CODES}")
    device = _device(cloud, user, pk, dk)
    codes = _properties(cloud, device, attributeCode, numeric=True)
    bucket_of = BUCKETS[timeGranularity]
    count = COUNT[countType]
    series = []
    for code in codes:
        buckets: dict[int, list] = {}
        for at, _, value in sorted(_values(cloud, device, [code], start, end), key=lambda item: item[0]):
            buckets.setdefault(bucket_of(at), []).append(_number(value))
        series.append(
            {
                "propertyCode": code,
                "xaxisData": [time_string(b) for b in buckets],
                "xaxisDataTs": list(buckets),
                "yaxisData": [count(values) for values in buckets.values()],
            }
        )
    return series


def _month_start(ms: int) -> int:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return _ms(moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


BUCKETS: dict[int, Callable[[int], int]] = {
    1: _month_start,
    2: lambda ms: ms - ms % DAY,
    3: lambda ms: ms - ms % HOUR,
}


def _number(value: Any) -> int | float:
    return int(value) if isinstance(value, bool) else value


# ---- getPropertyStatistics -------------------------------------------------------------------


def property_statistics(
    cloud: Cloud,
    user: User,
    *,
    pk: str,
    dk: str,
    attributeCode: list[str],
    countType: int = 3,
    currentTimestamp: int | None = None,
    timeGranularities: list[str] | None = None,
) -> list[dict]:
    """One aggregate of a property per requested period (day, week, month, year) holding
    `currentTimestamp`, beside the same aggregate over the period before it."""
    granularities = _granularities(timeGranularities)
    if len(attributeCode) > 1:
        raise _bad("getPropertyStatistics takes one attributeCode")
    now = currentTimestamp or cloud.now()
    if now >= LAST_YEAR:  # its period's successor would not be a date
        raise QuectelError(5145, ext_msg="currentTimestamp is past the year 9998")
    device = _device(cloud, user, pk, dk)
    codes = _properties(cloud, device, attributeCode, numeric=True)
    count = COUNT[countType]
    history = sorted(_values(cloud, device, codes, 0, None), key=lambda item: item[0])
    out = []
    for granularity in granularities:
        current, previous = _periods(granularity, now)
        value, last = (_aggregate(history, period, count) for period in (current, previous))
        out.append({"statValue": {"value": value, "lastValue": last}, "timeGranularity": granularity})
    return out


def _granularities(given: list[str] | None) -> list[int]:
    chosen = given or ["1"]
    if not all(item in ("1", "2", "3", "4") for item in chosen):
        raise _bad("timeGranularities must name 1 (day), 2 (week), 3 (month) or 4 (year), comma-separated")
    return [int(item) for item in dict.fromkeys(chosen)]


def _periods(granularity: int, ms: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The calendar period of `granularity` holding `ms`, and the one before: [start, end)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == 1:
        start = moment
        starts = (start, start + timedelta(days=1), start - timedelta(days=1))
    elif granularity == 2:
        start = moment - timedelta(days=moment.weekday())  # weeks start on Monday (ISO 8601)
        starts = (start, start + timedelta(days=7), start - timedelta(days=7))
    elif granularity == 3:
        start = moment.replace(day=1)
        before = (start - timedelta(days=1)).replace(day=1)
        after = (start + timedelta(days=32)).replace(day=1)
        starts = (start, after, before)
    else:
        start = moment.replace(month=1, day=1)
        starts = (start, start.replace(year=start.year + 1), start.replace(year=start.year - 1))
    current, following, earlier = (_ms(s) for s in starts)
    return (current, following), (earlier, current)


def _aggregate(history: list[tuple], period: tuple[int, int], count: Callable[[list], Any]) -> Any:
    values = [_number(value) for at, _, value in history if period[0] <= at < period[1]]
    return count(values) if values else None


# ---- deviceEventList ---------------------------------------------------------------------------

TIMEZONE = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def device_event_list(
    cloud: Cloud,
    user: User,
    *,
    productKey: str,
    deviceKey: str,
    codeList: list[str],
    startTime: int,
    endTime: int,
    timezone: str | None = None,
    page: int = 1,
    pageSize: int = 10,
) -> dict:
    """The events a device raised, newest first, a page at a time; `createTime` in the
    caller's `timezone`."""
    start, end = _window(startTime, endTime, "startTime", "endTime")
    offset = _offset(timezone)
    device = _device(cloud, user, productKey, deviceKey)
    product = cloud.products.get(device.pk)
    events = product.events if product else {}
    unknown = [code for code in codeList if code not in events]
    if unknown:
        raise _bad(f"{unknown[0]}: no such event in the thing model of {device.pk}")
    wanted = set(codeList)
    state = shadows.shadow_of(cloud, device)
    found = [item for item in state.events if item[1] in wanted and start <= item[0] <= end]
    found.sort(key=lambda item: item[0], reverse=True)

    def render(item: tuple) -> dict:
        at, code, output = item[:3]
        event = events[code]
        number = record_id(at, code, output)
        return {
            "id": str(number),
            "abId": event.id,
            "eventCode": code,
            "eventName": event.name,
            "eventType": event.sub_type,
            "outputData": json.dumps(output, ensure_ascii=False, separators=(",", ":")),
            "extData": {},
            "packetId": number % 65536,
            "ticket": "",
            "createTime": time_string(at + offset),
            "productKey": device.pk,
            "deviceKey": device.dk,
        }

    return page_info(found, page, pageSize, render)


def _offset(zone: str | None) -> int:
    """A `±hh:mm` offset in milliseconds (none: UTC)."""
    if not zone:
        return 0
    match = TIMEZONE.match(zone)
    if not match or int(match[2]) > 14 or int(match[3]) > 59:
        raise _bad("timezone must be +hh:mm or -hh:mm, at most 14 hours")
    sign = -1 if match[1] == "-" else 1
    return sign * (int(match[2]) * HOUR + int(match[3]) * 60_000)


def record_id(at: int, *content: Any) -> int:
    """A stable id for a history record: its time, and a checksum of what it holds (records
    carry no id of their own, and bounded histories shift, so positions would not do)."""
    return at * 1000 + zlib.crc32(repr(content).encode()) % 1000


# ---- getLocationHistory ----------------------------------------------------------------------


def location_history(
    cloud: Cloud,
    user: User,
    *,
    pk: str,
    dk: str,
    startTimestamp: int,
    endTimestamp: int,
    locateTypes: list[str] | None = None,
) -> list[dict]:
    """Where a device was, oldest first (a track to draw). Positions are WGS 84; the GCJ-02 and
    BD-09 fields repeat them (the simulator converts nothing)."""
    start, end = _window(startTimestamp, endTimestamp)
    kinds = locateTypes or list(LOCATE_TYPES)
    wrong = [kind for kind in kinds if kind not in LOCATE_TYPES]
    if wrong:
        raise _bad(f"locateTypes: {wrong[0]} is not one of {', '.join(LOCATE_TYPES)}")
    device = _device(cloud, user, pk, dk)
    state = shadows.shadow_of(cloud, device)
    found = [
        (at, place) for at, place in state.locations
        if start <= at <= end and str(place.get("locateType", "GP")) in kinds
    ]  # fmt: skip
    return [_location(device, at, place) for at, place in sorted(found, key=lambda item: item[0])]


def _location(device: Device, at: int, place: dict) -> dict:
    lat, lng = float(place.get("lat", 0)), float(place.get("lng", 0))
    return {
        "id": str(record_id(at, sorted(place.items()))),
        "productKey": device.pk,
        "deviceKey": device.dk,
        "locationType": str(place.get("locateType", "GP")),
        "locateTime": time_string(at),
        "locateTimeTs": at,
        "tsLocateTime": at,
        "wgsLat": lat,
        "wgsLng": lng,
        "gcjLat": lat,
        "gcjLng": lng,
        "bdLat": lat,
        "bdLng": lng,
        "hdop": float(place.get("hdop", 0.9)),
        "satellites": int(place.get("satellites", 8)),
        "accuracy": str(place.get("accuracy", "10")),
    }


# ---- shared steps ----------------------------------------------------------------------------


def _window(start: int, end: int, first: str = "startTimestamp", last: str = "endTimestamp") -> tuple[int, int]:
    """The period asked for; an end before the start is a malformed timestamp (5145)."""
    if end < start:
        raise QuectelError(5145, ext_msg=f"{last} is before {first}")
    return start, end


def _device(cloud: Cloud, user: User, pk: str, dk: str) -> Device:
    return view_of(cloud, user, pk, dk).device


def _properties(cloud: Cloud, device: Device, codes: list[str], numeric: bool = False) -> list[str]:
    """The codes asked for, each a property of the device's thing model (numeric ones for
    charts and statistics); anything else is named in the error."""
    product = cloud.products.get(device.pk)
    for code in codes:
        feature = product.properties.get(code) if product else None
        if feature is None:
            raise _bad(f"{code}: no such property in the thing model of {device.pk}")
        if numeric and feature.data_type not in CHARTABLE:
            raise _bad(f"{code}: a {feature.data_type} property has no numeric values to aggregate")
    return list(dict.fromkeys(codes))


def _values(cloud: Cloud, device: Device, codes: Iterable[str], start: int, end: int | None) -> list[tuple]:
    """History records of `codes` within [start, end] (no end: all from start), in stored order."""
    wanted = set(codes)
    history = shadows.shadow_of(cloud, device).history
    return [item for item in history if item[1] in wanted and start <= item[0] and (end is None or item[0] <= end)]
