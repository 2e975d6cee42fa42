"""The command line and the real server: start it as users do and talk HTTP to it."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "run", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/_mock/health", timeout=1) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("server did not answer /_mock/health: " + proc.stdout.read())
    yield base, proc
    proc.terminate()
    proc.wait(timeout=10)


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


def test_unknown_scenario_exits_2():
    done = subprocess.run(
        [sys.executable, "-m", "mock_server", "run", "--scenario", "no-such-one"],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and "no-such-one" in done.stderr


def test_banner_lists_tokens():
    from mock_server.cli import _banner
    from mock_server.domain.scenario import Scenario

    text = _banner(Scenario.load("default"), "http://127.0.0.1:8080")
    assert "owner-token" in text and "recipient-token" in text and "token-C9" not in text
