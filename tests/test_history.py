"""History and statistics under /v2/quecdatastorage/enduserapi/: values a device reported at
known times on a frozen clock (made through the control API), their pages, aggregates, events
and positions, and who may read them."""

from __future__ import annotations

import json

import pytest
from conftest import LAMP, OWNER, RECIPIENT, SECOND, Api
from serving import Running

from mock_server.cloud import shadows

HISTORY = "/v2/quecdatastorage/enduserapi/"
T0 = 1_800_000_000_000  # 2027-01-15 08:00:00 UTC, a Friday
HOUR, DAY = 3_600_000, 86_400_000
END = T0 + 400 * DAY
LAMP_PATH = "/_mock/devices/p11u5w/LAMP00000001"
UNBOUND = {"pk": "p11u5w", "dk": "LAMP00000009"}
OVERHEAT = {"code": "overheat", "output": {"lamp_stats": {"power_w": 7.5, "led_temp": 96}}}


def at(api: Api, ms: int) -> None:
    assert api.client.post("/_mock/clock", json={"set": ms, "freeze": True}).status_code == 200


def device(api: Api, ms: int, **body) -> dict:
    """At `ms` on the clock, the lamp reports values, raises an event or moves (the control API)."""
    at(api, ms)
    resp = api.client.post(LAMP_PATH, json=body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def query(api: Api, name: str, token: str = OWNER, **params) -> dict:
    return api.get(HISTORY + name, token, **{**LAMP, **params})


def data(api: Api, name: str, token: str = OWNER, **params):
    body = query(api, name, token, **params)
    assert body["code"] == 200, body
    return body["data"]


def events(api: Api, token: str = OWNER, **body) -> dict:
    full = {"productKey": LAMP["pk"], "deviceKey": LAMP["dk"], "codeList": ["overheat"], "startTime": T0,
            "endTime": END, **body}  # fmt: skip
    return api.post(HISTORY + "v2/deviceEventList", token, via="json", **full)


@pytest.fixture
def lamp(api: Api) -> Api:
    """The lamp's brightness 10, 20, ... 60 reported every 4 hours from T0 (two days, 6 values)."""
    for i in range(6):
        device(api, T0 + i * 4 * HOUR, values={"brightness": 10 * (i + 1)})
    return api


# ---- getPropertyDataList ---------------------------------------------------------------------


def test_a_fresh_device_s_history_holds_its_values_at_bind_time(api):
    bound = api.get("deviceInfo", OWNER, **LAMP)["data"]["deviceBindTimeTs"]
    page = data(api, "getPropertyDataList", attributeCode="brightness", startTimestamp=0, endTimestamp=END)
    assert page["total"] == 1
    assert page["list"][0] == {
        "productKey": "p11u5w", "deviceKey": "LAMP00000001", "propertyCode": "brightness", "propertyValue": 80,
        "createTime": str(bound), "createTimeStr": page["list"][0]["createTimeStr"], "createTimeTs": bound,
        "tsCreateTime": bound,
    }  # fmt: skip
    stats = data(api, "getPropertyDataList", attributeCode="lamp_stats", startTimestamp=0, endTimestamp=END)
    assert stats["list"][0]["propertyValue"] == {"power_w": 0, "led_temp": 24}  # native, not text


def test_values_come_newest_first_a_page_at_a_time(lamp):
    window = {"attributeCode": "brightness", "startTimestamp": T0, "endTimestamp": T0 + DAY}
    first = data(lamp, "getPropertyDataList", **window, pageSize=4)
    assert [item["propertyValue"] for item in first["list"]] == [60, 50, 40, 30]
    assert first["list"][0]["createTimeTs"] == T0 + 20 * HOUR
    assert first["list"][0]["createTimeStr"] == "2027-01-16 04:00:00"
    assert (first["total"], first["pages"], first["hasNextPage"]) == (6, 2, True)
    second = data(lamp, "getPropertyDataList", **window, pageSize=4, page=2)
    assert [item["propertyValue"] for item in second["list"]] == [20, 10] and second["isLastPage"]
    default = data(lamp, "getPropertyDataList", **window)
    assert (default["pageNum"], default["pageSize"], default["size"]) == (1, 10, 6)


def test_the_window_and_codes_filter_and_code_list_is_an_alias(lamp):
    inner = {"startTimestamp": T0 + 4 * HOUR, "endTimestamp": T0 + 12 * HOUR}  # both ends count
    got = data(lamp, "getPropertyDataList", attributeCode="brightness", **inner)
    assert [item["propertyValue"] for item in got["list"]] == [40, 30, 20]
    alias = data(lamp, "getPropertyDataList", codeList="brightness", **inner)
    assert alias["list"] == got["list"]
    device(lamp, T0 + 8 * HOUR + 1, values={"switch": True})
    both = data(lamp, "getPropertyDataList", attributeCode="brightness,switch", **inner)
    assert [item["propertyCode"] for item in both["list"]] == ["brightness", "switch", "brightness", "brightness"]
    assert data(lamp, "getPropertyDataList", attributeCode="switch", **inner)["list"][0]["propertyValue"] is True


# ---- getPropertyChartList --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count_type", "expected"),
    [(1, [40, 60]), (2, [10, 50]), (3, [25.0, 55.0]), (4, [30, 10]), (5, [100, 110]), (None, [25.0, 55.0])],
)
def test_chart_aggregates_each_day(lamp, count_type, expected):
    params = {"attributeCode": "brightness", "startTimestamp": T0, "endTimestamp": END}
    if count_type:
        params["countType"] = count_type
    (series,) = data(lamp, "getPropertyChartList", **params)
    assert series["propertyCode"] == "brightness"
    assert series["xaxisData"] == ["2027-01-15 00:00:00", "2027-01-16 00:00:00"]
    assert series["xaxisDataTs"] == [T0 - 8 * HOUR, T0 + 16 * HOUR]
    assert series["yaxisData"] == expected


