"""`make bench`: start the simulator as users do, load it, and print one table.

The load generator is wrk (Debian's package) when it is on the PATH; otherwise a Python
generator with the same request mix, whose figures are then a lower bound (it competes with
the server for the same two cores). Results are printed and written to bench/results.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import measure
import wiremock

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
API = "/v2/binding/enduserapi"
FAR = 4_000_000_000_000

# ---- requests, for wrk (Lua) and for the Python fallback ---------------------------------

REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
    .. '"errors":%d,"status_errors":%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""

CREATE_LUA = """
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "%(api)s/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt=" .. (%(far)d + n),
                    {["Authorization"] = "owner-token"}, "")
end
"""

# create (owner) -> accept (recipient) -> list (recipient) -> cancel (owner), round robin
# per wrk thread; codes travel from create responses to accepts, and from accepts to cancels.
FLOW_LUA = """
local created, accepted, step, n = {}, {}, 0, 0
local function create()
  n = n + 1
  return wrk.format("POST", "%(api)s/shareInfo?coverMark=2&pk=p11u5w&dk=LAMP00000001&acceptingExpireAt="
                    .. (%(far)d + n), {["Authorization"] = "owner-token"}, "")
end
request = function()
  step = step %% 4 + 1
  if step == 1 then return create() end
  if step == 2 then
    local code = table.remove(created, 1)
    if code == nil then return create() end
    table.insert(accepted, code)
    return wrk.format("POST", "%(api)s/shareDevice?shareCode=" .. code, {["Authorization"] = "recipient-token"}, "")
  end
  if step == 4 and #accepted > 0 then
    return wrk.format("DELETE", "%(api)s/ownerUserUnshareDevice?shareCode=" .. table.remove(accepted, 1),
                      {["Authorization"] = "owner-token"}, "")
  end
  return wrk.format("GET", "%(api)s/userDeviceList?pageSize=10", {["Authorization"] = "recipient-token"}, "")
end
response = function(status, headers, body)
  local code = string.match(body, '"data":"(share_dv_[%%w]+)"')
  if code then table.insert(created, code) end
