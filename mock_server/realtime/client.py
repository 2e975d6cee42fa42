"""A paho-mqtt client for tests: connect to a world's realtime channel as a user, subscribe,
publish, and collect what arrives. Needs `paho-mqtt`, a dependency of the package.

    with RealtimeClient("ws://127.0.0.1:8080/ws/v2", "owner-token") as client:
        client.subscribe("q/2/d/qdp11u5wLAMP00000001/bus_")
        ... switch the lamp ...
        [report] = client.wait_for("bus_")
        report.json["data"]["kv"]
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# paho gives MQTT 3.1.1 CONNACK codes as MQTT 5 reason codes; the CONNACK code they stand for.
CONNACK = {0: 0, 132: 1, 133: 2, 136: 3, 134: 4, 135: 5}


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    at: float  # time.monotonic() on arrival

    @property
    def json(self) -> Any:
        return json.loads(self.payload)


class RealtimeClient:
    def __init__(
        self,
        url: str,
        token: str,
        client_id: str | None = None,
        headers: dict[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        timeout: float = 10,
    ) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ModuleNotFoundError as missing:  # installed with --no-deps, or uninstalled since
            raise ModuleNotFoundError(
                "the MQTT test client needs paho-mqtt, a dependency of quectel-mock-server that is "
                "missing here: pip install 'paho-mqtt>=2.1,<3'",
                name="paho",
            ) from missing

        parts = urllib.parse.urlsplit(url)
        self.timeout = timeout
        self.messages: list[Received] = []
        self.connack: int | None = None
        self.disconnected = threading.Event()
        self._changed = threading.Condition()
        self._subacks: dict[int, list[int]] = {}
        self._on_suback: Callable[[], Any] | None = None
        uid = client_id or f"qu_test_{time.time_ns() // 1000}"
        self.client_id = uid
        client = self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=uid, transport="websockets")
        client.ws_set_options(path=parts.path, headers=headers)
        if parts.scheme == "wss":
            client.tls_set_context(tls or ssl.create_default_context())
        client.username_pw_set("", token)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = lambda *args: self.disconnected.set()
        client.reconnect_delay_set(60, 60)  # a test wants to see a drop, not a quiet reconnect
        client.connect(parts.hostname, parts.port or (443 if parts.scheme == "wss" else 80), keepalive=30)
        client.loop_start()
        self._wait(lambda: self.connack is not None, "no CONNACK")

    # ---- paho callbacks (its network thread) ---------------------------------------------------

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connack = CONNACK.get(reason.value, reason.value)
        self._notify()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: list, properties: Any) -> None:
        self._subacks[mid] = [r.value for r in reasons]
        then, self._on_suback = self._on_suback, None
        if then is not None:
            then()
        self._notify()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        received = Received(message.topic, bytes(message.payload), message.qos, bool(message.retain), time.monotonic())
        self.messages.append(received)
        self._notify()

    # ---- what a test does ------------------------------------------------------------------------

    def _wait(self, done: Any, what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(what)
                self._changed.wait(min(left, 0.1))

    def subscribe(self, *filters: str, qos: int = 1) -> list[int]:
        """Subscribe and wait for the SUBACK: the granted QoS per filter, 128 for a refusal."""
        _, mid = self._client.subscribe([(f, qos) for f in filters])
        self._wait(lambda: mid in self._subacks, "no SUBACK")
        return self._subacks.pop(mid)

    def subscribe_then(self, *filters: str, then: Callable[[], Any]) -> list[int]:
        """Subscribe, and call `then` the moment the SUBACK arrives, in paho's network thread
        before it reads anything else: to publish or report what the subscription must not miss."""
        self._on_suback = then
        return self.subscribe(*filters)

    def publish(self, topic: str, payload: bytes | str | dict, qos: int = 1) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        self._client.publish(topic, payload, qos=qos)

    def wait_for(self, suffix: str = "", count: int = 1, timeout: float | None = None) -> list[Received]:
        """The first `count` messages whose topic ends with `suffix`, waiting for them."""
        self._wait(lambda: len(self.received(suffix)) >= count, f"fewer than {count} messages on *{suffix}", timeout)
        return self.received(suffix)[:count]

    def received(self, suffix: str = "") -> list[Received]:
        return [m for m in list(self.messages) if m.topic.endswith(suffix)]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> RealtimeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
