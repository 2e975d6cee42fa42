"""Rules that are valid but will likely never fire: an `endpoint` the simulator does not
have, though one is close to its name (a misspelling), or a device condition (`pk`, `dk`)
on an endpoint whose declaration says it names no device. Stubbing endpoints the simulator
lacks is a feature, so such a rule is kept; its author is told why it may not fire.

The known names are those of the declared endpoints (`declare.registry()`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Container, Iterable, Sequence
from pathlib import Path

from ..harness.scenario import Scenario, ScenarioInvalid, ScenarioNotFound, read_file, resolve
from ..harness.scenario import invalid_file_warnings as spec_file_warnings


def known_endpoints() -> list[str]:
    from .declare import registry

    return sorted({doc.name for doc in registry()})


def endpoint_warnings(rules: Iterable[dict], place: Callable[[int], str] = lambda i: f"rules[{i}]") -> list[str]:
    """One line per rule whose `match.endpoint` names no endpoint of the simulator, or whose
    device condition the endpoint never meets."""
    known = known_endpoints()
    by_lower = {name.lower(): name for name in known}
    found = []
    for i, rule in enumerate(rules):
        match = rule.get("match") or {}
        target = match.get("endpoint")
        if not isinstance(target, str) or target.startswith("/"):
            continue
        if target in known:
            found += _deviceless(match, target, place(i))
            continue
        close = difflib.get_close_matches(target.lower(), list(by_lower), n=1, cutoff=0.75)
        if close:  # no near name: a stub of an endpoint the simulator lacks, on purpose
            found.append(
                f"{place(i)}.match.endpoint: {target} is not an endpoint of the simulator (the rule fires only "
                f"on a path ending in /{target}); did you mean {by_lower[close[0]]}?"
            )
    return found


def uid_warnings(rules: Iterable[dict], users: Container[str], place: Callable[[int], str]) -> list[str]:
    """One line per rule whose `match.uid` is no user of the world: it could never fire."""
    return [
        f"{place(i)}.match.uid: {uid} is not a user of this world: the rule never fires"
        for i, rule in enumerate(rules)
        if (uid := (rule.get("match") or {}).get("uid")) is not None and uid not in users
    ]


def _deviceless(match: dict, target: str, place: str) -> list[str]:
    """A pk or dk condition on an endpoint that names no device: it can never hold."""
    from .declare import registry

    named = [key for key in ("pk", "dk") if key in match]
    if not named or any(doc.devices for doc in registry() if doc.name == target):
        return []
    return [f"{place}.match.{named[0]}: {target} names no device, so a rule on its {named[0]} never fires"]


def scenario_warnings(scenario: Scenario) -> list[str]:
    """Everything valid but suspicious in a scenario, each as `file: path: message`."""
    source = Path(scenario.source).name
    rules = scenario.spec.get("rules", [])
    return scenario.warnings + endpoint_warnings(rules, lambda i: f"{source}: {scenario.place('rules', i)}")


def invalid_file_warnings(name: str, dirs: Sequence[str | Path] = ()) -> list[str]:
    """The warnings of a scenario file that has errors too, so that its author sees every
    near miss at once (a misspelt endpoint may be why a rule looks wrong)."""
    folders = [Path(d) for d in dirs]
    try:
        path = resolve(name, folders)
        spec = read_file(path)
    except (ScenarioNotFound, ScenarioInvalid):
        return []
    rules = spec.get("rules") if isinstance(spec, dict) else None
    rules = [r if isinstance(r, dict) else {} for r in rules] if isinstance(rules, list) else []
    return spec_file_warnings(path, folders) + endpoint_warnings(rules, lambda i: f"{path.name}: rules[{i}]")
