"""The simulator as a whole: the server's scenario and the worlds built from it, one per
client session, each with its own store, clock, rules and journal."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

from .scenario import Scenario, ScenarioNotFound, scan
from .world import World

DEFAULT_WORLD = "default"
SESSION_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class BadSession(ValueError):
    pass


def session_path(path: str) -> tuple[str | None, str]:
    """The one reading of a `/s/NAME/` prefix, for REST and the realtime channel alike:
    `/s/NAME/rest` is ("NAME", "/rest"); a path without the prefix is (None, path)."""
    if not path.startswith("/s/"):
        return None, path
    name, _, rest = path[3:].partition("/")
    return name, "/" + rest


class Simulator:
    def __init__(self, scenario: Scenario, idle_timeout_s: float = 1800, max_worlds: int = 1000) -> None:
        self.scenario = scenario
        self.idle_timeout_s = idle_timeout_s
        self.max_worlds = max_worlds
        self._lock = threading.Lock()
        self._scenarios: dict[str, Scenario] = {}
        self.scenario_dirs: tuple[Path, ...] = ()  # where requests may name scenarios (--scenario-dir)
        self._scan_key: tuple | None = None  # the --scenario-dir files (and times) _names was read from
        self._names: dict[str, str] = {}
        # The most users, devices and shares a scenario a request sends or names may generate.
        self.max_generated: int | None = None
        self.worlds: dict[str, World] = {DEFAULT_WORLD: scenario.build()}
        self._last_used: dict[str, float] = {}
        self._next_sweep = 0.0

    def world(self, name: str = DEFAULT_WORLD, scenario_name: str | None = None) -> World:
        """The named world, created on first use from `scenario_name` or the server's scenario."""
        now = time.monotonic()
        if now >= self._next_sweep:  # idle worlds go even when no new one is being made
            with self._lock:
                self.sweep(now)
        world = self.worlds.get(name)
        if world is not None:
            if name != DEFAULT_WORLD:
                self._last_used[name] = now
            return world
        if not SESSION_NAME.match(name):
            raise BadSession("session names are 1 to 64 letters, digits, '.', '_' or '-'")
        scenario = self.scenario_named(scenario_name) if scenario_name else self.scenario
        with self._lock:
            self.sweep()
            if name not in self.worlds:
                if len(self.worlds) >= self.max_worlds:
                    raise BadSession(f"too many worlds ({self.max_worlds}); reset or let idle ones expire")
                self.worlds[name] = scenario.build()
            self._last_used[name] = time.monotonic()
            return self.worlds[name]

    def touch(self, name: str) -> None:
        """Count `name` as used now (restored worlds start their idle time afresh)."""
        self._last_used[name] = time.monotonic()

    def scenario_named(self, name: str) -> Scenario:
        """A scenario a request names (never a path): a file name from --scenario-dir or the
        library, or the `name:` a file there or the server's own scenario declares (as the
        worlds list shows it); loaded once and kept (it is read-only)."""
        if name not in self._scenarios:
            try:
                self._scenarios[name] = Scenario.load(
                    name, dirs=self.scenario_dirs, paths=False, max_generated=self.max_generated
                )
            except ScenarioNotFound:
                stem = self._declared_names().get(name)
                if stem is not None:
                    self._scenarios[name] = Scenario.load(
                        stem, dirs=self.scenario_dirs, paths=False, max_generated=self.max_generated
                    )
                elif name == self.scenario.name:  # the server's own, from a path on the command line
                    return self.scenario
                else:
                    raise
        return self._scenarios[name]

    def _declared_names(self) -> dict[str, str]:
        """{declared name: file stem} of the --scenario-dir files, scanned again only when a
        file there was added, removed or changed (an unknown name in every request stays cheap)."""
        files = tuple(
            (str(p), p.stat().st_mtime_ns) for folder in self.scenario_dirs for p in sorted(Path(folder).glob("*"))
        )
        if self._scan_key != files:
            self._scan_key, self._names = files, scan(self.scenario_dirs)[0]
        return self._names

    def load(self, name: str) -> Scenario:
        """A scenario a request names: the one kept, read again only when its file changed
        since (so a reset picks up an edit, and loading the same name per test stays cheap)."""
        return self._reloaded(self.scenario_named(name))

    def inline(self, spec: Any) -> Scenario:
        """A scenario sent in a request: its `extends` may only name one."""
        return Scenario.from_spec(
            spec, "inline", dirs=self.scenario_dirs, paths=False, max_generated=self.max_generated
        )

    def _reloaded(self, scenario: Scenario) -> Scenario:
        fresh = scenario.reloaded()
        if fresh is not scenario:
            if scenario is self.scenario:
                self.scenario = fresh
            for name, kept in list(self._scenarios.items()):
                if kept is scenario:
                    self._scenarios[name] = fresh
        return fresh

    def reset(self, name: str = DEFAULT_WORLD, scenario: Scenario | None = None) -> World:
        """Rebuild one world from its scenario (or another): nothing of the old one survives."""
        current = self.worlds.get(name)
        base = scenario or self._reloaded((current.scenario if current is not None else None) or self.scenario)
        world = base.build()
        with self._lock:
            self.worlds[name] = world
            if name != DEFAULT_WORLD:
                self._last_used[name] = time.monotonic()
        return world

    def drop(self, name: str) -> bool:
        if name == DEFAULT_WORLD:
            return False
        with self._lock:
            self._last_used.pop(name, None)
            return self.worlds.pop(name, None) is not None

    def sweep(self, now: float | None = None) -> list[str]:
        """Drop worlds idle longer than the timeout (checked at most once a second)."""
        now = time.monotonic() if now is None else now
        if now < self._next_sweep:
            return []
        self._next_sweep = now + 1.0
        idle = [n for n, t in list(self._last_used.items()) if now - t > self.idle_timeout_s]
        for name in idle:
            self.worlds.pop(name, None)
            self._last_used.pop(name, None)
        return idle

    def describe(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "worlds": sorted(self.worlds),
            "idleTimeoutSeconds": self.idle_timeout_s,
        }
