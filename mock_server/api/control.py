"""The control API under /_mock/: plain JSON in and out, acting on the request's world."""

from __future__ import annotations

from itertools import islice
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from flask import redirect as redirect_to
from marshmallow import Schema, ValidationError
from werkzeug.wrappers import Response as BaseResponse  # what redirect_to() gives

from ..cloud import binding, codes, devices, shadows, things
from ..cloud import shares as cloud_shares
from ..cloud.accounts import issue_tokens
from ..cloud.errors import QuectelError
from ..cloud.jsontext import JsonRefused, read_json
from ..cloud.models import Device
from ..harness.scenario import Scenario, ScenarioInvalid, ScenarioNotFound, library
from ..harness.scenario_schema import RuleSpec, flatten, validate_rule
from ..harness.timeparse import parse_duration, parse_instant
from ..harness.world import World
from .context import current
from .control_schemas import (
    ASSET,
    CODE_PARAM,
    DEVICE_PATH,
    ERROR,
    JOURNAL_QUERY,
    LIMIT,
    NO_DEVICE,
    NO_SHARE,
    RULE_ID,
    ClockBody,
    DeviceBody,
    ResetBody,
    ScenarioBody,
    ShareCodeBody,
    StockBody,
    TokenBody,
    documented,
    ok,
    page,
    redirect,
)
from .dispatch import simulator
from .hooks import CAN_DEFER, DEFERRED, RESUME
from .paths import CONTROL_PREFIX
from .rule_check import endpoint_warnings, scenario_warnings, uid_warnings
from .steps import Deferred, forget_tracebacks
from .warn import HEADER, warning_header

bp = Blueprint("control", __name__, url_prefix=CONTROL_PREFIX)


