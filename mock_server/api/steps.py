"""The steps of one request, in their one order (`handle`): CORS, the world it belongs to,
the admin check or the rules that may answer it first, the answer and its errors, the
journal entry, log line and warning header; and the one wait-and-resume of a rule's delay
(`with_waits`).

The Flask app (hooks.py, around its view) and the RSGI fast path (fastpath.py, around an
endpoint's answer) both run `handle`, so both answer alike; neither holds request logic of
its own.

A request picks its world with the `X-Mock-Session` header or the `/s/NAME/` path prefix;
`X-Mock-Scenario` names the scenario a new world starts from.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
from werkzeug.exceptions import HTTPException

from ..cloud.accounts import strip_bearer
from ..cloud.errors import QuectelError
from ..harness.rules import DEVICE_NAMES, Incoming, Outcome, caller_uid, decide
from ..harness.scenario import ScenarioInvalid, ScenarioNotFound
from ..harness.worlds import DEFAULT_WORLD, BadSession, Simulator
from ..network import is_local_origin
from .context import RequestState
from .cors import cors
from .declare import REGISTRY
from .envelope import Reply, render, render_error, render_http_error
from .faults import fault
from .light_request import AnyRequest
from .paths import PUBLIC_CONTROL, SESSION, is_control
from .warn import HEADER as WARNING_HEADER
from .warn import warning_header

A = TypeVar("A")  # an answer as a path builds it: a Reply (fast path) or a Flask Response
T = TypeVar("T")
REFUSED_ADMIN = "the control API needs Authorization: Bearer <admin token>"
ADMIN_COOKIE = "mock_admin"  # the dashboard's login keeps the token here (HttpOnly, SameSite=Strict)
AUTHENTICATE = 'Bearer realm="mock-server control API"'
PREFLIGHT_TYPE = "text/html; charset=utf-8"  # what Flask gives a bodiless Response

_unexpected = logging.getLogger("mock_server.app")
_request_log = logging.getLogger("mock_server.requests")


@dataclass(frozen=True, slots=True)
class Served:
    """What the steps need of the server: its worlds and its configuration."""

    sim: Simulator
    admin_token: str | None
    host: str  # the name the server was started with, for the control API's Host check
    log_format: str

    @classmethod
    def of(cls, app: Any) -> Served:
        """The simulator's Flask app's worlds and configuration."""
        config = app.config
        host = config.get("HOST") or "127.0.0.1"
        return cls(app.extensions["mock_server"], config.get("ADMIN_TOKEN"), host, config["LOG_FORMAT"])


class Wire(Protocol[A]):
    """How a path holds its answers: the steps build Replies, add headers and read what the
    journal keeps, and leave the answer's type to the path."""

    def of(self, reply: Reply) -> A: ...

    def add_headers(self, answer: A, headers: list[tuple[str, str]]) -> None: ...

    def facts(self, answer: A) -> tuple[int, int | None, bytes | None]:
        """Status, envelope code and body (None: streamed or dropped) of an answer."""
        ...


def handle(
    served: Served,
    req: AnyRequest,
    wire: Wire[A],
    answer: Callable[[RequestState], A],
    resume: Outcome | None = None,
    can_defer: bool = False,
) -> A | Deferred:
    """One request, through the steps in their one order: CORS (a refusal or a preflight ends
    it), the session's world, the admin check (control API) or the rules (simulated API),
    the answer (its errors answered by error_reply), CORS headers, then the journal entry, log
    line and warning header. Both the Flask app and the fast path run this. A rule's wait
    ends the pass with a Deferred when the server can wait without holding a thread (see
    `with_waits`); the next pass gets the outcome back as `resume`."""
    started = time.perf_counter()
    cross = cors(req.method, req.path, req.headers, served.host)
    if cross.refusal:
        return wire.of(Reply(403, orjson.dumps({"error": cross.refusal})))
    state = None
    try:
        opened = Reply(204, b"", PREFLIGHT_TYPE) if cross.preflight else open_request(served, req)
        if isinstance(opened, Reply):  # no world, so no journal entry; a refusal is logged
            if not cross.preflight:
                record_refused(req, opened, served.log_format, started)
            result = wire.of(opened)
            wire.add_headers(result, cross.headers)
            return result
        state = opened
        early = _before_answer(served, state, resume, can_defer)
        if isinstance(early, Deferred):
            return early
        result = wire.of(early) if early is not None else answer(state)
    except Exception as exc:
        result = wire.of(error_reply(exc, state))
    wire.add_headers(result, cross.headers)
    status, code, body = wire.facts(result)
    wire.add_headers(result, journal_request(state, status, code, served.log_format, body))
    return result