def test_chart_buckets_by_hour_and_month_and_counts_booleans_as_0_and_1(lamp):
    window = {"startTimestamp": T0, "endTimestamp": END}
    (hourly,) = data(lamp, "getPropertyChartList", attributeCode="brightness", timeGranularity=3, **window)
    assert hourly["xaxisDataTs"] == [T0 + i * 4 * HOUR for i in range(6)] and hourly["yaxisData"][0] == 10.0
    device(lamp, T0 + 40 * DAY, values={"brightness": 5, "switch": True})
    device(lamp, T0 + 40 * DAY + HOUR, values={"switch": False})
    monthly, switch = data(lamp, "getPropertyChartList", attributeCode="brightness,switch", timeGranularity=1,
                           countType=5, **window)  # fmt: skip
    assert monthly["xaxisData"] == ["2027-01-01 00:00:00", "2027-02-01 00:00:00"]
    assert monthly["yaxisData"] == [210, 5]
    assert switch["yaxisData"] == [1] and switch["xaxisData"] == ["2027-02-01 00:00:00"]


def test_chart_refuses_what_it_cannot_aggregate(lamp):
    window = {"startTimestamp": T0, "endTimestamp": END}
    struct = query(lamp, "getPropertyChartList", attributeCode="lamp_stats", **window)
    assert struct["code"] == 5000 and struct["msg"] == "Service exception"
    assert struct["extMsg"] == "lamp_stats: a STRUCT property has no numeric values to aggregate"
    eleven = ",".join(["brightness"] * 11)
    assert query(lamp, "getPropertyChartList", attributeCode=eleven, **window)["extMsg"].endswith("at most 10")
    unknown = query(lamp, "getPropertyChartList", attributeCode="dance", **window)
    assert unknown["extMsg"] == "dance: no such property in the thing model of p11u5w"
    bad_count = query(lamp, "getPropertyChartList", attributeCode="brightness", countType=6, **window)
    assert (bad_count["code"], bad_count["extMsg"]) == (5000, "countType is missing or malformed")
    assert query(lamp, "getPropertyChartList", attributeCode="brightness", timeGranularity=4, **window)["code"] == 5000


# ---- getPropertyStatistics -------------------------------------------------------------------


