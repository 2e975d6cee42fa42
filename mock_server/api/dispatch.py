"""How one API call runs: pick the world, lock it, authenticate, parse, call the domain."""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..cloud.accounts import authenticate
from ..harness.worlds import Simulator
from .context import RequestState
from .declare import Call, Endpoint, UserCall
from .envelope import Reply, render
from .params import parse, past_warnings, schema_for, seconds_warnings


def simulator() -> Simulator:
    return current_app.extensions["mock_server"]


def answer(ep: Endpoint, state: RequestState) -> Reply:
    """Authenticate, parse and call the endpoint in the request's world, under its lock.
    A QuectelError goes up to the caller, which answers it with steps.error_reply."""
    world = state.world
    with world.lock:
        world.catch_up()  # what devices did on the clock since the last request
        auth = authenticate(world, state.authorization) if ep.auth else None
        params: dict[str, Any] = {}
        if ep.schema is not None:
            instance = schema_for(ep.schema, world.settings)
            params = parse(instance, _sent(ep, state))
            if instance.timestamp_fields:  # the warnings are about times (the future ones among them)
                state.warnings += seconds_warnings(instance, params) + past_warnings(instance, params, world.now())
        if auth is None:
            call = Call(world=world, params=params, refuse=state.refuse)
        else:
            call = UserCall(world=world, params=params, refuse=state.refuse, user=auth[0], token=auth[1])
        data = ep.run(call)
    return render(200, "", data)


def _sent(ep: Endpoint, state: RequestState) -> dict[str, Any]:
    """The request's parameters; an endpoint whose body is a JSON array gets it by name."""
    if ep.array is not None:
        body = state.json_array()
        if body is not None:
            return {**state.params(), ep.array: body}
    return state.params()
