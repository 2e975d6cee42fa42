"""In-process cost of one request through the RSGI bridge, without the network or load
generator: `python bench/inprocess.py [--profile]`. The figures the notes quote as "in-process"
come from here; --profile prints where the time goes (cProfile, by own time)."""

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


class _Headers:
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        return self._items


class _Scope:
    def __init__(self, method: str, path: str, query: str) -> None:
        self.method, self.path, self.query_string = method, path, query
        self.http_version, self.client, self.scheme = "1.1", "127.0.0.1:5555", "http"
        self.headers = _Headers([("host", "127.0.0.1:8080"), ("authorization", "owner-token")])


class _Proto:
    async def __call__(self) -> bytes:
        return b""

    def response_bytes(self, status: int, headers: list, body: bytes) -> None:
        pass


def per_request_us(app, method: str, path: str, query: str = "") -> float:
    bridge = RSGIBridge(app)

    async def run() -> None:
        for i in range(N):
            await bridge(_Scope(method, path, query + (str(i) if query else "")), _Proto())

    start = time.perf_counter()
    asyncio.run(run())
    return (time.perf_counter() - start) / N * 1e6


def main() -> None:
    trivial = Flask("trivial")
    trivial.get("/ping")(lambda: {"code": 200, "msg": "", "data": None, "extMsg": None})
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 50, 1_000_000)  # as the server runs
    share_info = ("POST", "/v2/binding/enduserapi/shareInfo", "pk=p11u5w&dk=LAMP00000001&acceptingExpireAt=40000000000")
    print(f"trivial Flask handler: {per_request_us(trivial, 'GET', '/ping'):.1f} us/request")
    print(f"shareInfo create:      {per_request_us(app, *share_info):.1f} us/request")
    listing = ("GET", "/v2/binding/enduserapi/userDeviceList", "pageSize=50&x=")
    print(f"userDeviceList (4):    {per_request_us(app, *listing):.1f} us/request")
    if "--profile" in sys.argv:
        profiler = cProfile.Profile()
        profiler.runcall(per_request_us, app, *share_info)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
