"""The realtime channel's topics: downlink `q/2/d/qd{pk}{dk}/{bus_|ack_|onl_}`,
uplink `q/1/d/qd{pk}{dk}/{bus|sys_}`, and each client's system messages on
`q/1/u/{clientId}/sys_`. The channel id is `qd` + pk + dk with no separator, so reading one
back needs the world's devices; the slash form `q/2/d/qd/{pk}/{dk}/...` is read too.
"""

from __future__ import annotations

from dataclasses import dataclass

DOWN, UP = "q/2/d/", "q/1/d/"
DOWNLINK = ("bus_", "ack_", "onl_")


def channel(pk: str, dk: str) -> str:
    return f"qd{pk}{dk}"


def down(pk: str, dk: str, suffix: str) -> str:
    return f"{DOWN}{channel(pk, dk)}/{suffix}"


def system(client_id: str) -> str:
    return f"q/1/u/{client_id}/sys_"


@dataclass(frozen=True)
class DeviceTopic:
    direction: str  # DOWN or UP
    pk: str
    dk: str
    suffix: str


class Channels:
    """Channel ids of one world's devices, found by lookup (pk and dk have no separator)."""

    def __init__(self, devices: dict) -> None:
        self._devices = devices  # the world's devices by (pk, dk)
        self._index: dict[str, tuple[str, str]] = {}
        self._indexed = -1

    def find(self, channel_id: str) -> tuple[str, str] | None:
        # Rebuilt only when devices were added: an unknown id must not cost a pass each time.
        if channel_id not in self._index and len(self._devices) != self._indexed:
            self._indexed = len(self._devices)
            self._index = {channel(pk, dk): (pk, dk) for pk, dk in list(self._devices)}
        return self._index.get(channel_id)

    def parse(self, topic: str) -> DeviceTopic | None:
        """The device a concrete topic (or a filter whose device part is concrete) names."""
        for prefix in (DOWN, UP):
            if topic.startswith(prefix):
                rest = topic[len(prefix) :].split("/")
                if rest[0] == "qd" and len(rest) >= 4:  # slash form: qd/{pk}/{dk}/suffix
                    return DeviceTopic(prefix, rest[1], rest[2], "/".join(rest[3:]))
                found = self.find(rest[0]) if len(rest) >= 2 else None
                if found:
                    return DeviceTopic(prefix, found[0], found[1], "/".join(rest[1:]))
        return None


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic filter matching (`+` one level, `#` the rest)."""
    if "+" not in topic_filter and "#" not in topic_filter:
        return topic_filter == topic
    levels, parts = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(levels):
        if level == "#":
            return True
        if i >= len(parts) or level not in ("+", parts[i]):
            return False
    return len(levels) == len(parts)


def has_wildcard(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter
