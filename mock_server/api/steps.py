"""The steps of one request, as plain functions of the request and the simulator: which
world it belongs to, the rules that may answer it first, how errors are answered, and the
journal entry and log line it leaves.

The Flask hooks (hooks.py) and the RSGI fast path (fastpath.py) both call these, so both
answer alike; neither holds request logic of its own.

A request picks its world with the `X-Mock-Session` header or the `/s/NAME/` path prefix;
`X-Mock-Scenario` names the scenario a new world starts from.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from ..cloud.accounts import strip_bearer
from ..cloud.errors import QuectelError
from ..harness.rules import Incoming, apply_effects, caller_uid, refusal
from ..harness.scenario import ScenarioInvalid, ScenarioNotFound
from ..harness.timeparse import delay_seconds
from ..harness.worlds import DEFAULT_WORLD, BadSession, Simulator
from ..network import is_local_origin
from .context import RequestState
from .envelope import Reply, render, render_error, render_http_error
from .faults import fault, forced_answer
from .warn import HEADER as WARNING_HEADER
from .warn import warning_header

CONTROL_PREFIX = "/_mock"
SESSION = "mock_server.session"  # environ key: the world named by a /s/NAME/ prefix

_unexpected = logging.getLogger("mock_server.app")
_request_log = logging.getLogger("mock_server.requests")


def split_session(environ: dict) -> None:
    """`/s/NAME/rest` is served as `/rest` in the world NAME."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/s/"):
        name, _, rest = path[3:].partition("/")
        environ[SESSION] = name
        environ["PATH_INFO"] = "/" + rest
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/s/" + name


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


def open_request(
    sim: Simulator, req: Request, admin_token: str | None, server_host: str = "127.0.0.1"
) -> RequestState | Reply:
    """The request's state in its world, or the 400 (401, 403) answer when the world cannot be
    had (may not be asked for)."""
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
    path = req.path
    control = path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
    return RequestState(world, name, req, control)


@dataclass(frozen=True, slots=True)
class Deferred:
    """A rule's wait: the server sleeps `seconds`, then runs the request again with `resume`."""

    seconds: float
    resume: tuple  # the rule's id, action and control refusal, its effects already applied


def apply_rules(state: RequestState, resume: tuple | None, can_defer: bool) -> Reply | Deferred | None:
    """The first matching rule's answer, a wait before it, or None (answer normally). The
    second pass after a wait (`resume`) only answers: the rule was decided before it."""
    world = state.world
    if resume is not None:
        state.rule, action, state.refuse = resume
        return rule_answer(action)
    req = incoming(state)
    with world.lock:
        rule = world.rules.match(world, req)
        if rule is None:
            return None
        state.rule = rule.id
        state.refuse = refusal(rule)
        state.warnings += apply_effects(world, rule.action, req)
    action = rule.action
    wait = delay_seconds(action["delay"], world.rule_rng) if "delay" in action else 0.0
    if action.get("fault") == "hang":
        wait += world.settings.hang_seconds
    if wait and can_defer:
        return Deferred(wait, (rule.id, action, state.refuse))
    if wait:
        time.sleep(wait)  # outside the world lock
    return rule_answer(action)


def incoming(state: RequestState) -> Incoming:
    """What the rules see of the request."""
    req = state.request
    return Incoming(
        method=req.method,
        path=req.path,
        params=safe_params(state),
        headers={k.lower(): v for k, v in req.headers.items()},
        authorization=state.authorization,
    )


STUB_FIELDS = frozenset({"code", "data", "msg", "extMsg"})


def rule_answer(action: dict) -> Reply | None:
    """The rule's answer once any wait is over: a fault, a forced code, or None (go on)."""
    if "fault" in action:
        return fault(action["fault"])
    if STUB_FIELDS & action.keys():  # `data`, `msg` or `extMsg` alone: a stub answer of code 200
        return forced_answer(action)
    return None


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


ANSWER_MAX = 2048  # bytes of an answer the journal keeps


def record(
    state: RequestState, status: int, code: int | None, log_format: str, answer: bytes | None = None
) -> list[tuple[str, str]]:
    """The request's journal entry (API calls) and log line (any call, when asked for or when
    it has warnings), from one set of fields; the headers the answer gets for it."""
    world, req = state.world, state.request
    path = req.path
    entry: dict[str, Any] = {
        "time": world.now(),
        "method": req.method,
        "path": path,
        "endpoint": path.rstrip("/").rsplit("/", 1)[-1],
        "params": safe_params(state) if not state.control else {},
        "uid": caller_uid(world, state.authorization),
        "rule": state.rule,
        "code": code,
        "status": status,
        "warnings": state.warnings,
        # the body answered (None: streamed or dropped), for the dashboard's journal
        "answer": None if state.control or answer is None else answer[:ANSWER_MAX].decode("utf-8", "replace"),
    }
    if not state.control:
        world.journal.record(**entry)
    if log_format != "none" or state.warnings:  # a warning is shown even when no log is asked for
        _log("text" if log_format == "none" else log_format, entry, state.world_name, state.started)
    return [(WARNING_HEADER, warning_header(state.warnings))] if state.warnings else []


def record_refused(req: Request, reply: Reply, log_format: str, started: float) -> None:
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
