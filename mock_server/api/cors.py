"""Who may call the simulator from a browser: CORS for the simulated API, and same-origin
only for the control API and its pages.

The simulated API answers any origin, as a test double for web, Flutter-web and Ionic apps
must. The control API can reset or rewrite a world, so a page on another site must not be
able to drive it through the user's browser: a request that changes state is refused when
its `Origin` is another site, and every control request is refused when its `Host` is a
name other than localhost or the one the server was started with (a DNS-rebound name:
an attacker's domain that resolves to 127.0.0.1).

Plain function of (method, path, headers), with no web framework in it, so that any code
path serving a request can ask it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .paths import is_control, session_path

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_METHODS = "GET, POST, PUT, DELETE, PATCH, OPTIONS"
# What a web client may read beyond the CORS-safelisted response headers.
EXPOSED = "X-Mock-Warning, Allow, Retry-After"
PREFLIGHT_MAX_AGE = "600"


@dataclass(frozen=True)
class CorsAnswer:
    """headers: to add to the answer; preflight: answer 204 with them at once;
    refusal: answer 403 with this message and do nothing else."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    preflight: bool = False
    refusal: str | None = None


NOTHING = CorsAnswer()


def cors(method: str, path: str, headers: Mapping[str, str], server_host: str = "127.0.0.1") -> CorsAnswer:
    """What a request from a browser gets. `headers` is looked up with lower-case names
    (Werkzeug's headers and RSGI's both answer those); `path` may carry the `/s/NAME` prefix."""
    if is_control(session_path(path)[1]):
        return _control(method, headers, server_host)
    return _simulated(method, headers)


def _simulated(method: str, headers: Mapping[str, str]) -> CorsAnswer:
    origin = headers.get("origin")
    if not origin:
        return NOTHING
    allow = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Expose-Headers", EXPOSED),
        ("Vary", "Origin"),
    ]
    wanted_method = headers.get("access-control-request-method")
    if method != "OPTIONS" or not wanted_method:
        return CorsAnswer(allow)
    allow += [("Access-Control-Allow-Methods", API_METHODS), ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE)]
    wanted_headers = headers.get("access-control-request-headers")
    if wanted_headers:
        allow.append(("Access-Control-Allow-Headers", wanted_headers))
    return CorsAnswer(allow, preflight=True)


def _control(method: str, headers: Mapping[str, str], server_host: str) -> CorsAnswer:
    host = _hostname(headers.get("host") or "")
    if host is not None and not _own_name(host, server_host):
        return CorsAnswer(refusal=f"the control API answers only to its own address, not to host {host!r}")
    origin = headers.get("origin")
    if method in SAFE_METHODS or not origin:
        return NOTHING  # tools (curl, tests) send no Origin; reads are not shared cross-site
    if _hostport(origin) != (headers.get("host") or "").lower():
        return CorsAnswer(refusal=f"the control API refuses changes from another site ({origin})")
    return NOTHING


def _own_name(host: str, server_host: str) -> bool:
    """localhost, the --host name, or any IP address: a rebinding attack needs a domain
    name of its own, and an address literal cannot be rebound."""
    if host in ("localhost", server_host.lower()) or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _hostname(host_header: str) -> str | None:
    """The name in a Host header, without port or IPv6 brackets; None when there is none."""
    if not host_header:
        return None
    return urlsplit("//" + host_header).hostname


def _hostport(origin: str) -> str | None:
    parts = urlsplit(origin)
    return parts.netloc.lower() if parts.scheme and parts.netloc else None
