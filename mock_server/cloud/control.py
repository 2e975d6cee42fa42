"""Control: writing properties, calling services, passing data through, and reading values,
as batchControlDevice and the realtime channel ask for them.

A write is checked against the thing model, stored as desired in the device's state, and
applied after the product's write delay (at once by default): the device then acknowledges
(`ack_`) and reports the new values (`bus_`), and only then do reads show them, as on the
live service. An offline device refuses commands, unless the command asked to be cached.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import access, shadows, things
from .errors import QuectelError
from .events import CommandAck
from .jsontext import read_json
from .models import Device, User
from .store import Cloud, timed_action

MAX_DEVICES = 100
HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})*$")
OFFLINE = "Device offline"


class CommandRefused(Exception):
    """A command the cloud will not pass on: the realtime channel's `sys_` code and message."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg = code, msg


@dataclass
class Cached:
    """A command kept for an offline device until it connects (isCache 1), or until it expires."""

    expires_at: int
    kind: int  # 2 property, 3 service
    kv: dict[str, Any]
    ticket: str
    uid: str | None


def new_ticket(cloud: Cloud) -> str:
    """An opaque, unique 24-hex ticket, from the world's seed but apart from its share codes."""
    return "%024x" % cloud.ticket_rng.getrandbits(96)


# ---- one device ------------------------------------------------------------------------------


def _usable(cloud: Cloud, user: User, pk: str, dk: str) -> Device:
    try:
        return access.view_of(cloud, user, pk, dk).device
    except QuectelError:
        raise CommandRefused(4007, "device is not bound") from None


def _product(cloud: Cloud, device: Device) -> things.Product:
    product = cloud.products.get(device.pk)
    if product is None:
        raise CommandRefused(5340, f"product {device.pk} has no thing model")
    return product


def check_write(product: things.Product, kv: dict[str, Any]) -> dict[str, Any]:
    """The values to write, checked: every code known and writable, every value in its specs."""
    if not kv:
        raise CommandRefused(5340, "no property to write")
    for code in kv:
        feature = product.properties.get(code)
        if feature is not None and not feature.writable:
            raise CommandRefused(5340, f"{code}: read-only property")
    try:
        return things.check_values(product, kv)
    except things.ValueProblem as problem:
        raise CommandRefused(5340, str(problem)) from None


def write(cloud: Cloud, user: User, pk: str, dk: str, kv: dict[str, Any], msg_id: int | None = None) -> str:
    """Write properties of one device (the realtime channel's WRITE-ATTR); the ticket."""
    device = _usable(cloud, user, pk, dk)
    checked = check_write(_product(cloud, device), kv)
    if not device.online:
        raise CommandRefused(4021, OFFLINE)
    return send_write(cloud, device, checked, user.uid, msg_id)


def send_write(cloud: Cloud, device: Device, kv: dict[str, Any], uid: str | None, msg_id: int | None = None) -> str:
    """Record checked values as desired and have the device apply them after its delay."""
    ticket = new_ticket(cloud)
    state = shadows.shadow_of(cloud, device)
    state.desired.update(kv)
    state.version += 1
    write = {"pk": device.pk, "dk": device.dk, "kv": kv, "ticket": ticket, "uid": uid, "msgId": msg_id}
    product = cloud.products.get(device.pk)
    own = product.write_delay_ms if product is not None else -1
    delay = own if own >= 0 else cloud.settings.write_delay_ms
    if delay:
        cloud.schedule(cloud.now() + delay, "write", write)  # data, so a state file keeps it
    else:
        apply_write(cloud, cloud.now(), write)
    return ticket


@timed_action("write")
def apply_write(cloud: Cloud, at: int, write: dict[str, Any]) -> None:
    """The device applies a write: it acknowledges the ticket and reports the values."""
    device = cloud.devices.get((write["pk"], write["dk"]))
    if device is None:  # removed while the write waited
        return
    kv = write["kv"]
    if cloud.events:  # the event is made only for someone listening: most writes have nobody
        cloud.events.emit(CommandAck(device.pk, device.dk, dict(kv), at, write["ticket"], write["uid"], write["msgId"]))
    shadows.report(cloud, device, kv, at)


def read(
    cloud: Cloud, user: User, pk: str, dk: str, codes: list[str] | None = None, msg_id: int | None = None
) -> dict[str, Any]:
    """Ask a device for its values (READ-ATTR, or a TTLV read): it acknowledges with them and
    reports them again, as devices answer a read."""
    device = _usable(cloud, user, pk, dk)
    if not device.online:
        raise CommandRefused(4021, OFFLINE)
    values = shadows.current_values(cloud, device, codes)
    now = cloud.now()
    cloud.events.emit(CommandAck(device.pk, device.dk, dict(values), now, new_ticket(cloud), user.uid, msg_id))
    shadows.report(cloud, device, values, now)
    return values


# ---- batchControlDevice ----------------------------------------------------------------------


def parse_properties(data: str) -> dict[str, Any]:
    """Type-2 `data`: JSON text of an array of single-key objects (or one object)."""
    try:
        parsed = read_json(data)
    except ValueError:
        raise CommandRefused(5340, "data is not JSON text of [{code: value}, ...]") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    kv: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            raise CommandRefused(5340, "data must be a list of {code: value} objects")
        kv.update(item)
    return kv


