"""Scenario loading, seeds, resets, and time parsing."""

import json

import pytest

from mock_server.harness.scenario import Scenario, ScenarioNotFound, library, resolve
from mock_server.harness.scenario_schema import validate_spec
from mock_server.harness.timeparse import DURATION_RULE, parse_duration, parse_instant
from mock_server.harness.worlds import Simulator


def _codes(world, n=3):
    return [world.new_share_code() for _ in range(n)]


def test_same_seed_same_world():
    a, b = Scenario.load("default"), Scenario.load("default")
    assert a.users == b.users and a.devices == b.devices
    assert _codes(a.build()) == _codes(b.build())


def test_other_seed_other_world():
    a, b = Scenario.load("default"), Scenario.load("default", seed=99)
    assert [u["email"] for u in a.users] != [u["email"] for u in b.users]
    assert _codes(a.build()) != _codes(b.build())


def test_generated_records(default_scenario):
    world = default_scenario.build()
    generated = [u for u in world.users.values() if u.uid.startswith("C9")]
    assert len(generated) == 20 and len(world.devices) == 47
    assert all(u.email and u.phone and u.nickname for u in generated)
    assert all(d.owner_uid in world.users for d in world.devices.values() if d.owner_uid)
    assert "token-C900001" in world.tokens


def test_the_name_tables_are_the_installed_fakers():
    """harness/names_en_US.json is Faker's en_US person tables as installed, name for name and
    weight for weight (after a Faker release that changes them: python -m mock_server.harness.names)."""
    from mock_server.harness import names

    shipped = json.loads(names.TABLE.read_text(encoding="utf-8"))["tables"]
    assert shipped == json.loads(json.dumps(names.faker_tables()["tables"]))
    assert min(len(shipped["first"]), len(shipped["last"])) > 100


@pytest.mark.parametrize("seed", [1, 99])
def test_generated_names_are_fakers_own(seed):
    """Names are drawn from Faker's tables without Faker (harness/names.py, quick to start):
    they are those a full Faker("en_US") gives for the seed, users and devices alike."""
    from faker import Faker

    faker = Faker("en_US")
    faker.seed_instance(seed)
    scenario = Scenario.load("default", seed=seed)
    generated = [u for u in scenario.users if u["uid"].startswith("C9")]
    assert generated and [u["nickname"] for u in generated] == [
        f"{faker.first_name()} {faker.last_name()}" for _ in generated
    ]
    from mock_server.harness.scenario import KINDS_BY_WORD

    kinds = set(KINDS_BY_WORD.values())  # generated devices are named after their product's kind
    generated_devices = [d for d in scenario.devices if d.get("sn", "").startswith("SN") and "'s " in d.get("name", "")]
    named = [d["name"] for d in generated_devices if d["name"].partition("'s ")[2] in kinds]
    kinds = [name.split("'s ")[1] for name in named]
    assert named and named == [f"{faker.first_name()}'s {kind}" for kind in kinds]


def test_reset_rebuilds_a_fresh_world(default_scenario):
    sim = Simulator(default_scenario)
    old = sim.world()
    old.users.clear()
    new = sim.reset()
    assert new is sim.world() and new is not old and "C1001" in new.users


def test_library_and_resolution(tmp_path):
    assert "default" in library()
    assert resolve("default").name == "default.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text("name: mine\nusers: [{uid: C1, token: t}]\n")
    assert Scenario.load(str(own)).build().tokens["t"].uid == "C1"
    with pytest.raises(ScenarioNotFound):
        resolve("no-such-scenario")


def test_shares_in_a_scenario(default_scenario):
    spec = {
        **default_scenario.spec,
        "clock": {"start": 1_800_000_000_000, "frozen": True},
        "shares": [
            {
                "device": {"pk": "p11u5w", "dk": "LAMP00000001"},
                "code": "share_dv_Cfixed",
                "acceptingExpireAt": "+10m",
            },
            {"device": {"pk": "p11u5w", "dk": "LAMP00000002"}, "recipient": "C1002", "state": "active"},
        ],
    }
    world = Scenario.from_spec(spec).build()
    assert world.shares["share_dv_Cfixed"].accepting_expire_at == 1_800_000_600_000
    assert [s.dk for s in world.active_shares_of("C1002")] == ["LAMP00000002"]


@pytest.mark.parametrize(
    "text, ms", [("90s", 90_000), ("+10m", 600_000), ("-2h", -7_200_000), ("30d", 2_592_000_000), (250, 250)]
)
def test_durations(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    "text, ms",
    [("4m59s", 299_000), ("90 minutes", 5_400_000), ("1.5h", 5_400_000), ("2 hours 30 min", 9_000_000),
     ("1 week", 604_800_000), ("500MS", 500), ("-1h30m", -5_400_000), ("90", 90)],
)  # fmt: skip
def test_one_grammar_takes_compound_decimal_and_worded_durations(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["10 parsecs", "m", "1.5", "1h-2m", "10 minutesx", "", "1.2.3s", "ten minutes"])
def test_a_refused_duration_states_the_rule(text):
    with pytest.raises(ValueError, match=r"one or more parts of a number and a unit, such as 90s, 4m59s, 1\.5h"):
        parse_duration(text)


def test_every_duration_field_takes_the_one_grammar():
    """The scenario file's fields and the clock's advance read durations alike."""
    for text in ("4m59s", "90 minutes", "1.5h"):
        assert validate_spec({"rules": [{"action": {"delay": text}}]})[1] == []
    assert validate_spec({"rules": [{"action": {"delay": "4 parsecs"}}]})[1] == [
        f"<inline>: rules[0].action.delay: {DURATION_RULE}"
    ]


def test_instants():
    assert parse_instant("+1m", 1000) == 61_000
    assert parse_instant(5, 1000) == 5
    assert parse_instant("2026-01-01T00:00:00Z", 0) == 1_767_225_600_000
    assert parse_instant("2026-01-01 00:00:00", 0) == 1_767_225_600_000
    with pytest.raises(ValueError):
        parse_instant("yesterday", 0)
    with pytest.raises(ValueError):
        parse_duration("10 parsecs")


def test_a_clock_started_frozen_reads_exactly_its_start(monkeypatch):
    """Restoring a frozen world gave it a clock a millisecond late when the real clock ticked
    between two readings (seen as a flaky state round trip)."""
    from mock_server.harness import clock

    ticks = iter(range(1_000, 2_000))
    monkeypatch.setattr(clock, "_real_ms", lambda: next(ticks))
    assert clock.Clock(1_795_459_513_562, frozen=True).now_ms() == 1_795_459_513_562
