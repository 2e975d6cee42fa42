"""Each device's shadow: the one record of its values that REST reads, control writes and the
realtime channel reports: reported values with their times, the writes not yet applied, the
module's facts, its position, and the histories the history endpoints read.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import messages, plausible, things
from .events import PropertyReport

if TYPE_CHECKING:
    from .models import Device
    from .store import Cloud

HISTORY_MAX = 5000  # values kept per device for the history endpoints


@dataclass
class DeviceState:
    """One device's shadow: what it reported (with when), what was asked of it and not yet
    applied, and a version that grows with every change."""

    reported: dict[str, Any] = field(default_factory=dict)
    reported_at: dict[str, int] = field(default_factory=dict)
    desired: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    device_data: dict[str, Any] | None = None  # module facts: firmware, signal, battery
    location: dict[str, Any] | None = None
    located_at: int | None = None
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY_MAX))  # (at, code, value)
    events: deque = field(default_factory=lambda: deque(maxlen=HISTORY_MAX))  # (at, code, output)
    locations: deque = field(default_factory=lambda: deque(maxlen=HISTORY_MAX))  # (at, location)
    cached: list = field(default_factory=list)  # control.Cached commands waiting for it to connect

    def delta(self) -> dict[str, Any]:
        """Desired values the device has not reported yet."""
        return {k: v for k, v in self.desired.items() if self.reported.get(k) != v}


def shadow_of(cloud: Cloud, device: Device, at: int | None = None) -> DeviceState:
    """The device's shadow, made on first use: values its scenario stated were put there when
    the world was built; any other device of a product with a thing model starts with values
    valid for the specs, the same for the same seed, last reported a while before `at` (the
    moment of the first use: a catch-up's step passes its own, not the end of the catch-up)."""
    if device.shadow is None:
        device.shadow = DeviceState()
        product = cloud.products.get(device.pk)
        if product is not None:
            rng = random.Random(f"{cloud.seed}/{device.pk}/{device.dk}")
            now = cloud.now() if at is None else at
            values = plausible.sample_values(product, rng, now)
            store_reported(device.shadow, values, last_report_time(device, now, rng))
    return device.shadow


def last_report_time(device: Device, now: int, rng: random.Random) -> int:
    """When a device whose values a world made up last reported them: an online device a
    moment ago (clients judge availability by deviceData.updateTime), an offline one hours
    to days ago; never before it was bound, never after now."""
    ago = rng.randrange(5_000, 300_000) if device.online else rng.randrange(3_600_000, 3 * 86_400_000)
    return min(now, max(device.bind_time, now - ago))


def store_reported(state: DeviceState, kv: dict[str, Any], at: int) -> None:
    """Store reported values (and their history) without telling anyone."""
    for code, value in kv.items():
        state.reported[code] = value
        state.reported_at[code] = at
        state.history.append((at, code, value))
        if state.desired.get(code) == value:
            del state.desired[code]
    state.version += 1


def report(cloud: Cloud, device: Device, kv: dict[str, Any], at: int | None = None) -> None:
    """The device reports `kv` (native, already checked): state, history, and a `bus_` event."""
    if not kv:
        return
    when = cloud.now() if at is None else at
    store_reported(shadow_of(cloud, device, when), kv, when)
    if cloud.events:  # the event is made only for someone listening
        cloud.events.emit(PropertyReport(device.pk, device.dk, dict(kv), when))


def update_module(cloud: Cloud, device: Device, device_data: dict | None, location: dict | None) -> None:
    """The device reports module facts (firmware, battery, signal) or a new position."""
    state = shadow_of(cloud, device)
    now = cloud.now()
    if device_data:
        state.device_data = {**(state.device_data or {}), **device_data}
    if location:
        state.location, state.located_at = dict(location), now
        state.locations.append((now, dict(location)))
    state.version += 1


def raise_event(cloud: Cloud, device: Device, code: str, output: dict[str, Any], at: int | None = None) -> dict:
    """The device raises event `code` of its thing model with `output` (output code -> value),
    checked here (ValueProblem when wrong); kept in its event history for deviceEventList.
    Everyone who may use the device gets a message of it. Returns the checked output."""
    product = cloud.products.get(device.pk)
    if product is None:
        raise things.ValueProblem(f"product {device.pk} has no thing model")
    checked = things.check_event(product, code, output)
    when = cloud.now() if at is None else at
    state = shadow_of(cloud, device, when)
    state.events.append((when, code, checked))
    state.version += 1
    messages.device_event(cloud, device, code, when)  # the users of the device hear of it
    return checked


def current_values(cloud: Cloud, device: Device, codes: list[str] | None = None) -> dict[str, Any]:
    """Reported values by code (all, or the codes asked for that have one)."""
    reported = shadow_of(cloud, device).reported
    if codes is None:
        return dict(reported)
    return {code: reported[code] for code in codes if code in reported}
