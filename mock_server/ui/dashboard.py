"""The dashboard's pages. They read a world the way GET /_mock/state does; every change they
offer is a call to the control API made from the page (static/dashboard.js), so there is one
way to change a world. The world shown is the request's: /_mock/ui/ for the default world,
/s/NAME/_mock/ui/ for a session world, exactly as for every other path."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse  # what redirect() gives

from ..api.context import current
from ..api.control import library_items, world_state
from ..api.control_families import families_state
from ..api.control_schemas import documented, page
from ..api.control_schemas import redirect as redirected
from ..api.declare import registry
from ..api.dispatch import simulator
from ..api.hooks import admin_ok
from ..api.outbox import purpose
from ..api.paths import CONTROL_PREFIX
from ..api.schemas import whole_number
from ..api.steps import ADMIN_COOKIE
from ..cloud import codes
from ..harness.rules import FAULTS
from ..harness.worlds import DEFAULT_WORLD
from . import stream

bp = Blueprint("ui", __name__, url_prefix=CONTROL_PREFIX + "/ui", template_folder="templates", static_folder="static")
SHOWN = 200  # records of each kind a page lists; /_mock/state?limit= gives more
PUBLIC = ("ui.login", "ui.static")
LOGIN_FORM = {
    "type": "object",
    "properties": {
        "token": {"type": "string", "description": "the server's admin token (--admin-token)"},
        "next": {"type": "string", "description": "the page to go to once logged in (on this server)"},
    },
    "required": ["token"],
}


def install(app: Flask) -> None:
    """The pages, under /_mock/ like the control API: cross-site requests to them are refused
    by the same check (api/cors.py, run before any other request hook)."""
    app.register_blueprint(bp)


@bp.before_request
def _login_first() -> BaseResponse | None:
    if request.endpoint in PUBLIC or admin_ok(request):
        return None
    return redirect(url_for("ui.login", next=request.full_path))


# ---- rendering helpers ---------------------------------------------------------------------


@bp.app_template_filter("when")
def when(ms: int | None, now: int, empty: str = "-") -> str:
    """An instant against the world's clock: `2030-01-01 10:00:00 (in 5m)`."""
    if ms is None:
        return empty
    delta = (ms - now) // 1000
    return f"{stamp(ms)} ({'in ' + _span(delta) if delta >= 0 else _span(-delta) + ' ago'})"


@bp.app_template_filter("input_size")
def input_size(text: str) -> int:
    """An input's width in characters for a value: all of it shows (a DATE's 13 digits), 8 to 64."""
    return min(max(len(str(text)) + 1, 8), 64)


@bp.app_template_filter("stamp")
def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@bp.app_template_filter("qr")
def qr_data_uri(text: str) -> str:
    """The text as a QR code (SVG): 6 px a module, large enough for a phone camera to read
    from a laptop screen; the quiet zone of 4 modules the standard asks for."""
    import segno  # imported by the pages that show a QR code, not at start

    return segno.make_qr(text, error="m").svg_data_uri(scale=6, border=4)


def _page(template: str, **context: Any) -> str:
    state = current()
    world = state.world
    sim = simulator()
    return render_template(
        template,
        root=request.script_root,
        world_name=state.world_name,
        worlds=sorted(sim.worlds),
        now=world.now(),
        frozen=world.clock.frozen,
        admin=bool(current_app.config.get("ADMIN_TOKEN")),
        **context,
    )


# ---- pages ---------------------------------------------------------------------------------


@bp.get("/")
@documented("The dashboard: this world's users, devices, shares and tokens", page("the page"))
def world_page() -> str:
    state = current()
    body = world_state(state.world, state.world_name, SHOWN)
    fixed = {t["uid"]: t["token"] for t in body["tokens"] if t["kind"] == "access" and t["expiresAt"] is None}
    return _page("world.html", state=body, fixed=fixed, device_control=_has_device_control())


def _has_device_control() -> bool:
    """Whether the control API can switch a device (POST /_mock/devices/{pk}/{dk})."""
    return any(rule.rule.startswith(CONTROL_PREFIX + "/devices/<") for rule in current_app.url_map.iter_rules())


@bp.get("/families")
@documented("The dashboard: home-mode switches, families, rooms, members and invitations", page("the page"))
def families_page() -> str:
    """Each user's home-mode switch; families with rooms, members, devices and invitations."""
    world = current().world
    with world.lock:
        body = families_state(world)
        users = [
            {"uid": u.uid, "nickname": u.nickname, "homeMode": u.home_mode}
            for u in islice(world.users.values(), SHOWN)
        ]
    return _page("families.html", state=body, users=users)


