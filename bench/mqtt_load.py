"""Load on the realtime channel, and what it costs the REST API, in one run.

Starts the simulator as `make run` does (with a world of BENCH devices owned by Olivia and
shared with Rui), connects CLIENTS paho-mqtt clients (half as the owner, half as the
recipient), each subscribed to the `bus_` of its devices, and has a driver connection write a
property RATE times a second over MQTT (WRITE-ATTR), spread over the devices: every write makes
the device report (`bus_`), fanned out to every subscriber of that device. Measured: the
reports delivered per second, delivery latency (write sent -> report received, p50 / p99),
and REST throughput (getDeviceBusinessAttributes, from a separate process) without the MQTT
load and during it, as a ratio. Writes bench/mqtt-results.md.

    python bench/mqtt_load.py [--clients 200] [--rate 1000] [--seconds 10] [--devices 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from serving import Running  # noqa: E402

from mock_server.realtime.client import RealtimeClient  # noqa: E402

PK = "p11u5w"


def scenario(devices: int) -> str:
    lines = ["extends: default", "devices:"]
    lines += [f"  - {{pk: {PK}, dk: BENCH{n:07d}, owner: C1001, online: true}}" for n in range(devices)]
    lines.append("shares:")
    lines += [
        f"  - {{device: {{pk: {PK}, dk: BENCH{n:07d}}}, recipient: C1002, state: active}}" for n in range(devices)
    ]
    return "\n".join(lines) + "\n"


def rest_worker(port: int, seconds: float, connections: int) -> None:
    """Child process: getDeviceBusinessAttributes as fast as `connections` keep-alive
    connections go for `seconds`; prints the count."""
    stop = time.monotonic() + seconds
    counts = [0] * connections

    def loop(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        path = f"/v2/binding/enduserapi/getDeviceBusinessAttributes?pk={PK}&dk=LAMP00000001"
        while time.monotonic() < stop:
            conn.request("GET", path, headers={"Authorization": "owner-token"})
            body = conn.getresponse().read()
            counts[i] += b'"code":200' in body
        conn.close()

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sum(counts))


def rest_rate(port: int, seconds: float) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--rest-worker", str(port), str(seconds)],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )
    return int(out.stdout.strip()) / seconds


class Fanout:
    """Subscribers and the driver; latency per delivered report."""

    def __init__(self, port: int, clients: int, devices: int) -> None:
        url = f"ws://127.0.0.1:{port}/ws/v2"
        self.sent: dict[tuple[str, int], float] = {}
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.subscribers = []
        self.watchers: dict[str, int] = {}  # dk -> clients subscribed to its reports
        per = max(1, devices * 2 // clients)  # each device is watched by its owner's and Rui's clients
        for i in range(clients):
            token = "owner-token" if i % 2 == 0 else "recipient-token"
            client = RealtimeClient(url, token, client_id=f"qu_bench_{i}", timeout=30)
            client._client.on_message = self._on_message
            first = (i // 2) * per % devices
            keys = [f"BENCH{(first + k) % devices:07d}" for k in range(per)]
            for dk in keys:
                self.watchers[dk] = self.watchers.get(dk, 0) + 1
            topics = [f"q/2/d/qd{PK}{dk}/bus_" for dk in keys]
            client.subscribe(*topics)
            self.subscribers.append(client)
        self.driver = RealtimeClient(url, "owner-token", client_id="qu_bench_driver", timeout=30)
        self.devices = devices
        self.expected = 0

    def _on_message(self, client, userdata, message) -> None:
        now = time.monotonic()
        data = json.loads(message.payload)
        key = (data["deviceKey"], data["data"]["kv"]["brightness"])
        with self.lock:
            sent = self.sent.get(key)
            if sent is not None:
                self.latencies.append(now - sent)

    def drive(self, rate: int, seconds: float) -> int:
        """Write `rate` times a second for `seconds`, round-robin over the devices."""
        n, start = 0, time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds:
            while n < elapsed * rate:
                dk = f"BENCH{n % self.devices:07d}"
                value = (n // self.devices) % 101
                kv = json.dumps([{"brightness": value}])
                with self.lock:
                    self.sent[(dk, value)] = time.monotonic()
                self.expected += self.watchers.get(dk, 0)
                self.driver.publish(f"q/1/d/qd{PK}{dk}/sys_", {"msgId": n % 65536, "type": "WRITE-ATTR", "kv": kv}, 0)
                n += 1
            time.sleep(0.002)
        return n

    def close(self) -> None:
        for client in [*self.subscribers, self.driver]:
            client.close()


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=1000)[int(p * 10) - 1] if len(values) > 1 else float("nan")


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=int, default=1000, help="property reports per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--rest-worker", nargs=2, metavar=("PORT", "SECONDS"))
    args = parser.parse_args()
    if args.rest_worker:
        rest_worker(int(args.rest_worker[0]), float(args.rest_worker[1]), 4)
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(scenario(args.devices))
    server = Running("--scenario", f.name)
    try:
        rest_rate(server.port, 1)  # warm up: the first requests build the device states
        quiet = rest_rate(server.port, args.seconds)
        fanout = Fanout(server.port, args.clients, args.devices)
        result: dict = {}
        rest = threading.Thread(target=lambda: result.update(rest=rest_rate(server.port, args.seconds)))
        rest.start()
        writes = fanout.drive(args.rate, args.seconds)
        rest.join()
        time.sleep(2)  # let the last reports arrive
        fanout.close()
    finally:
        server.stop()
        Path(f.name).unlink()
    report(args, writes, fanout.expected, fanout.latencies, quiet, result["rest"])
    return 0


def report(args, writes: int, expected: int, latencies: list[float], quiet: float, busy: float) -> None:
    rows = [
        ("connected clients", f"{args.clients} (+1 driver)"),
        ("property writes sent over MQTT", f"{writes} in {args.seconds:.0f} s = {writes / args.seconds:.0f}/s"),
        ("reports delivered", f"{len(latencies)} of {expected} expected ({len(latencies) / args.seconds:.0f}/s)"),
        ("delivery latency p50 / p99", f"{ms(latencies, 50)} / {ms(latencies, 99)} ms"),
        ("REST getDeviceBusinessAttributes, no MQTT load", f"{quiet:.0f} req/s"),
        ("REST getDeviceBusinessAttributes, during it", f"{busy:.0f} req/s"),
        ("REST during / without", f"{busy / quiet:.2f}"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    text = (
        "# Realtime channel under load\n\n"
        f"`python bench/mqtt_load.py --clients {args.clients} --rate {args.rate} --seconds {args.seconds:.0f} "
        f"--devices {args.devices}`, one run, client and server on the same 2-core machine.\n\n"
        "| measure | value |\n| --- | --- |\n" + table + "\n"
    )
    (ROOT / "bench" / "mqtt-results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