def _before_answer(
    served: Served, state: RequestState, resume: Outcome | None, can_defer: bool
) -> Reply | Deferred | None:
    """The control API's admin check, or the simulated API's rules."""
    if state.control:
        return control_refusal(state.request, served.admin_token)
    rules, req = state.world.rules, state.request
    if not rules or (resume is None and not rules.may_match(None, req.method, req.path)):
        return None  # no rule can fire: the request's facts are not gathered for them
    return apply_rules(state, resume, can_defer)


async def with_waits(
    run: Callable[[Outcome | None], T | Deferred], sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> T:
    """The one wait-and-resume: run a pass; while it ends in a rule's wait, sleep (holding no
    thread nor lock: other requests go on; waits.py's sleep ends early when the server stops),
    then run it again with the rule's outcome."""
    result = run(None)
    if not isinstance(result, Deferred):
        return result
    return await waited(run, result, sleep)


async def waited(
    run: Callable[[Outcome | None], T | Deferred], deferred: Deferred, sleep: Callable[[float], Awaitable[None]]
) -> T:
    """The passes after a first one that ended in a rule's wait (with_waits): a path that
    runs its first pass itself awaits only when the request waits."""
    result: T | Deferred = deferred
    while isinstance(result, Deferred):
        await sleep(result.seconds)
        result = run(result.resume)
    return result


def foreign_world_refusal(origin: str) -> str:
    """Why a page of another site may not make a world: it could fill the world cap (and
    lock every new client out) from any browser that visits it."""
    return (
        f"a page of another site ({origin}) may not create worlds or choose scenarios; use an existing "
        "world, or serve the page from localhost or this network"
    )


def admin_given(environ: dict, admin_token: str | None, header: str = "HTTP_X_MOCK_ADMIN_TOKEN") -> bool:
    """No admin token is set, or the request carries it (in `header`, Bearer or not)."""
    if not admin_token:
        return True
    given = strip_bearer(environ.get(header) or "")
    return hmac.compare_digest(given.encode(), admin_token.encode())


def open_request(served: Served, req: AnyRequest) -> RequestState | Reply:
    """The request's state in its world, or the 400 (401, 403) answer when the world cannot be
    had (may not be asked for)."""
    sim, admin_token, server_host = served.sim, served.admin_token, served.host
    env = req.environ
    name = env.get(SESSION) or env.get("HTTP_X_MOCK_SESSION") or DEFAULT_WORLD
    scenario = env.get("HTTP_X_MOCK_SCENARIO")
    if scenario and not (admin_given(env, admin_token) or admin_given(env, admin_token, "HTTP_AUTHORIZATION")):
        return render(401, "X-Mock-Scenario needs X-Mock-Admin-Token: <admin token>", status=401)
    origin = env.get("HTTP_ORIGIN")
    if origin and (scenario or name not in sim.worlds) and not is_local_origin(origin, server_host):
        return render(403, foreign_world_refusal(origin), status=403)
    try:
        world = sim.world(name, scenario)
    except (BadSession, ScenarioNotFound) as exc:
        return render(400, str(exc), status=400)
    except ScenarioInvalid as exc:
        return render(400, "invalid scenario", data={"problems": exc.problems}, status=400)
    return RequestState(world, name, req, is_control(req.path))


def admin_ok(req: AnyRequest, admin_token: str | None) -> bool:
    """Whether the request may use the control API: no admin token is set, or it carries it
    (Authorization: Bearer, or the dashboard's cookie)."""
    if admin_given(req.environ, admin_token, "HTTP_AUTHORIZATION"):
        return True
    return hmac.compare_digest(req.cookies.get(ADMIN_COOKIE, "").encode(), str(admin_token).encode())


def control_refusal(req: AnyRequest, admin_token: str | None) -> Reply | None:
    """The 401 for a control call without the admin token; None when it may go on. The
    dashboard checks the token itself (ui/dashboard.py), to send a browser to its login."""
    if req.path.startswith(PUBLIC_CONTROL) or admin_ok(req, admin_token):
        return None
    return Reply(401, orjson.dumps({"error": REFUSED_ADMIN}), headers=[("WWW-Authenticate", AUTHENTICATE)])


@dataclass(frozen=True, slots=True)
class Deferred:
    """A rule's wait: the server sleeps `seconds`, then runs the request again with `resume`."""

    seconds: float
    resume: Outcome  # the rule's outcome, its effects already applied


def apply_rules(state: RequestState, resume: Outcome | None, can_defer: bool) -> Reply | Deferred | None:
    """The first matching rule's answer, a wait before it, or None (answer normally). The
    second pass after a wait (`resume`) only answers: the rule was decided before it."""
    if resume is not None:
        return _take(state, resume)
    world = state.world
    req = incoming(state)
    with world.lock:
        outcome = decide(world, req)
    if outcome is None:
        return None
    if outcome.wait and can_defer:
        return Deferred(outcome.wait, outcome)
    if outcome.wait:
        time.sleep(outcome.wait)  # outside the world lock
    return _take(state, outcome)


def _take(state: RequestState, outcome: Outcome) -> Reply | None:
    """The outcome's answer over HTTP once any wait is over: a fault, a forced code, or None
    (go on to the normal answer, with a controlFailure's refusal for the call)."""
    state.rule, state.refuse = outcome.rule, outcome.refuse
    state.warnings += outcome.warnings
    if outcome.fault is not None:
        return fault(outcome.fault)
    if outcome.code is not None:
        return render(outcome.code, outcome.msg, outcome.data, outcome.ext_msg, status=outcome.status)
    return None


def incoming(state: RequestState) -> Incoming:
    """What the rules see of the request."""
    req = state.request
    return Incoming(
        method=req.method,
        path=req.path,
        params=safe_params(state),
        headers={k.lower(): v for k, v in req.headers.items()},
        authorization=state.authorization,
        devices=device_names(req.path),
    )


def device_names(path: str) -> tuple[str, str] | None:
    """The parameters that name a device on the endpoint at `path`, as its declaration says
    (`devices=`), for rules' pk and dk; pk and dk on a path no endpoint declares (a stub)."""
    return _declared_devices(len(REGISTRY)).get(path, DEVICE_NAMES)


@functools.lru_cache(maxsize=1)
def _declared_devices(declared: int) -> dict[str, tuple[str, str] | None]:
    """By path, once per size of the registry (endpoint modules are imported once)."""
    return {ep.path: ep.devices for ep in REGISTRY[:declared]}


def safe_params(state: RequestState) -> dict:
    try:
        return state.params()
    except Exception:  # an unreadable or oversized body: no parameters to show
        return {}


def auth_status(err: QuectelError, state: RequestState | None) -> int:
    """HTTP status for an error: 5106/5032 follow the world's authErrorHttpStatus switch."""
    if err.code in (5032, 5106) and state is not None:
        return state.world.settings.auth_error_http_status
    return err.http_status


def error_reply(exc: Exception, state: RequestState | None) -> Reply:
    """The answer to an exception raised while answering: its Quectel code, its HTTP status,
    or a 500 envelope (a bug must not leak a stack trace to the client; it goes to the log)."""
    try:
        if isinstance(exc, QuectelError):
            return render_error(exc, auth_status(exc, state))
        if isinstance(exc, HTTPException):
            return render_http_error(exc.code or 500, getattr(exc, "valid_methods", None))
        _unexpected.exception("unexpected error", exc_info=exc)
        return render_http_error(500)
    finally:
        forget_tracebacks(exc)


def forget_tracebacks(exc: BaseException | None) -> None:
    """Drop the tracebacks of an answered exception and those it was raised from. Each holds
    the frames it passed through, one of which holds the exception: a cycle that keeps the
    request (its body, parsed and not) alive until a full collection, which the server makes
    rare (cli.py). A 1 MB body answered with an error code held 3 MB each."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__


VIEW_DEFERRED = "mock_server.deferred"  # hooks.DEFERRED, set by a view that waits


def journal_request(
    state: RequestState | None, status: int, code: int | None, log_format: str, answer: bytes | None = None
) -> list[tuple[str, str]]:
    """The request's journal entry (API calls) and log line (any call, when asked for or when
    it has warnings), from one set of fields; the headers the answer gets for it. A request
    that never had a world (`state` None) leaves neither, nor does a pass that a view ended
    with a wait (the clock's catch-up, api/control.py): its last pass leaves them."""
    if state is None or state.request.environ.get(VIEW_DEFERRED) is not None:
        return []
    world, req = state.world, state.request
    uid, warnings = caller_uid(world, state.authorization), state.warnings
    if log_format != "none" or warnings:  # a warning is shown even when no log is asked for
        line = {"method": req.method, "path": req.path, "status": status, "code": code, "uid": uid,
                "rule": state.rule, "warnings": warnings}  # fmt: skip
        _log("text" if log_format == "none" else log_format, line, state.world_name, state.started)
    if not state.control:  # after the log line, which shows the path in full
        world.journal.add_request(world.now(), req.method, req.path, safe_params(state), uid, state.rule, code,
                                  status, tuple(warnings), answer)  # fmt: skip
    return [(WARNING_HEADER, warning_header(warnings))] if warnings else []


def record_refused(req: AnyRequest, reply: Reply, log_format: str, started: float) -> None:
    """The log line of a request refused before it had a world (a bad X-Mock-Session or
    X-Mock-Scenario, a foreign page making a world): no journal holds it, the log does."""
    if log_format == "none":
        return
    env = req.environ
    asked = env.get(SESSION) or env.get("HTTP_X_MOCK_SESSION") or DEFAULT_WORLD
    entry = {"method": req.method, "path": req.path, "status": reply.status, "code": reply.code,
             "uid": None, "rule": None, "warnings": []}  # fmt: skip
    _log(log_format, entry, asked, started)


def _log(fmt: str, entry: dict, world_name: str, started: float) -> None:
    ms = round((time.perf_counter() - started) * 1000, 3)
    if fmt == "json":  # JSON escapes what could split or colour a line
        line = {k: entry[k] for k in ("method", "path", "status", "code", "uid", "rule")}
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        extra = {"warnings": entry["warnings"]} if entry["warnings"] else {}
        _request_log.info(orjson.dumps({"time": stamp, "world": world_name, **line, "ms": ms, **extra}).decode())
        return
    who = f" uid={entry['uid']}" if entry["uid"] else ""
    rule = f" rule={entry['rule']}" if entry["rule"] else ""
    warned = "".join(f" WARNING: {w}" for w in entry["warnings"])
    _request_log.info(printable(
        f"{entry['method']} {entry['path']} {entry['status']} code={entry['code']}{who}{rule} {ms}ms"
        f" [{world_name}]{warned}"
    ))  # fmt: skip


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters written as \\xNN: a path's %0A cannot split a log line
    into a forged one, nor an ANSI escape colour or rewrite the operator's terminal."""
    return _CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