def test_statistics_compare_the_current_period_with_the_one_before(lamp):
    # 15 Jan: 10, 20, 30, 40; 16 Jan: 50, 60 and 60 again now (04:00). 8 Jan (the week before):
    # 1. The values stated at bind time (80) date from October 2026.
    device(lamp, T0 - 7 * DAY, values={"brightness": 1})
    device(lamp, T0 + 20 * HOUR + 1, values={"brightness": 60})
    stats = data(lamp, "getPropertyStatistics", attributeCode="brightness", countType=1, timeGranularities="1,2,3,4")
    by = {item["timeGranularity"]: item["statValue"] for item in stats}
    assert by == {
        1: {"value": 60, "lastValue": 40},  # 16 Jan against 15 Jan
        2: {"value": 60, "lastValue": 1},  # the week of Monday 11 Jan against the week before
        3: {"value": 60, "lastValue": None},  # January against an empty December
        4: {"value": 60, "lastValue": 80},  # 2027 against 2026
    }
    then = data(lamp, "getPropertyStatistics", attributeCode="brightness", currentTimestamp=T0, countType=5)
    assert then == [{"statValue": {"value": 100, "lastValue": None}, "timeGranularity": 1}]
    assert query(lamp, "getPropertyStatistics", attributeCode="brightness", timeGranularities="5")["code"] == 5000
    assert query(lamp, "getPropertyStatistics", attributeCode="brightness,switch")["code"] == 5000
    assert query(lamp, "getPropertyStatistics", attributeCode="brightness", currentTimestamp=2**63 - 1)["code"] == 5145


# ---- deviceEventList -------------------------------------------------------------------------


def test_events_raised_through_the_control_api_are_listed(api):
    assert device(api, T0, event=OVERHEAT)["events"] == 1
    device(api, T0 + HOUR, event={"code": "overheat", "output": {"lamp_stats": {"power_w": 9, "led_temp": 101}}})
    body = events(api, pageSize=1)
    assert body["code"] == 200 and (body["data"]["total"], body["data"]["pages"]) == (2, 2)
    (newest,) = body["data"]["list"]
    assert newest["eventCode"] == "overheat" and newest["eventName"] == "Overheat" and newest["abId"] == 5
    assert newest["eventType"] == "WARN" and newest["createTime"] == "2027-01-15 09:00:00"
    assert json.loads(newest["outputData"]) == {"lamp_stats": {"power_w": 9.0, "led_temp": 101}}
    assert newest["id"].isdigit() and isinstance(newest["packetId"], int) and newest["extData"] == {}
    older = events(api, pageSize=1, page=2)["data"]["list"][0]
    assert older["id"] != newest["id"] and older["createTime"] == "2027-01-15 08:00:00"
    assert events(api, timezone="+08:00")["data"]["list"][1]["createTime"] == "2027-01-15 16:00:00"
    assert events(api, timezone="-05:30")["data"]["list"][1]["createTime"] == "2027-01-15 02:30:00"
    assert events(api, startTime=T0 + 1)["data"]["total"] == 1


def test_event_list_codes(api):
    assert events(api, timezone="8")["code"] == 5000
    assert events(api, codeList=["dance"])["extMsg"] == "dance: no such event in the thing model of p11u5w"
    assert events(api, codeList=[])["code"] == 5000
    assert events(api, productKey=None)["code"] == 5066
    assert events(api, deviceKey=None)["code"] == 5067
    assert events(api, startTime="soon")["code"] == 5145
    assert events(api, endTime=None)["code"] == 5145
    assert events(api, endTime=T0 - 1)["code"] == 5145
    assert events(api, SECOND)["code"] == 5041
    assert events(api, deviceKey=UNBOUND["dk"])["code"] == 5052


def test_a_bad_event_changes_nothing(api):
    before = api.client.get(LAMP_PATH).get_json()
    for event, problem in [
        ({"code": "dance"}, "event.dance: no such event in the thing model of p11u5w"),
        ({"code": "overheat", "output": {"lamp_stats": {"power_w": 1}}}, "event.lamp_stats: member led_temp is missing"),
        ({"code": "overheat", "output": {}}, "event.overheat: output lamp_stats is missing"),
        ({"code": "overheat", "output": {**OVERHEAT["output"], "x": 1}}, "event.overheat: x is not an output of this event"),
        ({"code": "overheat", "outputs": {}}, "event.outputs: unknown field (give code and output)"),
    ]:  # fmt: skip
        resp = api.client.post(LAMP_PATH, json={"values": {"brightness": 3}, "event": event})
        assert resp.status_code == 400 and resp.get_json()["problems"] == [problem]
    after = api.client.get(LAMP_PATH).get_json()
    assert after["values"] == before["values"] and after["events"] == 0 and after["version"] == before["version"]


# ---- getLocationHistory ----------------------------------------------------------------------


