"""The command line and the real server: start it as users do and talk HTTP to it."""

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest
from helpers import ROOT, Running


@pytest.fixture(scope="module")
def server():
    running = Running()
    yield running.base, running.proc
    running.stop()


def call(base, method, path, token=None, **params):
    query = urllib.parse.urlencode(params)
    req = urllib.request.Request(f"{base}{path}?{query}", method=method, data=b"" if method != "GET" else None)
    if token:
        req.add_header("Authorization", token)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_health_and_a_real_share(server):
    base, _ = server
    body = call(base, "POST", "/v2/binding/enduserapi/shareInfo", "owner-token",
                pk="p11u5w", dk="LAMP00000001", acceptingExpireAt=4_000_000_000_000)  # fmt: skip
    assert body["code"] == 200 and body["data"].startswith("share_dv_C")


def test_unknown_path_over_http(server):
    base, _ = server
    with pytest.raises(urllib.error.HTTPError) as err:
        call(base, "GET", "/nowhere")
    assert err.value.code == 404 and json.loads(err.value.read())["code"] == 404


def test_readme_walk_through_runs(server):
    """The README's walk-through, pasted into bash, ends with the device in the recipient's list."""
    base, _ = server
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- walk-through -->\s*```bash\n(.*?)```", readme, re.S).group(1)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        env={**os.environ, "BASE": base},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"deviceType":2' in done.stdout and "Living room lamp" in done.stdout


def test_readme_device_walk_through_runs(server):
    """The shared-lamp walk-through, pasted into bash: the recipient switches the lamp on, reads
    "true" back, and is refused once the owner cancels."""
    base, _ = server
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- device walk-through -->\s*```bash\n(.*?)```", readme, re.S).group(1)
    world = f"{base}/s/walk{time.monotonic_ns()}"
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env={**os.environ, "BASE": world},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert '"profile":{"tslVersion":"1.2.0","productKey":"p11u5w"' in lines[0]
    assert '"resourceCode":"switch","resourceValce":"false"' in lines[1]
    assert '"successList":[{' in lines[2] and '"failureList":[]' in lines[2]
    assert '"resourceCode":"switch","resourceValce":"true"' in lines[3]
    assert lines[5] == '{"code":5041,"msg":"No permission","data":null,"extMsg":null}'


def control(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def session(server):
    """A world of its own on the shared server, dropped afterwards."""
    base, _ = server
    name = f"t{time.monotonic_ns()}"
    yield f"{base}/s/{name}"
    control(f"{base}/s/{name}", "DELETE", "/_mock/world")


def test_form_and_json_bodies_and_encoded_paths_over_http(session):
    form = urllib.request.Request(
        session + "/v2/binding/enduserapi/shareInfo", method="POST", headers={"Authorization": "owner-token"},
        data=urllib.parse.urlencode({"pk": "p11u5w", "dk": "LAMP00000001", "acceptingExpireAt": 4_000_000_000_000}).encode(),
    )  # fmt: skip
    with urllib.request.urlopen(form, timeout=5) as resp:
        code = json.loads(resp.read())["data"]
    body = json.dumps({"shareCode": code, "deviceName": "Lampe é"}).encode()
    accept = urllib.request.Request(
        session + "/v2/binding/enduserapi/shareDevice", data=body, method="POST",
        headers={"Authorization": "recipient-token", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(accept, timeout=5) as resp:
        assert json.loads(resp.read())["code"] == 200
    listed = call(session, "GET", "/v2/binding/enduserapi/userDeviceList", "recipient-token", deviceName="lampe é")
    assert [d["deviceName"] for d in listed["data"]["list"]] == ["Lampe é"]
    with pytest.raises(urllib.error.HTTPError) as err:
        call(session, "GET", "/v2/binding/enduserapi/%C3%A9t%C3%A9")
    assert err.value.code == 404


def test_a_delayed_request_does_not_hold_up_the_others(session):
    control(session, "POST", "/_mock/rules", {"match": {"endpoint": "deviceInfo"}, "action": {"delay": "1500ms"}})
    finished: list[str] = []

    def slow() -> None:
        call(session, "GET", "/v2/binding/enduserapi/deviceInfo", "owner-token", pk="p11u5w", dk="LAMP00000001")
        finished.append("slow")

    waiting = [threading.Thread(target=slow) for _ in range(3)]
    for t in waiting:
        t.start()
    time.sleep(0.2)
    for _ in range(20):
        assert call(session, "GET", "/v2/enduser/enduserapi/userInfo", "owner-token")["code"] == 200
    finished.append("fast")
    for t in waiting:
        t.join()
    assert finished[0] == "fast" and finished.count("slow") == 3
    entries = control(session, "GET", "/_mock/journal?path=deviceInfo")["entries"]
    assert len(entries) == 3 and all(e["rule"] == "r1" and e["code"] == 200 for e in entries)


def test_drop_fault_over_http(session):
    control(
        session, "POST", "/_mock/rules", {"match": {"endpoint": "userInfo"}, "action": {"fault": "drop"}, "times": 1}
    )
    with pytest.raises((http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionError)):
        call(session, "GET", "/v2/enduser/enduserapi/userInfo", "owner-token")
    assert call(session, "GET", "/v2/enduser/enduserapi/userInfo", "owner-token")["code"] == 200


def test_unknown_scenario_exits_2():
    done = subprocess.run(
        [sys.executable, "-m", "mock_server", "run", "--scenario", "no-such-one"],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and "no-such-one" in done.stderr


def test_banner_lists_tokens():
    from mock_server.cli import _banner
    from mock_server.harness.scenario import Scenario

    urls = [("this machine", "http://127.0.0.1:8080"), ("Android emulator", "http://10.0.2.2:8080")]
    text = _banner(Scenario.load("default"), urls)
    assert "owner-token" in text and "recipient-token" in text and "token-C9" not in text
    assert "http://10.0.2.2:8080" in text and "Android emulator" in text


def test_the_server_runs_on_uvloop_where_it_is_installed(server):
    """uvloop's event loop costs less CPU a request than asyncio's (server.event_loop_factory):
    the running server has it loaded, and answers on it."""
    import uvloop

    from mock_server.server import event_loop_factory

    base, proc = server
    assert event_loop_factory() is uvloop.new_event_loop
    assert call(base, "GET", "/_mock/health")["status"] == "ok"
    maps = open(f"/proc/{proc.pid}/maps").read()  # noqa: SIM115 - read at once
    assert "uvloop" in maps
