"""What phones and emulators need: the addresses they can reach, and TLS they will trust."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
from pathlib import Path
from urllib.parse import urlsplit

ANDROID_EMULATOR_HOST = "10.0.2.2"  # the emulator's alias for the machine running it


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_origin(origin: str, server_host: str = "127.0.0.1") -> bool:
    """Whether a browser's `Origin` is a page of this machine or its network: localhost (also
    `capacitor://localhost` and the like), the --host name, or a loopback, private or
    link-local address. A page of any other site (or the opaque `null` origin of a sandboxed
    frame) is foreign: it may use the worlds that exist, but not make new ones."""
    try:
        host = urlsplit(origin.strip()).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host in ("localhost", server_host.lower()) or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces other than loopback (no traffic is sent)."""
    found: list[str] = []
    with contextlib.suppress(OSError):
        found += [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    found += _interface_addresses()
    return sorted({a for a in found if not ipaddress.ip_address(a).is_loopback})


def _interface_addresses() -> list[str]:
    try:
        import fcntl
        import struct
    except ImportError:  # not Linux or macOS: getaddrinfo's answer has to do
        return []
    addresses = []
    for _, name in socket.if_nameindex():
        with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
            addresses.append(socket.inet_ntoa(packed[20:24]))
    return addresses


def reachable_urls(host: str, port: int, scheme: str) -> list[tuple[str, str]]:
    """(who, url) pairs to print at start."""
    if not (host in ("0.0.0.0", "::") or not is_loopback(host)):
        return [("this machine, iOS simulator", f"{scheme}://{host}:{port}")]
    urls = [("this machine, iOS simulator", f"{scheme}://127.0.0.1:{port}")]
    urls += [("phones on the same network", f"{scheme}://{a}:{port}") for a in lan_addresses()]
    urls.append(("Android emulator", f"{scheme}://{ANDROID_EMULATOR_HOST}:{port}"))
    return urls


def tls_material(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A certificate authority kept in `directory` (made once, so phones trust it once) and a
    server certificate from it for every name a client may use: (ca, cert, key) paths."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key = directory / "ca.pem", directory / "ca-key.pem"
    if ca_path.exists() and ca_key.exists():
        ca = trustme.CA.from_pem(ca_path.read_bytes(), ca_key.read_bytes())
    else:
        ca = trustme.CA(organization_name="Quectel sharing simulator")
        ca.cert_pem.write_to_path(str(ca_path))
        ca.private_key_pem.write_to_path(str(ca_key))
        ca_key.chmod(0o600)
    names = {"localhost", "127.0.0.1", "::1", ANDROID_EMULATOR_HOST, *lan_addresses()}
    if host not in ("0.0.0.0", "::"):
        names.add(host)
    # iOS refuses server certificates valid for more than 825 days.
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365)
    leaf = ca.issue_cert(*sorted(names), not_after=until)
    cert, key = directory / "server.pem", directory / "server-key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    key.chmod(0o600)
    return ca_path, cert, key