def test_location_history_is_a_track_filtered_by_kind(api):
    device(api, T0, location={"lat": 31.2304, "lng": 121.4737, "locateType": "GP", "hdop": 0.8, "satellites": 11})
    device(api, T0 + HOUR, location={"lat": -33.8688, "lng": 151.2093, "locateType": "LBS"})
    window = {"startTimestamp": T0, "endTimestamp": END}
    first, second = data(api, "getLocationHistory", **window)
    assert first["locateTimeTs"] == T0 and first["locateTime"] == "2027-01-15 08:00:00" and first["tsLocateTime"] == T0
    assert (first["wgsLat"], first["wgsLng"], first["locationType"]) == (31.2304, 121.4737, "GP")
    assert (first["gcjLat"], first["bdLng"]) == (31.2304, 121.4737)  # no datum conversion
    assert (first["hdop"], first["satellites"]) == (0.8, 11) and first["id"] != second["id"]
    assert second["wgsLat"] == -33.8688
    only = data(api, "getLocationHistory", locateTypes="LBS,GA", **window)
    assert [p["locationType"] for p in only] == ["LBS"]
    assert query(api, "getLocationHistory", locateTypes="XYZ", **window)["code"] == 5000
    assert data(api, "getLocationHistory", startTimestamp=T0 + 1, endTimestamp=T0 + HOUR - 1) == []


# ---- codes every history endpoint shares -----------------------------------------------------

READS = {
    "getPropertyDataList": {"attributeCode": "brightness", "startTimestamp": T0, "endTimestamp": END},
    "getPropertyChartList": {"attributeCode": "brightness", "startTimestamp": T0, "endTimestamp": END},
    "getPropertyStatistics": {"attributeCode": "brightness"},
    "getLocationHistory": {"startTimestamp": T0, "endTimestamp": END},
}


@pytest.mark.parametrize("name", READS)
def test_parameter_codes(api, name):
    params = READS[name]
    assert query(api, name, **params)["code"] == 200
    assert api.get(HISTORY + name, OWNER, dk=LAMP["dk"], **params)["code"] == 5066
    assert api.get(HISTORY + name, OWNER, pk=LAMP["pk"], **params)["code"] == 5067
    assert api.get(HISTORY + name, None, **LAMP, **params)["code"] == 5106
    assert api.get(HISTORY + name, "dead-token", **LAMP, **params)["code"] == 5032
    if "attributeCode" in params:
        missing = query(api, name, **{k: v for k, v in params.items() if k != "attributeCode"})
        assert (missing["code"], missing["extMsg"]) == (5000, "attributeCode is missing or malformed")
    if "startTimestamp" in params:
        assert query(api, name, **{**params, "startTimestamp": "yesterday"})["code"] == 5145
        assert query(api, name, **{**params, "endTimestamp": -5})["code"] == 5145
        assert query(api, name, **{**params, "endTimestamp": None})["code"] == 5145
        assert query(api, name, **{**params, "endTimestamp": T0 - 1})["code"] == 5145
    else:
        assert query(api, name, **params, currentTimestamp="now")["code"] == 5145


@pytest.mark.parametrize("name", READS)
def test_only_the_owner_and_active_recipients_read_history(api, name):
    params = READS[name]
    code = api.share()
    assert query(api, name, RECIPIENT, **params)["code"] == 5041  # pending share
    assert api.accept(code)["code"] == 200
    assert query(api, name, RECIPIENT, **params)["code"] == 200
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)["code"] == 200
    assert query(api, name, RECIPIENT, **params)["code"] == 5041  # ended share
    assert query(api, name, SECOND, **params)["code"] == 5041
    assert query(api, name, OWNER, **{**params, **UNBOUND})["code"] == 5052


def test_an_ended_share_cuts_event_history_too(api):
    code = api.share()
    api.accept(code)
    assert events(api, RECIPIENT)["code"] == 200
    assert api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=code)["code"] == 200
    assert events(api, RECIPIENT)["code"] == 5041


def test_history_is_bounded(api, world):
    lamp = world.devices[("p11u5w", "LAMP00000001")]
    for i in range(shadows.HISTORY_MAX + 50):
        shadows.report(world, lamp, {"brightness": i % 101}, T0 + i)
    page = data(api, "getPropertyDataList", attributeCode="brightness", startTimestamp=0, endTimestamp=END)
    assert page["total"] == shadows.HISTORY_MAX
    assert page["list"][0]["createTimeTs"] == T0 + shadows.HISTORY_MAX + 49
    oldest = data(api, "getPropertyDataList", attributeCode="brightness", startTimestamp=0, endTimestamp=T0 + 49)
    assert oldest["total"] == 0  # the first 50 (and the values at bind time) were dropped
    assert data(api, "getPropertyDataList", attributeCode="switch", startTimestamp=0, endTimestamp=END)["total"] == 0


