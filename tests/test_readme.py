"""The README's "Testing failures" examples are valid scenarios that do what they say."""

import json
import re
from pathlib import Path

import pytest
import yaml
from helpers import LAMP, OWNER, RECIPIENT, Api

from mock_server.app import create_app
from mock_server.harness.scenario import Scenario

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def examples() -> dict[str, dict]:
    chapter = README.split("## Testing failures", 1)[1]
    blocks = re.findall(r"```yaml\n# ([\w.-]+).*?\n(.*?)```", chapter, re.S)
    return {name: yaml.safe_load(body) for name, body in blocks}


def app_for(name: str) -> Api:
    return Api(create_app(scenario=Scenario.from_spec(examples()[name], name)).test_client())


def test_three_examples_are_there():
    assert list(examples()) == ["second-accept.yaml", "mid-flow-expiry.yaml", "flaky.yaml"]


@pytest.mark.parametrize("name", ["second-accept.yaml", "mid-flow-expiry.yaml", "flaky.yaml"])
def test_examples_are_valid(name):
    assert Scenario.from_spec(examples()[name], name).build().rules is not None


def test_second_accept_example():
    api = app_for("second-accept.yaml")
    first = api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000_000, coverMark=2)["data"]
    second = api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000_000, coverMark=2)["data"]
    assert api.accept(first)["code"] == 200
    assert api.accept(second)["code"] == 5151


def test_mid_flow_expiry_example():
    api = app_for("mid-flow-expiry.yaml")
    code = "share_dv_C00000000000000000000000000000000000aa"
    assert [d["shareCode"] for d in api.devices() if d["deviceType"] == 2] == [code]
    api.client.post("/_mock/clock", json={"advance": "1h"})
    assert [d for d in api.devices() if d["deviceType"] == 2] == []
    assert api.put("changeShareDeviceName", RECIPIENT, shareCode=code, deviceName="x")["code"] == 5142


def test_flaky_example_slows_the_first_attempt_and_drops_the_retry(tmp_path):
    """Example 3 as users run it: a real server, a real client, the scenario from the README."""
    import http.client
    import json
    import urllib.error

    from helpers import Running

    path = tmp_path / "flaky.yaml"
    path.write_text(yaml.safe_dump(examples()["flaky.yaml"]))
    server = Running("--scenario", str(path))
    outcomes = []
    try:
        for _ in range(3):
            try:
                outcomes.append(server.api("POST", "shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000_000,
                                           coverMark=2)["code"])  # fmt: skip
            except (http.client.HTTPException, urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                outcomes.append("dropped")
        journal = server.request("GET", "/_mock/journal?path=shareInfo")[1]["entries"]
    finally:
        server.stop()
    assert outcomes[:2] == [200, "dropped"] and outcomes[2] in (200, 503)
    assert [e["rule"] for e in journal][:2] == ["r1", "r2"]


def test_flaky_example_curl_rules_are_the_files_rules():
    chapter = README.split("### 3. A flaky network", 1)[1].split("## ", 1)[0]
    posted = json.loads(re.search(r"-d '(\[.*?\])'", chapter, re.S).group(1))
    assert posted == examples()["flaky.yaml"]["rules"]
