"""Rules: conditions on incoming requests and realtime events, and what to do instead of (or
before) the normal answer. The first rule that matches wins; `times` bounds how often a rule
fires.

This module decides *whether* a rule fires, applies its effects on the world and reads its
action once into an `Outcome` (wait, code, data, fault, disconnect, warnings); the REST paths
(api/steps.py) and the realtime channel (realtime/) only map that outcome onto their wire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..cloud import families
from ..cloud.accounts import strip_bearer
from ..cloud.errors import QuectelError, message_for
from ..cloud.jsontext import read_json
from ..cloud.models import FailureCause, ShareStatus
from .patterns import compile_pattern, search, searches
from .timeparse import delay_seconds, parse_duration, parse_instant

if TYPE_CHECKING:  # the world holds rules, so it imports this module
    from .world import World

# What a `fault` can be. Over HTTP each has its own wire form (api/faults.py); on the realtime
# channel every fault loses the thing it hits (no CONNACK, no SUBACK grant, the message gone).
FAULTS = ("drop", "empty", "malformed", "http500", "http502", "http503", "hang")
DEVICE_NAMES = ("pk", "dk")  # the parameters that name a device, unless a request says otherwise

Refusal = Callable[[str, str, dict], "str | None"]  # batchControlDevice's refuse(pk, dk, params)


def endpoint_of(path: str) -> str:
    """The endpoint a path names, as rules' `endpoint` and the journal's entries say it: its
    last segment."""
    return path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Incoming:
    """What the rules can see of a request."""

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]  # names in lower case
    authorization: str | None = None
    mqtt: str | None = None  # a realtime event (connect, subscribe, publish, deliver); `path` is its topic
    devices: tuple[str, str] | None = DEVICE_NAMES  # the parameters naming its device; None: it names none


@dataclass
class Rule:
    id: str
    spec: dict
    fired: int = 0
    seen: int = 0  # calls that met every condition but nth/every/chance
    _path: Any = field(default=None, repr=False)
    _topic: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        path, topic = self.match.get("path"), self.match.get("topic")
        self._path = compile_pattern(path) if path else None
        self._topic = compile_pattern(topic) if topic else None

    @property
    def match(self) -> dict:
        return self.spec.get("match") or {}

    @property
    def action(self) -> dict:
        return self.spec["action"]

    @property
    def exhausted(self) -> bool:
        times = self.spec.get("times")
        return times is not None and self.fired >= times

    def to_dict(self) -> dict:
        return {**self.spec, "id": self.id, "fired": self.fired, "seen": self.seen, "exhausted": self.exhausted}


def _equal(expected: Any, actual: Any) -> bool:
    def text(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) else str(v)

    return text(expected) == text(actual)


def value_matches(spec: Any, value: Any) -> bool:
    """A parameter or header condition: a plain value, or {regex}, {present} or {equals}."""
    if isinstance(spec, dict):
        if "present" in spec:
            return (value is not None) == spec["present"]
        if value is None:
            return False
        if "regex" in spec:
            return searches(str(spec["regex"]), str(value))
        return _equal(spec["equals"], value)
    return value is not None and _equal(spec, value)


ROUTES_KEPT = 1024  # (event, method, path) answers may_match keeps; past it, it starts again


class RuleSet:
    def __init__(self, specs: list[dict] | None = None) -> None:
        self.rules: list[Rule] = []
        self.last_id = 0
        # may_match's answers for the rules as they are; a new dict (never cleared in place)
        # whenever they change, after the change: an answer worked out from the old rules
        # while they changed can only land in the dict that is no longer used.
        self._routes: dict[tuple[str | None, str, str], bool] = {}
        for spec in specs or []:
            self.add(spec)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def add(self, spec: dict, rule_id: str | None = None) -> Rule:
        """Append a validated rule; its id is `rule_id`, the spec's `id` or the next `rN`."""
        rule_id = rule_id or spec.get("id")
        if rule_id is None:
            self.last_id += 1
            rule_id = f"r{self.last_id}"
        if any(r.id == rule_id for r in self.rules):
            raise ValueError(f"a rule with id {rule_id} already exists")
        rule = Rule(rule_id, spec)
        self.rules.append(rule)
        self._routes = {}
        return rule

    def remove(self, rule_id: str) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        self._routes = {}
        return len(self.rules) < before

    def clear(self) -> None:
        self.rules = []
        self._routes = {}

    def may_match(self, mqtt: str | None, method: str, path: str) -> bool:
        """Whether any rule's conditions on the kind of call, its endpoint, path (or topic) and
        method hold for it: when none do, no rule can fire and the request's other facts need
        not be gathered. Worked out once per (event, method, path) for the rules as they are."""
        routes = self._routes  # before the rules: see __init__
        key = (mqtt, method, path)
        known = routes.get(key)
        if known is None:
            known = any(_route_holds(rule, mqtt, method, path) for rule in self.rules)
            if len(routes) >= ROUTES_KEPT:
                routes.clear()
            routes[key] = known
        return known

    def match(self, world: World, req: Incoming) -> Rule | None:
        """The first rule whose conditions hold for `req`, counted as fired; or None."""
        for rule in self.rules:
            if rule.exhausted or not _conditions(rule, world, req):
                continue
            rule.seen += 1
            m = rule.match
            if "nth" in m and rule.seen != m["nth"]:
                continue
            if "every" in m and rule.seen % m["every"]:
                continue
            if "chance" in m and world.rule_rng.random() >= m["chance"]:
                continue
            rule.fired += 1
            return rule
        return None


