"""Worlds to a state file and back: written atomically, read whole or not at all.

The file is JSON: `{"format": FORMAT, "version": VERSION, "worlds": {name: world}}`. A world
keeps its records, clock reading, settings, rules with their counters, every random
generator's state (share codes and control tickets go on where they left off), its timeline
(writes waiting for their delay, scripts' next steps) and the commands kept for offline
devices. Journals and realtime connections are not kept.

Version 1 files (before the timeline was kept) still load: their scripts are armed again from
the restored clock, and writes that were waiting are lost, as they were then.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from ..cloud import shadows, things
from ..cloud.control import Cached
from ..cloud.models import (
    Device,
    FailureCause,
    Family,
    FamilyDevice,
    Invitation,
    LoginFailures,
    Member,
    Message,
    Room,
    SentCode,
    Settings,
    Share,
    ShareStatus,
    Token,
    User,
    UserDomain,
)
from . import scripts
from .clock import Clock
from .scenario import Scenario, ScenarioInvalid, ScenarioNotFound
from .timeparse import LAST_INSTANT_MS
from .world import World

_log = logging.getLogger("mock_server.state")

FORMAT = "quectel-mock-server-state"
VERSION = 2
READABLE = (1, 2)


class StateFileError(ValueError):
    """The state file cannot be used; nothing of it was loaded."""


def _record(obj: Any, drop: tuple[str, ...] = ()) -> dict:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name not in drop}


def dump_world(world: World) -> dict:
    """Everything needed to rebuild `world`; the caller holds its lock. What devices were to
    do by now on its clock is done first, so that a restored world re-arms its scripts from
    its clock's reading without losing a step."""
    world.catch_up(None)
    scenario = world.scenario
    return {
        "scenario": None
        if scenario is None
        else {"spec": scenario.spec, "source": scenario.source, "seed": scenario.seed},
        "seed": world.seed,
        "settings": dataclasses.asdict(world.settings),
        "clock": {"now": world.now(), "frozen": world.clock.frozen},
        "startedAt": world.started_at,
        "lastShareId": world.last_share_id,
        "rng": world.rng.getstate(),
        "ticketRng": world.ticket_rng.getstate(),
        "ruleRng": world.rule_rng.getstate(),
        "domains": [_record(d) for d in world.domains.values()],
        "users": [_record(u) for u in world.users.values()],
        "products": [_product(p) for p in world.products.values()],
        "devices": [_device(d) for d in world.devices.values()],
        "families": [dataclasses.asdict(f) for f in world.families.values()],
        "homeSerial": world.home_serial,
        "shares": [_record(s) for s in world.shares.values()],
        "tokens": [_record(t) for t in world.tokens.values()],
        "loginFailures": [[kind, account, _record(state)] for (kind, account), state in world.login_failures.items()],
        "rules": [{"spec": r.spec, "fired": r.fired, "seen": r.seen, "id": r.id} for r in world.rules.rules],
        "sentCodes": [_record(c) for c in world.sent_codes],
        "messages": [_record(m) for m in world.messages.values()],
        "pushSettings": world.push_settings,
        "pushDevices": world.push_devices,
        "codesSent": world.codes_sent,
        "lastMessageId": world.last_message_id,
        "lastRegistered": world.last_registered,
        "lastRuleId": world.rules.last_id,
        "timeline": [{"due": t.due, "kind": t.kind, "args": t.args} for t in world.pending()],
    }