# ---- over HTTP, as a client sees it ----------------------------------------------------------


def test_history_over_http_with_requests():
    import requests

    server = Running("--seed", "3")
    try:
        base, auth = server.base, {"Authorization": OWNER}
        requests.post(base + "/_mock/clock", json={"set": T0, "freeze": True}, timeout=10).raise_for_status()
        requests.post(base + LAMP_PATH, json={"values": {"brightness": 42}, "event": OVERHEAT}, timeout=10)
        listed = requests.get(
            base + HISTORY + "getPropertyDataList",
            headers=auth,
            timeout=10,
            params={**LAMP, "attributeCode": "brightness", "startTimestamp": T0, "endTimestamp": T0},
        )
        assert listed.status_code == 200 and listed.json()["data"]["list"][0]["propertyValue"] == 42
        body = {"productKey": LAMP["pk"], "deviceKey": LAMP["dk"], "codeList": ["overheat"], "startTime": T0,
                "endTime": T0, "timezone": "+01:00"}  # fmt: skip
        raised = requests.post(base + HISTORY + "v2/deviceEventList", json=body, headers=auth, timeout=10)
        assert raised.json()["data"]["list"][0]["createTime"] == "2027-01-15 09:00:00"
        wrong = requests.get(base + HISTORY + "getPropertyChartList", headers=auth, timeout=10, params=LAMP)
        assert wrong.status_code == 200 and wrong.json()["code"] == 5000  # never an HTTP 4xx here
    finally:
        server.stop()


def test_histories_survive_the_state_file(api, world):
    import orjson

    from mock_server.cloud import history
    from mock_server.harness.persistence import dump_world, load_world

    device(api, T0, values={"brightness": 7}, event=OVERHEAT, location={"lat": 1.5, "lng": 2.5})
    before = events(api)["data"]
    again = load_world(orjson.loads(orjson.dumps(dump_world(world))))
    owner = again.users["C1001"]
    params = {"productKey": LAMP["pk"], "deviceKey": LAMP["dk"], "codeList": ["overheat"], "startTime": T0,
              "endTime": END, "page": 1, "pageSize": 10}  # fmt: skip
    assert history.device_event_list(again, owner, **params) == before
    window = {**LAMP, "startTimestamp": T0, "endTimestamp": END}
    assert history.location_history(again, owner, **window)[0]["wgsLat"] == 1.5
    page = history.property_data_list(again, owner, **window, attributeCode=["brightness"], pageSize=10)
    assert page["list"][0]["propertyValue"] == 7


def test_readme_history_walk_through_runs():
    """The README's history walk-through, pasted into bash against a real server."""
    import os
    import re
    import shutil
    import subprocess

    from serving import ROOT

    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    block = re.search(r"<!-- history walk-through -->\s*```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    server = Running()
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.group(1)], env={**os.environ, "BASE": server.base},
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    listed, chart, raised = (json.loads(line) for line in done.stdout.splitlines())
    assert [item["propertyValue"] for item in listed["data"]["list"]] == [60, 20]
    assert chart["data"] == [{"propertyCode": "brightness", "xaxisData": ["2027-01-15 00:00:00"],
                              "xaxisDataTs": [T0 - 8 * HOUR], "yaxisData": [40.0]}]  # fmt: skip
    event = raised["data"]["list"][0]
    assert (event["eventType"], event["createTime"]) == ("WARN", "2027-01-15 17:00:00")


def test_a_scripted_ramp_fills_the_history_when_the_clock_advances():
    from conftest import api_with

    script = {"device": {"pk": "p11u5w", "dk": "LAMP00000001"}, "property": "brightness", "every": "10m",
              "ramp": {"by": -1, "to": 0}}  # fmt: skip
    api = api_with({"clock": {"start": T0, "frozen": True}, "scripts": [script]})
    assert api.client.post("/_mock/clock", json={"advance": "1h"}).status_code == 200
    page = data(api, "getPropertyDataList", attributeCode="brightness", startTimestamp=T0, endTimestamp=T0 + HOUR)
    assert [(i["createTimeTs"] - T0) // 60_000 for i in page["list"]] == [60, 50, 40, 30, 20, 10]
    assert [i["propertyValue"] for i in page["list"]] == [74, 75, 76, 77, 78, 79]  # from 80, one less each step
