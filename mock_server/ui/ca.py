"""/_mock/ca: the certificate authority of `--tls`, for a phone to download and trust without a
cable. The page offers it as PEM (what iOS installs as a profile) and DER (the `.crt` Android's
certificate installer takes), with the content types each expects, and a QR code of the page's
own URL so that a phone's camera opens it. Only the CA's certificate is served, never a key;
so the page is public even when an admin token guards the control API."""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, render_template, request

from ..api.control_schemas import documented, page
from ..network import reachable_urls

if TYPE_CHECKING:  # cryptography is imported when the page is first asked for, not at start
    from cryptography import x509

bp = Blueprint("ca", __name__, url_prefix="/_mock/ca", template_folder="templates")
PEM_TYPE = "application/x-pem-file"
DER_TYPE = "application/x-x509-ca-cert"
FILE_STEM = "quectel-simulator-ca"


@functools.cache
def _certificate(path: str) -> x509.Certificate:
    from cryptography import x509

    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _encoding():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding


def _ca() -> x509.Certificate | None:
    path = current_app.config.get("TLS_CA")
    return _certificate(path) if path else None


def _no_ca() -> Response:
    return Response(
        "This server has no certificate authority of its own: start it with --tls to get one "
        "(with --cert and --key, install the CA that signed your certificate).\n",
        status=404,
        mimetype="text/plain",
    )


def _download(body: bytes, mimetype: str, suffix: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{FILE_STEM}.{suffix}"'
    response.headers["Cache-Control"] = "no-store"  # a new CA (a removed --tls-dir) shows at once
    return response


NO_CA = {"404": {"description": "the server was started without --tls: no CA of its own"}}


@bp.get("")
@documented("A page to download the --tls CA, with a QR code of its URL", {**page("the page"), **NO_CA})
def ca_page() -> Response | str:
    ca = _ca()
    if ca is None:
        return _no_ca()
    own = request.base_url.rstrip("/")
    import segno  # imported by the pages that show a QR code, not at start

    urls = _page_urls(own)
    return render_template(
        "ca.html",
        root=request.script_root,
        fingerprint=ca.fingerprint(_sha256()).hex(":").upper(),
        subject=ca.subject.rfc4514_string(),
        expires=ca.not_valid_after_utc.strftime("%Y-%m-%d"),
        codes=[(url, segno.make_qr(url, error="m").svg_data_uri(scale=5, border=4)) for url in urls],
        local_only=all(_is_loopback(urlsplit(url).hostname or "") for url in urls),
    )


def _page_urls(own: str) -> list[str]:
    """This page's URL as asked for; when asked on this machine (loopback), the addresses a
    phone on the same network can use too, since a phone cannot open 127.0.0.1."""
    asked = urlsplit(own)
    try:
        port = asked.port or (443 if asked.scheme == "https" else 80)
    except ValueError:  # a Host header with no number for a port: nothing more to offer
        return [own]
    if not _is_loopback(asked.hostname or ""):
        return [own]
    host = current_app.config.get("HOST") or "127.0.0.1"
    others = [url for who, url in reachable_urls(host, port, asked.scheme) if who.startswith("phones")]
    return [own, *(url + asked.path for url in others)]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@bp.get("/ca.pem")
@documented("The --tls certificate authority as PEM (for iOS)", {**page("the certificate", PEM_TYPE), **NO_CA})
def pem() -> Response:
    ca = _ca()
    return _no_ca() if ca is None else _download(ca.public_bytes(_encoding().PEM), PEM_TYPE, "pem")


@bp.get("/ca.crt")
@documented("The --tls certificate authority as DER (for Android)", {**page("the certificate", DER_TYPE), **NO_CA})
def der() -> Response:
    ca = _ca()
    return _no_ca() if ca is None else _download(ca.public_bytes(_encoding().DER), DER_TYPE, "crt")
