"""/_mock/ca with --tls: a phone gets the simulator's CA without a cable. Served for real (the
command with --tls and an admin token), fetched with requests, and downloaded by a headless
Chromium that, like a phone's browser, does not trust the CA yet."""

from __future__ import annotations

import ssl
import time

import pytest
import requests
from browser import css, decode_qr, screenshot, start_browser, wait_for
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from helpers import Running

ADMIN = "s3cret"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ca-page")
    log = (folder / "out.log").open("w")
    # The CA is made at start: the health checks of the start cannot trust it yet.
    server = Running("--tls", "--tls-dir", str(folder / "tls"), "--admin-token", ADMIN, scheme="https",
                     context=ssl._create_unverified_context(), log=log)  # fmt: skip
    try:
        yield server, folder / "tls" / "ca.pem", folder / "out.log"
    finally:
        server.stop()
        log.close()


def test_the_banner_names_the_page(tls_server):
    server, _, log = tls_server
    banner = log.read_text()
    assert f"TLS: phones get the CA at {server.base}/_mock/ca (a QR code there to scan)" in banner


def test_the_ca_comes_as_pem_and_der_with_the_types_phones_expect(tls_server):
    server, ca_file, _ = tls_server
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    # No admin token: the page and the files are public (a certificate, never a key).
    page = requests.get(server.base + "/_mock/ca", verify=str(ca_file), timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert ca.fingerprint(hashes.SHA256()).hex(":").upper() in page.text
    pem = requests.get(server.base + "/_mock/ca/ca.pem", verify=str(ca_file), timeout=10)
    assert pem.headers["Content-Type"] == "application/x-pem-file"
    assert pem.content == ca.public_bytes(Encoding.PEM) and b"PRIVATE" not in pem.content
    der = requests.get(server.base + "/_mock/ca/ca.crt", verify=str(ca_file), timeout=10)
    assert der.headers["Content-Type"] == "application/x-x509-ca-cert"
    assert x509.load_der_x509_certificate(der.content) == ca
    assert 'filename="quectel-simulator-ca.crt"' in der.headers["Content-Disposition"]
    # The control API itself still wants the token.
    assert requests.get(server.base + "/_mock/state", verify=str(ca_file), timeout=10).status_code == 401


def test_without_tls_there_is_no_ca_to_offer():
    from helpers import app_with

    answer = app_with().test_client().get("/_mock/ca")
    assert answer.status_code == 404 and "--tls" in answer.get_data(as_text=True)


def test_a_browser_that_does_not_trust_the_ca_yet_downloads_it(tls_server, tmp_path):
    server, ca_file, _ = tls_server
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = start_browser(tmp_path / "profile", downloads=downloads, insecure=True)
    try:
        driver.get(server.base + "/_mock/ca")
        wait_for(driver, lambda d: css(d, "#download-der"))
        assert "A phone cannot reach this address" in css(driver, "#local-only").text  # listening on 127.0.0.1
        shot = screenshot(driver, "ca-page")
        # The QR code on the page is this page's URL.
        assert decode_qr(shot.read_bytes()) == [server.base + "/_mock/ca"]
        css(driver, "#download-der").click()
        css(driver, "#download-pem").click()
        der, pem = downloads / "quectel-simulator-ca.crt", downloads / "quectel-simulator-ca.pem"
        deadline = time.monotonic() + 15
        while not (der.exists() and pem.exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert x509.load_der_x509_certificate(der.read_bytes()) == ca
        assert x509.load_pem_x509_certificate(pem.read_bytes()) == ca
    finally:
        driver.quit()


def test_asked_on_this_machine_the_page_also_offers_the_phones_address(monkeypatch, tmp_path):
    """A phone cannot open 127.0.0.1: the page asked for there shows a code of the LAN address."""
    from helpers import app_with

    from mock_server.network import tls_material
    from mock_server.ui import ca as ca_page

    ca_file = tls_material(tmp_path, "0.0.0.0")[0]
    monkeypatch.setattr(ca_page, "reachable_urls", lambda host, port, scheme: [
        ("this machine, iOS simulator", f"{scheme}://127.0.0.1:{port}"),
        ("phones on the same network", f"{scheme}://192.0.2.7:{port}")])  # fmt: skip
    client = app_with(HOST="0.0.0.0", TLS_CA=str(ca_file)).test_client()
    page = client.get("/_mock/ca", base_url="https://127.0.0.1:8443").get_data(as_text=True)
    assert page.count('class="qr"') == 2 and "https://192.0.2.7:8443/_mock/ca" in page
    assert "A phone cannot reach this address" not in page


@pytest.mark.parametrize("host", ["[::1]", "[::1]:8443", "127.0.0.1:x", "localhost"])
def test_odd_host_headers_get_the_page_never_an_error(host, tmp_path):
    from helpers import app_with

    from mock_server.network import tls_material

    client = app_with(TLS_CA=str(tls_material(tmp_path, "127.0.0.1")[0])).test_client()
    answer = client.get("/_mock/ca", headers={"Host": host})
    assert answer.status_code == 200 and answer.get_data(as_text=True).count('class="qr"') == 1
