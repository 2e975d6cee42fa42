"""Rules that are valid but will likely never fire: an `endpoint` the simulator does not
have, though one is close to its name (a misspelling), or a device condition (`pk`, `dk`)
on an endpoint whose declaration says it names no device. Stubbing endpoints the simulator
lacks is a feature, so such a rule is kept; its author is told why it may not fire.

The known names are those of the declared endpoints (`declare.registry()`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path

from ..harness.scenario import Scenario


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
