"""What the cloud tells whoever listens (the realtime channel, the journal): a device reported
values, went online or offline, or acknowledged a command.

The cloud emits these while its lock is held, in the order things happen on its clock; a
listener must only queue the event (never block, never call back into the cloud).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PropertyReport:
    """The device reported `kv` (property code -> native value) at `at` (epoch ms): `bus_`."""

    pk: str
    dk: str
    kv: dict[str, Any]
    at: int


@dataclass(frozen=True, slots=True)
class OnlineChanged:
    """The device connected or disconnected: `onl_`."""

    pk: str
    dk: str
    online: bool
    at: int


@dataclass(frozen=True, slots=True)
class CommandAck:
    """The device answered a command (a write applied, or a read answered): `ack_`.

    `uid` is who sent the command, `msg_id` the sender's own id for it (a realtime packet or
    message id) when it has one, `ticket` the id batchControlDevice answered with."""

    pk: str
    dk: str
    kv: dict[str, Any]
    at: int
    ticket: str = ""
    uid: str | None = None
    msg_id: int | None = None
    status: str = "succ"


Event = PropertyReport | OnlineChanged | CommandAck


@dataclass
class Listeners:
    """Callables that receive every event of one cloud."""

    _listeners: list[Callable[[Event], None]] = field(default_factory=list)

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    def __bool__(self) -> bool:
        return bool(self._listeners)
