"""Reading parameters the way real clients send them, and turning schema errors into codes."""

from __future__ import annotations

import functools
from typing import Any

from marshmallow import Schema, ValidationError

from ..cloud.errors import QuectelError
from ..cloud.models import Settings
from .schemas import SECONDS_BELOW, Params


@functools.cache
def schema_for(schema_cls: type[Params], settings: Settings) -> Params:
    """One schema instance per class and world settings (instances keep no state on load)."""
    schema = schema_cls()
    schema.settings = settings
    return schema


def parse(schema: Schema, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(params)
    except ValidationError as err:
        messages = err.messages_dict  # one mapping loaded, so messages by field
        code = first_code(schema, messages)
        raise QuectelError(code, ext_msg=_reason(schema, messages) if code == GENERIC else None) from None


GENERIC = 5000  # a code that names no parameter: `extMsg` says which one was wrong


def _reason(schema: Schema, messages: dict) -> str:
    names = [name for name in schema.fields if str(GENERIC) in messages.get(name, ())]
    return f"{names[0]} is missing or malformed" if names else "invalid parameters"


def first_code(schema: Schema, messages: dict) -> int:
    """The code of the first failed check: presence, then format, then cross-field rules."""
    failed = [(name, field) for name, field in schema.fields.items() if name in messages]
    for name, field in failed:
        missing = field.metadata.get("missing")
        if missing is not None and str(missing) in messages[name]:
            return missing
    for name, _ in failed:
        return int(messages[name][0])
    return int(messages["_schema"][0])


def past_warnings(schema: Params, data: dict[str, Any], now: int) -> list[str]:
    """A time that is to be in the future (`future` in its metadata) but has passed on the
    world's clock: valid, and answered, but what it makes has already ended."""
    return [
        f"{name}={data[name]} is in the past (the clock reads {now}): {schema.fields[name].metadata['future']}"
        for name in schema.future_fields
        if data.get(name) and SECONDS_BELOW <= data[name] <= now  # seconds have their own warning
    ]


def seconds_warnings(schema: Params, data: dict[str, Any]) -> list[str]:
    """Timestamps below 10^12 are most likely seconds, not milliseconds: worth a warning."""
    return [
        f"{name}={data[name]} looks like seconds, not milliseconds"
        for name in schema.timestamp_fields
        if data.get(name) and data[name] < SECONDS_BELOW
    ]
