"""A world: the simulated cloud together with what lets a test bend it.

Each client session gets one. Besides the cloud's state it holds the clock the cloud reads
(frozen, set and advanced from outside), the rules that may answer a request first, the
journal of what was asked, a random generator for rules' `chance` (apart from the cloud's,
so that random rules do not change the share codes), and the scenario it was built from.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ..cloud.models import Settings
from ..cloud.store import Cloud
from .clock import Clock
from .journal import Journal
from .rules import RuleSet

if TYPE_CHECKING:
    from .scenario import Scenario

# Script steps one catch-up runs at most: about 35 ms of work on a laptop.
CATCH_UP_SLICE = 1000


class World(Cloud):
    clock: Clock

    def __init__(self, settings: Settings | None = None, clock: Clock | None = None, seed: int = 0):
        super().__init__(settings, clock or Clock(), seed)
        # When the world began: relative times in rules refer to it.
        self.started_at = self.clock.now_ms()
        self.rules = RuleSet()
        self.journal = Journal()
        self.rule_rng = random.Random(seed)
        self.scenario: Scenario | None = None  # for resets
        # Realtime clients connected to this world, by connection id (filled by the realtime
        # channel; each value has describe() for /_mock/state).
        self.mqtt_sessions: dict[int, Any] = {}

    def catch_up(self, budget: int | None = CATCH_UP_SLICE) -> int:
        """Run what devices were to do by now on the clock (writes applied after their delay,
        scripted changes), in time order, each at its own moment. The caller holds the lock.
        At most `budget` steps: a clock moved on by years is caught up a slice per request
        (the clock endpoint waits for all of them), so no request holds the event loop long;
        None runs everything (a snapshot)."""
        return self.run_due(self.clock.now_ms(), budget)