end
"""

GET_LUA = """
wrk.method = "GET"
wrk.headers["Authorization"] = "%(token)s"
"""

# One fixed request, no Lua per request: wrk "straight at" a stub.
STRAIGHT_LUA = """
wrk.method = "%(method)s"
wrk.headers["Authorization"] = "%(token)s"
"""

JSON_POST_LUA = """
wrk.method = "POST"
wrk.body = [[%(body)s]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "%(token)s"
"""
LAMP_QUERY = "pk=p11u5w&dk=LAMP00000001"
CONTROL = {"data": '[{"brightness": 35}]', "deviceList": [{"productKey": "p11u5w", "deviceKey": "LAMP00000001"}],
           "type": 2}  # fmt: skip


@dataclass
class Load:
    """One load: a wrk script (Lua) and the equivalent for the Python fallback. `path` (with
    its query) and `token` make one request of it: the Python fallback's, and the sample
    whose reply the comparison servers give."""

    name: str
    lua: str
    path: str = ""
    token: str = ""
    flow: bool = False
    method: str = "GET"
    body: bytes = b""


# ---- results -------------------------------------------------------------------------------


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    cpu_us: float = 0.0  # the server's CPU time per request: steadier than requests/s on a busy machine
    load: float = 0.0  # the machine's 1-minute load average at the end of the run
    others: float = 0.0  # cores the machine's other processes kept busy during the run

    def row(self) -> str:
        return (f"{self.rps:,.0f} | {self.p50_ms:.2f} | {self.p99_ms:.2f} | {self.cpu_us:.0f} | {self.errors} "
                f"| {self.others:.2f} | {self.load:.1f}")  # fmt: skip


def machine_busy_s() -> float:
    """CPU time the whole machine has spent busy (every core, every process) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU time of this process and its finished children (wrk) so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# ---- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    running: list[Server] = []  # stopped at exit, whatever happens
    before_run: Callable[[], None] | None = None  # called before each load run (WireMock: clear its journal)

    def __init__(self, args: list[str], port: int, ready_path: str = "/_mock/health", timeout: float = 300):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        Server.running.append(self)
        while True:
            try:
                with urllib.request.urlopen(self.base + ready_path, timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stderr.read().decode()[-2000:])
            if time.perf_counter() - started > timeout:
                raise RuntimeError("server did not answer in time")
            time.sleep(0.005)
        self.first_answer_s = time.perf_counter() - started
        self.first_answer_cpu_s = self.cpu_seconds()  # steadier than the wall clock on a busy machine

    @classmethod
    def simulator(cls, scenario: str = "default") -> Server:
        port = free_port()
        return cls([sys.executable, "-m", "mock_server", "run", "--port", str(port), "--scenario", scenario], port)

    @classmethod
    def trivial(cls) -> Server:
        port = free_port()
        return cls([sys.executable, str(BENCH / "trivial.py"), str(port)], port, "/ping")

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else (b"" if method != "GET" else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", token)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def memory_mb(self) -> float:
        """Proportional set size of the server and its worker: real memory, shared pages split."""
        total = 0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            total += next(int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:"))
        return total / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server and its worker so far."""
        total = 0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, quiet_s: float = 1.0, timeout: float = 60) -> float:
        """Wait until the server has used under 5 % of a core for `quiet_s` (what it started
        after answering, a world's build's garbage, has settled): the seconds waited."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            before = self.cpu_seconds()
            time.sleep(quiet_s)
            if self.cpu_seconds() - before < 0.05 * quiet_s:
                break
        return time.perf_counter() - started

    def stop(self) -> None:
        if self in Server.running:
            Server.running.remove(self)
        try:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls.running):
            server.stop()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found + [g for c in found for g in _children(c)]


# ---- load generators -----------------------------------------------------------------------


def run_load(server: Server, load: Load, seconds: float, connections: int) -> Result:
    if server.before_run:
        server.before_run()
    cpu, busy, own, started = server.cpu_seconds(), machine_busy_s(), own_cpu_s(), time.perf_counter()
    if shutil.which("wrk"):
        result = _wrk(server, load, seconds, connections)
    else:
        result = _python_load(server, load, seconds, connections)
    server_s = server.cpu_seconds() - cpu
    result.cpu_us = server_s / max(result.requests, 1) * 1e6
    result.others = measure.others_cores(
        machine_busy_s() - busy, server_s, own_cpu_s() - own, time.perf_counter() - started
    )
    result.load = os.getloadavg()[0]
    return result


def _wrk(server: Server, load: Load, seconds: float, connections: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(load.lua + REPORT_LUA)
    try:
        duration = f"-d{max(1, round(seconds))}s"  # wrk takes whole seconds
        cmd = ["wrk", "-t1", f"-c{connections}", duration, "-s", script.name, server.base + load.path]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[6:])
    return Result(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"] + data["status_errors"],
        requests=data["requests"],
    )


def _python_load(server: Server, load: Load, seconds: float, connections: int) -> Result:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        created: list[str] = []
        accepted: list[str] = []
        n, step, mine = index * 10_000_000, 0, []
        while time.perf_counter() < deadline:
            n += 1
            step = step % 4 + 1
            method, path, token = _next_request(load, n, step, created, accepted)
            start = time.perf_counter()
            headers = {"Authorization": token, **({"Content-Type": "application/json"} if load.body else {})}
            try:
                conn.request(method, path, body=load.body or None, headers=headers)
                body = conn.getresponse().read()
            except OSError:
                errors[0] += 1
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                continue
            mine.append(time.perf_counter() - start)
            if load.flow and b'"data":"share_dv_' in body:
                created.append(json.loads(body)["data"])
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Result(
        rps=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        errors=errors[0],
        requests=len(latencies),
    )


def _next_request(load: Load, n: int, step: int, created: list, accepted: list) -> tuple[str, str, str]:
    create = ("POST", f"{API}/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt={FAR + n}", "owner-token")
    if not load.flow:
        return create if load.name.startswith("shareInfo") else (load.method, load.path, load.token)
    if step == 1 or (step == 2 and not created):
        return ("POST", create[1] + "&coverMark=2", "owner-token")
    if step == 2:
        accepted.append(created.pop(0))
        return ("POST", f"{API}/shareDevice?shareCode={accepted[-1]}", "recipient-token")
    if step == 4 and accepted:
        return ("DELETE", f"{API}/ownerUserUnshareDevice?shareCode={accepted.pop(0)}", "owner-token")
    return ("GET", f"{API}/userDeviceList?pageSize=10", "recipient-token")


# ---- the benchmark -------------------------------------------------------------------------


def loads_for(server: Server) -> dict[str, Load]:
    """The per-world loads; deviceInfo uses a share code of the world and its recipient."""
    state = server.call("GET", "/_mock/state?limit=200")
    share = next(s for s in state["shares"] if s["state"] == "active" and s["recipient"])
    token = server.call("POST", "/_mock/tokens", {"uid": share["recipient"]})["accessToken"]["token"]
    fmt = {"api": API, "far": FAR}
    create = f"{API}/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt={FAR}"
    return {
        "shareInfo create": Load("shareInfo create", CREATE_LUA % fmt, create, "owner-token", method="POST"),
        "userDeviceList, 50 devices": Load(
            "userDeviceList", GET_LUA % {"token": "owner-token"}, f"{API}/userDeviceList?pageSize=50", "owner-token"
        ),
        "deviceInfo by share code": Load(
            "deviceInfo", GET_LUA % {"token": token}, f"{API}/deviceInfo?shareCode={share['code']}", token
        ),
        "getDeviceBusinessAttributes": Load(
            "getDeviceBusinessAttributes", GET_LUA % {"token": "owner-token"},
            f"{API}/getDeviceBusinessAttributes?{LAMP_QUERY}", "owner-token",
        ),
        "batchControlDevice (JSON body)": Load(
            "batchControlDevice", JSON_POST_LUA % {"token": "owner-token", "body": json.dumps(CONTROL)},
            f"{API}/batchControlDevice", "owner-token", method="POST", body=json.dumps(CONTROL).encode(),
        ),
    }  # fmt: skip


# The loads compared between the world of 100 shares and that of 1,000,000.
SCALING = ("shareInfo create", "userDeviceList, 50 devices", "deviceInfo by share code")


def compile_bytecode() -> None:
    """An installed simulator has its bytecode compiled (pip does it); this checkout may be
    told to write none (PYTHONDONTWRITEBYTECODE), and would then compile every module at every
    launch (a fifth of it). Compiled here, beside the sources (__pycache__, ignored by git)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mock_server")], check=True)


def median_ms(fn, times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def median_result(results: list[Result]) -> Result:
    """The run with the median requests/s (its own latencies come with it)."""
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


# ---- the comparison servers ----------------------------------------------------------------


# The WireMock configurations measured, one JVM at a time: (name, request journal on).
WIREMOCKS = (("wiremock", False), ("wiremock-journal", True))
WIREMOCK_LABELS = {"wiremock": "WireMock, journal off, warmed", "wiremock-journal": "WireMock, journal on, warmed"}


def comparison_servers(replies: dict[str, str]) -> dict[str, Server]:
    """The bare RSGI limit and the trivial Flask handler, each answering every compared path
    with the simulator's bytes for it, loaded by the same generator in the same run."""
    servers = {}
    with tempfile.TemporaryDirectory() as tmp:  # read once, at start
        path = Path(tmp, "replies.json")
        path.write_text(json.dumps(replies))
        for name, script in (("limit", "bare.py"), ("trivial", "trivial.py")):
            port = free_port()
            servers[name] = Server([sys.executable, str(BENCH / script), str(port), str(path)], port, "/ping")
    return servers


def plain_load(load: Load) -> Load:
    """The same request, one fixed one (no Lua per request), at the load's plain stub."""
    lua = STRAIGHT_LUA % {"method": load.method, "token": load.token}
    if load.body:
        lua += f'wrk.body = [[{load.body.decode()}]]\nwrk.headers["Content-Type"] = "application/json"\n'
    return Load("plain stub", lua, wiremock.PLAIN + load.path, load.token, method=load.method, body=load.body)


@dataclass
class Warming:
    """How to warm a JVM: rounds of `round_s` seconds until measure.settled, at most `cap_s`
    seconds a load; `min_requests` served before a round may count as settled."""

    round_s: float
    cap_s: float
    min_requests: int
    connections: int


def peers(small: Server, loads: dict[str, Load], replies: dict, warming: Warming, interleaved, notes: list,
          m: dict) -> dict[str, dict[str, Result]]:  # fmt: skip
    """Each WireMock configuration in its own JVM, started alone (no other JVM running or
    compiling beside it), warmed load by load until settled, then each load run in turn with
    the same JVM's plain stub and the simulator: {load: {name: Result}}. The simulator's run
    beside each peer is the one its ratio to that peer is taken from (same minutes, same
    neighbours)."""
    jar = wiremock.jar()
    if jar is None:
        notes.append("WireMock not measured: it needs npm and Java on the PATH")
        return {}
    found: dict[str, dict[str, Result]] = {name: {} for name in loads}
    m["wiremock-unsettled"] = m["wiremock-insane"] = 0
    for name, journal in WIREMOCKS:
        label = WIREMOCK_LABELS[name]
        port = free_port()
        wm = Server(wiremock.command(jar, port, journal), port, "/__admin/mappings", timeout=120)
        try:
            if journal:
                wm.before_run = lambda base=wm.base: wiremock.clear_journal(base)
            specs = [wiremock.stubs(load.method, load.path.split("?")[0], replies[load.path.split("?")[0]])
                     for load in loads.values()]  # fmt: skip
            wiremock.add_stubs(wm.base, [spec for pair in specs for spec in pair])
            targets = {f"{label}, {load_name}{what}": target for load_name, load in loads.items()
                       for target, what in ((load, ""), (plain_load(load), ", plain stub"))}  # fmt: skip
            warmed = warm_until_settled(wm, targets, warming)
            for what, rounds in warmed.items():
                at = measure.settled_at(rounds, warming.min_requests)
                m["wiremock-unsettled"] += at is None
                notes.append(_warm_note(what, at, rounds, warming.round_s))
            for load_name, load in loads.items():
                peer, plain, sim = interleaved(
                    (f"{load_name}: {label}", wm, load),
                    (f"{load_name}: {label}, plain stub (sanity)", wm, plain_load(load)),
                    (f"{load_name}: the simulator, run beside {label}", small, load),
                )
                found[load_name] |= {name: peer, name + "-plain": plain, name + "-sim": sim}
                # Judged by CPU a request: requests/s of one 2-5 s run follows what the neighbours
                # did in those seconds (18 % by requests/s, 67 % by CPU in one run at load 15).
                by_rps, by_cpu = peer.rps / plain.rps, plain.cpu_us / peer.cpu_us
                sane = 0.5 <= by_cpu <= 1.25
                m["wiremock-insane"] += not sane
                notes.append(f"{load_name}: {label}, by CPU a request, does {by_cpu:.0%} of what the same JVM's "
                             f"plain stub does ({peer.cpu_us:.0f} µs against {plain.cpu_us:.0f}; "
                             f"{'sane' if sane else 'NOT sane'}: between 50 % and 125 % expected), by requests/s "
                             f"{by_rps:.0%} ({peer.rps:,.0f} against {plain.rps:,.0f})")  # fmt: skip
        finally:
            wm.stop()
    notes.append(f"WireMock {jar.stem.rsplit('-', 1)[-1]} (Java {_java()}, {' '.join(wiremock.JVM_OPTIONS)}), one "
                 "JVM at a time, each stopped before the next starts: templated stubs with the request journal off "
                 "and on (its default; emptied before each run so that each starts from the same journal, as a "
                 "test suite resets it between tests), and in each JVM a plain stub (same bytes, no template "
                 "engine, one fixed request) as the sanity check of its figures")  # fmt: skip
    return found


def _warm_note(what: str, at: int | None, rounds: list[measure.Round], round_s: float) -> str:
    def figures(part: list[measure.Round]) -> str:
        cpu = " → ".join(f"{r.cpu_us:.0f}" for r in part)
        rps = " → ".join(f"{r.rps:,.0f}" for r in part)
        agreed = "agreed" if measure.agree(part[-1].rps, part[-2].rps) else "did not agree"
        return f"CPU µs a request {cpu}; requests/s {rps}, whose last two {agreed} within 10 %"

    served = f"{sum(r.requests for r in rounds):,} requests in {len(rounds)} rounds of {round_s:g} s"
    if at is None:
        return f"{what}: did NOT settle ({served}; the last: {figures(rounds[-3:])})"
    return (f"{what}: settled after round {at} ({figures(rounds[max(0, at - 3):at])}); warmed on with the other "
            f"loads to {served} (the last: {figures(rounds[-2:])})")  # fmt: skip


def warm_until_settled(server: Server, loads: dict[str, Load], warming: Warming) -> dict[str, list[measure.Round]]:
    """Rounds of every load in turn until each has settled (measure.settled_at), at most
    `warming.cap_s` seconds a load: each load's rounds. In turn, because the loads share most
    of the JVM's code (Jetty, matching, the template engine): warmed one after the other, the
    first looked settled while the JIT, still compiling for the next ones (its compiler threads'
    CPU counted in the JVM's), went on making it faster (221 µs a request at its "settled" end,
    104 µs when measured minutes later)."""
    rounds: dict[str, list[measure.Round]] = {name: [] for name in loads}
    deadline = time.perf_counter() + warming.cap_s * len(loads)
    while time.perf_counter() < deadline:
        for name, load in loads.items():
            result = run_load(server, load, warming.round_s, warming.connections)
            rounds[name].append(measure.Round(result.rps, result.cpu_us, result.requests))
        if all(measure.settled_at(r, warming.min_requests) for r in rounds.values()):
            break
    return rounds


def _java() -> str:
    out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    return out.split('"')[1] if '"' in out else "?"


def sample_reply(server: Server, load: Load) -> str:
    req = urllib.request.Request(server.base + load.path, data=load.body or None, method=load.method)
    req.add_header("Authorization", load.token)
    if load.body:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read().decode()


# ---- the benchmark -------------------------------------------------------------------------


PARTS = ("all", "peer", "scaling")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=None, help="length of each load run (5; --quick: 2)")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each compared load, interleaved")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warm-up", type=float, default=None,
                        help="seconds of each WireMock warm-up round (2; --quick: 1); rounds go on until settled")
    parser.add_argument("--warm-cap", type=float, default=None,
                        help="seconds of warm-up rounds at most for each load (30; --quick: 12); then reported "
                             "as not settled")  # fmt: skip
    parser.add_argument("--scaling-repeats", type=int, default=None,
                        help="pairs of runs (100 shares, 1,000,000 shares) of each load, back to back (5)")
    parser.add_argument("--part", choices=PARTS, default="all",
                        help="peer: only the simulator against the limit, Flask and WireMock; scaling: only the "
                             "100- against the 1,000,000-share world (run even with --quick)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="short runs, and no 1,000,000-share world")
    parser.add_argument("--out", default=str(BENCH / "results.md"))
    args = parser.parse_args()
    secs = args.seconds or (2 if args.quick else 5)
    args.repeats = args.repeats or (1 if args.quick else 3)
    warming = Warming(
        round_s=args.warm_up or (1 if args.quick else 2),
        cap_s=args.warm_cap or (12 if args.quick else 30),
        min_requests=5_000 if args.quick else 20_000,
        connections=args.connections,
    )
    c = args.connections
    rows: list[tuple[str, str]] = []
    ratios: list[tuple[str, ...]] = []
    notes: list[str] = []
    m: dict[str, float] = {}  # figures the targets are checked against
    others: list[float] = []  # every run's cores used by other processes: the machine's load during the run

    def interleaved(*pairs: tuple[str, Server, Load]) -> list[Result]:
        """Run the loads in turn, `repeats` times: compared figures then share the machine's
        noisy moments alike. Each row is the median run."""
        runs: list[list[Result]] = [[] for _ in pairs]
        for _ in range(args.repeats):
            for i, (_, server, load) in enumerate(pairs):
                runs[i].append(run_load(server, load, secs, c))
        medians = [median_result(r) for r in runs]
        for (label, _, _), result, each in zip(pairs, medians, runs, strict=True):
            others.extend(r.others for r in each)
            rows.append((label, result.row()))
            print(f"{label:<66} {result.row()}", flush=True)
        return medians

    compile_bytecode()
    if args.part == "all":
        _launches(m, notes)

    small = Server.simulator(str(BENCH / "small-world.yaml"))
    small_loads = loads_for(small)
    if args.part in ("all", "peer"):
        _compare(small, small_loads, warming, interleaved, m, notes, ratios)
    if args.part == "all":
        (flow,) = interleaved(
            ("full flow (create, accept, list, cancel), 100 shares", small,
             Load("flow", FLOW_LUA % {"api": API, "far": FAR}, f"{API}/shareInfo", flow=True)),
        )  # fmt: skip
        notes.append(f"full flow: {flow.rps / 4:,.0f} complete flows/s")
        m["delay"] = _delay_isolation(small, small_loads, secs, c, args.repeats, rows, notes)
    profile = _profile(small, small_loads["shareInfo create"], secs, c) if args.part == "all" else ""

    if args.part == "scaling" or (args.part == "all" and not args.quick):
        scaling = _big_world(small, small_loads, args.scaling_repeats or 5, secs, c, rows, m, notes)
        others.extend(scaling)
    small.stop()
    if args.part == "all":
        m["plugin"], m["plugin_bare"] = plugin_cost(notes)

    report = _report(rows, ratios, notes, args, c, secs, others) + _targets(m)
    if profile:
        report += "\n## Where the simulator spends a shareInfo request\n\n" + profile
    print("\n" + report)
    Path(args.out).write_text(report)
    return 0


def _launches(m: dict, notes: list) -> None:
    """First answer after `mock-server run` (median of 5), and the default world's reset."""
    launches, launch_cpu, launch_load = [], [], []
    for _ in range(5):
        server = Server.simulator()
        launches.append(server.first_answer_s)
        launch_cpu.append(server.first_answer_cpu_s)
        launch_load.append(os.getloadavg()[0])
        reset_ms = median_ms(lambda: server.call("POST", "/_mock/reset"), 50)  # noqa: B023
        server.stop()
    m["launch_s"], m["reset_ms"] = statistics.median(launches), reset_ms
    m["launch_cpu_s"] = statistics.median(launch_cpu)
    notes.append(f"first answer after launch: {m['launch_s'] * 1000:.0f} ms (median of 5; the server's CPU time "
                 f"until then {m['launch_cpu_s'] * 1000:.0f} ms; load average {min(launch_load):.1f}-"
                 f"{max(launch_load):.1f})")  # fmt: skip
    notes.append(f"POST /_mock/reset of the default world, round trip: {reset_ms:.2f} ms (median of 50)")


def _compare(small: Server, small_loads: dict[str, Load], warming: Warming, interleaved, m: dict, notes: list,
             ratios: list) -> None:  # fmt: skip
    """The simulator against the bare RSGI limit and a trivial Flask handler (run in turn),
    then against each WireMock configuration (peers: one JVM at a time)."""
    replies = {load.path.split("?")[0]: sample_reply(small, load) for load in small_loads.values()}
    others = comparison_servers(replies)
    results = {}
    for name, load in small_loads.items():
        limit, trivial, sim = interleaved(
            (f"{name}: bare RSGI handler (the limit)", others["limit"], load),
            (f"{name}: trivial Flask handler", others["trivial"], load),
            (f"{name}: the simulator", small, load),
        )
        results[name] = {"limit": limit, "trivial": trivial, "sim": sim}
        m[f"{name}/limit"] = sim.rps / limit.rps
        m[f"{name}/rps"] = sim.rps
        m[f"{name}/p99"] = sim.p99_ms
        m[f"{name}/cpu"] = sim.cpu_us
        notes.append(f"{name}: the limit on this machine is {limit.rps:,.0f} requests/s")
    for server in others.values():
        server.stop()
    found = peers(small, small_loads, replies, warming, interleaved, notes, m)
    for name in small_loads:
        r, p = results[name], found.get(name, {})

        def vs(peer: str) -> str:
            return f"{p[peer + '-sim'].rps / p[peer].rps:.2f}x" if peer in p else "not measured"  # noqa: B023

        if p:  # against the faster peer: the smaller of the two ratios, each taken beside its peer
            m[f"{name}/wiremock"] = min(p[peer + "-sim"].rps / p[peer].rps for peer, _ in WIREMOCKS)
        sim = r["sim"]
        ratios.append((name, f"{sim.rps / r['limit'].rps:.0%}", f"{r['limit'].cpu_us / sim.cpu_us:.0%}",
                       vs("wiremock"), vs("wiremock-journal"), f"{sim.rps / r['trivial'].rps:.2f}x"))  # fmt: skip


def _big_world(small: Server, small_loads: dict, pairs: int, secs: float, c: int, rows: list, m: dict,
               notes: list) -> list[float]:  # fmt: skip
    """The same loads in a world of 100,000 devices and 1,000,000 shares: flat, under 1 GB.
    Fair to both worlds: the big one's build settled first (the server idle), one untimed run
    of each load on each, then `pairs` pairs of runs back to back, one server loaded at a time,
    the order alternating (small-big, big-small) so that a drift of the machine's load falls on
    both alike; the ratio is the median of the pairs' ratios, reported with the pairs' range and
    each world's own spread between its repeats: a ratio within that noise is not cost.
    Returns each run's cores used by other processes."""
    big = Server.simulator(str(BENCH / "big-world.yaml"))
    m["memory_mb"], m["ready_s"] = big.memory_mb(), big.first_answer_s
    waited = big.wait_idle()
    built = big.call("GET", "/_mock/state?limit=0")["counts"]["shares"]
    notes.append(f"world of 1,000,000 shares: ready after {big.first_answer_s:.1f} s, {m['memory_mb']:,.0f} MB "
                 f"(PSS); idle {waited:.1f} s later")  # fmt: skip
    big_loads = loads_for(big)
    others: list[float] = []
    for name in SCALING:
        for server, load in ((small, small_loads[name]), (big, big_loads[name])):
            run_load(server, load, 1, c)
        runs: dict[Server, list[Result]] = {small: [], big: []}
        for i in range(pairs):
            for server in (small, big) if i % 2 == 0 else (big, small):
                runs[server].append(run_load(server, (small_loads if server is small else big_loads)[name], secs, c))
        for server, world in ((small, "world of 100 shares"), (big, "100,000 devices, 1,000,000 shares")):
            median = median_result(runs[server])
            rows.append((f"{name}, {world}", median.row()))
            print(f"{name + ', ' + world:<66} {median.row()}", flush=True)
            others.extend(r.others for r in runs[server])
        rps = measure.paired([r.rps for r in runs[small]], [r.rps for r in runs[big]])
        cpu = measure.paired([r.cpu_us for r in runs[small]], [r.cpu_us for r in runs[big]])
        notes.append(
            f"{name}: 1,000,000 shares / 100 shares: {rps.median:.0%} of the requests/s (median of {pairs} pairs "
            f"run back to back; pairs {min(rps.ratios):.0%}-{max(rps.ratios):.0%}; each world's own runs spread "
            f"{rps.spread_a:.0%} (100 shares) and {rps.spread_b:.0%} (1,000,000)); server CPU a request: "
            f"{cpu.median:.0%} (pairs {min(cpu.ratios):.0%}-{max(cpu.ratios):.0%}; spread {cpu.spread_a:.0%} "
            f"and {cpu.spread_b:.0%})"
        )
        m["flat"] = max(m.get("flat", 0), abs(rps.median - 1))
        m["flat-noise"] = max(m.get("flat-noise", 0), rps.spread_a, rps.spread_b)
        m["flat-cpu"] = max(m.get("flat-cpu", 0), abs(cpu.median - 1))
        m["flat-cpu-noise"] = max(m.get("flat-cpu-noise", 0), cpu.spread_a, cpu.spread_b)
    # The target is the world as built: the create runs above add shares, as many as the
    # server answers, so the memory after them grows with the simulator's own speed.
    after, shares = big.memory_mb(), big.call("GET", "/_mock/state?limit=0")["counts"]["shares"]
    added = shares - built
    notes.append(f"memory of the 1,000,000-share world after the runs: {after:,.0f} MB (PSS), with the "
                 f"{added:,} shares the create runs added ({(after - m['memory_mb']) * 2**20 / max(added, 1):,.0f} "
                 f"bytes each, the journal of the last 10,000 requests included)")  # fmt: skip
    big.stop()
    return others


def _delay_isolation(server: Server, loads: dict, secs: float, c: int, repeats: int, rows: list, notes: list) -> float:
    """userDeviceList with and without 4 clients waiting on a 2 s delay rule on deviceInfo."""
    target = loads["userDeviceList, 50 devices"]
    delayed = Load("delayed", GET_LUA % {"token": "owner-token"}, f"{API}/deviceInfo?pk=p11u5w&dk=LAMP00000001")
    plain, slowed = [], []
    for _ in range(repeats):
        plain.append(run_load(server, target, secs, c))
        rule = server.call("POST", "/_mock/rules", {"match": {"endpoint": "deviceInfo"}, "action": {"delay": "2s"}})
        background = threading.Thread(target=run_load, args=(server, delayed, secs + 1, 4))
        background.start()
        time.sleep(0.5)
        slowed.append(run_load(server, target, secs, c))
        background.join()
        server.call("DELETE", f"/_mock/rules/{rule['id']}")
    a, b = median_result(plain), median_result(slowed)
    rows.append(("userDeviceList (50 devices), world of 100 shares", a.row()))
    rows.append(("the same while 4 clients wait on a 2 s delay rule on deviceInfo", b.row()))
    print(f"userDeviceList {a.row()} / with a 2 s delay elsewhere {b.row()}", flush=True)
    notes.append(f"userDeviceList with a 2 s delay rule on another endpoint / without: {b.rps / a.rps:.0%}")
    return b.rps / a.rps


# ---- the pytest plugin's fresh world per test ----------------------------------------------

PLUGIN_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(300))
def test_fresh_world(quectel_mock, n):
    assert quectel_mock.call("GET", "userInfo", "owner-token")["code"] == 200