class ControlError(Exception):
    def __init__(self, status: int, message: str, problems: list[str] | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.problems, self.code = status, message, problems or [], code


@bp.errorhandler(ControlError)
def _control_error(err: ControlError) -> tuple[Response, int]:
    forget_tracebacks(err)  # see there
    body: dict[str, Any] = {"error": err.message}
    if err.problems:
        body["problems"] = err.problems
    if err.code is not None:
        body["code"] = err.code
    return jsonify(body), err.status


@bp.errorhandler(QuectelError)
def _cloud_refusal(err: QuectelError) -> tuple[Response, int]:
    """The cloud refused a control action (an ended share, an unverified device): the
    Quectel code the same step gives an app, under HTTP 409."""
    return _control_error(ControlError(409, err.msg, code=err.code))


def _body(schema: type[Schema] | None = None) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        data = {}
    else:
        try:
            data = read_json(raw)
        except JsonRefused as refused:
            raise ControlError(400, "the body must be JSON", [str(refused)]) from None
    if schema is None:
        return data
    try:
        return schema().load(data)
    except ValidationError as err:
        raise ControlError(400, "invalid request body", flatten(err.messages)) from None


def _world() -> World:
    return current().world


def _world_name() -> str:
    return current().world_name


# ---- endpoints -----------------------------------------------------------------------------


@bp.get("/health")
@documented("Readiness and the worlds held", ok("status"))
def health() -> Response:
    return jsonify(status="ok", **simulator().describe())


@bp.get("/scenarios")
@documented("The scenario library", ok("names and descriptions"))
def scenarios() -> Response:
    return jsonify(library_items())


def library_items() -> list[dict]:
    """The scenario library: each name with its description."""
    items = []
    for name in library(simulator().scenario_dirs):
        try:
            items.append({"name": name, "description": simulator().scenario_named(name).description})
        except (ScenarioInvalid, ScenarioNotFound) as exc:
            items.append({"name": name, "error": str(exc)})
    return items


@bp.post("/reset")
@documented(
    "Rebuild this world from its scenario, or another",
    {**ok("the world and its scenario"), **ERROR},
    body=ResetBody,
    body_required=False,
)
def reset() -> Response:
    body = _body(ResetBody)
    scenario = _scenario(body["scenario"]) if "scenario" in body else None
    return _reset_to(scenario)


def _reset_to(scenario: Scenario | None) -> Response:
    try:
        world = simulator().reset(_world_name(), scenario)
    except ScenarioInvalid as exc:  # the world's own file, edited since and broken now
        raise ControlError(400, "invalid scenario", exc.problems) from None
    built_from = world.scenario
    assert built_from is not None  # Scenario.build gives every world it builds its scenario
    warnings = scenario_warnings(built_from)
    response = jsonify(
        world=_world_name(), scenario=built_from.name, **({"warnings": warnings} if warnings else {})
    )
    _warn(response, warnings)
    return response


@bp.put("/scenario")
@documented(
    "Load a scenario (by name or inline) into this world",
    {**ok("the world and its scenario"), **ERROR},
    body=ScenarioBody,
)
def load_scenario() -> Response:
    body = _body(ScenarioBody)
    if ("name" in body) == ("scenario" in body):
        raise ControlError(400, "give exactly one of name or scenario")
    scenario = _scenario(body["name"]) if "name" in body else _inline(body["scenario"])
    return _reset_to(scenario)


def _scenario(name: str) -> Scenario:
    try:
        return simulator().load(name)
    except ScenarioNotFound as exc:
        raise ControlError(404, str(exc)) from None
    except ScenarioInvalid as exc:
        raise ControlError(400, "invalid scenario", exc.problems) from None


def _inline(spec: dict) -> Scenario:
    try:
        return simulator().inline(spec)
    except ScenarioInvalid as exc:
        raise ControlError(400, "invalid scenario", exc.problems) from None


@bp.get("/state")
@documented(
    "Users, devices, shares and tokens",
    ok("state"),
    parameters=[{**LIMIT, "description": "at most this many records of each kind"}],
)
def state() -> Response:
    limit = max(0, request.args.get("limit", default=1000, type=int))
    return jsonify(world_state(_world(), _world_name(), limit))


def world_state(world: World, name: str, limit: int = 1000) -> dict:
    """What GET /_mock/state answers (the dashboard renders the same)."""

    def first(records: dict) -> list:  # without copying a world of a million records first
        return list(islice(records.values(), limit))

    with world.lock:
        world.catch_up()  # values as of the clock: scripted steps and delayed writes done
        shares = [world.settle(share) for share in first(world.shares)]
        now = world.now()
        return {
            "world": name,
            "scenario": world.scenario.name if world.scenario else None,
            "clock": _clock(world),
            "counts": {
                "users": len(world.users),
                "devices": len(world.devices),
                "shares": len(world.shares),
                "tokens": len(world.tokens),
            },
            "users": [_user(u) for u in first(world.users)],
            "devices": [_device(world, d) for d in first(world.devices)],
            "shares": [_share(s) for s in shares],
            "tokens": [_token(t, now) for t in first(world.tokens)],
            # Clients connected to the realtime channel (MQTT over WebSocket) in this world.
            "mqttSessions": [session.describe() for session in list(world.mqtt_sessions.values())],
        }


def _user(u) -> dict:
    return {
        "uid": u.uid, "email": u.email, "phone": u.phone, "nickname": u.nickname, "userDomain": u.user_domain,
        "password": u.password,
    }  # fmt: skip


def _device(world: World, d) -> dict:
    return {
        "pk": d.pk,
        "dk": d.dk,
        "name": d.name,
        "owner": d.owner_uid,
        "verified": d.verified,
        "online": d.online,
        "product": world.products[d.pk].name if d.pk in world.products else None,
        "values": shadows.current_values(world, d),
    }


@bp.get("/devices/<pk>/<dk>")
@documented(
    "One device's state: values and when each was reported, pending writes, version",
    {**ok("the device"), **NO_DEVICE},
    parameters=DEVICE_PATH,
)
def device_state(pk: str, dk: str) -> Response:
    """One device's state: values with their times, writes not yet applied, version."""
    world = _world()
    with world.lock:
        world.catch_up()
        device = _known_device(world, pk, dk)
        state = shadows.shadow_of(world, device)
        return jsonify(
            {
                **_device(world, device),
                "reportedAt": state.reported_at,
                "desired": state.delta(),
                "version": state.version,
                "location": state.location,
                "history": len(state.history),
                "events": len(state.events),
            }
        )


@bp.post("/devices/<pk>/<dk>")
@documented(
    "The device reports values, moves, or goes online or offline",
    {**ok("the device"), **ERROR, **NO_DEVICE},
    body=DeviceBody,
    parameters=DEVICE_PATH,
)
def change_device(pk: str, dk: str) -> Response:
    """Make a device report values, move, or go online or offline, as if it did so itself."""
    body = _body(DeviceBody)
    world = _world()
    with world.lock:
        world.catch_up()
        device = _known_device(world, pk, dk)
        values = _checked_values(world, device, body.get("values") or {})
        event = _checked_event(world, device, body["event"]) if "event" in body else None
        if "deviceData" in body or "location" in body:
            shadows.update_module(world, device, body.get("deviceData"), body.get("location"))
        shadows.report(world, device, values)
        if event:
            shadows.raise_event(world, device, *event)
        if "online" in body:
            devices.set_online(world, device, body["online"])
    return device_state(pk, dk)


def _known_device(world: World, pk: str, dk: str):
    device = world.devices.get((pk, dk))
    if device is None:
        raise ControlError(404, f"no device {pk}/{dk}")
    return device


def _checked_values(world: World, device, values: dict) -> dict:
    if not values:
        return {}
    product = world.products.get(device.pk)
    if product is None:
        raise ControlError(400, f"product {device.pk} has no thing model")
    try:
        return things.check_values(product, values)
    except things.ValueProblem as problem:
        raise ControlError(400, "invalid values", [f"values.{problem}"]) from None


def _checked_event(world: World, device, event: dict) -> tuple[str, dict]:
    """(code, output) of a valid event, checked before anything about the device changes."""
    product = world.products.get(device.pk)
    if product is None:
        raise ControlError(400, f"product {device.pk} has no thing model")
    problems = [f"event.{key}: unknown field (give code and output)" for key in event if key not in ("code", "output")]
    if not isinstance(event.get("code"), str):
        problems.append("event.code: required, the code of an event")
    if problems:
        raise ControlError(400, "invalid event", problems)
    output = event.get("output", {})
    try:
        return event["code"], things.check_event(product, event["code"], output)
    except things.ValueProblem as problem:
        raise ControlError(400, "invalid event", [f"event.{problem}"]) from None


def _share(s) -> dict:
    return {
        "shareId": s.share_id,
        "code": s.code,
        "device": {"pk": s.pk, "dk": s.dk},
        "owner": s.owner_uid,
        "recipient": s.recipient_uid,
        "state": s.status.name.lower(),
        "shareStatus": int(s.status),
        "failureCause": None if s.failure_cause is None else int(s.failure_cause),
        "cause": None if s.failure_cause is None else s.failure_cause.name.lower(),
        "coverMark": s.cover_mark,
        "acceptingExpireAt": s.accepting_expire_at,
        "sharingExpireAt": s.sharing_expire_at,
        "deviceName": s.device_name,
    }


def _token(t, now: int) -> dict:
    return {"token": t.value, "uid": t.uid, "kind": t.kind, "expiresAt": t.expires_ms, "live": t.is_live(now)}


def _clock(world: World) -> dict:
    from ..cloud.views import time_string

    now = world.now()
    return {"now": now, "iso": time_string(now), "frozen": world.clock.frozen}


@bp.get("/clock")
@documented("The world's clock", ok("now, iso, frozen"))
def get_clock() -> Response:
    return jsonify(_clock(_world()))


CATCHING_UP = "catching up"  # the clock endpoint's RESUME: its clock moved, steps still due


@bp.post("/clock")
@documented("Set, advance, freeze or unfreeze the clock", {**ok("now, iso, frozen"), **ERROR}, body=ClockBody)
def set_clock() -> Response:
    body = _body(ClockBody)
    if not body:
        raise ControlError(400, "give set, advance or freeze")
    world = _world()
    environ = request.environ
    with world.lock:
        if environ.get(RESUME) != CATCHING_UP:  # a later pass only goes on catching up
            _move_clock(world, body)
        # The devices' steps up to the new time happen now, each at its own time: a slice at
        # a time, the event loop free for other clients between two (see rsgi.py, deferral).
        world.catch_up()
        while world.behind():
            if environ.get(CAN_DEFER):
                environ[DEFERRED] = Deferred(0, CATCHING_UP)  # type: ignore[arg-type]
                return Response(status=204)  # never sent: the server calls again at once
            world.catch_up()
        return jsonify(_clock(world))


def _move_clock(world: World, body: dict) -> None:
    # Freeze before setting, so {"set": T, "freeze": true} reads exactly T (set-then-freeze
    # would let real time run on between the two); unfreeze last, from the time just set.
    if body.get("freeze") is True:
        world.clock.freeze()
    if "set" in body:
        world.clock.set(parse_instant(body["set"], world.now()))
    if "advance" in body:
        world.clock.advance(parse_duration(body["advance"]))
    if body.get("freeze") is False:
        world.clock.unfreeze()


@bp.get("/rules")
@documented("The rules, with how often each fired", ok("rules"))
def get_rules() -> Response:
    world = _world()
    with world.lock:
        return jsonify([r.to_dict() for r in world.rules.rules])


@bp.post("/rules")
@documented(
    "Append a rule (or a list of rules)", {"201": {"description": "the rules as stored"}, **ERROR}, body=RuleSpec
)
def add_rules() -> tuple[Response, int]:
    """One rule, or a list of rules, appended after the existing ones (all or none)."""
    body = _body()
    items = body if isinstance(body, list) else [body]
    specs, problems = [], []
    for i, item in enumerate(items):
        spec, errors = validate_rule(item)
        prefix = f"[{i}]." if isinstance(body, list) else ""
        problems += [prefix + e for e in errors]
        specs.append(spec)
    if problems:
        raise ControlError(400, "invalid rule", problems)
    world = _world()
    with world.lock:
        ids = {r.id for r in world.rules.rules}
        clash = [s["id"] for s in specs if s.get("id") in ids]
        if clash or len({s.get("id") for s in specs if s.get("id")}) < len([s for s in specs if s.get("id")]):
            raise ControlError(409, "rule ids must be unique", clash)
        added = [world.rules.add(spec).to_dict() for spec in specs]
        place = (lambda i: f"[{i}]") if isinstance(body, list) else (lambda i: "rule")
        warnings = endpoint_warnings(specs, place) + uid_warnings(specs, world.users, place)
    response = jsonify(added if isinstance(body, list) else added[0])
    _warn(response, warnings)
    return response, 201


def _warn(response: Response, warnings: list[str]) -> None:
    """Valid but suspicious input: said in X-Mock-Warning, beside the normal answer."""
    if warnings:
        response.headers[HEADER] = warning_header(warnings)


@bp.delete("/rules")
@documented("Remove every rule", ok("deleted"))
def clear_rules() -> Response:
    world = _world()
    with world.lock:
        world.rules.clear()
    return jsonify(deleted="all")


@bp.delete("/rules/<rule_id>")
@documented("Remove one rule", {**ok("deleted"), "404": {"description": "no such rule"}}, parameters=[RULE_ID])
def delete_rule(rule_id: str) -> Response:
    world = _world()
    with world.lock:
        if not world.rules.remove(rule_id):
            raise ControlError(404, f"no rule {rule_id}")
    return jsonify(deleted=rule_id)


@bp.get("/journal")
@documented("Requests this world received", ok("total and entries"), parameters=JOURNAL_QUERY)
def journal() -> Response:
    code = request.args.get("code", type=int)
    limit = request.args.get("limit", type=int)
    journal = _world().journal
    matches = journal.query(request.args.get("path"), code, kind=request.args.get("kind"))
    # total counts what the filters select (before limit); recorded, every request ever seen.
    return jsonify(total=len(matches), recorded=journal.total, entries=matches[-limit:] if limit else matches)


@bp.delete("/journal")
@documented("Empty the journal", ok("deleted"))
def clear_journal() -> Response:
    _world().journal.clear()
    return jsonify(deleted="all")


@bp.post("/tokens")
@documented(
    "A fresh token pair for a user, without logging in",
    {"201": {"description": "the login token object"}, "404": {"description": "no user"}},
    body=TokenBody,
)
def tokens() -> tuple[Response, int]:
    uid = _body(TokenBody)["uid"]
    world = _world()
    with world.lock:
        user = world.users.get(uid)
        if user is None:
            raise ControlError(404, f"no user {uid}")
        return jsonify(issue_tokens(world, user)), 201


@bp.post("/shares")
@documented(
    "A share code for a device, created as its owner (as shareInfo would)",
    {"201": {"description": "the share, as in /_mock/state"}, **ERROR, **NO_SHARE},
    body=ShareCodeBody,
)
def create_share() -> tuple[Response, int]:
    """A share code for a device, created as its owner would with shareInfo."""
    body = _body(ShareCodeBody)
    world = _world()
    with world.lock:
        device = world.devices.get((body["pk"], body["dk"]))
        if device is None:
            raise ControlError(404, f"no device {body['pk']}/{body['dk']}")
        owner = world.users.get(device.owner_uid or "")
        if owner is None:
            raise ControlError(409, "the device is bound to nobody: no owner can share it")
        now = world.now()
        usage = parse_instant(body["sharingExpireAt"], now) if "sharingExpireAt" in body else None
        code = cloud_shares.share_info(
            world,
            owner,
            pk=device.pk,
            dk=device.dk,
            coverMark=body["coverMark"],
            acceptingExpireAt=parse_instant(body["acceptingExpireAt"], now),
            sharingExpireAt=usage,
        )
        return jsonify(_share(world.shares[code])), 201


def _live_share(world: World, code: str):
    share = world.find_share(code)
    if share is None:
        raise ControlError(404, f"no share {code}")
    return share


@bp.delete("/shares/<code>")
@documented("End a share as its owner (cause 3)", {**ok("the share, ended"), **NO_SHARE}, parameters=[CODE_PARAM])
def end_share(code: str) -> Response:
    """End a share as its owner would (ownerUserUnshareDevice: cause 3)."""
    world = _world()
    with world.lock:
        share = _live_share(world, code)
        owner = world.users.get(share.owner_uid)
        if owner is None:
            raise ControlError(409, f"the share's owner {share.owner_uid} is not a user of this world")
        cloud_shares.owner_unshare(world, owner, shareCode=code)
        return jsonify(_share(share))


@bp.post("/shares/<code>/expire")
@documented(
    "Close the share's current window now: accept window (cause 1) or usage (cause 2)",
    {**ok("the share, ended"), **NO_SHARE},
    parameters=[CODE_PARAM],
)
def expire_share(code: str) -> Response:
    """Close the share's current window now: a pending code can no longer be accepted (cause 1),
    an active share ends (cause 2)."""
    world = _world()
    with world.lock:
        share = _live_share(world, code)
        cloud_shares.expire_now(world, share)
        return jsonify(_share(share))


@bp.get("/outbox")
@documented("Every SMS and e-mail sent in this world, newest first", ok("messages"))
def outbox() -> Response:
    """Every SMS and e-mail the cloud sent in this world, newest first (nothing leaves it)."""
    world = _world()
    with world.lock:
        return jsonify(messages=[codes.render(record) for record in codes.outbox(world)])


@bp.delete("/outbox")
@documented("Empty the outbox (codes already sent stay valid)", ok("cleared: how many went"))
def clear_outbox() -> Response:
    """Empty the outbox; codes already sent stay valid."""
    world = _world()
    with world.lock:
        return jsonify(cleared=codes.clear_outbox(world))


@bp.post("/stock")
@documented(
    "A new device bound to nobody, for a user to bind",
    {"201": {"description": "the device, as in /_mock/state"}, **ERROR, "409": {"description": "it exists"}},
    body=StockBody,
)
def put_in_stock() -> tuple[Response, int]:
    """A new device bound to nobody, for a user to bind (by dk, sn, binding code or Bluetooth)."""
    body = _body(StockBody)
    world = _world()
    with world.lock:
        if (body["pk"], body["dk"]) in world.devices:
            raise ControlError(409, f"device {body['pk']}/{body['dk']} exists")
        product = world.products.get(body["pk"])
        device = Device(
            pk=body["pk"],
            dk=body["dk"],
            name=body.get("name") or body["dk"],
            owner_uid=None,
            online=body.get("online", False),
            product_name=body.get("productName") or (product.name if product else "Smart device"),
            sn=body.get("sn", ""),
            binding_code=body.get("bindingCode", ""),
        )
        binding.put_in_stock(world, device)
        return jsonify(_device(world, device)), 201


@bp.post("/snapshot")
@documented(
    "Write every world to the state file now (atomically)",
    {**ok("path, bytes and worlds written"), "400": {"description": "the server has no --state-file"}},
)
def snapshot() -> Response:
    """Write every world to the state file now (atomically)."""
    from pathlib import Path

    from ..harness.persistence import write_state

    path = current_app.config.get("STATE_FILE")
    if not path:
        raise ControlError(400, "no state file: start the server with --state-file PATH")
    skipped: dict[str, str] = {}
    try:
        written = write_state(Path(path), simulator().worlds, skipped)
    except OSError as exc:  # a full disk, a folder that went away: the old file is still whole
        reason = exc.strerror or str(exc)
        raise ControlError(507, f"cannot write the state file {path}: {reason}; the previous one is kept") from None
    answer = {"path": str(path), "bytes": written, "worlds": sorted(simulator().worlds)}
    if skipped:
        answer["notSaved"] = skipped  # their copy from the previous write is kept, if there was one
    return jsonify(answer)


@bp.get("/worlds")
@documented("Every world held", ok("names"))
def worlds() -> Response:
    sim = simulator()
    return jsonify(
        [{"name": n, "scenario": w.scenario.name if w.scenario else None} for n, w in list(sim.worlds.items())]
    )


@bp.delete("/world")
@documented("Forget this world", {**ok("dropped"), "400": {"description": "the default world"}})
def drop_world() -> Response:
    """Forget this request's world (not the default one, which can only be reset)."""
    name = _world_name()
    if not simulator().drop(name):
        raise ControlError(400, "the default world cannot be dropped; reset it instead")
    return jsonify(dropped=name)


@bp.get("/openapi.json")
@documented("This document", ok("OpenAPI 3.1"))
def openapi() -> Response:
    from .openapi import control_document

    # The app itself, not its proxy; Flask types the proxy as the app, which has no such method.
    return jsonify(control_document(current_app._get_current_object()))  # type: ignore[attr-defined]


@bp.get("/openapi/quectel.json")
@documented("The simulated Quectel API's document", ok("OpenAPI 3.1"))
def quectel_openapi() -> Response:
    from .openapi import quectel_document

    return jsonify(quectel_document())


# Served at /_mock/docs/ (with the slash): the documents are one level up, at /_mock/.
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quectel sharing simulator: API</title>
<link rel="stylesheet" href="assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="assets/swagger-ui-bundle.js"></script>
<script src="assets/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  urls: [{url: "../openapi/quectel.json", name: "Simulated Quectel API"},
         {url: "../openapi.json", name: "Control API (/_mock)"}],
  dom_id: "#ui", presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout", persistAuthorization: true
});
</script></body></html>
"""


@bp.get("/docs")
@documented(
    "Both OpenAPI documents in Swagger UI", {**page("the page (at /_mock/docs/)"), **redirect("to /_mock/docs/")}
)
def docs() -> BaseResponse:
    """Both OpenAPI documents in Swagger UI, served from the package: no internet needed."""
    if not request.path.endswith("/"):
        return redirect_to(request.script_root + request.path + "/")
    return Response(DOCS_PAGE, mimetype="text/html")


bp.add_url_rule("/docs/", view_func=docs, endpoint="docs_slash")


@bp.get("/docs/assets/<path:name>")
@documented(
    "Swagger UI's files, served from the package", page("the file", "application/octet-stream"), parameters=[ASSET]
)
def docs_asset(name: str) -> Response:
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(swagger_ui_path, name, max_age=86400)


from . import control_families  # noqa: E402, F401 - the home-mode calls join this blueprint
