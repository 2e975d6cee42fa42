"""Scripted device behaviour: values and online state that change on the world's clock."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from helpers import OWNER, Api, Running, app_with, run_cli

from mock_server.cloud import shadows
from mock_server.cloud.events import OnlineChanged, PropertyReport
from mock_server.harness import persistence
from mock_server.harness.scenario import SCENARIO_DIR, Scenario, ScenarioInvalid

MIN = 60_000
STATION = ("p11u8k", "POWR00000001")
PLUG = ("p11u6t", "PLUG00000001")
SENSOR = ("p11u7a", "SENS00000001")
LAMP = ("p11u5w", "LAMP00000001")


def frozen_api(spec: dict | str) -> tuple[Api, object]:
    """An API client and its default world, the clock frozen at the world's start."""
    app = app_with(spec)
    world = app.extensions["mock_server"].world()
    world.clock.freeze()  # then set: set-then-freeze lets a millisecond pass in between
    world.clock.set(world.started_at)
    return Api(app.test_client()), world


def advance(api: Api, duration: str) -> None:
    assert api.client.post("/_mock/clock", json={"advance": duration}).status_code == 200


def history(world, key: tuple[str, str], code: str) -> list[tuple[int, object]]:
    """(minutes since the start, value) of every report of `code`."""
    state = shadows.shadow_of(world, world.devices[key])
    return [((at - world.started_at) / MIN, v) for at, c, v in state.history if c == code]


def values(api: Api, key: tuple[str, str]) -> dict:
    body = api.get("getDeviceBusinessAttributes", OWNER if key != SENSOR else "recipient-token", pk=key[0], dk=key[1])
    assert body["code"] == 200, body
    return {item["resourceCode"]: item["resourceValce"] for item in body["data"]["customizeTslInfo"]}


def switch_ac(api: Api, on: bool) -> None:
    body = {"type": 2, "data": json.dumps([{"ac_switch_hm": on}]),
            "deviceList": [{"productKey": STATION[0], "deviceKey": STATION[1]}]}  # fmt: skip
    result = api.post("batchControlDevice", OWNER, via="json", **body)
    assert result["code"] == 200 and result["data"]["failureList"] == [], result


# ---- the library's device-behaviour scenario, as its description promises ---------------------


def test_the_station_drains_while_ac_is_on_and_only_then():
    api, world = frozen_api("device-behaviour")
    advance(api, "1h")
    assert values(api, STATION)["battery_percentage"] == "87"  # AC off: nothing falls
    switch_ac(api, True)
    advance(api, "1h")
    assert values(api, STATION)["battery_percentage"] == "81"
    assert history(world, STATION, "battery_percentage")[-6:] == [(70, 86), (80, 85), (90, 84), (100, 83), (110, 82), (120, 81)]  # fmt: skip
    switch_ac(api, False)
    advance(api, "30m")
    assert values(api, STATION)["battery_percentage"] == "81"


def test_the_station_stops_at_zero():
    api, world = frozen_api("device-behaviour")
    switch_ac(api, True)
    advance(api, "1d")
    assert values(api, STATION)["battery_percentage"] == "0"
    assert min(v for _, v in history(world, STATION, "battery_percentage")) == 0


def test_the_plug_follows_a_sine_every_minute():
    api, world = frozen_api("device-behaviour")
    advance(api, "1h")
    power = dict(history(world, PLUG, "power")[1:])  # the first is the generated starting value
    assert sorted(power) == list(range(1, 61))
    assert power[15] == 1600 and power[45] == 800 and power[30] == pytest.approx(1200, abs=0.1)
    assert all(800 <= v <= 1600 for v in power.values())
    assert values(api, PLUG)["power"] == "1200"