def load_world(data: dict) -> World:
    """A world from `dump_world`'s output; KeyError/TypeError/ValueError when it is malformed."""
    settings = Settings(**{**data["settings"], "parameter_sources": tuple(data["settings"]["parameter_sources"])})
    world = World(settings, Clock(data["clock"]["now"], frozen=data["clock"]["frozen"]), data["seed"])
    world.started_at = data["startedAt"]
    world.rng.setstate(_state(data["rng"]))
    if "ticketRng" in data:  # version 1 did not keep it
        world.ticket_rng.setstate(_state(data["ticketRng"]))
    world.rule_rng.setstate(_state(data["ruleRng"]))
    for item in data["domains"]:
        world.add_domain(UserDomain(**item))
    for item in data["users"]:
        world.add_user(User(**item))
    for item in data.get("products", []):
        world.products[item["pk"]] = things.Product.from_tsl(**item)
    for item in data["devices"]:
        state = item.pop("state", None)
        device = Device(**item)
        device.shadow = None if state is None else _load_state(state)
        world.add_device(device)
    for item in data["families"]:
        world.add_family(_family(item))
    world.home_serial = data.get("homeSerial", 0)
    for item in data["shares"]:
        cause = item["failure_cause"]
        world.add_share(
            Share(**{**item, "status": ShareStatus(item["status"]), "failure_cause": cause and FailureCause(cause)})
        )
    world.last_share_id = data["lastShareId"]
    for item in data["tokens"]:
        world.add_token(Token(**item))
    for kind, account, state in data["loginFailures"]:
        world.login_failures[(kind, account)] = LoginFailures(**state)
    for item in data["rules"]:
        rule = world.rules.add(item["spec"], item["id"])  # the spec as it was
        rule.fired, rule.seen = item["fired"], item["seen"]
    _load_accounts(world, data)
    world.rules.last_id = data.get("lastRuleId", 0)
    world.scenario = _scenario(data["scenario"])
    if "timeline" in data:
        for entry in data["timeline"]:  # in the order it was to run
            world.schedule(entry["due"], entry["kind"], entry["args"])
    else:  # version 1: scripts again on the same grid, from the restored clock
        scripts.arm(world, after=world.now())
    return world


def _load_accounts(world: World, data: dict) -> None:
    """Codes, messages and push settings (absent from files written before they existed)."""
    world.sent_codes = [SentCode(**item) for item in data.get("sentCodes", [])]
    world.codes_sent = data.get("codesSent", len(world.sent_codes))
    for item in data.get("messages", []):
        world.add_message(Message(**item))
    world.push_settings = dict(data.get("pushSettings", {}))
    world.push_devices = dict(data.get("pushDevices", {}))
    world.last_message_id = max(world.last_message_id, data.get("lastMessageId", 0))
    world.last_registered = data.get("lastRegistered", 0)


def _family(item: dict) -> Family:
    return Family(
        **{
            **item,
            "members": {uid: Member(**m) for uid, m in item["members"].items()},
            "rooms": [Room(**r) for r in item["rooms"]],
            "devices": [FamilyDevice(**d) for d in item["devices"]],
            "invitations": [Invitation(**i) for i in item["invitations"]],
        }
    )


def _device(device: Device) -> dict:
    return {**_record(device, ("shadow",)), "state": _device_state(device.shadow)}


def _product(product: things.Product) -> dict:
    return {
        "pk": product.pk,
        "name": product.name,
        "tsl": product.tsl,
        "binding_mode": product.binding_mode,
        "logo": product.logo,
        "write_delay_ms": product.write_delay_ms,
    }


# A device's state keeps its values, history and the commands kept for it while offline;
# writes waiting for their delay are on the world's timeline.
_HISTORIES = ("history", "events", "locations")


def _device_state(state: shadows.DeviceState | None) -> dict | None:
    if state is None:
        return None
    data = _record(state)
    for name in _HISTORIES:
        data[name] = list(data[name])
    data["cached"] = [_record(command) for command in state.cached]
    return data


def _load_state(data: dict) -> shadows.DeviceState:
    skip = (*_HISTORIES, "cached")
    state = shadows.DeviceState(**{k: v for k, v in data.items() if k not in skip})
    for name in _HISTORIES:
        getattr(state, name).extend(tuple(item) for item in data.get(name, []))
    state.cached = [Cached(**command) for command in data.get("cached", [])]
    return state


