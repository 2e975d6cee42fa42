"""The request as the RSGI fast path hands it to the steps: what they read of it, without a
WSGI environ or a Werkzeug Request.

Building the full environ (twenty keys, a body stream) and Werkzeug's Request around it cost
the fast path about a fifth of its time, while the steps (steps.py, context.py) read only the
method, the path, a few headers, the query and the body. A LightRequest holds those, the
headers under their WSGI names in `environ` (HTTP_X_MOCK_SESSION, CONTENT_TYPE), so that the
steps read it and Werkzeug's Request alike. What only Werkzeug parses (a form body, an escaped
query, cookies, the wire form of a bodiless answer) comes from a Werkzeug Request over the full
environ, built on first use (`werkzeug`): the answers stay byte for byte the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request

# Header names (as the client sent them) and their WSGI keys: the few names clients send,
# each turned once; a hostile client sending a new name in every request cannot grow it past this.
_KNOWN_MAX = 256
_KNOWN: dict[str, str] = {}


def wsgi_key(name: str) -> str:
    """The WSGI environ key of a request header (PEP 3333): Content-Type and Content-Length
    without the HTTP_ prefix, every other name upper-cased with `-` as `_`."""
    key = _KNOWN.get(name)
    if key is None:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        if len(_KNOWN) < _KNOWN_MAX:
            _KNOWN[name] = key
    return key


class LightHeaders:
    """A request's headers read from its WSGI keys, as Werkzeug's EnvironHeaders reads them:
    `get` by any spelling of the name, `items` with Title-Case names."""

    __slots__ = ("environ",)

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.environ.get(wsgi_key(name), default)

    def items(self) -> Iterator[tuple[str, str]]:
        for key, value in self.environ.items():
            if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                yield key[5:].replace("_", "-").title(), value
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                yield key.replace("_", "-").title(), value


class LightRequest:
    """method, path (without a /s/NAME/ prefix), headers, query and body of one request.
    `environ` holds the headers by WSGI key, QUERY_STRING and the session a /s/NAME/ prefix
    named; `werkzeug` makes the Werkzeug Request of the same request, for what is read rarely."""

    __slots__ = ("method", "path", "environ", "headers", "_body", "_werkzeug", "_made", "_mimetype")

    def __init__(
        self, method: str, path: str, environ: dict[str, Any], body: bytes, werkzeug: Callable[[], Request]
    ) -> None:
        self.method = method
        self.path = path
        self.environ = environ
        self.headers = LightHeaders(environ)
        self._body = body
        self._werkzeug = werkzeug
        self._made: Request | None = None
        self._mimetype: str | None = None

    def get_data(self, cache: bool = True) -> bytes:
        return self._body

    @property
    def mimetype(self) -> str:
        """Content-Type without its parameters, lower-cased (read once: the steps ask twice)."""
        if self._mimetype is None:
            self._mimetype = parse_options_header(self.environ.get("CONTENT_TYPE", ""))[0].lower()
        return self._mimetype

    @property
    def is_json(self) -> bool:
        mimetype = self.mimetype
        return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))

    @property
    def args(self) -> MultiDict[str, str]:
        return self.werkzeug().args

    @property
    def form(self) -> MultiDict[str, str]:
        return self.werkzeug().form

    @property
    def cookies(self) -> MultiDict[str, str]:
        return self.werkzeug().cookies

    def werkzeug(self) -> Request:
        """The Werkzeug Request of this request, made on first use."""
        if self._made is None:
            self._made = self._werkzeug()
        return self._made

    def close(self) -> None:
        """Break the Werkzeug Request's cycle with its environ (environ["werkzeug.request"]),
        which would hold the body until a full collection, which the server makes rare (cli.py)."""
        if self._made is not None:
            self._made.environ.clear()
            self._made = None


AnyRequest = Request | LightRequest  # what the steps read: the app's Werkzeug Request or the fast path's
