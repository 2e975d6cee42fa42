"""Thing models (TSL): what a product's properties, events and services are, which values
they accept, and how values are written on the wire. Each device's values are its shadow
(shadows.py).

A product's TSL is kept in the shape productTSL answers (`profile`, `properties`, and
`services` / `events` when it has them), and parsed once into `Feature`s for checks.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

DATA_TYPES = ("BOOL", "INT", "FLOAT", "DOUBLE", "ENUM", "TEXT", "DATE", "STRUCT", "ARRAY")
NUMBERS = ("INT", "FLOAT", "DOUBLE")
MEMBER_TYPES = ("BOOL", "INT", "FLOAT", "DOUBLE", "ENUM", "TEXT", "DATE")
ELEMENT_TYPES = ("INT", "FLOAT", "DOUBLE", "TEXT", "STRUCT")
SUB_TYPES = {"PROPERTY": ("R", "W", "RW"), "EVENT": ("INFO", "WARN", "ERROR"), "SERVICE": ("ASYNC", "SYNC")}
TEXT_MAX = 10240
ARRAY_MAX = 100
INT32 = (-(2**31), 2**31 - 1)


class ValueProblem(ValueError):
    """A value a property does not accept; the message says why, for people."""


@dataclass
class Feature:
    """One TSL property, event or service (or a STRUCT member, or an ARRAY element)."""

    id: int
    code: str
    name: str
    type: str  # PROPERTY, EVENT, SERVICE; "" for members and elements
    data_type: str
    sub_type: str = "RW"
    sort: int = 0
    specs: Any = None
    members: dict[str, Feature] = field(default_factory=dict)
    members_by_id: dict[int, Feature] = field(default_factory=dict)
    element: Feature | None = None
    inputs: list[Feature] = field(default_factory=list)  # a service's parameters
    outputs: list[Feature] = field(default_factory=list)  # an event's data
    typical: tuple[float, float] | None = field(default=None, repr=False, compare=False)  # plausible.sample's range

    @property
    def readable(self) -> bool:
        return "R" in self.sub_type

    @property
    def writable(self) -> bool:
        return "W" in self.sub_type

    # ---- specs ---------------------------------------------------------------------------

    def bound(self, name: str) -> float | None:
        """A number spec (min, max, step) as a number, None when absent or blank."""
        text = (self.specs or {}).get(name) if isinstance(self.specs, dict) else None
        if text in (None, ""):
            return None
        return float(text)

    def enum_values(self) -> list[int]:
        return [int(item["value"]) for item in self.specs or []]

    # ---- values --------------------------------------------------------------------------

    def check(self, value: Any) -> Any:
        """The native value for `value` (as JSON or YAML gives it), or ValueProblem."""
        checker = _CHECKS[self.data_type]
        return checker(self, value)

    def resource_value(self, value: Any) -> str:
        """`value` as getDeviceBusinessAttributes writes it: text, STRUCT leaves as text."""
        if self.data_type == "STRUCT":
            members = self.members
            return _json({code: members[code].resource_value(v) for code, v in value.items() if code in members})
        if self.data_type == "ARRAY":
            return _json([self.element.resource_value(v) if self.element else str(v) for v in value])
        return text_of(value)


def _json(value: Any) -> str:
    """Compact JSON text, non-ASCII as it is. Only text reaches here (resource_value's leaves),
    which orjson writes exactly as json.dumps does, in a tenth of the time; what it refuses
    (a lone surrogate) json writes."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def text_of(value: Any) -> str:
    """A leaf value as text: `true`/`false`, integers as digits, decimals without exponent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value)) if abs(value) < 1e15 else format(Decimal(repr(value)), "f")
        return format(Decimal(repr(value)), "f")
    return str(value)


def decimal_places(number: Decimal) -> int:
    """Digits after the point once trailing zeros go (0 for a whole number)."""
    exponent = number.normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # "n", "N" or "F": a NaN or an infinity has no digits to count
        raise ValueError(f"{number} is not a finite number")
    return max(0, -exponent)


def round_to(value: float, step: float) -> float:
    return round(round(value / step) * step, decimal_places(Decimal(repr(step))))


# ---- checks, one per data type ---------------------------------------------------------------


def _check_bool(feature: Feature, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) and not isinstance(value, float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueProblem(f"{feature.code}: {value!r} is not true or false")


def _number(feature: Feature, value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueProblem(f"{feature.code}: {value!r} is not a number")
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise ValueProblem(f"{feature.code}: {value!r} is not a number") from None
    if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueProblem(f"{feature.code}: {value!r} is not a number")
    return value


def _in_range(feature: Feature, value: float) -> None:
    low, high = feature.bound("min"), feature.bound("max")
    if low is not None and value < low:
        raise ValueProblem(f"{feature.code}: {text_of(value)} is below min {text_of(low)}")
    if high is not None and value > high:
        raise ValueProblem(f"{feature.code}: {text_of(value)} is above max {text_of(high)}")


def _check_int(feature: Feature, value: Any) -> int:
    number = _number(feature, value)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueProblem(f"{feature.code}: {value!r} is not an integer")
        number = int(number)
    if not INT32[0] <= number <= INT32[1]:
        raise ValueProblem(f"{feature.code}: {number} is outside 32 bits")
    _in_range(feature, number)
    return number


def _check_decimal(feature: Feature, value: Any) -> float:
    number = float(_number(feature, value))
    _in_range(feature, number)
    return number


def _check_enum(feature: Feature, value: Any) -> int:
    number = _number(feature, value)
    allowed = feature.enum_values()
    if number not in allowed:
        raise ValueProblem(f"{feature.code}: {value!r} is not one of {', '.join(map(str, allowed))}")
    return int(number)


def _check_text(feature: Feature, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"{feature.code}: {value!r} is not text")
    limit = int((feature.specs or {}).get("length") or TEXT_MAX)
    if len(value.encode("utf-8")) > min(limit, TEXT_MAX):
        raise ValueProblem(f"{feature.code}: text longer than {min(limit, TEXT_MAX)} bytes")
    return value


def _check_date(feature: Feature, value: Any) -> int:
    number = _number(feature, value)
    if isinstance(number, float) or number < 0:
        raise ValueProblem(f"{feature.code}: {value!r} is not epoch milliseconds")
    return number


def _check_struct(feature: Feature, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueProblem(f"{feature.code}: {value!r} is not an object of {', '.join(feature.members)}")
    unknown = [k for k in value if k not in feature.members]
    if unknown:
        raise ValueProblem(f"{feature.code}: unknown member {unknown[0]}")
    missing = [k for k in feature.members if k not in value]
    if missing:
        raise ValueProblem(f"{feature.code}: member {missing[0]} is missing")
    return {code: feature.members[code].check(v) for code, v in value.items()}


def _check_array(feature: Feature, value: Any) -> list:
    if not isinstance(value, list) or not value:
        raise ValueProblem(f"{feature.code}: {value!r} is not a non-empty list")
    size = int((feature.specs or {}).get("size") or ARRAY_MAX)
    if len(value) > min(size, ARRAY_MAX):
        raise ValueProblem(f"{feature.code}: more than {min(size, ARRAY_MAX)} elements")
    return [feature.element.check(v) for v in value] if feature.element else list(value)


_CHECKS = {
    "BOOL": _check_bool,
    "INT": _check_int,
    "FLOAT": _check_decimal,
    "DOUBLE": _check_decimal,
    "ENUM": _check_enum,
    "TEXT": _check_text,
    "DATE": _check_date,
    "STRUCT": _check_struct,
    "ARRAY": _check_array,
}


# ---- products --------------------------------------------------------------------------------


@dataclass
class Product:
    pk: str
    name: str
    tsl: dict  # as productTSL answers it
    binding_mode: int = 1  # 1 multi-user, 2 owner, 3 rotation
    logo: str = ""
    write_delay_ms: int = -1  # -1: the world's setting
    properties: dict[str, Feature] = field(default_factory=dict)
    by_id: dict[int, Feature] = field(default_factory=dict)
    services: dict[str, Feature] = field(default_factory=dict)
    events: dict[str, Feature] = field(default_factory=dict)

    @classmethod
    def from_tsl(cls, pk: str, name: str, tsl: dict, **options: Any) -> Product:
        """A product from a TSL in the live shape; `tsl_problems` must have found nothing."""
        full = complete_tsl(pk, tsl)
        product = cls(pk, name, full, **options)
        for item in full["properties"]:
            product._add(product.properties, _feature(item))
        for key, target in (("services", product.services), ("events", product.events)):
            for item in full.get(key, []):
                product._add(target, _feature(item, product.by_id))
        return product

    def _add(self, index: dict[str, Feature], feature: Feature) -> None:
        index[feature.code] = feature
        self.by_id[feature.id] = feature

    def ordered_properties(self) -> list[Feature]:
        return sorted(self.properties.values(), key=lambda f: (f.sort, f.id))



def complete_tsl(pk: str, tsl: dict) -> dict:
    """The TSL as productTSL answers it: a profile, and every property's optional fields."""
    profile = {"tslVersion": "1.2.0", "productKey": pk, "version": "20250101090000000", **tsl.get("profile", {})}
    out = {"profile": profile, "properties": [_complete(p, "PROPERTY", i) for i, p in enumerate(tsl["properties"])]}
    for key, kind in (("events", "EVENT"), ("services", "SERVICE")):
        if tsl.get(key):
            out[key] = [_complete(item, kind, i) for i, item in enumerate(tsl[key])]
    return out


def _complete(item: dict, kind: str, index: int) -> dict:
    default_sub = {"PROPERTY": "RW", "EVENT": "INFO", "SERVICE": "ASYNC"}[kind]
    done = {"id": item["id"], "code": item["code"], "name": item.get("name", item["code"]), "type": kind}
    if kind == "PROPERTY":
        done["dataType"] = item["dataType"]
    done.update(subType=item.get("subType", default_sub), sort=item.get("sort", index), desc=item.get("desc", ""))
    if kind == "PROPERTY":
        done["specs"] = _complete_specs(item["dataType"], item.get("specs"))
    for key in ("inputData", "outputData"):
        if key in item:
            done[key] = item[key]
    if kind == "EVENT":
        done.setdefault("outputData", [])
    if kind == "SERVICE":
        done.setdefault("inputData", [])
        done.setdefault("outputData", [])
    return done


def _complete_specs(data_type: str, specs: Any) -> Any:
    if data_type in NUMBERS:
        given = {k: text_of(v) for k, v in (specs or {}).items()}
        return {"min": "", "max": "", "step": "", "unit": "", "multiple": "", **given}
    if data_type in ("BOOL", "ENUM"):
        return [
            {"dataType": data_type, "name": s.get("name", text_of(s["value"])), "value": text_of(s["value"])}
            for s in specs
        ]
    if data_type == "STRUCT":
        return [
            {"id": m["id"], "code": m["code"], "name": m.get("name", m["code"]), "dataType": m["dataType"],
             "specs": _complete_specs(m["dataType"], m.get("specs"))}
            for m in specs
        ]  # fmt: skip
    if data_type == "ARRAY":
        inner = specs["dataType"]
        return {"size": text_of(specs.get("size", ARRAY_MAX)), "dataType": inner,
                "specs": _complete_specs(inner, specs.get("specs"))}  # fmt: skip
    if data_type == "TEXT":
        return {"length": text_of((specs or {}).get("length", TEXT_MAX))}
    return specs or {}


def _feature(item: dict, by_id: dict[int, Feature] | None = None) -> Feature:
    kind = item.get("type", "")
    feature = Feature(
        id=int(item["id"]),
        code=item["code"],
        name=item.get("name", item["code"]),
        type=kind,
        data_type=item.get("dataType", ""),
        sub_type=item.get("subType", ""),
        sort=int(item.get("sort", 0)),
        specs=item.get("specs"),
    )
    if feature.data_type == "STRUCT":
        for member in item["specs"]:
            child = _feature(member)
            feature.members[child.code] = child
            feature.members_by_id[child.id] = child
    elif feature.data_type == "ARRAY":
        spec = item["specs"]
        element = {"id": 0, "code": feature.code, "dataType": spec["dataType"], "specs": spec.get("specs")}
        feature.element = _feature(element)
    if by_id is not None:
        feature.inputs = _parameters(item.get("inputData", []), by_id)
        feature.outputs = _parameters(item.get("outputData", []), by_id)
    return feature


def _parameters(items: list, by_id: dict[int, Feature]) -> list[Feature]:
    """A service's or event's parameters: references to properties, or inline members."""
    out = []
    for item in items:
        ref = item.get("$ref") if isinstance(item, dict) else None
        if ref:
            target = by_id.get(int(str(ref).rsplit("/", 1)[-1]))
            if target is not None:
                out.append(target)
        elif isinstance(item, dict):
            out.append(_feature(item))
    return out


def tsl_problems(tsl: Any) -> list[tuple[str, str]]:
    """What is wrong with a TSL, as (path, message) pairs; empty when it can be used."""
    if not isinstance(tsl, dict):
        return [("", "must be a mapping with properties")]
    problems: list[tuple[str, str]] = []
    properties = tsl.get("properties")
    if not isinstance(properties, list):
        return [("properties", "must be a list")]
    ids: dict[int, str] = {}
    codes: set[str] = set()
    sections = [("properties", "PROPERTY", properties)]
    sections += [(key, kind, tsl.get(key) or []) for key, kind in (("events", "EVENT"), ("services", "SERVICE"))]
    for key, kind, items in sections:
        if not isinstance(items, list):
            problems.append((key, "must be a list"))
            continue
        for i, item in enumerate(items):
            problems += [(f"{key}[{i}]{p}", m) for p, m in _item_problems(item, kind, ids, codes)]
    return problems


def _item_problems(item: Any, kind: str, ids: dict[int, str], codes: set[str]) -> list[tuple[str, str]]:
    if not isinstance(item, dict):
        return [("", "must be a mapping")]
    problems = []
    fid, code = item.get("id"), item.get("code")
    if not isinstance(fid, int) or isinstance(fid, bool) or fid < 1:
        problems.append((".id", "must be a positive integer"))
    elif fid in ids:
        problems.append((".id", f"duplicate id {fid} (also {ids[fid]})"))
    else:
        ids[fid] = str(code)
    if not isinstance(code, str) or not code:
        problems.append((".code", "is required"))
    elif code in codes:
        problems.append((".code", f"duplicate code {code}"))
    else:
        codes.add(code)
    if "subType" in item and item["subType"] not in SUB_TYPES[kind]:
        problems.append((".subType", "must be one of: " + ", ".join(SUB_TYPES[kind])))
    if kind == "PROPERTY":
        problems += _type_problems(item, DATA_TYPES)
    return problems


def _type_problems(item: dict, allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    data_type, specs = item.get("dataType"), item.get("specs")
    if data_type not in allowed:
        return [(".dataType", "must be one of: " + ", ".join(allowed))]
    if data_type in NUMBERS:
        return _number_spec_problems(specs)
    if data_type in ("BOOL", "ENUM"):
        if not isinstance(specs, list) or not specs or not all(isinstance(s, dict) and "value" in s for s in specs):
            return [(".specs", "must be a list of {name, value}")]
        if data_type == "ENUM" and not all(ascii_digits(str(s["value"]).lstrip("-")) for s in specs):
            return [(".specs", "ENUM values must be integers")]
        return []
    if data_type == "STRUCT":
        return _struct_spec_problems(specs)
    if data_type == "ARRAY":
        if not isinstance(specs, dict) or specs.get("dataType") not in ELEMENT_TYPES:
            return [(".specs.dataType", "must be one of: " + ", ".join(ELEMENT_TYPES))]
        inner = {"dataType": specs["dataType"], "specs": specs.get("specs")}
        return [(".specs" + p, m) for p, m in _type_problems(inner, ELEMENT_TYPES)]
    return []


def _number_spec_problems(specs: Any) -> list[tuple[str, str]]:
    if specs is None:
        return []
    if not isinstance(specs, dict):
        return [(".specs", "must be a mapping of min, max, step, unit")]
    for name in ("min", "max", "step"):
        if specs.get(name) not in (None, ""):
            try:
                float(specs[name])
            except (TypeError, ValueError):
                return [(f".specs.{name}", "must be a number")]
    low, high = specs.get("min"), specs.get("max")
    if low not in (None, "") and high not in (None, "") and float(low) > float(high):
        return [(".specs", "min is above max")]
    return []


def _struct_spec_problems(specs: Any) -> list[tuple[str, str]]:
    if not isinstance(specs, list) or not specs:
        return [(".specs", "must be a list of members {id, code, dataType, specs}")]
    problems: list[tuple[str, str]] = []
    seen: set = set()
    for j, member in enumerate(specs):
        if not isinstance(member, dict) or not member.get("code") or not isinstance(member.get("id"), int):
            problems.append((f".specs[{j}]", "a member needs id and code"))
            continue
        if member["code"] in seen:
            problems.append((f".specs[{j}].code", f"duplicate member {member['code']}"))
        seen.add(member["code"])
        problems += [(f".specs[{j}]" + p, m) for p, m in _type_problems(member, MEMBER_TYPES)]
    return problems


def check_event(product: Product, code: str, output: Any) -> dict[str, Any]:
    """An event's output checked against the event's outputData: every output, nothing else."""
    event = product.events.get(code)
    if event is None:
        raise ValueProblem(f"{code}: no such event in the thing model of {product.pk}")
    if not isinstance(output, dict):
        raise ValueProblem(f"{code}: output must be an object of {', '.join(f.code for f in event.outputs)}")
    expected = {feature.code: feature for feature in event.outputs}
    unknown = [name for name in output if name not in expected]
    if unknown:
        raise ValueProblem(f"{code}: {unknown[0]} is not an output of this event")
    missing = [name for name in expected if name not in output]
    if missing:
        raise ValueProblem(f"{code}: output {missing[0]} is missing")
    return {name: expected[name].check(value) for name, value in output.items()}


def check_values(product: Product, kv: dict[str, Any]) -> dict[str, Any]:
    """Every value checked against its property; ValueProblem at the first bad one."""
    out = {}
    for code, value in kv.items():
        feature = product.properties.get(code)
        if feature is None:
            raise ValueProblem(f"{code}: no such property in the thing model of {product.pk}")
        out[code] = feature.check(value)
    return out


def ascii_digits(text: str) -> bool:
    """Whether int() reads `text` as its digits show: `isdigit()` alone passes `²` (which int()
    refuses: a 500) and thousands of digits (which it reads slowly, then refuses)."""
    text = text.strip()
    return text.isascii() and text.isdigit() and len(text) <= 20
