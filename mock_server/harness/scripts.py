"""Scripted device behaviour: values and online state that change on the world's clock, as a
scenario's `scripts` section describes them.

A script is compiled once per scenario (its values checked, its CSV read) and armed on every
world built from it: each device it targets gets a `Runner` whose steps sit on the world's
timeline (`Cloud.schedule`) as data naming the script, the device and the step (so a state
file keeps it), each step scheduling the next. Advancing the clock by an hour therefore runs
the hour's steps at the next catch-up, each at its own time, and a frozen clock runs none
until it moves. Randomness comes from the world's seed, the script's place in the
file, the device and the step's number, so a world replays the same way, restored or not.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..cloud import devices, plausible, shadows, things
from ..cloud.models import Device
from ..cloud.store import Cloud, timed_action
from .timeparse import parse_duration, parse_instant

if TYPE_CHECKING:
    from .world import World

GENERATORS = ("set", "ramp", "sine", "decay", "walk", "pick", "replay", "online")
NUMBER_GENERATORS = ("ramp", "sine", "decay", "walk")
REPEATING = ("ramp", "sine", "decay", "walk", "pick")  # meaningless as a one-off: need `every`
RANDOM = ("walk", "pick")
Problems = list[tuple[str, str]]


class ScriptInvalid(ValueError):
    """Problems found while compiling scripts, as (path, message) pairs."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


def kind_of(entry: dict) -> str | None:
    """The script's generator: the one generator key it has (the schema makes sure of one)."""
    kinds = [k for k in GENERATORS if k in entry]
    return kinds[0] if len(kinds) == 1 else None


def target_feature(product: things.Product, path: str) -> things.Feature:
    """The property a script changes: `code`, or `code.member` for a STRUCT member."""
    code, _, member = path.partition(".")
    feature = product.properties.get(code)
    if feature is None:
        known = ", ".join(product.properties)
        raise things.ValueProblem(f"unknown property code {code} (the thing model of {product.pk} has {known})")
    if not member:
        return feature
    if member not in feature.members:
        raise things.ValueProblem(f"{code} has no member {member}")
    return feature.members[member]


# ---- checks, for `mock-server validate` ------------------------------------------------------


def script_problems(entry: dict, products: dict[str, things.Product], keys: set[tuple[str, str]]) -> Problems:
    """What is wrong with one (schema-valid) script against the scenario's products and
    devices; CSV files are read later, by `compile_scripts`."""
    target = entry.get("device") or {}
    pk, dk, kind = target.get("pk"), target.get("dk"), kind_of(entry)
    if not pk or kind is None:
        return []
    problems = []
    if dk and (pk, dk) not in keys:
        problems.append(("device", f"unknown device {pk}/{dk}"))
    if kind == "online":
        return problems + ([("property", "an online script changes no property")] if "property" in entry else [])
    product = products.get(pk)
    if product is None:
        return problems + [("device", f"product {pk} has no thing model in products")]
    problems += [("while." + p, m) for p, m in _while_problems(entry.get("while") or {}, product)]
    if kind == "replay":
        own = [("property", "a replay takes its properties from the CSV's columns")] if "property" in entry else []
        return problems + own
    if not entry.get("property"):
        return problems + [("property", f"is required for {kind}")]
    try:
        feature = target_feature(product, entry["property"])
    except things.ValueProblem as problem:
        return problems + [("property", str(problem))]
    return problems + [(kind + p, m) for p, m in _generator_problems(kind, entry[kind], feature)]


def timing_problems(entry: dict, kind: str) -> Problems:
    """`every` and `at` as the generator needs them (the schema asks, once the fields are valid)."""
    if kind in REPEATING and "every" not in entry:
        return [("every", f"is required for {kind}")]
    if kind in ("set", "online") and "every" not in entry and "at" not in entry:
        return [("at", f"is required for a one-off {kind} (or give every)")]
    if kind == "replay" and "every" in entry:
        return [("every", "a replay follows the CSV's times")]
    return []


def _while_problems(conditions: dict, product: things.Product) -> Problems:
    problems = []
    for code, value in conditions.items():
        feature = product.properties.get(code)
        try:
            if feature is None:
                raise things.ValueProblem(f"unknown property code {code} (the thing model of {product.pk} has "
                                          f"{', '.join(product.properties)})")  # fmt: skip
            feature.check(value)
        except things.ValueProblem as problem:
            problems.append((code, str(problem)))
    return problems


def _generator_problems(kind: str, spec: Any, feature: things.Feature) -> Problems:
    if kind in NUMBER_GENERATORS and feature.data_type not in things.NUMBERS:
        return [("", f"{kind} needs a number property; {feature.code} is {feature.data_type}")]
    if kind == "set":
        return _checked(feature, [("", spec)])
    if kind == "pick":
        return _checked(feature, [(f"[{i}]", v) for i, v in enumerate(spec)])
    named = {"ramp": ("to",), "decay": ("to",), "walk": ("min", "max")}.get(kind, ())
    return _checked(feature, [(f".{name}", spec[name]) for name in named if name in spec])