"""
BARE_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(300))
def test_bare(n):
    assert n >= 0
"""
TIMING_CONFTEST = """
import os, time
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session):
    started = time.perf_counter()
    yield
    with open(os.environ["BENCH_TIMING"], "w") as f:
        f.write(str(time.perf_counter() - started))
"""


def plugin_cost(notes: list) -> tuple[float, float]:
    """ms per test: 300 tests that each take a fresh default world and make one call, and 300
    bare tests, each set timed from its first test to its last (session setup included)."""
    per_test = []
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "conftest.py").write_text(TIMING_CONFTEST)
        for name, text in (("test_plugin.py", PLUGIN_TESTS), ("test_bare.py", BARE_TESTS)):
            Path(tmp, name).write_text(text)
            timing = Path(tmp, "timing")
            env = {**os.environ, "BENCH_TIMING": str(timing)}
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name]
            subprocess.run(cmd, cwd=tmp, env=env, check=True, capture_output=True, timeout=600)
            per_test.append(float(timing.read_text()) / 300 * 1000)
    notes.append(
        f"pytest plugin: 300 tests, each with a fresh default world and one call: {per_test[0] * 300 / 1000:.2f} s, "
        f"{per_test[0]:.2f} ms a test; a bare test: {per_test[1]:.2f} ms ({per_test[0] / per_test[1]:.1f}x)"
    )
    return per_test[0], per_test[1]


