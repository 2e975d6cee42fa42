"""A test's fresh world (the pytest plugin's `quectel_mock`): the server loads a scenario once
and builds every world of it from what it loaded. Such a world must be the very world a
scenario read afresh builds at that moment, whatever was built from it before and whatever
those worlds went through, and it shares nothing a request can change with any other world."""

from __future__ import annotations

import copy
import enum
import json
import random
import types

import orjson
import pytest

from mock_server.api.faults import DroppedOnPurpose
from mock_server.app import create_app
from mock_server.harness import clock, persistence
from mock_server.harness.scenario import Scenario, library

BINDING = "/v2/binding/enduserapi/"
MAIL = "/v2/mail/enduserapi/v2/"
OWNER = "owner-token"
LAMP = ("p11u5w", "LAMP00000001")
FROZEN = 1_900_000_000_000  # the instant every world of a comparison is built at
EARLIER = FROZEN - 3 * 86_400_000
# Shared by every world of a scenario on purpose: the scenario itself (what a reset rebuilds
# from) and its products' thing models, which nothing changes once loaded.
SHARED_BY_DESIGN = ("scenario", "products")


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The real clock, held at a settable instant (a world that is not frozen reads it too)."""
    instant = [FROZEN]
    monkeypatch.setattr(clock, "_real_ms", lambda: instant[0])
    return instant


def as_json(world) -> dict:
    return orjson.loads(orjson.dumps(persistence.dump_world(world)))


# Scenarios with a `clock:` section (none in the library has one): a frozen instant of their
# own, and frozen at the moment the world is built; both with scripts, rules and a family.
CLOCKED = {
    "clock-set": 'name: clock-set\nextends: device-behaviour\nclock: {start: "2031-05-01T08:00:00Z", frozen: true}\n'
    "rules:\n  - {match: {endpoint: userInfo, nth: 2}, action: {code: 5032}}\n",
    "clock-frozen": "name: clock-frozen\nextends: token-expiry\nclock: {frozen: true}\n",
}


@pytest.fixture
def app(tmp_path):
    for name, text in CLOCKED.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    app = create_app()
    app.extensions["mock_server"].scenario_dirs = (tmp_path,)
    return app


def activity(client, world: str) -> list:
    """Some of what a test does in its world: a rule, shares (one by uid, which writes a
    message), a control write, a device report, a family with a room and an invitation, a
    code sent by e-mail (the outbox), the clock moved on (scripts run their steps). Their
    answers, in order."""
    prefix, auth = f"/s/{world}", {"Authorization": OWNER}
    domain = client.application.extensions["mock_server"].world(world).domains  # the scenario's own
    email = {"email": "new.person@example.com", "emailType": 1, "userDomain": next(iter(domain), "none")}
    control = {"type": 2, "data": json.dumps([{"brightness": 42}]),
               "deviceList": [{"productKey": LAMP[0], "deviceKey": LAMP[1]}]}  # fmt: skip
    share = f"{prefix}{BINDING}shareInfo?pk={LAMP[0]}&dk={LAMP[1]}&acceptingExpireAt=4000000000000"
    family = {"owner": "C1001", "name": "Beach house", "rooms": ["Kitchen"], "members": [], "devices": []}
    invitation = {"uid": "C1002", "role": 2, "expiresAt": "+1d"}

    def post(path: str, **kwargs) -> tuple:
        """The answer's status and body; a connection a rule drops (flaky-network), as such."""
        try:
            answer = client.post(path, **kwargs)
            return answer.status_code, answer.get_data()
        except DroppedOnPurpose:
            return "dropped", b""

    answers = [
        post(f"{prefix}/_mock/rules", json={"match": {"endpoint": "nothing"}, "action": {"code": 1}}),
        post(share, headers=auth),
        post(f"{prefix}{BINDING}batchControlDevice", json=control, headers=auth),
        post(f"{prefix}/_mock/devices/{LAMP[0]}/{LAMP[1]}", json={"values": {"brightness": 7}}),
        made := post(f"{prefix}/_mock/families", json=family),
        post(f"{prefix}/_mock/families/{json.loads(made[1]).get('fid')}/invitations", json=invitation),
        post(f"{prefix}{MAIL}sendEmail", query_string=email),
        post(f"{prefix}{BINDING}shareByUid?pk={LAMP[0]}&dk={LAMP[1]}&shareUid=C1002", headers=auth),
        post(f"{prefix}/_mock/clock", json={"advance": "25m"}),
        post(share, headers=auth),
    ]
    return answers


