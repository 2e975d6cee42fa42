"""WireMock 3 for the side-by-side runs: installed from the `wiremock` npm package (it carries
the standalone jar) into bench/.wiremock when absent, run with Java, and given one templated
stub per compared path that answers the simulator's reply for it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
PREFIX = HERE / ".wiremock"  # gitignored
PACKAGE = "wiremock@3.13.2"


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


def command(jar_path: Path, port: int) -> list[str]:
    # Without its request journal, as WireMock advises for load: unbounded, it grows by the
    # request; bounded (--max-request-journal-entries), it counts its queue on every request
    # and spends milliseconds doing so. The simulator keeps its journal throughout.
    return ["java", "-jar", str(jar_path), "--port", str(port), "--disable-banner", "--no-request-journal"]


def stub(method: str, path: str, body: str) -> dict:
    """A templated stub of the simulator's reply: a share code is made afresh for each call,
    as the simulator makes one, and every reply goes through the template engine."""
    templated = re.sub(r'"share_dv_[0-9a-f]+"', "\"share_dv_{{randomValue length=36 type='HEXADECIMAL'}}\"", body)
    return {
        "request": {"method": method, "urlPath": path},
        "response": {
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": templated,
            "transformers": ["response-template"],
        },
    }


def add_stubs(base: str, stubs: list[dict]) -> None:
    import urllib.request

    for spec in stubs:
        req = urllib.request.Request(base + "/__admin/mappings", data=json.dumps(spec).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        urllib.request.urlopen(req, timeout=30).close()
