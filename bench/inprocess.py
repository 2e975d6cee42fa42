"""In-process cost of one request through the RSGI bridge, without the network or load
generator: `python bench/inprocess.py [--profile [LOAD]] [-n N]`. Times are CPU time of this
process (the machine may be busy with other work), for the trivial Flask handler, and for each
of the bench's loads (bench/run.py, in its small world) answered through Flask and by the
simulator's fast path; --profile prints where the fast path's time goes for LOAD (default
shareInfo create; cProfile, by own time)."""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import pstats
import sys
import time
from pathlib import Path

from flask import Flask

from mock_server.app import create_app
from mock_server.collector import Collector
from mock_server.rsgi import RSGIBridge

N = 20_000
API = "/v2/binding/enduserapi/"
FAR = "4000000000000"
SMALL_WORLD = Path(__file__).with_name("small-world.yaml")
CONTROL = {"data": '[{"brightness": 35}]', "deviceList": [{"productKey": "p11u5w", "deviceKey": "LAMP00000001"}],
           "type": 2}  # fmt: skip
# name: method, path, query (a request number is appended to it when it is not empty), token, JSON body
Load = tuple[str, str, str, str, bytes]


def loads(app: Flask) -> dict[str, Load]:
    """The bench's loads (bench/run.py loads_for); deviceInfo uses a share code of the world and its recipient."""
    client = app.test_client()
    state = client.get("/_mock/state?limit=200").get_json()
    share = next(s for s in state["shares"] if s["state"] == "active" and s["recipient"])
    token = client.post("/_mock/tokens", json={"uid": share["recipient"]}).get_json()["accessToken"]["token"]
    return {
        "shareInfo create": ("POST", API + "shareInfo", f"pk=p11u5w&dk=LAMP00000001&acceptingExpireAt={FAR}",
                             "owner-token", b""),
        "userDeviceList, 50 devices": ("GET", API + "userDeviceList", "pageSize=50&x=", "owner-token", b""),
        "deviceInfo by share code": ("GET", API + "deviceInfo", f"shareCode={share['code']}&x=", token, b""),
        "getDeviceBusinessAttributes": ("GET", API + "getDeviceBusinessAttributes", "pk=p11u5w&dk=LAMP00000001&x=",
                                        "owner-token", b""),
        "batchControlDevice (JSON)": ("POST", API + "batchControlDevice", "", "owner-token",
                                      json.dumps(CONTROL).encode()),
    }  # fmt: skip


class _Scope:
    def __init__(self, method: str, path: str, query: str, token: str, body: bytes) -> None:
        self.method, self.path, self.query_string = method, path, query
        self.http_version, self.client, self.scheme, self.proto = "1.1", "127.0.0.1:5555", "http", "http"
        self.headers = {"host": "127.0.0.1:8080", "authorization": token}  # items() and get(), as RSGI's
        if body:
            self.headers.update({"content-type": "application/json", "content-length": str(len(body))})


class _Proto:
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self) -> bytes:
        return self.body

    def response_bytes(self, status: int, headers: list, body: bytes) -> None:
        pass


def per_request_us(bridge: RSGIBridge, method: str, path: str, query: str = "", token: str = "",
                   body: bytes = b"", n: int = N) -> float:  # fmt: skip
    async def run() -> None:
        for i in range(n):
            await bridge(_Scope(method, path, query + (str(i) if query else ""), token, body), _Proto(body))

    start = time.process_time()
    asyncio.run(run())
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    n = int(sys.argv[sys.argv.index("-n") + 1]) if "-n" in sys.argv else N
    trivial = Flask("trivial")
    trivial.get("/ping")(lambda: {"code": 200, "msg": "", "data": None, "extMsg": None})
    app = create_app({"SCENARIO": str(SMALL_WORLD)})
    flask_only, fast = RSGIBridge(app, fast=False), RSGIBridge(app)
    bench_loads = loads(app)
    gc.collect()
    Collector(idle_s=3600).start()  # as the server runs, without a sweep while measured
    print(f"trivial Flask handler: {per_request_us(RSGIBridge(trivial), 'GET', '/ping', n=n):6.1f} us/request (CPU)")
    for name, load in bench_loads.items():
        slow_us, fast_us = per_request_us(flask_only, *load, n=n), per_request_us(fast, *load, n=n)
        print(f"{name:<28} through Flask {slow_us:6.1f} us, fast path {fast_us:6.1f} us", flush=True)
    if "--profile" in sys.argv:
        at = sys.argv.index("--profile") + 1
        which = sys.argv[at] if at < len(sys.argv) and sys.argv[at] in bench_loads else "shareInfo create"
        profiler = cProfile.Profile()
        profiler.runcall(per_request_us, fast, *bench_loads[which], n=n)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)


if __name__ == "__main__":
    main()
