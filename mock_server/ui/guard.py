"""Refusing cross-site requests that would change a world through a user's browser.

A page on another site can make the browser send a POST to 127.0.0.1 (a form needs no CORS
permission), and a DNS-rebound name (evil.example resolving to 127.0.0.1) makes even the
Origin match the Host. So a state-changing request to the control API or the dashboard is
refused when a browser says it comes from elsewhere (Origin, Sec-Fetch-Site), or when its Host
is a name that is neither an IP address, localhost, nor this machine's own name. Requests
without Origin (curl, test clients, apps) are not browsers' cross-site requests and pass.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cache
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@cache
def _own_names() -> frozenset[str]:
    name = socket.gethostname().lower()
    return frozenset({"localhost", name, name + ".local", socket.getfqdn().lower()})


def trusted_host(hostname: str) -> bool:
    """An IP address, localhost (or a name under .localhost), or this machine's own name:
    names a rebinding attacker cannot point at us from a page of his own."""
    hostname = hostname.lower().strip("[]")
    try:
        ipaddress.ip_address(hostname)
        return True
    except ValueError:
        return hostname in _own_names() or hostname.endswith(".localhost")


def cross_site_refusal(method: str, host: str, origin: str | None, fetch_site: str | None) -> str | None:
    """Why a request must be refused, or None. `host` is the Host header, `origin` the Origin
    header, `fetch_site` the Sec-Fetch-Site header (browsers send them; other clients may not)."""
    if method in SAFE_METHODS:
        return None
    if fetch_site == "cross-site":
        return "cross-site request refused (Sec-Fetch-Site: cross-site)"
    if origin is None:
        return None
    parts = urlsplit(origin)
    if origin == "null" or parts.netloc.lower() != host.lower():
        return f"cross-site request refused: Origin {origin} is not this server ({host})"
    if not trusted_host(parts.hostname or ""):
        return f"request refused: {parts.hostname} is not an address or a name of this machine"
    return None
