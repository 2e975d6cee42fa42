"""Scenario files: finding them, and building a world from one.

Building is split in two so that a reset is cheap: `Scenario` turns the file into plain
record templates once (drawing names for `generate:` entries, which is the slow part), and
`Scenario.build()` makes a fresh world from those templates each time.
"""

from __future__ import annotations

import base64
import copy
import gc
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..cloud import shadows, things
from ..cloud.accounts import EMAIL_FORMAT
from ..cloud.models import (
    Device,
    FailureCause,
    Family,
    FamilyDevice,
    FamilyDeviceType,
    Invitation,
    Member,
    Role,
    Room,
    Settings,
    Share,
    ShareStatus,
    Token,
    User,
    UserDomain,
)
from . import scripts
from .clock import Clock
from .names import Names
from .scenario_schema import generated_uid, validate_spec
from .timeparse import parse_duration, parse_instant
from .world import World


def _library_dir() -> Path:
    """The scenario library: scenarios/ beside the package in a checkout (an editable install
    runs from it), the package data the wheel carries (setup.py maps it) once installed."""
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent
    return checkout / "scenarios" if (checkout / "setup.cfg").is_file() else package / "scenarios"


SCENARIO_DIR = _library_dir()
SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_DOMAIN = "C.DM.5903.1"


class ScenarioNotFound(LookupError):
    pass


class ScenarioInvalid(ValueError):
    """A scenario that does not pass the schema; `problems` lists each as `file: path: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


# What a request may name: a plain file name, never a path (no '/', no '..').
PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def resolve(name_or_path: str, dirs: Sequence[Path] = (), paths: bool = True) -> Path:
    """A scenario file: a path (only when `paths`: the command line and trusted files may
    give one, a request may not), or a name looked up in `dirs`, then in the library."""
    if paths and Path(name_or_path).is_file():
        return Path(name_or_path)
    if not paths and (not PLAIN_NAME.match(name_or_path) or ".." in name_or_path):
        raise ScenarioNotFound(
            f"{name_or_path!r} is not a scenario name (letters, digits, '.', '_', '-'; no paths); "
            f"known: {', '.join(library(dirs))}"
        )
    for folder in (*dirs, SCENARIO_DIR):
        for suffix in ("", *SUFFIXES):
            candidate = Path(folder) / (name_or_path + suffix)
            if candidate.suffix in SUFFIXES and candidate.is_file():
                return candidate
    raise ScenarioNotFound(
        f"no scenario file or library scenario named {name_or_path!r}; known: {', '.join(library(dirs))}"
    )


def library(dirs: Sequence[Path] = ()) -> list[str]:
    """Scenario names: the library's and those of `dirs` (--scenario-dir)."""
    names = {p.stem for folder in (*dirs, SCENARIO_DIR) for p in Path(folder).glob("*") if p.suffix in SUFFIXES}
    return sorted(names)