def _checked(feature: things.Feature, items: Iterable[tuple[str, Any]]) -> Problems:
    problems = []
    for path, value in items:
        try:
            feature.check(value)
        except things.ValueProblem as problem:
            problems.append((path, str(problem)))
    return problems


# ---- compiling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    """One validated script, with its values native and its CSV read."""

    index: int
    kind: str
    pk: str
    dk: str | None  # None: every device of the product
    spec: dict
    feature: things.Feature | None = None  # the property (or STRUCT member) it changes
    code: str | None = None  # the top-level property code
    member: str | None = None
    conditions: dict[str, Any] = field(default_factory=dict)  # `while`, native
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # a replay: (offset ms, values)
    period: int | None = None  # a looping replay's length

    # ---- when ------------------------------------------------------------------------------

    def start_ms(self, world: World) -> int:
        return parse_instant(self.spec["at"], world.started_at) if "at" in self.spec else world.started_at

    def due(self, start: int, k: int, until: int | None = None) -> int | None:
        """When step `k` (from 0) runs, or None when there is no such step (none after `until`)."""
        if "times" in self.spec and k >= self.spec["times"]:
            return None
        at: int | None
        if self.kind == "replay":
            cycle, row = divmod(k, len(self.rows))
            if cycle and self.period is None:
                return None
            at = start + cycle * (self.period or 0) + self.rows[row][0]
        elif "every" in self.spec:
            every = parse_duration(self.spec["every"])
            at = start + (k if "at" in self.spec else k + 1) * every
        else:
            at = start if k == 0 else None
        return None if at is None or (until is not None and at > until) else at

    def first_after(self, start: int, after: int | None, until: int | None = None) -> int:
        """The first step due after `after` (every step when None): a restored world goes on
        from where its clock stands, on the same grid, without replaying what it had done."""
        if after is None:
            return 0
        k = 0
        if "every" in self.spec and self.kind != "replay":
            k = max(0, (after - start) // parse_duration(self.spec["every"]) - 1)
        elif self.kind == "replay" and self.period:
            k = max(0, (after - start) // self.period) * len(self.rows)
        while (at := self.due(start, k, until)) is not None and at <= after:
            k += 1
        return k


def compile_scripts(
    entries: list[dict], products: dict[str, things.Product], folders: list[Path], confined: bool = False
) -> list[Script]:
    """Scripts ready to arm; ScriptInvalid with every CSV problem. `folders` are searched in
    order for replay files (the scenario's own folder, then the library); `confined` keeps
    a replay file inside them (a scenario sent in a request)."""
    scripts, problems = [], []
    for i, entry in enumerate(entries):
        try:
            scripts.append(_compile(i, entry, products, folders, confined))
        except ScriptInvalid as invalid:
            problems += [(f"scripts[{i}].{p}", m) for p, m in invalid.problems]
    if problems:
        raise ScriptInvalid(problems)
    return scripts


def _compile(
    index: int, entry: dict, products: dict[str, things.Product], folders: list[Path], confined: bool
) -> Script:
    kind = kind_of(entry)
    assert kind is not None  # validated
    pk, dk = entry["device"]["pk"], entry["device"].get("dk")
    product = products.get(pk)
    if kind == "online" or product is None:
        return Script(index, kind, pk, dk, entry)
    conditions = things.check_values(product, entry.get("while") or {})
    if kind == "replay":
        rows, period = read_replay(entry["replay"], product, folders, confined)
        return Script(index, kind, pk, dk, entry, conditions=conditions, rows=rows, period=period)
    feature = target_feature(product, entry["property"])
    code, _, member = entry["property"].partition(".")
    spec = dict(entry)
    if kind == "set":
        spec["set"] = feature.check(entry["set"])
    elif kind == "pick":
        spec["pick"] = [feature.check(v) for v in entry["pick"]]
    return Script(index, kind, pk, dk, spec, feature, code, member or None, conditions)


def read_replay(
    spec: dict | str, product: things.Product, folders: list[Path], confined: bool = False
) -> tuple[list, int | None]:
    """A CSV of timestamped values: a `time` column (epoch ms, ISO 8601 or a duration such as
    10m), then one column per property code; blank cells report nothing. Times count from the
    first row, so a recording plays from the script's start."""
    spec = {"file": spec} if isinstance(spec, str) else spec
    name = spec["file"]
    path = next((p for p in (_inside(folder, name, confined) for folder in folders) if p and p.is_file()), None)
    if path is None and confined:  # the same words whether or not the path exists elsewhere
        raise ScriptInvalid([("replay", f"CSV not found: {name} (a scenario sent in a request replays "
                                        "files of the library or a --scenario-dir folder only)")])  # fmt: skip
    if path is None:
        raise ScriptInvalid([("replay", f"CSV not found: {name} (looked in {', '.join(map(str, folders))})")])
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            table = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScriptInvalid([("replay", f"{name}: not readable as CSV: {exc}")]) from None
    rows = _rows(name, table, product)
    period = None
    if spec.get("loop"):
        span = rows[-1][0] - rows[0][0] if len(rows) > 1 else 0
        if not span:
            raise ScriptInvalid([("replay.loop", f"{name}: a loop needs rows at two different times")])
        period = span + (rows[-1][0] - rows[-2][0])
    return rows, period


def _inside(folder: Path, name: str, confined: bool) -> Path | None:
    """`folder / name`; None when `confined` and it would leave the folder (an absolute path,
    `..`, a link out)."""
    candidate = folder / name
    if not confined:
        return candidate
    try:
        return candidate if candidate.resolve().is_relative_to(folder.resolve()) else None
    except (OSError, ValueError):
        return None


def _rows(name: str, table: list[list[str]], product: things.Product) -> list[tuple[int, dict]]:
    if len(table) < 2 or table[0][0].strip().lower() != "time":
        raise ScriptInvalid([("replay", f"{name}: needs a header row starting with time, and rows")])
    columns = [c.strip() for c in table[0][1:]]
    unknown = [c for c in columns if c not in product.properties]
    if unknown:
        known = ", ".join(product.properties)
        raise ScriptInvalid([("replay", f"{name}: unknown property code {unknown[0]} (the thing model of "
                                        f"{product.pk} has {known})")])  # fmt: skip
    rows, problems, first, last = [], [], None, None
    for line, row in enumerate(table[1:], start=2):
        try:
            at = _time(row[0])
            if last is not None and at < last:
                raise things.ValueProblem(f"time {row[0].strip()} is before the row above")
            first, last = at if first is None else first, at
            cells = zip(columns, row[1:], strict=False)
            kv = {code: _cell(product.properties[code], text) for code, text in cells if text.strip()}
            rows.append((at - first, kv))
        except (things.ValueProblem, ValueError) as problem:
            problems.append(("replay", f"{name} row {line}: {problem}"))
    if problems:
        raise ScriptInvalid(problems)
    return rows


def _time(text: str) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return parse_duration(text.lstrip("+"))
    except ValueError:
        return parse_instant(text, 0)


def _cell(feature: things.Feature, text: str) -> Any:
    if feature.data_type == "TEXT":
        return feature.check(text)
    try:
        value = json.loads(text)
    except ValueError:
        value = text.strip()
    return feature.check(value)


# ---- running ---------------------------------------------------------------------------------


def arm(world: World, after: int | None = None) -> int:
    """Put the world's scenario scripts on its timeline: from the start (a new world), or from
    the first step after `after` (a restored one). How many devices got a script."""
    scenario = world.scenario
    if scenario is None or not scenario.scripts:
        return 0
    armed = 0
    for script in scenario.scripts:
        for device in _targets(world, script):
            armed += Runner(world, script, device).start(after)
    return armed


@timed_action("script")
def run_step(cloud: Cloud, at: int, step: dict[str, Any]) -> None:
    """One scripted step from the timeline: the script by its place in the world's scenario,
    on its device (a runner is cheap and keeps nothing between steps: each step is seeded)."""
    world = cast("World", cloud)
    scenario = world.scenario
    device = world.devices.get((step["pk"], step["dk"]))
    if scenario is None or device is None or not 0 <= step["script"] < len(scenario.scripts):
        return  # the scenario could not be restored, or the device is gone
    Runner(world, scenario.scripts[step["script"]], device).run(step["step"], at)


def _targets(world: World, script: Script) -> list[Device]:
    if script.dk is not None:
        device = world.devices.get((script.pk, script.dk))
        return [device] if device is not None else []
    return [d for d in world.devices.values() if d.pk == script.pk]


class Runner:
    """One script on one device: runs step k at its time, then schedules step k + 1."""

    def __init__(self, world: World, script: Script, device: Device) -> None:
        self.world, self.script, self.device = world, script, device
        self.start_ms = script.start_ms(world)
        until = script.spec.get("until")
        self.until = None if until is None else parse_instant(until, world.started_at)
        self.rng = random.Random()

    def start(self, after: int | None) -> int:
        return int(self._schedule(self.script.first_after(self.start_ms, after, self.until)))

    def _schedule(self, k: int) -> bool:
        at = self.script.due(self.start_ms, k, self.until)
        if at is None:
            return False
        step = {"script": self.script.index, "pk": self.device.pk, "dk": self.device.dk, "step": k}
        self.world.schedule(at, "script", step)  # data, so a state file keeps it
        return True

    def run(self, k: int, at: int) -> None:
        """Run step `k` at `at`, then schedule step k + 1."""
        # Seeded per step (a few microseconds): step k draws the same numbers whether the world
        # ran from its start or was restored from a state file in between.
        if self.script.kind in RANDOM or self.script.member is not None:
            self.rng.seed(f"{self.world.seed}/scripts/{self.script.index}/{self.device.pk}/{self.device.dk}/{k}")
        self._act(k, at)
        self._schedule(k + 1)

    def _act(self, k: int, at: int) -> None:
        script, device, world = self.script, self.device, self.world
        if script.kind == "online":
            value = script.spec["online"]
            devices.set_online(world, device, not device.online if value == "toggle" else value, at)
            return
        if not device.online:  # an offline device reports nothing
            return
        reported = shadows.shadow_of(world, device, at).reported
        if any(reported.get(code) != value for code, value in script.conditions.items()):
            return
        if script.kind == "replay":
            shadows.report(world, device, dict(script.rows[k % len(script.rows)][1]), at)
            return
        kv = self._next_values(reported, at)
        if kv:
            shadows.report(world, device, kv, at)

    def _next_values(self, reported: dict, at: int) -> dict | None:
        script = self.script
        feature, code = script.feature, script.code
        assert feature is not None and code is not None
        whole: Any = reported.get(code)  # whatever the device last reported
        if script.member is not None and not isinstance(whole, dict):
            whole = plausible.sample(self.world.products[script.pk].properties[code], self.rng)
        current = whole.get(script.member) if script.member is not None else whole
        value = NEXT[script.kind](self, script.spec[script.kind], current, at)
        try:
            value = feature.check(value)
        except things.ValueProblem:  # a thing model without bounds, and a value past 32 bits
            return None
        return {code: {**whole, script.member: value} if script.member is not None else value}


# ---- generators: the next value from the spec, the current value and the time ----------------


def fit(feature: things.Feature, value: float, low: float | None = None, high: float | None = None) -> int | float:
    """A number within the property's specs (and `low`/`high`), on its step."""
    for bound, pick in ((feature.bound("min"), max), (low, max), (feature.bound("max"), min), (high, min)):
        if bound is not None:
            value = pick(value, bound)
    step = feature.bound("step")
    if feature.data_type == "INT":
        return int(round(value / step) * step) if step else round(value)
    return things.round_to(value, step) if step else round(value, 6)


def _feature(runner: Runner) -> things.Feature:
    """The property a number generator moves (a script names one: the scenario schema sees to it)."""
    feature = runner.script.feature
    assert feature is not None
    return feature


def _number(runner: Runner, current: Any) -> float:
    if isinstance(current, (int, float)) and not isinstance(current, bool):
        return current
    low = runner.script.feature.bound("min") if runner.script.feature else None
    return low or 0.0


def _set(runner: Runner, spec: Any, current: Any, at: int) -> Any:
    return spec


def _pick(runner: Runner, spec: list, current: Any, at: int) -> Any:
    return runner.rng.choice(spec)


def _ramp(runner: Runner, spec: dict, current: Any, at: int) -> Any:
    value = _number(runner, current) + spec["by"]
    if "to" in spec:
        value = max(value, spec["to"]) if spec["by"] < 0 else min(value, spec["to"])
    return fit(_feature(runner), value)


def _sine(runner: Runner, spec: dict, current: Any, at: int) -> Any:
    shift = parse_duration(spec.get("phase", 0))
    angle = 2 * math.pi * (at - runner.start_ms + shift) / parse_duration(spec["period"])
    return fit(_feature(runner), spec["mean"] + spec["amplitude"] * math.sin(angle))


def _decay(runner: Runner, spec: dict, current: Any, at: int) -> Any:
    """Halves the distance to `to` every halfLife; an integer always moves at least one step."""
    now, target = _number(runner, current), spec["to"]
    factor = 0.5 ** (parse_duration(runner.script.spec["every"]) / parse_duration(spec["halfLife"]))
    feature = _feature(runner)
    value = fit(feature, target + (now - target) * factor)
    if feature.data_type == "INT" and value == now and now != target:
        unit = int(feature.bound("step") or 1)
        value = fit(feature, now - unit if now > target else now + unit)
    return value


def _walk(runner: Runner, spec: dict, current: Any, at: int) -> Any:
    value = _number(runner, current) + runner.rng.uniform(-spec["by"], spec["by"])
    return fit(_feature(runner), value, spec.get("min"), spec.get("max"))


NEXT = {"set": _set, "pick": _pick, "ramp": _ramp, "sine": _sine, "decay": _decay, "walk": _walk}
