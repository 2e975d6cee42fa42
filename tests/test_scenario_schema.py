"""The scenario file schema: every section, the exact messages for bad files, the commands."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server.api.openapi import scenario_json_schema
from mock_server.harness.scenario import Scenario, ScenarioInvalid
from mock_server.harness.scenario_schema import validate_spec

ROOT = Path(__file__).resolve().parents[1]

FULL = {
    "name": "everything",
    "description": "every section at once",
    "seed": 7,
    "clock": {"start": "2030-01-01T00:00:00Z", "frozen": True},
    "settings": {
        "accessTokenTtl": 60, "refreshTokenTtl": 600, "deviceNameMax": 10, "loginAttempts": 3,
        "loginFreezeMinutes": 5, "region": "E", "hangSeconds": 2, "authErrorHttpStatus": 401,
        "requireBearer": True, "parameterSources": ["json", "query"], "secondsTimestamps": "convert",
        "zeroExpiryIsLifelong": False, "coverMarkZeroIsDefault": True, "shareByUidNeedsAcceptance": True,
        "pendingCodePreview": False, "listPendingShares": True, "checkSignatures": False,
        "logoutRevokesRefresh": False,
    },
    "userDomains": [{"domain": "E.DM.1.1", "secret": "s", "disabled": False}],
    "users": [
        {"uid": "E1", "email": "a@example.com", "phone": "1234567", "internationalCode": "44",
         "password": "secret-1", "nickname": "A", "userDomain": "E.DM.1.1", "token": "ta",
         "tokenExpiresAt": "+1h", "registered": "-10d"},
        {"uid": "E2", "token": "tb"},
        {"generate": 3, "password": "secret-2"},
    ],
    "families": [{"fid": "F9", "name": "Home", "owner": "E1", "members": ["E2", "E900001"]}],
    "tokens": [{"token": "extra", "uid": "E2", "expiresAt": 1_900_000_000_000}],
    "devices": [
        {"pk": "pk1", "dk": "dk1", "name": "Lamp", "owner": "E1", "verified": True, "online": True,
         "productName": "Lamp", "sn": "SN1", "authKey": "k", "deviceTag": "t", "signalStrength": "70",
         "created": "-2d", "bound": "-1d"},
        {"pk": "pk1", "dk": "dk2", "owner": None},
        {"generate": 2, "owner": "E1", "pk": "pk9", "verified": False, "online": False},
    ],
    "shares": [
        {"device": {"pk": "pk1", "dk": "dk1"}, "owner": "E1", "recipient": "E2", "code": "share_dv_E1",
         "state": "active", "coverMark": 2, "acceptingExpireAt": "+1h", "sharingExpireAt": "+2d",
         "shareTime": "-1h", "acceptTime": "-30m", "deviceName": "Their lamp"},
        {"device": {"pk": "pk1", "dk": "dk1"}, "state": "ended", "recipient": "E2", "failureCause": 4,
         "deleteTime": "-1m"},
    ],
    "rules": [
        {"id": "one", "description": "all conditions", "times": 2,
         "match": {"endpoint": "shareInfo", "path": "^/v2/", "method": ["POST"],
                   "params": {"pk": "pk1", "dk": {"regex": "^dk"}, "x": {"present": False}, "y": {"equals": 1}},
                   "headers": {"X-App": "ios"}, "uid": "E1", "token": "ta", "nth": 1, "every": 1,
                   "chance": 1.0, "window": {"from": "-1h", "until": "+1h"}},
         "action": {"code": 5134, "msg": "m", "data": {"a": 1}, "extMsg": "e", "status": 500,
                    "delay": {"min": "1ms", "max": "2ms"}}},
        {"action": {"fault": "empty", "delay": "1ms"}},
        {"action": {"expireShare": True, "expireAcceptWindow": True, "advanceClock": "1h", "revokeToken": True}},
    ],
}  # fmt: skip


def test_every_section_loads_and_builds():
    world = Scenario.from_spec(FULL, "full.yaml").build()
    assert world.settings.region == "E" and world.settings.parameter_sources == ("json", "query")
    assert world.clock.frozen and world.now() == 1_893_456_000_000
    assert world.users["E1"].international_code == "44" and "E900003" in world.users
    assert set(world.families["F9"].members) == {"E1", "E2", "E900001"}  # the creator is a member too
    assert world.tokens["extra"].expires_ms == 1_900_000_000_000
    assert world.tokens["ta"].expires_ms == 1_893_459_600_000
    assert world.devices[("pk1", "dk2")].owner_uid is None
    assert sum(1 for d in world.devices.values() if d.pk == "pk9") == 2
    assert world.shares["share_dv_E1"].device_name == "Their lamp"
    assert [r.id for r in world.rules.rules] == ["one", "r1", "r2"]


BAD = [
    ({"seed": "x"}, ["seed: must be an integer"]),
    ({"name": "x", "bogus": 1}, ["bogus: unknown field"]),
    ({"db_password": "hunter2"}, ["(file): not a scenario file (none of its keys is a scenario section)"]),
    ({"clock": {"start": "someday"}}, ["clock.start: must be epoch milliseconds, ISO 8601, or relative such as +10m"]),
    ({"clock": {"frozen": "yes"}}, ["clock.frozen: must be true or false"]),
    ({"clock": 5}, ["clock: must be a mapping"]),
    ({"settings": {"region": "cn"}}, ["settings.region: must be one capital letter"]),
    ({"settings": {"loginAttempts": 0}}, ["settings.loginAttempts: must be at least 1"]),
    ({"settings": {"secondsTimestamps": "maybe"}}, ["settings.secondsTimestamps: must be one of: accept, reject, convert"]),
    ({"userDomains": [{"secret": "s"}]}, ["userDomains[0].domain: is required"]),
    ({"userDomains": [{"domain": "nope"}]}, ["userDomains[0].domain: must look like C.DM.5903.1 or U.SP.8589934603"]),
    ({"users": {"uid": "C1"}}, ["users: must be a list"]),
    ({"users": [{"nickname": "x"}]}, ["users[0].uid: is required"]),
    ({"users": [{"uid": "C1", "password": "short"}]}, ["users[0].password: must be 6 to 20 characters"]),
    ({"users": [{"uid": "C1"}, {"uid": "C1"}]}, ["users[1].uid: duplicate uid C1"]),
    ({"users": [{"generate": 0}]}, ["users[0].generate: must be at least 1"]),
    ({"families": [{"owner": "C404"}]}, ["families[0].owner: unknown user C404"]),
    ({"families": [{"name": "x"}]}, ["families[0].owner: the family has no creator: give owner, or a member with role 1"]),
    (
        {
            "users": [{"uid": "C1001"}, {"uid": "C1002"}],
            "families": [{"owner": "C1001", "members": [{"uid": "C1002", "role": 1}, "C404", {"uid": "C1001", "role": 2}]}],
        },
        [
            "families[0].members[0].role: two creators: C1001 and C1002",
            "families[0].members[1].uid: unknown user C404",
            "families[0].members[2].role: C1001 is the creator, who is a member with role 1",
        ],
    ),
    (
        {
            "users": [{"uid": "C1001"}, {"uid": "C1002"}],
            "devices": [
                {"pk": "p11u5w", "dk": "LAMP00000001", "owner": "C1001"},
                {"pk": "p11u7a", "dk": "SENS00000001", "owner": "C1002"},
            ],
            "families": [
                {
                    "owner": "C1002",
                    "rooms": ["Hall"],
                    "devices": [
                        {"pk": "p11u5w", "dk": "LAMP00000001"},
                        {"pk": "p11u5w", "dk": "NOPE"},
                        {"pk": "p11u7a", "dk": "SENS00000001", "room": "Attic"},
                    ],
                    "invitations": [{"uid": "C404", "expiresAt": "+1h"}, {"uid": "C1002", "expiresAt": "+1h"}],
                }
            ]
        },
        [
            "families[0].devices[0]: device p11u5w/LAMP00000001 is owned by C1001, not a member",
            "families[0].devices[1]: unknown device p11u5w/NOPE",
            "families[0].devices[2].room: unknown room Attic",
            "families[0].invitations[0].uid: unknown user C404",
            "families[0].invitations[1].uid: C1002 is already a member",
        ],
    ),
    ({"tokens": [{"token": "t", "uid": "C404"}]}, ["tokens[0].uid: unknown user C404"]),
    ({"devices": [{"pk": "p"}]}, ["devices[0].dk: is required"]),
    ({"devices": [{"pk": "p", "dk": "d", "owner": "C404"}]}, ["devices[0].owner: unknown user C404"]),
    ({"devices": [{"pk": "p", "dk": "d"}, {"pk": "p", "dk": "d"}]}, ["devices[1].dk: duplicate device p/d"]),
    ({"devices": [{"pk": "p", "dk": "d", "verified": 1}]}, ["devices[0].verified: must be true or false"]),
    ({"shares": [{"code": "c"}]}, ["shares[0].device: is required"]),
    ({"shares": [{"device": {"pk": "p", "dk": "d"}}]}, ["shares[0].device: unknown device p/d"]),
    ({"shares": [{"device": {"pk": "p"}}]}, ["shares[0].device.dk: is required"]),
    ({"shares": [{"device": {"pk": "p", "dk": "d"}, "state": "gone"}]},
     ["shares[0].state: must be one of: pending, active, ended", "shares[0].device: unknown device p/d"]),
    ({"shares": [{"device": {"pk": "p", "dk": "d"}, "coverMark": 4}]},
     ["shares[0].coverMark: must be one of: 1, 2, 3", "shares[0].device: unknown device p/d"]),
    ({"rules": [{"match": {}}]}, ["rules[0].action: is required"]),
    ({"rules": [{"action": {}}]}, ["rules[0].action: must do something: code, delay, fault or an effect"]),
    ({"rules": [{}, {}, {"action": {"code": "x"}}]},
     ["rules[0].action: is required", "rules[1].action: is required", "rules[2].action.code: must be an integer"]),
    ({"rules": [{"action": {"fault": "drop", "code": 1}}]}, ["rules[0].action.fault: cannot be combined with code or status"]),
    ({"rules": [{"action": {"delay": "soon"}}]}, ["rules[0].action.delay: must be a duration such as 90s, 10m, 2h or 30d"]),
    ({"rules": [{"action": {"delay": {"min": "1s"}}}]}, ["rules[0].action.delay.max: is required"]),
    ({"rules": [{"action": {"status": 42}}]}, ["rules[0].action.status: must be an HTTP status"]),
    ({"rules": [{"match": {"path": "("}, "action": {"code": 1}}]}, ["rules[0].match.path: is not a valid regular expression"]),
    ({"rules": [{"match": {"params": {"a": {"regex": "["}}}, "action": {"code": 1}}]},
     ["rules[0].match.params.a: is not a valid regular expression"]),
    ({"rules": [{"match": {"params": {"a": {"wat": 1}}}, "action": {"code": 1}}]},
     ["rules[0].match.params.a: must be a value, or a mapping with one of regex, present, equals"]),
    ({"rules": [{"match": {"method": 5}, "action": {"code": 1}}]}, ["rules[0].match.method: must be an HTTP method or a list of them"]),
    ({"rules": [{"match": {"chance": 2}, "action": {"code": 1}}]}, ["rules[0].match.chance: must be between 0 and 1"]),
    ({"rules": [{"match": {"nth": 0}, "action": {"code": 1}}]}, ["rules[0].match.nth: must be at least 1"]),
    ({"rules": [{"action": {"code": 1}, "times": 0}]}, ["rules[0].times: must be at least 1"]),
]  # fmt: skip


@pytest.mark.parametrize("spec, problems", BAD)
def test_bad_files_and_their_exact_messages(spec, problems):
    _, found = validate_spec(spec, "broken.yaml")
    assert sorted(found) == sorted(f"broken.yaml: {p}" for p in problems)


def test_not_a_mapping():
    assert validate_spec([1, 2], "list.yaml")[1] == ["list.yaml: (file): must be a mapping"]


def test_unreadable_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [unclosed\n")
    with pytest.raises(ScenarioInvalid) as err:
        Scenario.load(str(bad))
    assert err.value.problems == [
        "bad.yaml: line 2, column 1: not readable as yaml: expected ',' or ']', but got '<stream end>'"
        " (while parsing a flow sequence at line 1, column 8)"
    ]


def test_json_scenarios_work(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"users": [{"uid": "C5", "token": "t5"}]}))
    assert Scenario.load(str(path)).build().tokens["t5"].uid == "C5"


def test_extends_merges_lists_and_mappings(tmp_path):
    path = tmp_path / "more.yaml"
    path.write_text("extends: default\nsettings: {region: E}\nusers: [{uid: C5, token: t5}]\n")
    world = Scenario.load(str(path)).build()
    assert "C1001" in world.users and "C5" in world.users and world.settings.region == "E"


def test_extends_itself_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text(f"extends: {path}\n")
    with pytest.raises(ScenarioInvalid, match="extends itself"):
        Scenario.load(str(path))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mock_server", *args], capture_output=True, text=True, cwd=ROOT)


def test_validate_command(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("rules:\n  - action: {code: 1}\n  - action: {code: 2}\n  - action: {code: x}\n")
    done = run_cli("validate", str(bad), "scenarios/default.yaml")
    assert done.returncode == 2
    assert done.stderr.strip() == "broken.yaml: rules[2].action.code: must be an integer"
    assert run_cli("validate", "scenarios/default.yaml").returncode == 0


def test_run_refuses_a_bad_file_before_starting(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("seed: many\n")
    done = run_cli("run", "--scenario", str(bad), "--port", "1")
    assert done.returncode == 2 and done.stderr.strip() == "broken.yaml: seed: must be an integer"


def test_schema_command_prints_json_schema():
    done = run_cli("schema")
    schema = json.loads(done.stdout)
    assert schema["$schema"].endswith("2020-12/schema") and schema["$ref"] == "#/$defs/Scenario"
    assert schema == scenario_json_schema()


def test_json_schema_accepts_the_library_and_rejects_bad_files():
    import jsonschema

    schema = scenario_json_schema()
    from mock_server.harness.scenario import library, read_file, resolve

    for name in library():
        jsonschema.validate(read_file(resolve(name)), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rules": [{"action": {"code": "x"}}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"bogus": 1}, schema)
