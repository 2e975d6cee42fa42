"""The replies the comparison servers give: for each path, the bytes the simulator answered
there (bench/run.py writes them to a JSON file, {path: body}), and a fixed envelope anywhere
else (their readiness check asks for /ping)."""

from __future__ import annotations

import json
import sys

PING = b'{"code":200,"msg":"","data":null,"extMsg":null}'


def load() -> tuple[int, dict[str, bytes]]:
    """The port and the replies named on the command line: `PORT [REPLIES.json]`."""
    port = int(sys.argv[1])
    if len(sys.argv) < 3:
        return port, {}
    with open(sys.argv[2]) as f:
        return port, {path: body.encode() for path, body in json.load(f).items()}
