"""One declaration per endpoint, from which everything else derives.

An endpoint module in `api/endpoints/` declares each endpoint once, with `Area.endpoint`:
method, path, parameter schema, documented codes, the shape of `data` on success, which
parameters name a device (for rules) and the cloud call. The Flask routes, the RSGI fast
path's table, the OpenAPI document, the fuzz tests' code lists, the rule checker's names and
the test helpers' paths are all read from `registry()`. Adding an endpoint touches the cloud
rule, its declaration and its tests.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..cloud.models import Token, User
from ..harness.rules import DEVICE_NAMES
from ..harness.world import World

if TYPE_CHECKING:
    from .schemas import Params

# Every authenticated endpoint can answer these: a token that is not valid, and none at all.
AUTH_CODES = (5032, 5106)
# `data` on success: a literal example (its JSON Schema is inferred from it), a function of
# the OpenAPI sample world that renders examples (`Sampler`), or None (data is null).
Sampler = Callable[[Any], list]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    name: str
    schema: type[Params] | None
    run: Callable[[Any], Any] = field(compare=False, repr=False)
    codes: tuple[int, ...] = (200,)
    data: Any = None
    shape: str | None = None  # the name of data's schema in the OpenAPI document, when shared
    summary: str = ""
    auth: bool = True
    body: str = "query"  # "json": documented as a JSON request body (all three sources still work)
    array: str | None = None  # a top-level JSON array body is given to the schema as this parameter
    devices: tuple[str, str] | None = DEVICE_NAMES  # the parameters naming a device, for rules

    @property
    def key(self) -> str:
        """A name unique among the endpoints: the endpoint's own, or `area/name` where two
        areas have an endpoint of one name (setDeviceInfo). One endpoint at two paths of one
        area (registration's `v2/phonePwdRegister` and `phonePwdRegister`) keeps its name for
        the path declared first; the other is known by its path."""
        same = [e for e in REGISTRY if e.name == self.name]
        if len(same) == 1:
            return self.name
        area = self.path.split("/")[2]
        twins = [e for e in same if e.path.split("/")[2] == area]
        if len(twins) == 1:
            return f"{area}/{self.name}"
        if twins[0] is self and len(twins) == len(same):
            return self.name
        return self.path.lstrip("/")


REGISTRY: list[Endpoint] = []


@dataclass(kw_only=True)
class Call:
    """An unauthenticated call: the world and the parsed parameters."""

    world: World
    params: dict[str, Any]
    # A rule's forced control failure: (pk, dk, params) -> the failure message, or None.
    refuse: Callable[[str, str, dict], str | None] | None = None


@dataclass(kw_only=True)
class UserCall(Call):
    """An authenticated call: the caller and the token they called with, never None."""

    user: User
    token: Token


class Area:
    """The endpoints under one URL prefix, such as `/v2/binding/enduserapi`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/")

    def endpoint(
        self,
        method: str,
        name: str,
        schema: type[Params] | None = None,
        *,
        codes: tuple[int, ...] = (),
        data: Any = None,
        shape: str | None = None,
        auth: bool = True,
        body: str = "query",
        array: str | None = None,
        devices: tuple[str, str] | None = DEVICE_NAMES,
    ) -> Callable[[Callable], Callable]:
        """Declare `fn(call) -> data` as the endpoint `name` (a path below the prefix, such as
        `v2/deviceBindingByWifi`), answered in the envelope. Its first docstring line is its
        OpenAPI summary; `codes` are its business codes besides 200 (and, with auth, 5032 and
        5106)."""

        def register(fn: Callable) -> Callable:
            every = {200, *codes, *(AUTH_CODES if auth else ())}
            summary = (fn.__doc__ or name).strip().splitlines()[0]
            path = f"{self.prefix}/{name}"
            ep = Endpoint(
                method, path, name.rsplit("/", 1)[-1], schema, fn, tuple(sorted(every)), data,
                shape, summary, auth, body, array, devices,
            )  # fmt: skip
            if any(e.method == method and e.path == path for e in REGISTRY):
                raise ValueError(f"{method} {path} is declared twice")
            REGISTRY.append(ep)
            return fn

        return register


def registry() -> list[Endpoint]:
    """Every declared endpoint: importing the endpoint modules declares them."""
    _declare_all()
    return REGISTRY


@functools.cache
def _declare_all() -> None:
    """Import the endpoint modules, once: listing their folder on every call was a quarter of
    a world's reset (the reset checks the scenario's rules against the endpoints)."""
    from . import endpoints

    for module in pkgutil.iter_modules(endpoints.__path__):
        importlib.import_module(f"{endpoints.__name__}.{module.name}")


def paths() -> dict[str, str]:
    """Each endpoint's unique key (see `Endpoint.key`) to its path."""
    return {ep.key: ep.path for ep in registry()}
