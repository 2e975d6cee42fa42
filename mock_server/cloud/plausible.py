"""Generated values: a value for each property of a device whose scenario states none,
valid for the specs and looking like what such a device reports.

A world generated from uniform draws over the specs looked wrong to anyone who knows devices:
a plug at 13.5 V drawing 1,414 W, an indoor sensor at 83 °C. Here a property's unit (and a
few words of its code) say where its value typically lies, always clipped to its specs, and
voltage, current and power measured side by side agree (power ≈ voltage × current, nothing
drawn while switched off).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from .things import NUMBERS, Feature, Product, round_to

Span = tuple[float, float]
CELSIUS = ("C", "°C", "℃", "celsius")
DATE_FALLBACK = 1_767_225_600_000  # a generated DATE's reference when no clock is at hand
DATE_WITHIN_MS = 30 * 86_400_000  # a generated DATE lies in the month before the clock's now
TEXTS = ("ok", "standby", "eco", "auto")


def sample_values(product: Product, rng: random.Random, now: int | None = None) -> dict[str, Any]:
    """Values for every property, plausible and in agreement (power = voltage × current)."""
    values = {f.code: sample(f, rng, now) for f in product.ordered_properties()}
    agree(product.properties, values)
    return values


def sample(feature: Feature, rng: random.Random, now: int | None = None) -> Any:
    """A value valid for the specs and typical of the property; a DATE in the month before `now`."""
    kind = feature.data_type
    if kind == "BOOL":
        return rng.random() < 0.5
    if kind == "ENUM":
        values = feature.enum_values()
        return rng.choice(values) if values else 0
    if kind in NUMBERS:
        low, high = _typical(feature)
        if kind == "INT":
            return rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))
        return round_to(rng.uniform(low, high), feature.bound("step") or 0.1)
    if kind == "TEXT":
        return rng.choice(TEXTS)
    if kind == "DATE":
        return (now or DATE_FALLBACK) - rng.randrange(DATE_WITHIN_MS)
    if kind == "STRUCT":
        return {code: sample(member, rng, now) for code, member in feature.members.items()}
    if kind == "ARRAY":
        size = int((feature.specs or {}).get("size") or 1)
        return [sample(feature.element, rng, now) for _ in range(min(size, 3))] if feature.element else []
    raise AssertionError(kind)


def _typical(feature: Feature) -> Span:
    """typical_span within the specs, worked out once per property: a world samples thousands."""
    if feature.typical is None:
        low, high = feature.bound("min"), feature.bound("max")
        low = 0.0 if low is None else low
        high = low + 100 if high is None else high
        feature.typical = typical_span(feature, low, high)
    return feature.typical
MAINS_V = (220.0, 240.0)  # European mains; a spec that cannot hold 230 V is a battery or a cell


def _voltage(low: float, high: float) -> Span:
    if low <= 230 <= high:
        return MAINS_V
    return low + 0.75 * (high - low), low + 0.9 * (high - low)  # a battery: well charged


def _percent(code: str, low: float, high: float) -> Span:
    if "humid" in code:
        return 35.0, 60.0
    if "batt" in code or "soc" in code:
        return 20.0, 100.0
    return low, high


def _current(low: float, high: float) -> Span:
    reach = 0.1 * max(abs(low), abs(high))  # a light load, charging or discharging
    return max(low, -reach), min(high, reach)


def typical_span(feature: Feature, low: float, high: float) -> Span:
    """Where values of `feature` usually sit, within [low, high] (its specs)."""
    unit, code = _unit(feature), feature.code.lower()
    rules: dict[str, Callable[[], Span]] = {
        "V": lambda: _voltage(low, high),
        "A": lambda: _current(low, high),
        "W": lambda: (low, low + 0.15 * (high - low)),  # appliances mostly draw little
        "kW": lambda: (low, low + 0.15 * (high - low)),
        "kWh": lambda: (low, min(high, 500.0)),
        "%": lambda: _percent(code, low, high),
        "Hz": lambda: (50.0, 50.0),
    }
    if unit in CELSIUS or ("temp" in code and unit in ("", "C")):
        span = (18.0, 27.0)  # indoors, or a device at room temperature
    elif unit in rules:
        span = rules[unit]()
    elif code in ("pf", "power_factor"):
        span = (0.9, 1.0)
    else:
        return low, high
    narrowed = max(low, span[0]), min(high, span[1])
    return narrowed if narrowed[0] <= narrowed[1] else (low, high)


def _unit(feature: Feature) -> str:
    return str(feature.specs.get("unit") or "").strip() if isinstance(feature.specs, dict) else ""


def _first(features: dict[str, Feature], values: dict[str, Any], unit: str) -> Feature | None:
    for feature in features.values():
        if _unit(feature) == unit and feature.data_type in ("INT", "FLOAT", "DOUBLE") and feature.code in values:
            return feature
    return None


def _fit(feature: Feature, value: float) -> int | float:
    """`value` on the feature's step and within its specs, in its type."""
    low, high = feature.bound("min"), feature.bound("max")
    fitted: int | float = round(value) if feature.data_type == "INT" else round_to(value, feature.bound("step") or 0.1)
    if high is not None and fitted > high:
        fitted = math.floor(high) if feature.data_type == "INT" else high
    if low is not None and fitted < low:
        fitted = math.ceil(low) if feature.data_type == "INT" else low
    return fitted


def agree(features: dict[str, Feature], values: dict[str, Any], off: bool = False) -> None:
    """Make the sampled `values` of one container (a product's properties, or a STRUCT's
    members) agree: nothing drawn when `off`, and power = voltage × current."""
    off = off or values.get("switch") is False
    volts, amps, watts = (_first(features, values, u) for u in ("V", "A", "W"))
    if off:
        for feature in (amps, watts):
            if feature is not None and (feature.bound("min") or 0) <= 0:
                values[feature.code] = _fit(feature, 0)
    elif volts is not None and amps is not None and watts is not None and values[volts.code] > 0:
        values[amps.code] = _fit(amps, values[watts.code] / values[volts.code])
        values[watts.code] = _fit(watts, values[volts.code] * values[amps.code])
    for code, feature in features.items():
        if feature.data_type == "STRUCT" and isinstance(values.get(code), dict):
            agree(feature.members, values[code], off)
