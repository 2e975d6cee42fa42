"""How one API call runs: pick the world, lock it, authenticate, parse, call the domain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app

from ..cloud.accounts import authenticate
from ..cloud.models import Token, User
from ..harness.world import World
from ..harness.worlds import Simulator
from .context import current
from .envelope import ok
from .params import parse, schema_for, seconds_warnings
from .schemas import Params


@dataclass(frozen=True)
class EndpointDoc:
    """What the OpenAPI document needs to know of one endpoint."""

    method: str
    path: str
    name: str
    schema: type[Params] | None
    auth: bool
    data: str  # the shape of `data` on success: an openapi._samples key, "string" or "null"
    summary: str
    body: str = "query"  # "json": documented as a JSON request body (all three sources still work)


REGISTRY: list[EndpointDoc] = []


@dataclass
class Call:
    world: World
    params: dict[str, Any]
    user: User | None = None
    token: Token | None = None
    # A rule's forced control failure: (pk, dk, params) -> the failure message, or None.
    refuse: Callable[[str, str, dict], str | None] | None = None


def simulator() -> Simulator:
    return current_app.extensions["mock_server"]


def endpoint(
    bp: Blueprint,
    method: str,
    name: str,
    schema: type[Params] | None = None,
    auth: bool = True,
    data: str = "null",
    body: str = "query",
) -> Callable:
    """Register `fn(call) -> data` as the API endpoint `name`, answered in the envelope."""

    def register(fn: Callable[[Call], Any]) -> Callable[[Call], Any]:
        def view():
            state = current()
            world = state.world
            with world.lock:
                world.catch_up()  # what devices did on the clock since the last request
                user, token = authenticate(world, state.authorization) if auth else (None, None)
                params: dict[str, Any] = {}
                if schema is not None:
                    instance = schema_for(schema, world.settings)
                    params = parse(instance, state.params())
                    state.warnings += seconds_warnings(instance, params)
                data = fn(Call(world, params, user, token, state.refuse))
            return ok(data)

        bp.add_url_rule("/" + name, endpoint=name, view_func=view, methods=[method])
        summary = (fn.__doc__ or name).strip().splitlines()[0]
        REGISTRY.append(EndpointDoc(method, f"{bp.url_prefix}/{name}", name, schema, auth, data, summary, body))
        return fn

    return register
