"""The simulator as a whole: its scenario and the worlds built from it."""

from __future__ import annotations

import threading

from .scenario import Scenario
from .world import World

DEFAULT_WORLD = "default"


class Simulator:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._lock = threading.Lock()
        self.worlds: dict[str, World] = {DEFAULT_WORLD: scenario.build()}

    def world(self, name: str = DEFAULT_WORLD) -> World:
        return self.worlds[name]

    def reset(self, name: str = DEFAULT_WORLD, scenario: Scenario | None = None) -> World:
        """Rebuild one world from its scenario (or another): nothing of the old one survives."""
        with self._lock:
            if scenario is not None and name == DEFAULT_WORLD:
                self.scenario = scenario
            world = (scenario or self.scenario).build()
            self.worlds[name] = world
            return world
