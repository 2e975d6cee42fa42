"""What someone else on the network can do: read no file, choose no scenario without the
admin token, stall nobody with a hostile pattern."""

import threading
import urllib.parse

import pytest
from helpers import Running

from mock_server.harness.scenario import Scenario, ScenarioInvalid, ScenarioNotFound

ADMIN = "s3cret"
USER_INFO = "/v2/enduser/enduserapi/userInfo"


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("host")
    secret = folder / "secret-cfg.yaml"
    secret.write_text("db_password: hunter2\n")
    return secret


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    shared = tmp_path_factory.mktemp("team-scenarios")
    (shared / "team-world.yaml").write_text("extends: default\nname: team-world\n")
    (shared / "lab.yaml").write_text("extends: code-5047\nname: Team Lab (5047)\n")
    (shared / "broken.yaml").write_text("extends: default\nusers:\n  - {uid: C7, password: short}\n")
    running = Running("--admin-token", ADMIN, "--scenario-dir", str(shared))
    yield running
    running.stop()


def test_choosing_a_scenario_by_header_needs_the_admin_token(guarded, secret_file):
    status, body = guarded.request("GET", USER_INFO, headers={
        "Authorization": "owner-token", "X-Mock-Session": "s1", "X-Mock-Scenario": str(secret_file)})  # fmt: skip
    assert status == 401 and "X-Mock-Admin-Token" in body["msg"]
    assert "hunter2" not in str(body) and "db_password" not in str(body)
    assert "s1" not in guarded.request("GET", "/_mock/worlds", headers={"Authorization": f"Bearer {ADMIN}"})[1]


def test_with_the_token_a_header_still_names_no_path(guarded, secret_file):
    admin = {"X-Mock-Admin-Token": ADMIN, "Authorization": "owner-token"}
    for name in (str(secret_file), "../" * 8 + str(secret_file)[1:], "..", "team-world/../default"):
        status, body = guarded.request("GET", USER_INFO, headers={**admin, "X-Mock-Session": "s2",
                                                                  "X-Mock-Scenario": name})  # fmt: skip
        assert status == 400 and "not a scenario name" in body["msg"], name
        assert "db_password" not in str(body)
    status, body = guarded.request("GET", USER_INFO, headers={**admin, "X-Mock-Session": "s3",
                                                              "X-Mock-Scenario": "team-world"})  # fmt: skip
    assert status == 200 and body["data"]["uid"] == "C1001"
    control = {"Authorization": f"Bearer {ADMIN}", "X-Mock-Session": "s3"}
    assert guarded.request("GET", "/_mock/health", headers=control)[0] == 200


def test_a_header_may_name_a_scenario_by_its_declared_name(guarded):
    """The name the worlds list shows (a file's `name:`) works as well as the file's name."""
    admin = {"X-Mock-Admin-Token": ADMIN, "Authorization": "recipient-token", "X-Mock-Session": "s5"}
    devices = "/v2/binding/enduserapi/userDeviceList"
    status, body = guarded.request("GET", devices, headers={**admin, "X-Mock-Scenario": "Team Lab (5047)"})
    assert status == 200 and body["code"] == 5047  # what code-5047 answers: the lab's world
    worlds = guarded.request("GET", "/_mock/worlds", headers={"Authorization": f"Bearer {ADMIN}"})[1]
    assert {"name": "s5", "scenario": "Team Lab (5047)"} in worlds
    status, body = guarded.request("GET", USER_INFO, headers={**admin, "X-Mock-Session": "s6",
                                                              "X-Mock-Scenario": "Team Lab"})  # fmt: skip
    assert status in (400, 404) and "Team Lab" in body["msg"]