def _service_call(product: things.Product, data: str) -> dict[str, Any]:
    """Type-3 `data`: `[{"<service>": {<inputs>}}]`, checked against the service's inputs."""
    calls = parse_properties(data)
    for code, inputs in calls.items():
        service = product.services.get(code)
        if service is None:
            raise CommandRefused(5340, f"{code}: no such service in the thing model of {product.pk}")
        if not isinstance(inputs, dict):
            raise CommandRefused(5340, f"{code}: inputs must be an object")
        by_code = {f.code: f for f in service.inputs}
        for name, value in inputs.items():
            if name not in by_code:
                raise CommandRefused(5340, f"{code}: unknown input {name}")
            try:
                by_code[name].check(value)
            except things.ValueProblem as problem:
                raise CommandRefused(5340, f"{code}: {problem}") from None
    return calls


class Command(NamedTuple):
    """One batchControlDevice call's command, as its parameters give it (a named tuple: made
    on every call, at a third of a frozen dataclass's cost)."""

    type: int  # 1 passthrough, 2 property write, 3 service call
    data: str
    dataFormat: int | None = None  # 1 hex, 2 text (passthrough)
    cacheTime: int | None = None  # seconds an offline device's command waits (isCache 1)
    isCache: int = 2
    isCover: int = 2
    qos: int = 1


def _passthrough(command: Command) -> dict[str, Any]:
    if command.dataFormat == 1 and not HEX.match(command.data):
        raise CommandRefused(5340, "data is not hexadecimal (dataFormat 1)")
    return {}


def _one_device(cloud: Cloud, user: User, device: Device, command: Command) -> str:
    """Send the command to one visible device; its ticket, or CommandRefused."""
    kind = command.type
    if kind == 1:
        _passthrough(command)
        kv: dict[str, Any] = {}
    else:
        product = _product(cloud, device)
        write = kind == 2
        kv = check_write(product, parse_properties(command.data)) if write else _service_call(product, command.data)
    if not device.online:
        if command.isCache == 1 and kind != 1:
            return _cache(cloud, device, kind, kv, user.uid, command)
        raise CommandRefused(4021, OFFLINE)
    if kind == 2:
        return send_write(cloud, device, kv, user.uid)
    ticket = new_ticket(cloud)
    cloud.events.emit(CommandAck(device.pk, device.dk, kv, cloud.now(), ticket, user.uid))
    return ticket


def _cache(cloud: Cloud, device: Device, kind: int, kv: dict, uid: str, command: Command) -> str:
    state = shadows.shadow_of(cloud, device)
    queue: list[Cached] = state.cached
    if command.isCover == 1:  # replace a queued command for the same codes
        queue[:] = [c for c in queue if set(c.kv) != set(kv)]
    ticket = new_ticket(cloud)
    queue.append(Cached(cloud.now() + (command.cacheTime or 0) * 1000, kind, kv, ticket, uid))
    return ticket


def deliver_cached(cloud: Cloud, device: Device) -> None:
    """A device that just connected gets the commands kept for it that have not expired."""
    state = shadows.shadow_of(cloud, device)
    queue: list[Cached] = state.cached
    state.cached = []
    now = cloud.now()
    for command in queue:
        if command.expires_at < now:
            continue
        if command.kind == 2:
            send_write(cloud, device, command.kv, command.uid)
        else:
            cloud.events.emit(CommandAck(device.pk, device.dk, command.kv, now, command.ticket, command.uid))


def _keys(entry: dict) -> dict:
    return {
        "productKey": entry.get("productKey"),
        "deviceKey": entry.get("deviceKey"),
        "gatewayProductKey": entry.get("gatewayProductKey"),
        "gatewayDeviceKey": entry.get("gatewayDeviceKey"),
    }


Refuse = Callable[[str, str, dict], "str | None"]


def batch_control(
    cloud: Cloud, user: User, *, deviceList: list[dict], refuse: Refuse | None = None, **command: Any
) -> dict:
    """POST batchControlDevice: every listed device lands in successList or failureList; 5041
    when the caller may use none of them. `command` holds the Command's fields by name;
    `refuse(pk, dk, command) -> msg | None` lets whoever calls force a failure (a rule)."""
    order = Command(**command)
    visible = [(entry, _visible(cloud, user, entry)) for entry in deviceList]
    if not any(device for _, device in visible):
        raise QuectelError(5041)
    success, failure = [], []
    for entry, device in visible:
        try:
            if device is None:
                raise CommandRefused(5041, "No permission")
            forced = refuse(device.pk, device.dk, command) if refuse else None
            if forced:
                raise CommandRefused(5340, forced)
            success.append({"data": _keys(entry), "ticket": _one_device(cloud, user, device, order)})
        except CommandRefused as refused:
            failure.append({"data": _keys(entry), "msg": refused.msg})
    return {"successList": success, "failureList": failure}


def _visible(cloud: Cloud, user: User, entry: dict) -> Device | None:
    pk, dk = entry.get("productKey"), entry.get("deviceKey")
    if not isinstance(pk, str) or not isinstance(dk, str):
        return None
    try:
        view = access.find_view(cloud, user.uid, pk, dk)
    except QuectelError:
        return None
    return view.device if view else None