def test_the_sensor_replays_the_csv_and_starts_again_after_a_day():
    with (SCENARIO_DIR / "climate-day.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    api, world = frozen_api("device-behaviour")
    assert values(api, SENSOR)["temperature"] == rows[0]["temperature"].rstrip("0").rstrip(".")
    advance(api, "25h")
    temps = history(world, SENSOR, "temperature")
    assert [t for t, _ in temps[-7:]] == [24 * 60 + 10 * i for i in range(7)]
    recorded = [float(r["temperature"]) for r in rows]
    replayed = [v for t, v in temps if t < 24 * 60]
    assert replayed[-144:] == recorded  # the whole day, in order, one row every 10 minutes
    assert [v for _, v in temps[-7:]] == recorded[:7]  # then the day again
    assert values(api, SENSOR)["humidity"] == rows[6]["humidity"]


def test_the_lamp_goes_offline_at_two_hours_and_comes_back_at_three():
    api, world = frozen_api("device-behaviour")
    changes = []
    world.events.subscribe(lambda e: changes.append(e) if isinstance(e, OnlineChanged) else None)
    lamp = {"pk": LAMP[0], "dk": LAMP[1]}
    advance(api, "119m")
    assert api.get("getDeviceOnlineStatus", OWNER, **lamp)["data"]["online"] == 1
    advance(api, "1m")
    assert api.get("getDeviceOnlineStatus", OWNER, **lamp)["data"]["online"] == 0
    advance(api, "2h")
    assert api.get("getDeviceOnlineStatus", OWNER, **lamp)["data"]["online"] == 1
    assert [(c.online, (c.at - world.started_at) / MIN) for c in changes] == [(False, 120), (True, 180)]


def test_a_frozen_clock_produces_nothing_until_moved():
    api, world = frozen_api("device-behaviour")
    before = len(shadows.shadow_of(world, world.devices[PLUG]).history)
    for _ in range(3):
        values(api, PLUG)
    assert len(shadows.shadow_of(world, world.devices[PLUG]).history) == before
    advance(api, "3m")
    assert len(shadows.shadow_of(world, world.devices[PLUG]).history) == before + 3


def test_reports_reach_listeners_each_at_its_own_time():
    api, world = frozen_api("device-behaviour")
    seen = []
    world.events.subscribe(lambda e: seen.append(e) if isinstance(e, PropertyReport) and e.dk == PLUG[1] else None)
    advance(api, "5m")
    assert [(e.at - world.started_at) // MIN for e in seen] == [1, 2, 3, 4, 5]


def test_the_clock_running_by_itself_moves_the_scripts_too():
    api, world = frozen_api("device-behaviour")
    world.clock.unfreeze()
    world.clock.advance(10 * MIN)  # as if ten minutes had passed
    values(api, PLUG)  # any request catches up
    assert len(history(world, PLUG, "power")) >= 11


def test_reset_restarts_the_scripts():
    api, world = frozen_api("device-behaviour")
    switch_ac(api, True)
    advance(api, "1h")
    assert values(api, STATION)["battery_percentage"] == "81"
    assert api.client.post("/_mock/reset", json={}).status_code == 200
    world = api.client.application.extensions["mock_server"].world()
    world.clock.freeze()  # then set: set-then-freeze lets a millisecond pass in between
    world.clock.set(world.started_at)
    assert values(api, STATION)["battery_percentage"] == "87"
    switch_ac(api, True)
    advance(api, "20m")
    assert values(api, STATION)["battery_percentage"] == "85"
    assert len(history(world, PLUG, "power")) == 21


def test_the_library_scenario_over_real_http():
    """The way a tester drives it: `mock-server run --scenario device-behaviour`, then curl."""
    server = Running("--scenario", "device-behaviour")
    try:
        server.request("POST", "/_mock/clock", {"freeze": True})
        station = {"pk": STATION[0], "dk": STATION[1]}
        data = json.dumps([{"ac_switch_hm": True}])
        body = {"type": 2, "data": data, "deviceList": [{"productKey": STATION[0], "deviceKey": STATION[1]}]}
        status, answer = server.request("POST", "/v2/binding/enduserapi/batchControlDevice", body,
                                        headers={"Authorization": OWNER})  # fmt: skip
        assert answer["data"]["failureList"] == [], answer
        before = int(_battery(server.api("GET", "getDeviceBusinessAttributes", OWNER, **station)))
        server.request("POST", "/_mock/clock", {"advance": "30m"})
        after = int(_battery(server.api("GET", "getDeviceBusinessAttributes", OWNER, **station)))
        assert before - after == 3
    finally:
        server.stop()


def _battery(body: dict) -> str:
    return next(i["resourceValce"] for i in body["data"]["customizeTslInfo"] if i["resourceCode"] == "battery_percentage")


# ---- generators, conditions and limits ----------------------------------------------------------


def script_world(*scripts: dict, seed: int | None = None) -> tuple[Api, object]:
    spec = {"scripts": list(scripts)}
    if seed is not None:
        spec["seed"] = seed
    return frozen_api(spec)


RANDOM = [
    {"device": {"pk": "p11u6t", "dk": "PLUG00000001"}, "property": "voltage", "every": "1m",
     "walk": {"by": 2, "min": 220, "max": 240}},
    {"device": {"pk": "p11u7a", "dk": "SENS00000001"}, "property": "report_interval", "every": "5m", "pick": [1, 5, 15]},
]  # fmt: skip


def _random_run(seed: int) -> tuple[list, list]:
    api, world = script_world(*RANDOM, seed=seed)
    advance(api, "2h")
    return history(world, PLUG, "voltage"), history(world, SENSOR, "report_interval")


def test_the_same_seed_gives_the_same_values():
    first, again, other = _random_run(3), _random_run(3), _random_run(4)
    assert first == again
    assert first != other
    voltages = [v for _, v in first[0][1:]]
    assert len(voltages) == 120 and all(220 <= v <= 240 for v in voltages)
    assert {v for _, v in first[1][1:]} == {1, 5, 15}


def test_a_device_first_used_by_a_script_step_has_its_history_in_time_order():
    # The shadow is made by the step an hour into the catch-up: its made-up last report
    # belongs before that step, not at the end of the catch-up.
    api, world = script_world(RANDOM[0])
    advance(api, "1h")
    times = [at for at, _ in history(world, PLUG, "voltage")]
    assert times == sorted(times) and times[0] < 1 and len(times) == 61


def test_decay_settles_and_an_integer_reaches_its_target():
    api, world = script_world({"device": {"pk": "p11u7a", "dk": "SENS00000001"}, "property": "humidity",
                               "every": "10m", "decay": {"to": 40, "halfLife": "20m"}})  # fmt: skip
    api.client.post("/_mock/devices/p11u7a/SENS00000001", json={"values": {"humidity": 90}})
    advance(api, "20m")
    assert history(world, SENSOR, "humidity")[-1] == (20, 65)  # half the way in one half-life
    advance(api, "1d")
    assert history(world, SENSOR, "humidity")[-1][1] == 40


def test_a_struct_member_changes_alone():
    api, world = script_world({"device": {"pk": "p11u8k", "dk": "POWR00000001"}, "property": "host_packet_data_jdb.temp",
                               "every": "10m", "ramp": {"by": 5}})  # fmt: skip
    advance(api, "1h")
    pack = json.loads(values(api, STATION)["host_packet_data_jdb"])
    assert pack == {"voltage": "51.2", "current": "0", "temp": "52", "status": "0"}


def test_set_at_a_time_times_and_until():
    api, world = script_world(
        {"device": {"pk": "p11u5w", "dk": "LAMP00000001"}, "property": "brightness", "at": "+30m", "set": 10},
        {"device": {"pk": "p11u5w", "dk": "LAMP00000001"}, "property": "colour_temp", "every": "10m",
         "times": 2, "ramp": {"by": 100}},
        {"device": {"pk": "p11u6t", "dk": "PLUG00000001"}, "property": "current", "at": "+5m", "every": "5m",
         "until": "+15m", "ramp": {"by": 0.5}},
    )  # fmt: skip
    advance(api, "2h")
    assert history(world, LAMP, "brightness")[-1] == (30, 10)
    assert history(world, LAMP, "colour_temp")[1:] == [(10, 3100), (20, 3200)]
    assert [t for t, _ in history(world, PLUG, "current")[1:]] == [5, 10, 15]


def test_scripts_by_product_reach_generated_devices_and_pause_while_offline():
    api, world = script_world({"device": {"pk": "p11u7a"}, "property": "battery", "every": "1h", "ramp": {"by": -1}})
    sensors = [d for d in world.devices.values() if d.pk == "p11u7a"]
    assert len(sensors) > 2 and any(d.online for d in sensors) and any(not d.online for d in sensors)
    before = {d.dk: shadows.shadow_of(world, d).reported["battery"] for d in sensors}
    advance(api, "3h")
    for device in sensors:
        now = shadows.shadow_of(world, device).reported["battery"]
        assert now == (max(before[device.dk] - 3, 0) if device.online else before[device.dk]), device.dk


def test_online_toggle_flaps():
    api, world = script_world({"device": {"pk": "p11u5w", "dk": "LAMP00000001"}, "every": "15m", "online": "toggle"})
    states = []
    for _ in range(4):
        advance(api, "15m")
        states.append(world.devices[LAMP].online)
    assert states == [False, True, False, True]


# ---- a state file: scripts go on from the restored clock ---------------------------------------


def test_a_restored_world_goes_on_from_its_clock_without_losing_or_repeating_a_step():
    api, world = frozen_api("device-behaviour")
    switch_ac(api, True)
    advance(api, "25m")
    restored = persistence.load_world(json.loads(json.dumps(persistence.dump_world(world))))
    for w in (world, restored):
        w.clock.advance(35 * MIN)
        w.catch_up()
    for key, code in ((STATION, "battery_percentage"), (PLUG, "power"), (SENSOR, "temperature")):
        assert history(restored, key, code) == history(world, key, code), code
    assert restored.devices[STATION].shadow.reported["battery_percentage"] == 81


def test_random_steps_after_a_restore_are_those_of_an_uninterrupted_run():
    api, world = script_world(*RANDOM, seed=5)
    advance(api, "30m")
    restored = persistence.load_world(json.loads(json.dumps(persistence.dump_world(world))))
    for w in (world, restored):
        w.clock.advance(90 * MIN)
        w.catch_up()
    assert history(restored, PLUG, "voltage") == history(world, PLUG, "voltage")
    assert history(restored, SENSOR, "report_interval") == history(world, SENSOR, "report_interval")


def test_a_state_file_restart_goes_on_draining(tmp_path):
    """Stop mid-way (a clean stop writes the state file), start again from it: the drain goes
    on from the restored clock, one step every 10 minutes, none lost and none repeated."""
    state = str(tmp_path / "worlds.json")
    station = {"pk": STATION[0], "dk": STATION[1]}
    body = {"type": 2, "data": json.dumps([{"ac_switch_hm": True}]),
            "deviceList": [{"productKey": STATION[0], "deviceKey": STATION[1]}]}  # fmt: skip
    server = Running("--scenario", "device-behaviour", "--state-file", state)
    try:
        server.request("POST", "/_mock/clock", {"freeze": True})
        server.request("POST", "/v2/binding/enduserapi/batchControlDevice", body, headers={"Authorization": OWNER})
        server.request("POST", "/_mock/clock", {"advance": "25m"})
    finally:
        assert server.stop() == 0
    server = Running("--scenario", "device-behaviour", "--state-file", state)
    try:
        assert _battery(server.api("GET", "getDeviceBusinessAttributes", OWNER, **station)) == "85"
        server.request("POST", "/_mock/clock", {"advance": "35m"})
        assert _battery(server.api("GET", "getDeviceBusinessAttributes", OWNER, **station)) == "81"
    finally:
        server.stop()


# ---- validation --------------------------------------------------------------------------------


def _problems(tmp_path: Path, scripts: list[dict], csv_text: str | None = None) -> list[str]:
    if csv_text is not None:
        (tmp_path / "day.csv").write_text(csv_text)
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({"extends": "default", "scripts": scripts}))
    result = run_cli("validate", str(path))
    assert result.returncode == 2, result.stdout
    return result.stderr.strip().splitlines()


LAMP_REF = {"pk": "p11u5w", "dk": "LAMP00000001"}


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ({"device": LAMP_REF, "property": "glow", "every": "1m", "ramp": {"by": 1}},
         "bad.yaml: scripts[0].property: unknown property code glow (the thing model of p11u5w has switch, brightness, colour_temp, lamp_stats)"),
        ({"device": LAMP_REF, "property": "brightness", "at": "+1h", "set": 150},
         "bad.yaml: scripts[0].set: brightness: 150 is above max 100"),
        ({"device": LAMP_REF, "property": "brightness", "every": "1m", "ramp": {"by": -1, "to": -5}},
         "bad.yaml: scripts[0].ramp.to: brightness: -5 is below min 0"),
        ({"device": LAMP_REF, "property": "brightness", "every": "1m", "pick": [10, 101]},
         "bad.yaml: scripts[0].pick[1]: brightness: 101 is above max 100"),
        ({"device": LAMP_REF, "property": "switch", "every": "1m", "sine": {"mean": 1, "amplitude": 1, "period": "1h"}},
         "bad.yaml: scripts[0].sine: sine needs a number property; switch is BOOL"),
        ({"device": LAMP_REF, "property": "brightness", "ramp": {"by": 1}},
         "bad.yaml: scripts[0].every: is required for ramp"),
        ({"device": LAMP_REF, "property": "brightness", "every": "100ms", "ramp": {"by": 1}},
         "bad.yaml: scripts[0].every: must be at least 1s"),
        ({"device": {"pk": "p11u5w", "dk": "NOPE"}, "at": "+1h", "online": False},
         "bad.yaml: scripts[0].device: unknown device p11u5w/NOPE"),
        ({"device": LAMP_REF, "property": "brightness", "every": "1m", "ramp": {"by": 1}, "while": {"glow": True}},
         "bad.yaml: scripts[0].while.glow: unknown property code glow (the thing model of p11u5w has switch, brightness, colour_temp, lamp_stats)"),
        ({"device": LAMP_REF, "property": "brightness", "every": "1m", "ramp": {"by": 1}, "set": 3},
         "bad.yaml: scripts[0]: needs exactly one of: set, ramp, sine, decay, walk, pick, replay, online"),
        ({"device": LAMP_REF, "at": "+1h", "online": "maybe"},
         "bad.yaml: scripts[0].online: must be true, false or toggle"),
        ({"device": LAMP_REF, "replay": "missing.csv"},
         "bad.yaml: scripts[0].replay: CSV not found: missing.csv"),
    ],
)  # fmt: skip
def test_validation_names_each_problem(tmp_path, script, problem):
    lines = _problems(tmp_path, [script])
    assert len(lines) == 1 and lines[0].startswith(problem), lines


