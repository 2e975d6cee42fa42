"""The package as users install it: a built wheel in a fresh virtual environment (not the
editable checkout), running the server, validating a library scenario and the pytest plugin."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import pytest
from helpers import ROOT, free_port

PLUGIN_TEST = """
def test_the_fixture_serves_a_world(quectel_mock):
    body = quectel_mock.call("GET", "userInfo", "owner-token")
    assert body["code"] == 200 and body["data"]["uid"] == "C1001"


def test_the_mqtt_helper_works_on_a_plain_install(quectel_mock):
    # Only the wheel and pytest are installed: paho-mqtt must have come with the package.
    lamp = {"pk": "p11u5w", "dk": "LAMP00000001"}
    olivia = quectel_mock.mqtt("owner-token", quectel_mock.topic(**lamp, suffix="bus_"))
    assert olivia.connack == 0
    quectel_mock.set_property(**lamp, brightness=33)
    [report] = olivia.wait_for("bus_")
    assert report.json["data"]["kv"] == {"brightness": 33}
"""


def _run(*cmd, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv with the built wheel (and pytest) installed, from pip's cache."""
    where = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools leaves build/ in the tree it builds, whose stale modules
    # would otherwise end up in later wheels.
    source = where / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(where / "dist"), str(source))
    wheels = list((where / "dist").glob("quectel_mock_server-*.whl"))
    assert len(wheels) == 1
    venv.create(where / "venv", with_pip=True)
    bin_dir = where / "venv" / "bin"
    _run(str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheels[0]), "pytest")
    return bin_dir


def _clean_env() -> dict:
    """No PYTHONPATH or checkout on the path: the venv must find everything in itself."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _get(url: str, token: str | None = None, method: str = "GET") -> dict:
    req = urllib.request.Request(url, method=method, data=b"" if method != "GET" else None)
    if token:
        req.add_header("Authorization", token)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def _wait_ready(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            _get(base + "/_mock/health")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the installed server did not answer")


def test_installed_server_runs_the_default_world(installed, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(installed / "mock-server"), "run", "--port", str(port)],
        cwd=tmp_path,  # not the checkout: nothing of the source tree is on the path
        env=_clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_ready(base, proc)
        assert _get(base + "/_mock/health")["scenario"] == "default"
        body = _get(
            f"{base}/v2/binding/enduserapi/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt=4000000000000",
            "owner-token",
            "POST",
        )
        assert body["code"] == 200 and body["data"].startswith("share_dv_C")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # never leave it running
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


def test_installed_validate_finds_the_library(installed, tmp_path):
    done = _run(str(installed / "mock-server"), "validate", "cover-mark", cwd=tmp_path, env=_clean_env())
    assert "1 scenario file(s) valid" in done.stdout


def test_installed_pytest_plugin_gives_the_fixture(installed, tmp_path):
    (tmp_path / "test_app.py").write_text(PLUGIN_TEST)
    done = _run(str(installed / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py",
                cwd=tmp_path, env=_clean_env())  # fmt: skip
    assert "2 passed" in done.stdout


def test_a_plain_install_brings_no_faker(installed, tmp_path):
    """Faker is a test dependency only: installed, its pytest plugin would load in every test
    session of the user's (some 0.1-0.3 s each), for names the package draws without it."""
    script = "import importlib.util as u; print(u.find_spec('faker') is None)"
    assert _run(str(installed / "python"), "-c", script, cwd=tmp_path, env=_clean_env()).stdout.strip() == "True"


def test_the_wheel_carries_the_whole_library(installed, tmp_path):
    """The library lives in scenarios/ beside the package; installed, it is package data."""
    script = "from mock_server.harness.scenario import SCENARIO_DIR as d; print(d); print(sorted(p.name for p in d.iterdir()))"
    where, names = _run(str(installed / "python"), "-c", script, cwd=tmp_path, env=_clean_env()).stdout.splitlines()
    assert Path(where).parts[-2:] == ("mock_server", "scenarios") and str(installed.parent) in where
    assert names == str(sorted(p.name for p in (ROOT / "scenarios").iterdir()))
