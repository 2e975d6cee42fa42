"""How one API call runs: pick the world, lock it, authenticate, parse, call the domain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app

from ..cloud.accounts import authenticate
from ..cloud.models import Token, User
from ..harness.world import World
from ..harness.worlds import Simulator
from .context import RequestState, current
from .envelope import Reply, render, to_response
from .params import parse, past_warnings, schema_for, seconds_warnings
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
    run: Callable[[Call], Any] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]


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
    """Register `fn(call) -> data` as the API endpoint `name`, answered in the envelope. The
    Flask view and the RSGI fast path (fastpath.py) both answer it with `answer`."""

    def register(fn: Callable[[Call], Any]) -> Callable[[Call], Any]:
        summary = (fn.__doc__ or name).strip().splitlines()[0]
        doc = EndpointDoc(method, f"{bp.url_prefix}/{name}", name, schema, auth, data, summary, body, fn)

        def view():
            return to_response(answer(doc, current()))

        bp.add_url_rule("/" + name, endpoint=name, view_func=view, methods=[method])
        REGISTRY.append(doc)
        return fn

    return register


def answer(doc: EndpointDoc, state: RequestState) -> Reply:
    """Authenticate, parse and call the endpoint in the request's world, under its lock.
    A QuectelError goes up to the caller, which answers it with steps.error_reply."""
    world = state.world
    with world.lock:
        world.catch_up()  # what devices did on the clock since the last request
        user, token = authenticate(world, state.authorization) if doc.auth else (None, None)
        params: dict[str, Any] = {}
        if doc.schema is not None:
            instance = schema_for(doc.schema, world.settings)
            params = parse(instance, state.params())
            state.warnings += seconds_warnings(instance, params) + past_warnings(instance, params, world.now())
        data = doc.run(Call(world, params, user, token, state.refuse))
    return render(200, "", data)