@bp.get("/worlds")
@documented("The dashboard: every world held", page("the page"))
def worlds_page() -> str:
    rows = []
    for name, world in sorted(simulator().worlds.items()):
        scenario = world.scenario
        rows.append({
            "name": name,
            "scenario": scenario.name if scenario else None,
            "seed": scenario.seed if scenario else world.seed,
            "now": world.now(),
            "frozen": world.clock.frozen,
            "counts": {"users": len(world.users), "devices": len(world.devices), "shares": len(world.shares)},
            "requests": world.journal.total,
            "href": ("" if name == DEFAULT_WORLD else f"/s/{name}") + CONTROL_PREFIX + "/ui/",
        })  # fmt: skip
    return _page("worlds.html", rows=rows)


@bp.get("/rules")
@documented("The dashboard: this world's rules, and forms to add one or load a scenario", page("the page"))
def rules_page() -> str:
    world = current().world
    with world.lock:
        rules = [r.to_dict() for r in world.rules.rules]
    endpoints = sorted({doc.name for doc in registry()})
    return _page(
        "rules.html",
        rules=rules,
        endpoints=endpoints,
        faults=FAULTS,  # the faults validation accepts, so the form offers no other
        scenarios=library_items(),
        scenario=world.scenario,
    )


@bp.get("/outbox")
@documented("The dashboard: the codes this world sent, its devices in stock, a form to add one", page("the page"))
def outbox_page() -> str:
    """The codes the world sent, and devices in stock (with a form to add one)."""
    world = current().world
    with world.lock:
        messages = [{**codes.render(m), "purpose": purpose(m)} for m in codes.outbox(world)[:SHOWN]]
        stock = [d for d in world.devices.values() if d.owner_uid is None][:SHOWN]
        products = list(world.products.values())
    return _page("outbox.html", messages=messages, stock=stock, products=products)


@bp.get("/journal")
@documented("The dashboard: this world's journal, live", page("the page"))
def journal_page() -> str:
    return _page("journal.html")


@bp.get("/journal/stream")
@documented(
    "The journal as server-sent events: entries after Last-Event-ID (or after), then live",
    page("text/event-stream, one event per entry", "text/event-stream"),
    parameters=[
        {
            "name": "after", "in": "query", "schema": {"type": "integer"}, "example": 10,
            "description": "only entries after this sequence number (Last-Event-ID wins)",
        }
    ],
)  # fmt: skip
def journal_stream() -> Response:
    """Server-sent events: the journal after Last-Event-ID (or ?after=), then live (see stream.py)."""
    state = current()
    after = request.headers.get("Last-Event-ID", request.args.get("after"))
    can_stream = bool(request.environ.get(stream.CAN_STREAM)) and stream.has_room()
    text, seq = stream.backlog(state.world.journal, whole_number(after or ""), can_stream)
    if can_stream:
        sim, name, world = simulator(), state.world_name, state.world
        request.environ[stream.STREAM] = (lambda: (sim.worlds.get(name) or world).journal, seq)
    response = Response(text, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
@documented(
    "The admin token form",
    {**page("the form"), **redirected("no admin token set: to next")},
    parameters=[
        {
            "name": "next",
            "in": "query",
            "schema": {"type": "string"},
            "example": "/_mock/ui/rules",
            "description": "the page to go to once logged in (on this server)",
        }
    ],
    method="GET",
)
@documented(
    "Log in with the admin token: an HttpOnly cookie the dashboard then carries",
    {**redirected("to next, with the cookie"), "401": {"description": "wrong token: the form again"}},
    form=LOGIN_FORM,
    method="POST",
)
def login() -> BaseResponse | str:
    """Where a browser gives the admin token (when the server has one): kept in an HttpOnly,
    SameSite=Strict cookie that the dashboard's pages and control calls then carry."""
    token = current_app.config.get("ADMIN_TOKEN") or ""
    target = request.values.get("next") or url_for("ui.world_page")
    if not _on_this_server(target):
        target = url_for("ui.world_page")
    if not token:
        return redirect(target)  # nothing to log into
    if request.method == "GET":
        return render_template("login.html", root=request.script_root, next=target, failed=False)
    given = request.form.get("token", "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        return Response(render_template("login.html", root=request.script_root, next=target, failed=True), 401)
    response = redirect(target)
    response.set_cookie(ADMIN_COOKIE, given, httponly=True, samesite="Strict", secure=request.is_secure)
    return response


def _on_this_server(target: str) -> bool:
    """Whether `next` is a path of this server. Browsers drop tabs and newlines from a URL and
    read `\\` as `/`, so `/\t/host` and `/\\host` lead to another host as `//host` does."""
    if any(ch < " " or ch in "\\\x7f" for ch in target):
        return False
    parts = urlsplit(target)
    return target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc


@bp.post("/logout")
@documented("Forget the admin cookie", redirected("to the login form"))
def logout() -> BaseResponse:
    response = redirect(url_for("ui.login"))
    response.delete_cookie(ADMIN_COOKIE)
    return response
