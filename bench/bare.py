"""The limit: a bare RSGI handler on the simulator's own granian server (served the same way),
answering each path with the simulator's bytes for it and nothing else to do."""

from __future__ import annotations

from typing import Any

from replies import PING, load

from mock_server.rsgi import has_body
from mock_server.server import serve_rsgi


class Bare:
    def __init__(self, replies: dict[str, bytes]) -> None:
        self.replies = replies

    async def __call__(self, scope: Any, proto: Any) -> None:
        if has_body(scope):  # read when there is one, as the simulator's bridge does
            await proto()
        body = self.replies.get(scope.path, PING)
        proto.response_bytes(200, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body)


if __name__ == "__main__":
    port, replies = load()
    serve_rsgi(lambda: Bare(replies), "127.0.0.1", port)
