"""Smaller things a new user meets first: the bare command, --help, a misspelt scenario, a
YAML slip, an edited scenario file and the journal's counts (the README's examples: test_readme_examples.py)."""

import re
import signal
import subprocess
import sys

from conftest import api_with
from serving import ROOT, Running, free_port, run_cli


def test_the_bare_command_runs_with_the_defaults():
    """`mock-server` alone serves, as `mock-server run` does (here with --port before any
    command, the same shortcut)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        first = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # never leave it running
            proc.kill()
            proc.communicate()
    assert first.startswith(f"Quectel sharing simulator: http://127.0.0.1:{port}  (scenario default")


def test_no_arguments_means_run(monkeypatch):
    from mock_server import cli

    seen = {}
    monkeypatch.setattr(cli, "run", lambda args: seen.setdefault("args", args) and 0)
    cli.main([])
    assert seen["args"].command == "run" and seen["args"].port == 8080


def test_help_shows_the_defaults():
    out = run_cli("run", "--help").stdout
    for default in ("(default: 127.0.0.1)", "(default: 8080)", "(default: default)", "(default: 1800)"):
        assert default in " ".join(out.split()), default


def test_a_misspelt_scenario_lists_the_library():
    done = run_cli("run", "--scenario", "defualt", "--port", str(free_port()))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("mock-server: no scenario file or library scenario named 'defualt'; known:")
    assert "cover-mark" in done.stderr and "default" in done.stderr.split("known:")[1]


def test_yaml_errors_give_line_and_column(tmp_path):
    bad = tmp_path / "slip.yaml"
    bad.write_text("users:\n  - uid: C1\n    email: [oops\n")
    done = run_cli("validate", str(bad))
    assert done.returncode == 2
    assert re.fullmatch(r"slip\.yaml: line 4, column 1: not readable as yaml: .*\(while parsing a flow sequence at "
                        r"line 3, column 12\)", done.stderr.strip()), done.stderr  # fmt: skip


def test_reset_reads_an_edited_scenario_file_again(tmp_path):
    path = tmp_path / "world.yaml"
    path.write_text("extends: default\ndevices:\n  - {pk: p1, dk: FIRST, owner: C1001}\n")
    server = Running("--scenario", str(path))
    try:
        dks = lambda: {d["dk"] for d in server.request("GET", "/_mock/state")[1]["devices"]}  # noqa: E731
        assert "FIRST" in dks()
        path.write_text("extends: default\ndevices:\n  - {pk: p1, dk: SECOND, owner: C1001}\n")
        assert server.request("POST", "/_mock/reset")[0] == 200
        assert "SECOND" in dks() and "FIRST" not in dks()
        path.write_text("extends: default\ndevices: [{pk: p1}]\n")  # broken: the world is kept
        status, body = server.request("POST", "/_mock/reset")
        assert status == 400 and body["problems"] == ["world.yaml: devices[0].dk: is required"]
        assert "SECOND" in dks()
    finally:
        server.stop()


def test_journal_total_counts_what_the_filters_select():
    api = api_with()
    api.get("userInfo", "owner-token")
    api.get("userInfo", "owner-token")
    api.get("userDeviceList", "owner-token")
    body = api.client.get("/_mock/journal?path=userInfo&limit=1").get_json()
    assert (body["total"], body["recorded"], len(body["entries"])) == (2, 3, 1)
