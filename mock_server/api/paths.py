"""Where a request goes by its path alone: the control API's prefix, and the world a
`/s/NAME/` prefix names (read by harness.worlds.session_path, as the realtime channel reads it)."""

from __future__ import annotations

from ..harness.worlds import session_path

CONTROL_PREFIX = "/_mock"
# Control paths anyone may read even when an admin token is set: they change nothing.
PUBLIC_CONTROL = tuple(CONTROL_PREFIX + p for p in ("/health", "/docs", "/openapi", "/ui"))
SESSION = "mock_server.session"  # environ key: the world named by a /s/NAME/ prefix


def is_control(path: str) -> bool:
    """Whether `path` (without any /s/NAME/ prefix) is the control API's or its dashboard's."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def split_session(environ: dict) -> None:
    """`/s/NAME/rest` is served as `/rest` in the world NAME."""
    name, rest = session_path(environ.get("PATH_INFO", ""))
    if name is not None:
        environ[SESSION] = name
        environ["PATH_INFO"] = rest
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/s/" + name
