"""What `mock-server run` loads before its first answer: only what that answer needs. The
modules below are deferred to the first request that uses them (or, for Faker, replaced by
its name tables, harness/names.py); a change that imports one at start again fails here.
Not a timing test: the server reports what it has imported (sys.modules), and each deferred
piece is then used once, by a real client, and must answer."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from helpers import BINDING, OWNER, ROOT, banner_port

from mock_server.realtime.client import RealtimeClient

# Top-level names: a package counts as loaded when it or any of its modules is.
DEFERRED = {
    "faker": "generated names come from harness/names.py, never from Faker at run time",
    "amqtt": "the realtime channel's broker: made on the first WebSocket (rsgi.py)",
    "mock_server.realtime": "the realtime channel itself, likewise",
    "apispec": "the OpenAPI documents: built on the first /_mock/openapi*.json",
    "mock_server.api.openapi": "likewise",
    "segno": "QR codes: drawn by the dashboard pages that show one",
    "cryptography": "signatures and certificates: on the first request that needs one",
    "jwt": "likewise",
}

# Run as the server: report, on its standard output, the deferred modules loaded when it
# starts serving and after each answer (with the number of templates compiled so far).
REPORTING_SERVER = """
import json, sys
from mock_server import cli, rsgi

DEFERRED = json.loads(sys.argv[1])

def report(when, bridge):
    loaded = sorted(n for n in DEFERRED if any(m == n or m.startswith(n + ".") for m in sys.modules))
    templates = len(bridge.app.jinja_env.cache or ())
    # one write per line: print's text and newline are two, between which another report went
    sys.stdout.write(json.dumps({"when": when, "loaded": loaded, "templates": templates}) + "\\n")
    sys.stdout.flush()

init, call = rsgi.RSGIBridge.__rsgi_init__, rsgi.RSGIBridge.__call__

def reporting_init(self, loop):
    init(self, loop)
    report("serving", self)

async def reporting_call(self, scope, proto):
    await call(self, scope, proto)
    report(scope.path, self)

rsgi.RSGIBridge.__rsgi_init__ = reporting_init
rsgi.RSGIBridge.__call__ = reporting_call
sys.exit(cli.main(["run", "--port", "0"]))
"""


class Reporting:
    """The server, run by REPORTING_SERVER, and what it reported."""

    def __init__(self) -> None:
        self.out = tempfile.TemporaryFile()  # noqa: SIM115 - lives with the server
        self.proc = subprocess.Popen(
            [sys.executable, "-c", REPORTING_SERVER, json.dumps(sorted(DEFERRED))],
            cwd=ROOT, stdout=self.out, stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        self.port = banner_port(self.proc, self.out)
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes]:
        deadline = time.monotonic() + 30
        while True:
            try:
                req = urllib.request.Request(self.base + path, headers=headers or {})
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return resp.status, resp.read()
            except ConnectionRefusedError:  # not listening yet (banner first, then the port)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def reports(self) -> list[dict]:
        self.out.seek(0)
        return [json.loads(line) for line in self.out.read().decode().splitlines() if line.startswith("{")]

    def report(self, when: str) -> dict:
        deadline = time.monotonic() + 10  # the report follows the answer by a moment
        while not (found := [r for r in self.reports() if r["when"] == when]):
            assert time.monotonic() < deadline, f"no report for {when}: {self.reports()}"
            time.sleep(0.02)
        return found[-1]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)
        self.out.close()


@pytest.fixture(scope="module")
def reporting():
    server = Reporting()
    yield server
    server.stop()


def test_starting_to_serve_loads_none_of_the_deferred_modules(reporting):
    assert reporting.get("/_mock/health")[0] == 200
    assert reporting.report("serving") == {"when": "serving", "loaded": [], "templates": 0}
    assert reporting.report("/_mock/health")["loaded"] == []


def test_the_first_answers_of_the_api_load_none_either(reporting):
    status, body = reporting.get(BINDING + "userDeviceList?pageSize=10", {"Authorization": OWNER})
    assert status == 200 and json.loads(body)["code"] == 200
    assert reporting.report(BINDING + "userDeviceList")["loaded"] == []


@pytest.mark.parametrize(
    "path, needs",
    [
        ("/_mock/openapi.json", "apispec"),
        ("/_mock/openapi/quectel.json", "mock_server.api.openapi"),
    ],
)
def test_the_openapi_documents_load_it_on_first_use(reporting, path, needs):
    status, body = reporting.get(path)
    assert status == 200 and json.loads(body)["openapi"].startswith("3.")
    assert needs in reporting.report(path)["loaded"]


def test_the_docs_page_and_the_dashboard_compile_their_templates_on_first_use(reporting):
    before = reporting.report("serving")["templates"]
    status, page = reporting.get("/_mock/docs/")
    assert status == 200 and b"openapi" in page
    status, page = reporting.get("/_mock/ui/")
    assert status == 200 and b"<html" in page.lower()
    assert reporting.report("/_mock/ui/")["templates"] > before


def test_the_first_websocket_makes_the_realtime_channel(reporting):
    with RealtimeClient(f"ws://127.0.0.1:{reporting.port}/ws/v2", OWNER) as client:
        assert client.connack == 0
    assert {"amqtt", "mock_server.realtime"} <= set(reporting.report("/ws/v2")["loaded"])



def test_routes_build_the_urls_werkzeugs_own_rules_build():
    """Routes compile their URL builder on first use (app.LazyBuilderRule): url_for still
    gives, for every route, what werkzeug's eagerly compiled rule gives, extra arguments too."""
    from werkzeug.routing import Map, Rule

    from mock_server.app import LazyBuilderRule, create_app

    app = create_app()
    rules = list(app.url_map.iter_rules())
    assert rules and all(isinstance(rule, LazyBuilderRule) for rule in rules)
    plain = Map([Rule(r.rule, endpoint=r.endpoint, methods=r.methods) for r in rules])
    lazy, eager = app.url_map.bind("localhost"), plain.bind("localhost")
    for rule in rules:
        values = {name: f"v-{name}" for name in rule.arguments} | {"next": "/_mock/ui/?a=1"}
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        assert lazy.build(rule.endpoint, values, method) == eager.build(rule.endpoint, values, method)