@pytest.mark.parametrize("name", [*library(), *CLOCKED])
def test_a_world_built_from_a_kept_scenario_is_the_world_a_fresh_load_builds(name, now, app):
    sim, client = app.extensions["mock_server"], app.test_client()
    now[0] = EARLIER  # the scenario is loaded and used at another instant first
    sim.world("earlier", name)
    activity(client, "earlier")
    spec = copy.deepcopy(sim.scenario_named(name).spec)

    now[0] = FROZEN
    kept, untouched = sim.world("kept", name), sim.world("untouched", name)
    fresh = sim.reset("fresh", Scenario.load(name, dirs=sim.scenario_dirs))  # read again: nothing reused
    assert as_json(kept) == as_json(fresh) == as_json(untouched)
    assert kept.scenario is sim.scenario_named(name) and fresh.scenario is not kept.scenario
    before = as_json(untouched)

    answers = activity(client, "kept")
    assert answers == activity(client, "fresh")  # same codes, tickets, ids
    assert as_json(kept) == as_json(fresh)
    assert as_json(kept) != before  # the activity did change the world...
    assert as_json(untouched) == before  # ...and only that one
    assert sim.scenario_named(name).spec == spec


def test_the_activity_reaches_every_kind_of_record(now, app):
    """What the comparisons above cover: the scenario's own family with its rooms, members and
    invitation, and after the activity messages, a new family with a room and an invitation, a
    code in the outbox, shares, rules, a clock moved on and scripted steps still to come."""
    world = app.extensions["mock_server"].world("busy", "device-behaviour")
    started = as_json(world)
    [own] = started["families"]
    assert len(own["rooms"]) == 3 and len(own["members"]) == 3 and len(own["invitations"]) == 1
    assert started["messages"] == started["sentCodes"] == []
    activity(app.test_client(), "busy")
    dumped = as_json(world)
    assert dumped["messages"] and len(dumped["families"]) == len(started["families"]) + 1 == 2
    made = next(f for f in dumped["families"] if f["fid"] != own["fid"])
    assert [r["name"] for r in made["rooms"]] == ["Kitchen"] and [i["uid"] for i in made["invitations"]] == ["C1002"]
    assert [c["to"] for c in dumped["sentCodes"]] == ["new.person@example.com"]
    assert len(dumped["shares"]) == 3 and dumped["lastRuleId"] == 1
    assert dumped["clock"]["now"] == FROZEN + 25 * 60_000
    assert {entry["kind"] for entry in dumped["timeline"]} == {"script"}


@pytest.mark.parametrize("name", ["default", "device-behaviour", "token-expiry", "clock-set"])
def test_worlds_of_one_scenario_share_nothing_mutable(name, now, app):
    """Walk everything two worlds hold: no list, dict, set or record is reachable from both
    (the scenario and its products, read-only, aside)."""
    sim = app.extensions["mock_server"]
    one, other = sim.world("one", name), sim.world("other", name)
    activity(app.test_client(), "one")
    shared = _mutable_ids(one) & _mutable_ids(other)
    assert not shared, [type(o).__name__ for o in _mutable_objects(one) if id(o) in shared][:10]


IMMUTABLE = (str, bytes, int, float, complex, bool, type(None), enum.Enum, range, type,
             types.FunctionType, types.BuiltinFunctionType, types.MethodType)  # fmt: skip


def _mutable_objects(world) -> list:
    found, seen = [], set()
    stack = [value for key, value in vars(world).items() if key not in SHARED_BY_DESIGN]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IMMUTABLE) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, (tuple, frozenset)):
            stack += list(obj)
            continue
        found.append(obj)
        if isinstance(obj, dict):
            stack += [*obj.keys(), *obj.values()]
        elif isinstance(obj, (list, set)):
            stack += list(obj)
        elif isinstance(obj, random.Random):
            continue
        elif hasattr(obj, "__dict__"):
            stack += list(vars(obj).values())
        elif hasattr(obj, "__slots__"):
            stack += [getattr(obj, slot) for slot in obj.__slots__ if hasattr(obj, slot)]
    return found


def _mutable_ids(world) -> set[int]:
    return {id(obj) for obj in _mutable_objects(world)}