def test_validation_of_a_replayed_csv(tmp_path):
    sensor = {"pk": "p11u7a", "dk": "SENS00000001"}
    text = "time,temperature,humidity\n0s,20.5,50\n10m,99,50\n20m,20,fifty\n"
    assert _problems(tmp_path, [{"device": sensor, "replay": "day.csv"}], text) == [
        "bad.yaml: scripts[0].replay: day.csv row 3: temperature: 99 is above max 85",
        "bad.yaml: scripts[0].replay: day.csv row 4: humidity: 'fifty' is not a number",
    ]
    text = "time,temperature,glow\n0s,20.5,1\n"
    assert _problems(tmp_path, [{"device": sensor, "replay": "day.csv"}], text) == [
        "bad.yaml: scripts[0].replay: day.csv: unknown property code glow (the thing model of p11u7a has "
        "temperature, humidity, battery, report_interval, last_calibration)"
    ]


def test_a_csv_beside_the_scenario_is_found_and_played(tmp_path):
    (tmp_path / "day.csv").write_text("time,temperature\n2026-05-01T10:00:00Z,20\n2026-05-01T10:30:00Z,21.5\n")
    path = tmp_path / "ok.yaml"
    path.write_text(json.dumps({"extends": "default", "clock": {"frozen": True},
                                "scripts": [{"device": {"pk": "p11u7a", "dk": "SENS00000001"}, "replay": "day.csv"}]}))  # fmt: skip
    assert run_cli("validate", str(path)).returncode == 0
    world = Scenario.load(str(path)).build()
    world.clock.advance(30 * MIN)
    world.catch_up()
    assert history(world, SENSOR, "temperature")[-2:] == [(0, 20), (30, 21.5)]


def test_an_inline_scenario_with_a_bad_script_changes_nothing():
    api, world = frozen_api("device-behaviour")
    bad = {"extends": "default", "scripts": [{"device": LAMP_REF, "property": "glow", "every": "1m", "ramp": {"by": 1}}]}
    answer = api.client.put("/_mock/scenario", json={"scenario": bad})
    assert answer.status_code == 400
    assert answer.get_json()["problems"][0].startswith("inline: scripts[0].property: unknown property code glow")
    with pytest.raises(ScenarioInvalid):
        Scenario.from_spec(bad)
