"""WireMock 3 for the side-by-side runs: installed from the `wiremock` npm package (it carries
the standalone jar) into bench/.wiremock when absent, run with Java, and given one stub per
compared path that answers the simulator's reply for it.

Two configurations are measured (bench/run.py), one JVM at a time: templated stubs with the
request journal off (as WireMock advises for load) and on (its default). Each JVM also holds a
plain stub (the same bytes, no template engine) under PLAIN + the path: wrk straight at it,
once the JVM is warm, is the sanity check of that JVM's figures."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
PREFIX = HERE / ".wiremock"  # gitignored
PACKAGE = "wiremock@3.13.2"
PLAIN = "/plain"  # the plain stubs' path prefix
# A fixed heap (no resizing while measured; room for a journal of 300,000 requests at about
# 6.5 KB each, measured: a 5 s run at 60,000 requests/s) and the serial collector: one GC
# thread, which on 2 cores shared with the load generator does not take a core from the
# request threads as G1's parallel and concurrent threads do (the JVM picks G1 here because
# the machine has 24 GiB).
JVM_OPTIONS = ["-Xms2g", "-Xmx2g", "-XX:+UseSerialGC"]


def jar() -> Path | None:
    """The standalone jar, installed with npm when it is not there yet; None without npm/Java."""
    found = sorted(PREFIX.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
    if found:
        return found[-1]
    if not (shutil.which("npm") and shutil.which("java")):
        return None
    print(f"installing {PACKAGE} with npm into {PREFIX} ...", flush=True)
    PREFIX.mkdir(exist_ok=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PREFIX), PACKAGE],
        check=True,
        capture_output=True,
    )
    found = sorted(PREFIX.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
    return found[-1] if found else None


def command(jar_path: Path, port: int, journal: bool = False) -> list[str]:
    """WireMock on `port`; with `journal`, its request journal as it comes (on, unbounded: it
    grows by the request), else without it, as WireMock advises for load. The simulator keeps
    its own journal throughout."""
    args = ["java", *JVM_OPTIONS, "-jar", str(jar_path), "--port", str(port), "--disable-banner"]
    return args if journal else [*args, "--no-request-journal"]


def stubs(method: str, path: str, body: str) -> list[dict]:
    """The templated stub at `path`, and the plain one at PLAIN + `path`."""
    return [stub(method, path, body), stub(method, PLAIN + path, body, templated=False)]


def clear_journal(base: str) -> None:
    """Empty the request journal (a test suite does so between tests): each measured run then
    starts from the same journal, not from one grown by every run before it."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(base + "/__admin/requests", method="DELETE"), timeout=30).close()


def stub(method: str, path: str, body: str, templated: bool = True) -> dict:
    """A stub of the simulator's reply. Templated: a share code is made afresh for each call,
    as the simulator makes one, and every reply goes through the template engine. Plain: the
    same bytes as they are."""
    response: dict = {"status": 200, "headers": {"Content-Type": "application/json"}, "body": body}
    if templated:
        code = "\"share_dv_{{randomValue length=36 type='HEXADECIMAL'}}\""
        response |= {"body": re.sub(r'"share_dv_[0-9a-f]+"', code, body), "transformers": ["response-template"]}
    return {"request": {"method": method, "urlPath": path}, "response": response}


def add_stubs(base: str, stubs: list[dict]) -> None:
    import urllib.request

    for spec in stubs:
        req = urllib.request.Request(base + "/__admin/mappings", data=json.dumps(spec).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        urllib.request.urlopen(req, timeout=30).close()
