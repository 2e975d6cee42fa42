"""TEMPORARY stand-in for main's declare.py (issue 16), replaced when main is merged: the
declare.md form on top of today's dispatch.endpoint, enough to serve and test the family
endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

from ..cloud.errors import ENDPOINT_CODES
from .dispatch import Call, endpoint

UserCall = Call
BLUEPRINTS: list[Blueprint] = []


class Area:
    def __init__(self, prefix: str) -> None:
        self.bp = Blueprint(prefix.strip("/").replace("/", "_"), __name__, url_prefix=prefix)
        BLUEPRINTS.append(self.bp)

    def endpoint(
        self,
        method: str,
        name: str,
        schema: Any = None,
        codes: tuple[int, ...] = (),
        data: Any = None,
        auth: bool = True,
        body: str = "query",
        array: str | None = None,
        devices: tuple[str, str] | None = ("pk", "dk"),
    ) -> Callable:
        ENDPOINT_CODES[name] = tuple(sorted({200, 5032, 5106, *codes}))

        def register(fn: Callable) -> Callable:
            def run(call: Call) -> Any:
                if array is not None and "_body" in call.params:
                    call.params[array] = call.params.pop("_body")
                call.params.pop("_body", None)
                return fn(call)

            run.__doc__ = fn.__doc__
            if array is not None:
                schema_cls = schema

                class WithBody(schema_cls):  # type: ignore[misc, valid-type]
                    def load(self, data: Any, **kwargs: Any) -> Any:
                        body_ = data.get("_body") if isinstance(data, dict) else None
                        if body_ is not None:
                            data = {**data, array: body_}
                        return super().load(data, **kwargs)

                WithBody.__name__ = schema_cls.__name__
                endpoint(self.bp, method, name, WithBody, auth, "null", body)(run)
            else:
                endpoint(self.bp, method, name, schema, auth, "null", body)(run)
            return fn

        return register
