"""The server as a process: one port, one owner; nothing keeps serving once it is killed."""

import os
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest
from helpers import Running, run_cli

BUSY = "is already in use; stop what holds it or pick another --port"


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_mock/health", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_a_second_server_on_a_busy_port_is_refused_in_one_line():
    first = Running()
    try:
        done = run_cli("run", "--port", str(first.port))
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [f"mock-server: port {first.port} on 127.0.0.1 {BUSY}"]
        # The first server still answers every request, from its own world.
        codes = {first.request("POST", "/_mock/reset")[0] for _ in range(6)}
        assert codes == {200}
    finally:
        first.stop()


def test_a_port_held_by_another_program_gives_the_same_line():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = run_cli("run", "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"mock-server: port {port} on 127.0.0.1 {BUSY}"]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to list child processes")
def test_sigkill_of_the_server_leaves_nothing_serving():
    server = Running()
    assert _answers(server.port)
    assert _children(server.proc.pid) == []  # no worker process that could outlive it
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    time.sleep(0.2)
    assert not _answers(server.port)
    _assert_free(server.port)  # nothing else holds the port any more


def test_a_clean_stop_exits_0_and_frees_the_port():
    server = Running()
    assert server.stop() == 0
    _assert_free(server.port)


def _assert_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # raises EADDRINUSE while anything listens there


HOOKS = """
import os, sys
from mock_server import cli, rsgi

def init(self, loop):
    print("init", os.getpid(), len(self.app.extensions["mock_server"].worlds), flush=True)

def stop(self, loop):
    print("del", os.getpid(), flush=True)

rsgi.RSGIBridge.__rsgi_init__ = init
rsgi.RSGIBridge.__rsgi_del__ = stop
sys.exit(cli.main(["run", "--port", sys.argv[1]]))
"""


def test_the_app_objects_startup_and_shutdown_hooks_run_in_the_serving_process():
    """Something started from __rsgi_init__ (a broker, say) lives beside the worlds, in the
    one process, and __rsgi_del__ runs on a clean stop."""
    import subprocess
    import sys

    from helpers import ROOT, free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", HOOKS, str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _answers(port) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # never leave it running
            proc.kill()
            out, err = proc.communicate()
    assert proc.returncode == 0, err
    lines = [line for line in out.splitlines() if line.startswith(("init", "del"))]
    assert lines == [f"init {proc.pid} 1", f"del {proc.pid}"]