def test_a_header_may_name_the_servers_own_scenario_by_its_declared_name(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text("extends: code-5047\nname: My lab\n")
    running = Running("--scenario", str(own))
    try:
        headers = {"Authorization": "recipient-token", "X-Mock-Session": "s7", "X-Mock-Scenario": "My lab"}
        status, body = running.request("GET", "/v2/binding/enduserapi/userDeviceList", headers=headers)
        assert status == 200 and body["code"] == 5047
        assert {"name": "s7", "scenario": "My lab"} in running.request("GET", "/_mock/worlds")[1]
    finally:
        running.stop()


def test_invalid_files_of_a_scenario_dir_are_reported_at_start(tmp_path):
    (tmp_path / "fine.yaml").write_text("extends: default\n")
    (tmp_path / "broken.yaml").write_text("extends: default\nusers:\n  - {uid: C7, password: short}\n")
    running = Running("--scenario-dir", str(tmp_path))
    running.stop()
    said = running.proc.stderr.read().decode()
    assert (
        "broken.yaml: users[0].password: must be 6 to 20 characters (a --scenario-dir file: "
        "requests naming it are refused until it is fixed)"
    ) in said
    assert "fine.yaml" not in said


def test_control_api_names_only_library_or_scenario_dir(guarded, secret_file):
    admin = {"Authorization": f"Bearer {ADMIN}", "X-Mock-Session": "s4"}
    for body in ({"name": "../../" + secret_file.stem}, {"name": str(secret_file)},
                 {"scenario": {"extends": str(secret_file)}}):  # fmt: skip
        status, answer = guarded.request("PUT", "/_mock/scenario", body, headers=admin)
        assert status in (400, 404) and "db_password" not in str(answer), body
    status, answer = guarded.request("POST", "/_mock/reset", {"scenario": str(secret_file)}, headers=admin)
    assert status == 404 and "not a scenario name" in answer["error"]
    status, answer = guarded.request("PUT", "/_mock/scenario", {"name": "team-world"}, headers=admin)
    assert status == 200 and answer["scenario"] == "team-world"
    names = [s["name"] for s in guarded.request("GET", "/_mock/scenarios", headers=admin)[1]]
    assert "team-world" in names and "default" in names


def test_a_file_that_is_not_a_scenario_is_never_quoted(secret_file):
    with pytest.raises(ScenarioInvalid) as err:
        Scenario.load(str(secret_file))  # the command line may name a path
    assert err.value.problems == [
        "secret-cfg.yaml: (file): not a scenario file (none of its keys is a scenario section)"
    ]


def test_a_request_name_never_escapes_the_folders():
    with pytest.raises(ScenarioNotFound):
        Scenario.load("../scenarios/default", paths=False)
    assert Scenario.load("default", paths=False).name == "default"


def test_a_hostile_pattern_cannot_stall_other_clients():
    server = Running()
    try:
        rule = {"match": {"params": {"deviceName": {"regex": "(a+)+$"}}}, "action": {"code": 5151}}
        assert server.request("POST", "/_mock/rules", rule)[0] == 201
        hostile = "a" * 5_000 + "!"  # catastrophic backtracking for a backtracking engine
        answers = {}

        def attack():
            answers["attack"] = server.request(
                "GET", "/v2/binding/enduserapi/userDeviceList?" + urllib.parse.urlencode({"deviceName": hostile}),
                headers={"Authorization": "owner-token"})[1]["code"]  # fmt: skip

        thread = threading.Thread(target=attack)
        thread.start()
        answers["other"] = server.api("GET", "userInfo", "recipient-token")["code"]
        thread.join(timeout=15)
        # Both answered (the request helper gives up after 10 s): the pattern did not match
        # (the value ends in '!'), and the other client was served meanwhile.
        assert answers == {"other": 200, "attack": 5333}
    finally:
        server.stop()


def test_a_pattern_re2_cannot_run_is_refused_when_the_rule_is_added():
    from mock_server.harness.scenario_schema import validate_rule

    problems = validate_rule({"match": {"params": {"x": {"regex": "(a)\\1"}}}, "action": {"code": 1}})[1]
    assert problems == ["match.params.x: is not a valid regular expression"]