def _route_holds(rule: Rule, mqtt: str | None, method: str, path: str) -> bool:
    """The conditions of `rule` on what a call is, not on what it carries."""
    m = rule.match
    if m.get("mqtt") != mqtt:  # REST rules never see realtime events, nor the reverse
        return False
    if rule._topic is not None and not search(rule._topic, path):
        return False
    if "endpoint" in m:
        target = m["endpoint"]
        if (path if target.startswith("/") else endpoint_of(path)) != target.rstrip("/") and path != target:
            return False
    if rule._path is not None and not search(rule._path, path):
        return False
    if "method" in m:
        methods = m["method"] if isinstance(m["method"], list) else [m["method"]]
        if method.upper() not in {x.upper() for x in methods}:
            return False
    return True


def _conditions(rule: Rule, world: World, req: Incoming) -> bool:
    m = rule.match
    if not _route_holds(rule, req.mqtt, req.method, req.path):
        return False
    if any(not value_matches(s, req.params.get(k)) for k, s in m.get("params", {}).items()):
        return False
    if any(not value_matches(s, req.headers.get(k.lower())) for k, s in m.get("headers", {}).items()):
        return False
    if "token" in m and strip_bearer(req.authorization or "") != strip_bearer(m["token"]):
        return False
    if "uid" in m and caller_uid(world, req.authorization) != m["uid"]:
        return False
    if not _device_conditions(m, req):
        return False
    return "window" not in m or _in_window(world, m["window"])


# ---- devices and property codes: pk, dk, property --------------------------------------------


def _device_keys(params: dict[str, Any], names: tuple[str, str] | None) -> list[tuple[Any, Any]]:
    """The (pk, dk) pairs a request names: the parameters `names` names (pk and dk, or
    productKey and deviceKey), and every entry of a deviceList."""
    keys = [(params.get(names[0]), params.get(names[1]))] if names else []
    entries = params.get("deviceList")
    if isinstance(entries, list):
        keys += [(e.get("productKey"), e.get("deviceKey")) for e in entries if isinstance(e, dict)]
    return keys


def _names_device(m: dict, pk: Any, dk: Any) -> bool:
    return ("pk" not in m or m["pk"] == pk) and ("dk" not in m or m["dk"] == dk)


def _codes(params: dict[str, Any]) -> set[str]:
    """The property or service codes a request writes (batchControlDevice's data) or asks for
    (codeList)."""
    asked = params.get("codeList") or ""
    listed = asked if isinstance(asked, list) else str(asked).split(",")  # deviceEventList takes either
    codes = {str(c).strip() for c in listed if str(c).strip()}
    try:
        data = read_json(params["data"]) if isinstance(params.get("data"), str) else None
    except ValueError:
        data = None
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            codes.update(str(k) for k in item)
    return codes


def _device_conditions(m: dict, req: Incoming) -> bool:
    named = _device_keys(req.params, req.devices)
    if ("pk" in m or "dk" in m) and not any(_names_device(m, pk, dk) for pk, dk in named):
        return False
    return "property" not in m or m["property"] in _codes(req.params)