def _state(value: list) -> tuple:
    # random.getstate() is (version, tuple of ints, gauss_next); JSON turned tuples into lists.
    return (value[0], tuple(value[1]), value[2])


def _scenario(data: dict | None) -> Scenario | None:
    if data is None:
        return None
    try:
        return Scenario.from_spec(data["spec"], data["source"], data["seed"])
    except (ScenarioInvalid, ScenarioNotFound):
        return None  # a reset then falls back to the server's scenario


def write_state(path: Path, worlds: dict[str, World], skipped: dict[str, str] | None = None) -> int:
    """Write every world to `path` atomically (temporary file, fsync, rename); bytes written.
    A world that cannot be written (a number beyond 64 bits got into it) keeps the copy the
    file had, or is left out, and never stops the others being saved: `skipped` gets its name
    and why. OSError when the file cannot be written (a full disk): the old file stays."""
    path = Path(path)
    remove_leftovers(path)
    pieces = []
    for name, world in list(worlds.items()):
        with world.lock:
            try:
                pieces.append((name, orjson.dumps(dump_world(world))))
            except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
                if skipped is not None:
                    skipped[name] = str(exc)
                _log.error("world %r not saved: %s", name, exc)
    written = {name for name, _ in pieces}
    pieces += [(name, raw) for name, raw in _saved_worlds(path).items() if name in worlds and name not in written]
    body = b",".join(orjson.dumps(name) + b":" + raw for name, raw in pieces)
    payload = orjson.dumps({"format": FORMAT, "version": VERSION})[:-1] + b',"worlds":{' + body + b"}}"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return len(payload)


def remove_leftovers(path: Path) -> None:
    """Temporary files of a write that a kill cut short (`NAME.*.tmp` beside the file)."""
    path = Path(path)
    for leftover in path.parent.glob(path.name + ".*.tmp") if path.parent.is_dir() else ():
        leftover.unlink(missing_ok=True)


def _saved_worlds(path: Path) -> dict[str, bytes]:
    """Each world of the file as it is now, as JSON text; nothing when there is no usable file."""
    try:
        data = orjson.loads(path.read_bytes())
        if data["version"] != VERSION:  # an older file's copy would not load in this format
            return {}
        return {name: orjson.dumps(world) for name, world in data["worlds"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def read_state(path: Path) -> dict[str, World]:
    """Every world in the file, or StateFileError: a file that is not ours, or is damaged,
    loads nothing at all."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise StateFileError(f"{path}: cannot be read: {exc.strerror}") from None
    except orjson.JSONDecodeError:
        raise StateFileError(f"{path}: not a state file (not JSON, or cut short)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateFileError(f"{path}: not a state file of this simulator (no format {FORMAT!r})")
    if data.get("version") not in READABLE:
        raise StateFileError(f"{path}: state file version {data.get('version')!r}; this simulator reads {VERSION}")
    worlds = {}
    for name, world in (data.get("worlds") or {}).items():
        try:
            worlds[name] = load_world(world)
            _check(worlds[name])
        except Exception as exc:  # anything a damaged file can raise: one line, never a traceback
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
            raise StateFileError(f"{path}: world {name!r} is damaged ({reason})") from None
    if not worlds:
        raise StateFileError(f"{path}: holds no worlds")
    return worlds


def _check(world: World) -> None:
    """What load_world's constructors do not check but every request relies on: a clock that
    reads a time, and shares that point at devices."""
    now = world.now()
    if type(now) is not int or not 0 <= now <= LAST_INSTANT_MS or type(world.started_at) is not int:
        raise ValueError("the clock does not read a time")
    for share in world.shares.values():
        if (share.pk, share.dk) not in world.devices:
            raise ValueError(f"share {share.share_id} names device {share.pk}/{share.dk}, which is not in the world")


def restore(sim: Any, worlds: dict[str, World]) -> None:
    """Install restored worlds into a simulator, replacing those of the same names."""
    for name, world in worlds.items():
        sim.worlds[name] = world
        if name != "default":
            sim.touch(name)