def scan(dirs: Sequence[Path]) -> tuple[dict[str, str], list[str]]:
    """The scenario folders' files checked against the schema (without generating anything):
    {the `name:` each valid file declares: its file name without suffix}, and the problems of
    the invalid ones, each as `folder/file: path: message`."""
    names: dict[str, str] = {}
    problems: list[str] = []
    for folder in dirs:
        for path in sorted(Path(folder).glob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            try:
                own = read_file(path)
                spec = with_base(own, path.name, dirs=dirs)
                found = _renumbered(validate_spec(spec, path.name)[1], _base_lengths(own, spec), own)
            except ScenarioInvalid as exc:
                found = exc.problems
            if found:
                problems += [f"{folder}/{p}" for p in found]
            elif isinstance(spec, dict) and isinstance(spec.get("name"), str):
                names.setdefault(spec["name"], path.stem)
    return names, problems


def read_file(path: Path) -> Any:
    """The parsed file; ScenarioInvalid when it is not readable YAML or JSON."""
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else _yaml(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = path.suffix[1:] or "YAML"
        raise ScenarioInvalid([f"{path.name}: {_where(exc)}not readable as {kind}: {_what(exc)}"]) from None


def _yaml(text: str) -> Any:
    """libyaml's safe loader when there is one (a tenth of the time: the default scenario is
    read before the server answers); a text it refuses is read again by PyYAML's own, whose
    messages say where the problem is, as they always did."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 - the safe loader, in C
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def _where(exc: Exception) -> str:
    """'line L, column C: ' of a parse error (1-based, as editors count), or nothing."""
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno}, column {exc.colno}: "
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else "(file): "


def _what(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.context_mark
        started = f" ({exc.context} at line {mark.line + 1}, column {mark.column + 1})" if exc.context and mark else ""
        return f"{exc.problem}{started}"
    return " ".join(str(exc).split())


def _base_lengths(own: Any, merged: Any) -> dict[str, int]:
    """How many entries of each list the `extends:` base put before the file's own."""
    if not isinstance(own, dict) or "extends" not in own or not isinstance(merged, dict):
        return {}
    return {
        key: len(merged[key]) - len(own[key] if isinstance(own.get(key), list) else [])
        for key in LIST_SECTIONS
        if isinstance(merged.get(key), list)
    }


_ENTRY = re.compile(r"^(?P<file>[^:]*): (?P<section>\w+)\[(?P<index>\d+)\]")


def _renumbered(problems: list[str], offsets: dict[str, int], own: Any) -> list[str]:
    """Problems with list entries numbered in the file that holds them (see Scenario.place)."""

    def fix(match: re.Match) -> str:
        return f"{match['file']}: {_place(match['section'], int(match['index']), offsets, own['extends'])}"

    return [_ENTRY.sub(fix, p, count=1) for p in problems] if offsets else problems


def _place(section: str, index: int, offsets: dict[str, int], base: str) -> str:
    offset = offsets.get(section, 0)
    if index >= offset:
        return f"{section}[{index - offset}]"
    return f"{section}[{index}] (of extends: {base})"


def check_generated(spec: Any, source: str, limit: int) -> None:
    """ScenarioInvalid when the users, devices and shares that `generate:` entries ask for
    exceed `limit`: a world built for a request is built on the one event loop, and a few
    bytes asking for 100,000,000 users held it for 22 s before running out of memory."""
    if not isinstance(spec, dict):
        return
    asked = sum(
        entry["generate"]
        for section in ("users", "devices", "shares")
        if isinstance(entries := spec.get(section), list)
        for entry in entries
        if isinstance(entry, dict) and type(entry.get("generate")) is int and entry["generate"] > 0
    )
    if asked > limit:
        raise ScenarioInvalid([
            f"{source}: generate: asks for {asked:,} users, devices and shares in all; a scenario a request "
            f"sends or names may generate at most {limit:,} (server option --max-generated)"
        ])  # fmt: skip


def _replay_folders(source: str, dirs: Sequence[Path], paths: bool) -> tuple[list[Path], bool]:
    """Where a scenario's replay files are looked up, and whether they must stay inside those
    folders. A file on disk (the operator's) finds them beside itself first; a scenario sent
    in a request has no folder of its own, and may read only the --scenario-dir folders and
    the library, never a path of the host."""
    if paths and Path(source).is_file():
        return [Path(source).resolve().parent, *map(Path, dirs), SCENARIO_DIR], False
    return [*map(Path, dirs), SCENARIO_DIR], True


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


LIST_SECTIONS = ("userDomains", "users", "families", "tokens", "products", "devices", "shares", "rules", "scripts")
MAP_SECTIONS = ("clock", "settings")


def with_base(spec: Any, source: str, seen: tuple[str, ...] = (), dirs: Sequence[Path] = (), paths: bool = True) -> Any:
    """Resolve `extends: NAME`: the base's lists come first, mappings merge, scalars override.
    `paths` is False for a spec that came in a request: its `extends` must then be a name."""
    if not isinstance(spec, dict) or "extends" not in spec:
        return spec
    base_name = spec["extends"]
    if not isinstance(base_name, str):
        raise ScenarioInvalid([f"{source}: extends: must be a scenario name or path"])
    if base_name in seen:
        raise ScenarioInvalid([f"{source}: extends: {base_name} extends itself"])
    try:
        path = resolve(base_name, dirs, paths)
    except ScenarioNotFound as exc:
        raise ScenarioInvalid([f"{source}: extends: {exc}"]) from None
    base = with_base(read_file(path) or {}, path.name, (*seen, base_name), dirs)
    merged = {k: v for k, v in base.items() if k not in ("name", "description")}
    for key, value in spec.items():
        if key == "extends":
            continue
        if key in LIST_SECTIONS and isinstance(value, list) and isinstance(base.get(key), list):
            merged[key] = base[key] + value
        elif key in MAP_SECTIONS and isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


def _entries(spec: dict, section: str) -> list[tuple[int, dict]]:
    """(index, entry) of a section's mappings; anything else is the schema's to refuse."""
    entries = spec.get(section)
    return [(i, e) for i, e in enumerate(entries) if isinstance(e, dict)] if isinstance(entries, list) else []


def spec_warnings(spec: Any, source: str, place: Callable[[str, int], str]) -> list[str]:
    """What is valid but likely a mistake in a scenario's data, each as `file: path: message`.
    Tolerant of a spec the schema refuses, so that a file with errors still shows these."""
    if not isinstance(spec, dict):
        return []
    domains = spec.get("userDomains") or [{"domain": DEFAULT_DOMAIN}]
    declared = {d["domain"] for d in domains if isinstance(d, dict) and isinstance(d.get("domain"), str)}
    users = _entries(spec, "users")
    found = [
        f"{source}: {place('users', i)}.userDomain: {entry['userDomain']} is not one of the world's "
        f"userDomains ({', '.join(sorted(declared))}): this user cannot sign in (5015)"
        for i, entry in users
        if isinstance(entry.get("userDomain"), str) and entry["userDomain"] not in declared
    ]
    found += [
        f"{source}: {place('users', i)}.email: {entry['email']!r} is not an e-mail address: "
        "emailPwdLogin refuses it (5040), so this user cannot sign in by e-mail"
        for i, entry in users
        if isinstance(entry.get("email"), str) and not EMAIL_FORMAT.match(entry["email"])
    ]
    known = {str(e["uid"]) for _, e in users if "uid" in e} | _generated(spec, users)
    found += [
        f"{source}: {place('rules', i)}.match.uid: {match['uid']} is not a user of this scenario "
        f"({', '.join(sorted(known)[:5]) or 'none'}{', ...' if len(known) > 5 else ''}): the rule never fires"
        for i, rule in _entries(spec, "rules")
        if isinstance(match := rule.get("match"), dict) and "uid" in match and str(match["uid"]) not in known
    ]
    return found


def _generated(spec: dict, users: list[tuple[int, dict]]) -> set[str]:
    given = spec.get("settings")
    settings = given if isinstance(given, dict) else {}
    region = settings.get("region", "C")
    total = sum(e["generate"] for _, e in users if isinstance(e.get("generate"), int))
    return {generated_uid(str(region), n) for n in range(1, min(total, 100_000) + 1)}


def invalid_file_warnings(path: Path, dirs: Sequence[Path] = ()) -> list[str]:
    """spec_warnings of a scenario file the schema refuses (none when it is not even readable)."""
    try:
        own = read_file(path)
    except ScenarioInvalid:
        return []
    try:
        merged = with_base(own, path.name, dirs=dirs)
    except ScenarioInvalid:
        merged = own
    offsets = _base_lengths(own, merged)
    base = str(own.get("extends", "")) if offsets else ""
    return spec_warnings(merged, path.name, lambda section, i: _place(section, i, offsets, base))


@dataclass
class Scenario:
    spec: dict
    source: str = "<inline>"
    seed: int = 0
    users: list[dict] = field(default_factory=list)
    devices: list[dict] = field(default_factory=list)
    named_users: list[dict] = field(default_factory=list)  # written out, not generated
    generated_uids: list[str] = field(default_factory=list)
    # How it was loaded, so that a reset can read an edited file again (`reloaded`).
    loaded: tuple[int | None, tuple[Path, ...], int | None] | None = None
    mtime_ns: int = 0
    offsets: dict[str, int] = field(default_factory=dict)  # entries an `extends:` base put first
    spec_base: str = ""
    products: dict[str, things.Product] = field(default_factory=dict)  # parsed once, shared by worlds
    scripts: list[scripts.Script] = field(default_factory=list)  # compiled once, armed in every world
    # The values of written-out device entries checked against their thing model, by id(entry):
    # checked at the first build, copied into every world (a third of a small world's build).
    stated: dict[int, dict] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.spec.get("name") or Path(self.source).stem

    @property
    def domains(self) -> list[dict]:
        """The declared user domains; the first is every user's default."""
        return self.spec.get("userDomains") or [{"domain": DEFAULT_DOMAIN}]

    @property
    def warnings(self) -> list[str]:
        """What is valid but likely a mistake, each as `file: path: message`."""
        return spec_warnings(self.spec, Path(self.source).name, self.place)

    def place(self, section: str, index: int) -> str:
        """`section[i]` numbered in the file the entry is written in: an `extends:` base's
        entries come first in the merged list, so the user's own file counts from 0 after them."""
        return _place(section, index, self.offsets, self.spec_base)

    @property
    def description(self) -> str:
        return self.spec.get("description", "")

    @classmethod
    def load(
        cls,
        name_or_path: str,
        seed: int | None = None,
        dirs: Sequence[Path] = (),
        paths: bool = True,
        max_generated: int | None = None,
    ) -> Scenario:
        """A library scenario or a file; ScenarioNotFound or ScenarioInvalid otherwise.
        `paths=False` (a name from a request) looks only in `dirs` and the library;
        `max_generated` bounds what its `generate:` entries make (see check_generated)."""
        path = resolve(name_or_path, dirs, paths)
        mtime_ns = _mtime_ns(path)
        scenario = cls.from_spec(read_file(path), str(path), seed, dirs, max_generated=max_generated)
        scenario.loaded, scenario.mtime_ns = (seed, tuple(dirs), max_generated), mtime_ns
        return scenario

    def reloaded(self) -> Scenario:
        """This scenario, read again from its file if the file changed since (ScenarioInvalid
        when the edit broke it); itself when it did not change or has no file."""
        if self.loaded is None or _mtime_ns(Path(self.source)) == self.mtime_ns:
            return self
        seed, dirs, max_generated = self.loaded
        return Scenario.load(self.source, seed, dirs, max_generated=max_generated)

    @classmethod
    def from_spec(
        cls,
        spec: Any,
        source: str = "<inline>",
        seed: int | None = None,
        dirs: Sequence[Path] = (),
        paths: bool = True,
        max_generated: int | None = None,
    ) -> Scenario:
        own = spec
        merged = with_base(spec, Path(source).name, dirs=dirs, paths=paths)
        if max_generated is not None:
            check_generated(merged, Path(source).name, max_generated)
        offsets = _base_lengths(own, merged)
        spec, problems = validate_spec(merged, Path(source).name)
        if problems:
            raise ScenarioInvalid(_renumbered(problems, offsets, own))
        scenario = cls(spec=spec, source=source, seed=spec.get("seed", 0) if seed is None else seed)
        scenario.offsets, scenario.spec_base = offsets, str(own.get("extends", "")) if offsets else ""
        scenario._expand()
        try:
            folders, confined = _replay_folders(source, dirs, paths)
            scenario.scripts = scripts.compile_scripts(spec.get("scripts", []), scenario.products, folders, confined)
        except scripts.ScriptInvalid as invalid:
            raise ScenarioInvalid([f"{Path(source).name}: {p}: {m}" for p, m in invalid.problems]) from None
        return scenario

    def _expand(self) -> None:
        for entry in self.spec.get("products", []):
            self.products[entry["pk"]] = things.Product.from_tsl(
                entry["pk"],
                entry.get("name", ""),
                entry["tsl"],
                binding_mode=entry.get("bindingMode", 1),
                logo=entry.get("logo", ""),
                write_delay_ms=parse_duration(entry["writeDelay"]) if "writeDelay" in entry else -1,
            )
        fake = _Generator(self.seed, self.spec.get("settings", {}).get("region", "C"))
        for entry in self.spec.get("users", []):
            if "generate" in entry:
                made = fake.users(entry)
                self.generated_uids += [u["uid"] for u in made]
                self.users += made
            else:
                self.users.append(entry)
                self.named_users.append(entry)
        names = {pk: product.name for pk, product in self.products.items()}
        for entry in self.spec.get("devices", []):
            made = fake.devices(entry, self.generated_uids, names) if "generate" in entry else [entry]
            self.devices += made

    # ---- building a world -----------------------------------------------------------------

    def build(self) -> World:
        """A fresh world. The cyclic garbage collector is paused meanwhile: a world is
        millions of small objects and no cycles, and collections would double the time."""
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._build()
        finally:
            if paused:
                gc.enable()

    def _build(self) -> World:
        clock_spec = self.spec.get("clock", {})
        start = clock_spec.get("start")
        clock = Clock(
            None if start is None else parse_instant(start, 0),
            frozen=bool(clock_spec.get("frozen", False)),
        )
        world = World(_settings(self.spec.get("settings", {})), clock, self.seed)
        world.scenario = self
        world.products.update(self.products)
        t0 = world.started_at
        for entry in self.domains:
            world.add_domain(UserDomain(entry["domain"], entry.get("secret"), bool(entry.get("disabled"))))
        default_domain = self.domains[0]["domain"]
        for entry in self.users:
            self._add_user(world, entry, t0, default_domain)
        for entry in self.spec.get("tokens", []):  # after users: a listed token replaces theirs
            expires = entry.get("expiresAt")
            at = None if expires is None else parse_instant(expires, t0)
            world.add_token(Token(entry["token"], entry["uid"], "access", at))
        for entry in self.devices:
            world.add_device(_device(world, entry, t0))
        for i, entry in enumerate(self.spec.get("families", []), start=1):
            world.add_family(family_from_spec(world, entry, t0, i))
        for entry in self.spec.get("shares", []):
            if "generate" in entry:
                _generate_shares(world, entry, t0, self.generated_uids)
            else:
                world.add_share(_share(world, entry, t0))
        for entry in self.spec.get("rules", []):
            world.rules.add(copy.deepcopy(entry))  # the world's own: worlds share nothing a test can change
        if scripts.arm(world):
            world.run_due(world.now())  # what the scripts do at the very start
        return world

    @staticmethod
    def _add_user(world: World, entry: dict, t0: int, default_domain: str) -> None:
        user = User(
            uid=entry["uid"],
            user_domain=entry.get("userDomain", default_domain),
            password=entry.get("password", "password1"),
            email=entry.get("email"),
            phone=None if entry.get("phone") is None else str(entry["phone"]),
            international_code=str(entry.get("internationalCode", "86")),
            nickname=entry.get("nickname", ""),
            register_time=parse_instant(entry.get("registered", "-30d"), t0),
            home_mode=bool(entry.get("homeMode", False)),
            auto_switch=bool(entry.get("autoSwitch", False)),
        )
        world.add_user(user)
        if entry.get("token"):
            expires = entry.get("tokenExpiresAt")
            world.add_token(
                Token(
                    entry["token"],
                    user.uid,
                    "access",
                    None if expires is None else parse_instant(expires, t0),
                )
            )


def _at(value: str | int | None, t0: int) -> int:
    return t0 if value is None else parse_instant(value, t0)


def family_from_spec(world: World, entry: dict, t0: int, n: int = 0) -> Family:
    """A family of the scenario: the creator is `owner` (or the member with role 1); rooms in
    the order listed; devices owned by a member, placed by their owner."""
    fid = str(entry.get("fid", f"F{n}"))
    members = list(entry.get("members", []))
    creator = entry.get("owner") or next(m["uid"] for m in members if m.get("role") == Role.CREATOR)
    family = Family(
        fid,
        entry.get("name", fid),
        creator,
        location=entry.get("location", ""),
        coordinates=entry.get("coordinates", ""),
        add_time=_at(entry.get("created"), t0),
    )

    def nickname(uid: str) -> str:
        user = world.users.get(uid)
        return (user.nickname if user else "") or uid

    for member in [{"uid": creator, "role": Role.CREATOR}, *members]:
        uid = member["uid"]
        if uid in family.members:
            continue
        role = Role.CREATOR if uid == creator else member.get("role", Role.REGULAR)
        joined = _at(member.get("joined"), t0)
        family.members[uid] = Member(uid, int(role), member.get("name") or nickname(uid), joined)
    for j, room in enumerate(entry.get("rooms", [])):
        family.rooms.append(Room(str(room.get("frid") or f"{fid}-R{j + 1}"), room["name"], j, family.add_time))
    by_name = {r.name: r.frid for r in family.rooms} | {r.frid: r.frid for r in family.rooms}
    for item in entry.get("devices", []):
        device = world.devices[(item["pk"], item["dk"])]
        held = FamilyDevice(device.pk, device.dk, device.owner_uid or creator, FamilyDeviceType.FAMILY, family.add_time)
        held.frid = by_name.get(item.get("room", ""))
        held.room_time = family.add_time
        held.common = bool(item.get("commonUsed", False))
        family.devices.append(held)
    for item in entry.get("invitations", []):
        uid = item["uid"]
        family.invitations.append(
            Invitation(
                uid,
                int(item.get("role", Role.REGULAR)),
                item.get("name") or nickname(uid),
                _at(item.get("invited"), t0),
                parse_instant(item["expiresAt"], t0),
            )
        )
    return family


def _settings(spec: dict) -> Settings:
    if "writeDelay" in spec:
        spec = {**spec, "writeDelayMs": parse_duration(spec["writeDelay"])}
        del spec["writeDelay"]
    return Settings.from_spec(spec)


def _device(world: World, entry: dict, t0: int) -> Device:
    product = world.products.get(entry["pk"])
    device = Device(
        pk=entry["pk"],
        dk=entry["dk"],
        name=entry.get("name", entry["dk"]),
        owner_uid=entry.get("owner"),
        verified=bool(entry.get("verified", True)),
        online=bool(entry.get("online", False)),
        # The product's own name when the world has the product: one product, one name.
        product_name=product.name if product and product.name else entry.get("productName", "Smart device"),
        sn=entry.get("sn", ""),
        binding_code=entry.get("bindingCode", ""),
        auth_key=entry.get("authKey", ""),
        device_tag=entry.get("deviceTag", ""),
        create_time=parse_instant(entry.get("created", "-60d"), t0),
        bind_time=parse_instant(entry.get("bound", "-30d"), t0),
        signal_strength=str(entry.get("signalStrength", "88")),
    )
    if "values" in entry or "deviceData" in entry or "location" in entry:
        # Stated values replace the generated ones: a device reports exactly what its entry says.
        location = entry.get("location")
        device.shadow = state = shadows.DeviceState(device_data=entry.get("deviceData"), location=location)
        state.located_at = device.bind_time if location else None
        if location:
            state.locations.append((device.bind_time, dict(location)))
        if product is not None and entry.get("values"):
            rng = random.Random(f"{world.seed}/{device.pk}/{device.dk}")
            last = shadows.last_report_time(device, t0, rng)
            _store_stated(state, _checked(world.scenario, product, entry), entry, last, t0)
    return device


def _checked(scenario: Scenario | None, product: things.Product, entry: dict) -> dict:
    """A device entry's values checked against its product's thing model: once per scenario
    (the check is a pure function of both), each world getting a copy of its own."""
    if scenario is None:
        return things.check_values(product, entry["values"])
    checked = scenario.stated.get(id(entry))
    if checked is None:
        checked = scenario.stated[id(entry)] = things.check_values(product, entry["values"])
    return _plain_copy(checked)


def _plain_copy(value: Any) -> Any:
    """A copy of checked values: their objects (STRUCT) and lists (ARRAY) anew, the rest as is."""
    if isinstance(value, dict):
        return {key: _plain_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_copy(item) for item in value]
    return value


def _store_stated(state: shadows.DeviceState, values: dict, entry: dict, last: int, t0: int) -> None:
    """Stated values, each at its `reportedAt` time, oldest first; by default at `last`, when
    the device last reported (a moment before the world began when it is online)."""
    times = {code: parse_instant(at, t0) for code, at in (entry.get("reportedAt") or {}).items()}
    by_time: dict[int, dict] = {}
    for code, value in values.items():
        by_time.setdefault(times.get(code, last), {})[code] = value
    for at in sorted(by_time):
        shadows.store_reported(state, by_time[at], at)


def _share(world: World, entry: dict, t0: int) -> Share:
    pk, dk = entry["device"]["pk"], entry["device"]["dk"]
    state = entry.get("state", "pending")
    status = {"pending": ShareStatus.PENDING, "active": ShareStatus.ACTIVE, "ended": ShareStatus.ENDED}[state]
    at = {key: parse_instant(entry[key], t0) for key in ("acceptingExpireAt", "sharingExpireAt") if key in entry}
    owner = entry.get("owner") or world.devices[(pk, dk)].owner_uid
    if owner is None:  # validation refuses such a share: a share always has an owner
        raise ValueError(f"a share of {pk}/{dk}: the device is bound to nobody and the share names no owner")
    share = Share(
        share_id=world.next_share_id(),
        code=entry.get("code") or world.new_share_code(),
        owner_uid=owner,
        pk=pk,
        dk=dk,
        cover_mark=int(entry.get("coverMark", 1)),
        share_time=parse_instant(entry.get("shareTime", "-1h"), t0),
        accepting_expire_at=at.get("acceptingExpireAt"),
        sharing_expire_at=at.get("sharingExpireAt"),
        recipient_uid=entry.get("recipient"),
        device_name=entry.get("deviceName"),
        status=status,
    )
    if status is not ShareStatus.PENDING:
        share.accept_time = parse_instant(entry.get("acceptTime", "-30m"), t0)
    if status is ShareStatus.ENDED:
        share.failure_cause = FailureCause(int(entry.get("failureCause", FailureCause.CANCELLED_BY_OWNER)))
        share.delete_time = parse_instant(entry.get("deleteTime", "-1m"), t0)
    share.update_time = share.delete_time or share.accept_time or share.share_time
    return share


def _generate_shares(world: World, entry: dict, t0: int, recipients: list[str]) -> None:
    """`generate: N` shares: random owned devices, random generated recipients, and a mix of
    states (60 % active, 30 % pending, 10 % ended) unless `state` names one. Made at build
    time from the world's seed rather than kept as templates, so a large world costs its
    shares once, not twice."""
    rng = random.Random(world.seed + 1)
    devices = [(d, d.owner_uid) for d in world.devices.values() if d.owner_uid]
    if not devices or not recipients:
        return
    fixed = entry.get("state")
    for _ in range(int(entry["generate"])):
        device, owner = devices[rng.randrange(len(devices))]
        recipient = recipients[rng.randrange(len(recipients))]
        roll = rng.random()
        state = fixed or ("active" if roll < 0.6 else "pending" if roll < 0.9 else "ended")
        if recipient == owner:
            state = "pending"
        share = Share(
            share_id=world.next_share_id(),
            code=world.new_share_code(),
            owner_uid=owner,
            pk=device.pk,
            dk=device.dk,
            cover_mark=int(entry.get("coverMark", 2)),
            share_time=t0 - 3_600_000,
            accepting_expire_at=t0 + 30 * 86_400_000,
            update_time=t0 - 3_600_000,
        )
        if state != "pending":
            share.recipient_uid, share.accept_time = recipient, t0 - 1_800_000
            share.status = ShareStatus.ACTIVE
        if state == "ended":
            share.status, share.failure_cause, share.delete_time = ShareStatus.ENDED, FailureCause.LEFT_BY_RECIPIENT, t0
        world.add_share(share)


# What a product is, from a word of its name, as people name such a device ("Emma's lamp").
KINDS_BY_WORD = {
    "lamp": "lamp", "light": "light", "bulb": "bulb", "plug": "plug", "socket": "plug", "switch": "switch",
    "sensor": "sensor", "thermostat": "thermostat", "camera": "camera", "lock": "lock", "purifier": "purifier",
    "station": "power station", "battery": "battery", "charger": "charger", "meter": "meter", "heater": "heater",
}  # fmt: skip


def _kind_of(product_name: str) -> str:
    """The kind of device a product is, from its name ("Smart Plug with metering": plug)."""
    words = re.findall(r"[a-z]+", product_name.lower())
    found = [KINDS_BY_WORD[w] for w in words if w in KINDS_BY_WORD]
    return found[-1] if found else product_name


class _Generator:
    """Users and devices with Faker's en_US names (names.py), reproducible from the scenario's seed."""

    PRODUCT_KEYS = ("p11u5w", "p11u6t", "p11u7a", "p11u8k")
    KINDS = ("Lamp", "Plug", "Sensor", "Camera", "Thermostat", "Lock")

    def __init__(self, seed: int, region: str) -> None:
        self.seed = seed
        self.region = region
        self.rng = random.Random(seed)
        self._names: Names | None = None
        self.user_count = 0
        self.device_count = 0

    @property
    def names(self) -> Names:
        if self._names is None:
            self._names = Names(self.seed)
        return self._names

    def users(self, entry: dict) -> list[dict]:
        out = []
        for _ in range(int(entry["generate"])):
            self.user_count += 1
            n = self.user_count
            first, last = self.names.first_name(), self.names.last_name()
            uid = generated_uid(self.region, n)
            out.append(
                {
                    "uid": uid,
                    "nickname": f"{first} {last}",
                    "email": f"{first}.{last}.{n}@example.com".lower(),
                    "phone": f"139{n:08d}",
                    "password": entry.get("password", "password1"),
                    **({"userDomain": entry["userDomain"]} if "userDomain" in entry else {}),
                    "token": f"token-{uid}",
                }
            )
        return out

    def devices(self, entry: dict, owners: list[str], products: dict[str, str]) -> list[dict]:
        """`generate: N` devices of the scenario's products (`products`: pk to name), each
        named after what it is ("Emma's lamp" is a lamp)."""
        out = []
        keys = sorted(products) or list(self.PRODUCT_KEYS)
        for _ in range(int(entry["generate"])):
            self.device_count += 1
            pk = entry.get("pk") or self.rng.choice(keys)
            kind = products.get(pk) and _kind_of(products[pk]) or self.rng.choice(self.KINDS)
            out.append(
                {
                    "pk": pk,
                    "dk": "%012X" % self.rng.getrandbits(48),
                    "name": f"{self.names.first_name()}'s {kind.lower()}",
                    "owner": entry["owner"] if "owner" in entry else self.rng.choice(owners) if owners else None,
                    "verified": entry.get("verified", True),
                    "online": entry.get("online", self.rng.random() < 0.5),
                    "productName": products.get(pk) or f"Smart {kind}",
                    "sn": "SN%010d" % self.rng.getrandbits(32),
                    "authKey": base64.b64encode(self.rng.getrandbits(128).to_bytes(16, "big")).decode(),
                    "deviceTag": "%032x" % self.rng.getrandbits(128),
                }
            )
        return out