def _refusal(rule: Rule) -> Refusal | None:
    """A `controlFailure` rule as batchControlDevice's `refuse(pk, dk, params)`: the failure
    message for the devices the rule names (every device when it names none), else None."""
    msg = rule.action.get("controlFailure")
    if not msg:
        return None
    m = rule.match

    def refuse(pk: str, dk: str, params: dict) -> str | None:
        if not _names_device(m, pk, dk):
            return None
        return msg if "property" not in m or m["property"] in _codes(params) else None

    return refuse


def _in_window(world: World, window: dict) -> bool:
    now = world.now()
    if "from" in window and now < parse_instant(window["from"], world.started_at):
        return False
    return not ("until" in window and now >= parse_instant(window["until"], world.started_at))


def caller_uid(world: World, authorization: str | None) -> str | None:
    """The uid behind a token, live or not (rules and the journal want to know who it was)."""
    if not authorization:
        return None
    token = world.tokens.get(strip_bearer(authorization))
    return token.uid if token else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one fired rule does, read once from its action. `wait` comes first (a hang's
    included); then a `fault`, or an answer with `code`, or (neither) the normal answer."""

    rule: str
    wait: float = 0.0  # seconds
    code: int | None = None
    msg: str = ""
    data: Any = None
    ext_msg: Any = None
    status: int = 200  # HTTP only
    fault: str | None = None
    disconnect: bool = False  # realtime only: cut the connection after this event
    warnings: tuple[str, ...] = ()  # from the rule's effects
    refuse: Refusal | None = None  # controlFailure, for batchControlDevice

    @property
    def answers(self) -> bool:
        """Whether the rule answers instead of the normal handling."""
        return self.fault is not None or self.code is not None


def decide(world: World, req: Incoming) -> Outcome | None:
    """The outcome of the first rule that fires for `req`, its effects applied; None when no
    rule fires. The caller holds the world's lock."""
    rule = world.rules.match(world, req)
    if rule is None:
        return None
    action = rule.action
    warnings = tuple(_apply_effects(world, action, req))
    wait = delay_seconds(action["delay"], world.rule_rng) if "delay" in action else 0.0
    if action.get("fault") == "hang":
        wait += world.settings.hang_seconds
    code = action.get("code")
    if code is None and req.mqtt is None and {"data", "msg", "extMsg"} & action.keys():
        code = 200  # a stub: `data` (or a msg) without a code answers 200 with it
    return Outcome(
        rule=rule.id,
        wait=wait,
        code=code,
        msg=action.get("msg", message_for(code)) if code is not None else "",
        data=action.get("data"),
        ext_msg=action.get("extMsg"),
        status=action.get("status", 200),
        fault=action.get("fault"),
        disconnect=bool(action.get("disconnect")),
        warnings=warnings,
        refuse=_refusal(rule),
    )


def _apply_effects(world: World, action: dict, req: Incoming) -> list[str]:
    """The rule's effects on the world, before the request is handled. Returns warnings."""
    warnings = []
    if action.get("advanceClock"):
        world.clock.advance(parse_duration(action["advanceClock"]))
    if action.get("expireShare") or action.get("expireAcceptWindow"):
        share = world.shares.get(str(req.params.get("shareCode") or ""))
        if share is None:
            warnings.append("rule effect found no share: the request names no known shareCode")
        elif action.get("expireShare") and share.status is not ShareStatus.ENDED:
            share.sharing_expire_at = world.now()
            world.end(share, FailureCause.USAGE_WINDOW_PASSED)
        elif action.get("expireAcceptWindow") and share.status is ShareStatus.PENDING:
            share.accepting_expire_at = world.now()
            world.end(share, FailureCause.ACCEPT_WINDOW_PASSED)
    if action.get("expireInvitation"):
        warnings += _expire_invitation(world, req)
    if action.get("revokeToken"):
        token = world.tokens.get(strip_bearer(req.authorization or ""))
        if token is None:
            warnings.append("rule effect found no token to revoke")
        else:
            token.revoked = True
    return warnings


def _expire_invitation(world: World, req: Incoming) -> list[str]:
    token = world.tokens.get(strip_bearer(req.authorization or ""))
    try:
        families.expire_invitation(world, str(req.params.get("fid") or ""), token.uid if token else "")
    except QuectelError:
        return ["rule effect found no invitation: the caller has none open to the family named by fid"]
    return []