# ---- where the time goes -------------------------------------------------------------------


def _profile(server: Server, load: Load, secs: float, c: int, top: int = 15) -> str:
    """A sampling profile (py-spy) of the running simulator under `load`: own time by function."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    if spy is None:
        return "py-spy is not installed (`pip install py-spy`, the `bench` extra): no profile.\n"
    worker = (_children(server.proc.pid) or [server.proc.pid])[-1]
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as out:
        pass
    cmd = [spy, "record", "-p", str(worker), "-d", str(int(secs) + 1), "-r", "250", "-f", "raw", "-o", out.name]
    rec = subprocess.Popen([*cmd, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    run_load(server, load, secs, c)
    _, err = rec.communicate(timeout=120)
    text = Path(out.name).read_text() if Path(out.name).exists() else ""
    os.unlink(out.name)
    if not text:
        return f"py-spy could not sample the server: {err.decode()[-300:]}\n"
    return _summarise(text, top, load.name)


def _summarise(collapsed: str, top: int, load_name: str) -> str:
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        leaf = stack.rsplit(";", 1)[-1]
        name, _, where = leaf.partition(" (")
        where = where.rstrip(")")
        file = where.split(":")[0]
        short = "/".join(Path(file).parts[-2:]) if file else "?"
        key = f"{name} ({short})"
        own[key] = own.get(key, 0) + int(count)
        total += int(count)
    lines = "\n".join(f"| {key} | {n / total:.1%} |" for key, n in sorted(own.items(), key=lambda x: -x[1])[:top])
    return (
        f"`py-spy record` of the server's worker during the {load_name} load ({total:,} samples of active "
        "Python threads; the Rust side of granian is not seen). Own time by function, the top "
        f"{top}:\n\n| function | own time |\n| --- | --- |\n{lines}\n"
    )


# ---- the report ----------------------------------------------------------------------------


def _targets(m: dict[str, float]) -> str:
    """Issue 20's targets, each checked against this run's figures (those of the parts run)."""
    create = "shareInfo create"
    others = [name.removesuffix("/cpu") for name in m if name.endswith("/cpu") and not name.startswith(create)]
    checks = []
    if "plugin" in m:
        checks.append(("pytest plugin: a test with a fresh default world at most 2 ms", f"{m['plugin']:.2f} ms "
                       f"({m['plugin'] - m['plugin_bare']:.2f} ms over a bare test)", m["plugin"] <= 2))  # fmt: skip
    if "launch_s" in m:
        checks.append(("first answer within 0.3 s of launch (median of 5)", f"{m['launch_s'] * 1000:.0f} ms "
                       f"({m['launch_cpu_s'] * 1000:.0f} ms of CPU)", m["launch_s"] <= 0.3))  # fmt: skip
    if create + "/limit" in m:
        checks += [
            ("shareInfo create: at least 40 % of the bare RSGI limit", f"{m[create + '/limit']:.0%}",
             m[create + "/limit"] >= 0.40),
            ("shareInfo create: p99 under 5 ms at 16 connections", f"{m[create + '/p99']:.2f} ms",
             m[create + "/p99"] < 5),
        ]  # fmt: skip
    if create + "/wiremock" in m:
        checks.append(("shareInfo create: at least 1.5x a warmed WireMock (the faster of journal off and on)",
                       f"{m[create + '/wiremock']:.2f}x", m[create + "/wiremock"] >= 1.5))  # fmt: skip
        worst = min(others, key=lambda name: m[name + "/wiremock"])
        checks.append(("every other load at least 1.0x WireMock", f"{m[worst + '/wiremock']:.2f}x ({worst})",
                       m[worst + "/wiremock"] >= 1.0))  # fmt: skip
    if "wiremock-insane" in m:
        checks.append(("WireMock's figures sane against its JVM's plain stub (50-125 %, by CPU a request)",
                       f"{m['wiremock-insane']:.0f} figure(s) not sane", m["wiremock-insane"] == 0))  # fmt: skip
        checks.append(("WireMock warmed until two successive rounds agree within 10 % (CPU a request)",
                       f"{m['wiremock-unsettled']:.0f} warm-up(s) did not settle",
                       m["wiremock-unsettled"] == 0))  # fmt: skip
    if create + "/cpu" in m:
        dearest = max(others, key=lambda name: m[name + "/cpu"])
        cost = m[dearest + "/cpu"] / m[create + "/cpu"]
        checks.append(("no load more than 1.5x shareInfo's server CPU a request", f"{cost:.2f}x ({dearest})",
                       cost <= 1.5))  # fmt: skip
    if "delay" in m:
        checks.append(("a 2 s delay rule leaves other endpoints within 10 %", f"{m['delay']:.0%}", m["delay"] >= 0.9))
    if "reset_ms" in m:
        checks.append(("reset of the default world within 5 ms", f"{m['reset_ms']:.2f} ms", m["reset_ms"] <= 5))
    if "flat" in m:
        checks.append(("100 and 1,000,000 shares within 10 % (median of pairs)",
                       f"{m['flat']:.0%} apart at most (repeats of one world spread up to {m['flat-noise']:.0%})",
                       m["flat"] <= 0.1))  # fmt: skip
        checks.append(("the same by server CPU a request (steadier on a shared machine)",
                       f"{m['flat-cpu']:.0%} apart at most (repeats spread up to {m['flat-cpu-noise']:.0%})",
                       m["flat-cpu"] <= 0.1))  # fmt: skip
        checks.append(("1,000,000 shares ready in under 20 s", f"{m['ready_s']:.1f} s", m["ready_s"] < 20))
        checks.append(("1,000,000 shares under 1 GB, as built", f"{m['memory_mb']:,.0f} MB", m["memory_mb"] < 1024))
    lines = "\n".join(f"| {name} | {figure} | {'met' if ok else 'NOT met'} |" for name, figure, ok in checks)
    load = os.getloadavg()
    print(f"\nload average now: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (each row above gives its own)")
    for name, figure, ok in checks:
        print(f"target {'met    ' if ok else 'NOT met'}: {name}: {figure}")
    return "\n## Targets\n\n| target | this run | |\n| --- | --- | --- |\n" + lines + "\n"


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
    gen = (
        "wrk " + subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1] + " (1 thread)"
        if shutil.which("wrk")
        else "Python fallback generator (figures are a lower bound)"
    )
    return f"{os.cpu_count()} cores ({cpu}), {mem / 1024 / 1024:.0f} GiB, Python {platform.python_version()}, {gen}"


def _report(rows: list, ratios: list, notes: list, args, connections: int, secs: float, others: list) -> str:
    table = "\n".join(f"| {label} | {figures} |" for label, figures in rows)
    ratio_table = "\n".join(f"| {' | '.join(r)} |" for r in ratios)
    bullet = "\n".join(f"- {n}" for n in notes)
    load = os.getloadavg()
    flags = " ".join(a for a, before in zip(sys.argv[1:], ["", *sys.argv[1:]], strict=False)
                     if not a.startswith("--out") and before != "--out")  # fmt: skip
    quick = f' BENCH_ARGS="{flags}"' if flags else ""
    busy = (f"{statistics.median(others):.2f} cores (median over the runs; at most {max(others):.2f})"
            if others else "not measured")  # fmt: skip
    return (
        textwrap.dedent(
            f"""\
        # Benchmark results

        Machine: {_machine()}. The load generator runs on the same machine.
        Each run: {secs:g} s, {connections} connections; compared loads are run in turn
        {args.repeats} time(s) and each row is the median run. Every figure below comes from this one run:
        compare ratios, not absolute figures, across runs and machines.
        The machine's load during the runs: its other processes (not the server measured, not the
        load generator) kept {busy} of its {os.cpu_count()} busy; load average at the end: {load[0]:.2f},
        {load[1]:.2f}, {load[2]:.2f} (it counts this bench's own server and wrk, about 2).
        Run on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} with `make bench{quick}`.

        ## Ratios: the simulator's requests/s against each (same run, same loads, same reply bytes)

        | load | of the RSGI limit | by CPU/request | vs WireMock, no journal | vs it, journal on | vs trivial Flask |
        | --- | --- | --- | --- | --- | --- |
        """
        )
        + ratio_table
        + textwrap.dedent(
            """

        ## Absolute figures

        | load | requests/s | p50 ms | p99 ms | server CPU µs/request | errors | others' cores | load average |
        | --- | --- | --- | --- | --- | --- | --- | --- |
        """
        )
        + table
        + "\n\n"
        + bullet
        + "\n"
    )


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        Server.stop_all()
