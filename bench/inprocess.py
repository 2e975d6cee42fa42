"""In-process cost of one request through the RSGI bridge, without the network or load
generator: `python bench/inprocess.py [--profile]`. Times are CPU time of this process (the
machine may be busy with other work), for the trivial Flask handler, the simulator answered
through Flask, and the simulator's fast path; --profile prints where the fast path's time goes
(cProfile, by own time)."""

from __future__ import annotations

import asyncio
import cProfile
import gc
import pstats
import sys
import time

from flask import Flask

from mock_server.app import create_app
from mock_server.rsgi import RSGIBridge

N = 20_000
API = "/v2/binding/enduserapi/"
LOADS = {
    "shareInfo create": ("POST", API + "shareInfo", "pk=p11u5w&dk=LAMP00000001&acceptingExpireAt=40000000000"),
    "userDeviceList (4)": ("GET", API + "userDeviceList", "pageSize=50&x="),
    "getDeviceBusinessAttributes": ("GET", API + "getDeviceBusinessAttributes", "pk=p11u5w&dk=LAMP00000001&x="),
}


class _Scope:
    def __init__(self, method: str, path: str, query: str) -> None:
        self.method, self.path, self.query_string = method, path, query
        self.http_version, self.client, self.scheme = "1.1", "127.0.0.1:5555", "http"
        self.headers = {"host": "127.0.0.1:8080", "authorization": "owner-token"}  # items() and get(), as RSGI's


class _Proto:
    async def __call__(self) -> bytes:
        return b""

    def response_bytes(self, status: int, headers: list, body: bytes) -> None:
        pass


def per_request_us(bridge: RSGIBridge, method: str, path: str, query: str = "") -> float:
    async def run() -> None:
        for i in range(N):
            await bridge(_Scope(method, path, query + (str(i) if query else "")), _Proto())

    start = time.process_time()
    asyncio.run(run())
    return (time.process_time() - start) / N * 1e6


def main() -> None:
    trivial = Flask("trivial")
    trivial.get("/ping")(lambda: {"code": 200, "msg": "", "data": None, "extMsg": None})
    app = create_app()
    flask_only, fast = RSGIBridge(app, fast=False), RSGIBridge(app)
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 50, 1_000_000)  # as the server runs
    print(f"trivial Flask handler: {per_request_us(RSGIBridge(trivial), 'GET', '/ping'):6.1f} us/request (CPU)")
    for name, load in LOADS.items():
        slow_us, fast_us = per_request_us(flask_only, *load), per_request_us(fast, *load)
        print(f"{name:<28} through Flask {slow_us:6.1f} us, fast path {fast_us:6.1f} us")
    if "--profile" in sys.argv:
        profiler = cProfile.Profile()
        profiler.runcall(per_request_us, fast, *LOADS["shareInfo create"])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
