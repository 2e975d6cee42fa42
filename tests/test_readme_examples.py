"""The README's examples work where they are pasted: each reads the simulator's address from
BASE, and the suite runs them against a server on a port other than 8080."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serving import ROOT, Running
from test_readme import examples

README = (ROOT / "README.md").read_text()
DEFAULTS = ("${BASE:-http://127.0.0.1:8080}", 'os.environ.get("BASE", "http://127.0.0.1:8080")')


def block(marker: str, language: str = "bash") -> str:
    found = re.search(rf"<!-- {marker} -->\s*```{language}\n(.*?)```", README, re.S)
    assert found, f"no {marker} block in the README"
    return found.group(1)


def code_blocks() -> list[str]:
    return re.findall(r"```(?:bash|python|sh)\n(.*?)```", README, re.S)


def test_no_example_hard_codes_the_simulators_address():
    blocks = code_blocks()
    assert len(blocks) >= 10
    for text in blocks:
        rest = text
        for default in DEFAULTS:
            rest = rest.replace(default, "")
        assert not re.search(r"(127\.0\.0\.1|localhost):\d+", rest), text


@pytest.fixture(scope="module")
def server():
    running = Running()
    assert running.port != 8080
    try:
        yield running
    finally:
        running.stop()


def run_bash(script: str, base: str, **env: str) -> list[str]:
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env={**os.environ, "BASE": base, **env},
                          capture_output=True, text=True, timeout=60, cwd="/")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def world(server: Running, name: str) -> str:
    return f"{server.base}/s/{name}{time.monotonic_ns()}"


def test_the_invitation_example(server):
    [answer] = run_bash(block("invitation example"), world(server, "invite"))
    assert json.loads(answer)["code"] == 200


def test_the_second_accept_example(server):
    base = world(server, "accept")
    added, journal = run_bash(block("second-accept example"), base)
    assert json.loads(added)["match"] == {"endpoint": "shareDevice", "nth": 2}
    assert json.loads(journal)["entries"] == []


def test_the_mid_flow_expiry_example(server):
    base = world(server, "expiry")
    spec = examples()["mid-flow-expiry.yaml"]
    assert server.request("PUT", base.removeprefix(server.base) + "/_mock/scenario", {"scenario": spec})[0] == 200
    listed, _, gone, renamed = run_bash(block("mid-flow-expiry example"), base)
    assert [d["deviceKey"] for d in json.loads(listed)["data"]["list"] if d["deviceType"] == 2] == ["LAMP00000001"]
    assert [d for d in json.loads(gone)["data"]["list"] if d["deviceType"] == 2] == []
    assert json.loads(renamed)["code"] == 5142


def test_the_flaky_network_example(server):
    added, listed, removed = run_bash(block("flaky example"), world(server, "flaky"))
    assert [rule["id"] for rule in json.loads(added)] == [rule["id"] for rule in json.loads(listed)]
    assert len(json.loads(listed)) == 3 and json.loads(removed) == {"deleted": "all"}


def test_the_realtime_example(server):
    lines = run_bash(block("realtime example"), world(server, "realtime"), PYTHON=sys.executable)
    topic, payload = lines[0].split(" ", 1)
    assert topic == "q/2/d/qdp11u5wLAMP00000001/bus_"
    assert json.loads(payload)["data"]["kv"] == {"switch": True}


def test_the_python_login_example(server):
    done = subprocess.run([sys.executable, "-c", block("login example", "python")], capture_output=True, text=True,
                          timeout=60, cwd="/", env={**os.environ, "BASE": server.base})  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.replace("'", '"').replace("None", "null"))
    assert answer["code"] == 200 and answer["data"]["accessToken"]["token"].startswith("Bearer ")


def test_the_login_crypto_example_prints_what_the_readme_says_and_signs_in(server, tmp_path: Path):
    done = subprocess.run([sys.executable, "-c", block("login crypto example", "python")], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == block("login crypto output", "text")
    printed = dict(line.split(maxsplit=1) for line in done.stdout.splitlines())
    assert (printed["key"], printed["iv"], printed["docs"]) == ("89A049614445CCA8", "4445CCA889A04961",
                                                                "lkZMvj0KDSJXlp66jBieHA==")  # fmt: skip
    common = {"pwd": printed["pwd"], "random": "j1acpdj2bmtqZXVb", "userDomain": "C.DM.5903.1"}
    by_email = server.api("POST", "emailPwdLogin", email="owner@example.com", signature=printed["by_email"], **common)
    phone = {"phone": "13800000001", "signature": printed["by_phone"], **common}
    path = "/v2/enduser/enduserapi/phonePwdLogin"
    by_phone = server.request("POST", path, internationalCode="86", **phone)[1]
    unsigned_code = server.request("POST", path, **phone)[1]  # the signature covers internationalCode
    assert (by_email["code"], by_phone["code"], unsigned_code["code"]) == (200, 200, 5420)
