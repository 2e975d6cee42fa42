"""The dashboard's server side: the control calls it needs, the admin login, the refusal of
cross-site requests, and the live journal's two ways of streaming (test client, granian)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time

import pytest
from conftest import LAMP, app_with
from serving import Running

from mock_server.api.openapi import control_document


@pytest.fixture
def ctl(app):
    return app.test_client()


# ---- control calls the dashboard makes -----------------------------------------------------


def test_a_share_code_made_through_the_control_api_is_the_owners_own(ctl, world):
    world.clock.freeze()
    resp = ctl.post("/_mock/shares", json={**LAMP, "acceptingExpireAt": "+10m", "sharingExpireAt": "+1d"})
    assert resp.status_code == 201
    share = resp.get_json()
    assert share["owner"] == "C1001" and share["state"] == "pending" and share["coverMark"] == 1
    assert share["acceptingExpireAt"] == world.now() + 600_000
    stored = world.shares[share["code"]]
    assert stored.sharing_expire_at == world.now() + 86_400_000
    # and the app accepts it as any code
    accept = ctl.post("/v2/binding/enduserapi/shareDevice", query_string={"shareCode": share["code"]},
                      headers={"Authorization": "recipient-token"})  # fmt: skip
    assert accept.get_json()["code"] == 200


@pytest.mark.parametrize(
    "body, status, error",
    [
        ({"pk": "p11u5w"}, 400, "dk: is required"),
        ({**LAMP, "coverMark": 4}, 400, "coverMark: must be one of: 1, 2, 3"),
        ({**LAMP, "acceptingExpireAt": "soon"}, 400, "acceptingExpireAt: must be epoch milliseconds"),
        ({**LAMP, "extra": 1}, 400, "extra: unknown field"),
        ({"pk": "p11u5w", "dk": "NOPE"}, 404, "no device p11u5w/NOPE"),
        ({"pk": "p11u5w", "dk": "LAMP00000009"}, 409, "bound to nobody"),
        ({"pk": "p11u6t", "dk": "PLUG00000009"}, 409, "Cannot share unverified bound device"),
    ],
)
def test_a_bad_share_code_request_is_refused_and_changes_nothing(ctl, world, body, status, error):
    resp = ctl.post("/_mock/shares", json=body)
    assert resp.status_code == status
    text = resp.get_json()["error"] + " ".join(resp.get_json().get("problems", []))
    assert error in text
    assert not world.shares
    if status == 409 and "unverified" in error:
        assert resp.get_json()["code"] == 5360


def test_ending_and_expiring_shares_through_the_control_api(ctl, api, world):
    world.clock.freeze()
    pending = ctl.post("/_mock/shares", json=LAMP).get_json()["code"]
    active = api.share(coverMark=2)
    assert api.accept(active)["code"] == 200
    assert ctl.post(f"/_mock/shares/{pending}/expire").get_json()["cause"] == "accept_window_passed"
    expired = ctl.post(f"/_mock/shares/{active}/expire").get_json()
    assert expired["cause"] == "usage_window_passed" and expired["sharingExpireAt"] == world.now()
    again = ctl.post(f"/_mock/shares/{active}/expire")
    assert again.status_code == 409 and again.get_json()["code"] == 5142
    third = ctl.post("/_mock/shares", json={**LAMP, "coverMark": 2}).get_json()["code"]
    assert ctl.delete(f"/_mock/shares/{third}").get_json()["cause"] == "cancelled_by_owner"
    assert ctl.delete(f"/_mock/shares/{third}").status_code == 409
    assert ctl.delete("/_mock/shares/share_dv_Cnothing").status_code == 404


def test_the_new_control_calls_are_in_the_control_openapi_document(app):
    paths = control_document(app)["paths"]
    assert set(paths["/_mock/shares"]) == {"post"}
    assert set(paths["/_mock/shares/{code}"]) == {"delete"}
    assert set(paths["/_mock/shares/{code}/expire"]) == {"post"}
    assert "ShareCodeBody" in control_document(app)["components"]["schemas"]


def test_the_journal_keeps_the_answer_given(api, world):
    api.get("userDeviceList", "recipient-token")
    answer = json.loads(world.journal.query()[-1]["answer"])
    assert answer["code"] == 200 and [d["deviceKey"] for d in answer["data"]["list"]] == ["SENS00000001"]


# ---- pages, login and the admin token ------------------------------------------------------


@pytest.mark.parametrize("page", ["/_mock/ui/", "/_mock/ui/worlds", "/_mock/ui/rules", "/_mock/ui/journal"])
def test_every_page_renders_from_the_package(ctl, page):
    resp = ctl.get(page)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert "/_mock/ui/static/dashboard.js" in resp.get_data(as_text=True)
    assert "http" not in resp.get_data(as_text=True).split("<main>")[0].replace("http-equiv", "")  # no CDN


def test_with_an_admin_token_the_dashboard_asks_for_it_and_keeps_it_in_a_cookie():
    ctl = app_with(ADMIN_TOKEN="s3cret").test_client()
    resp = ctl.get("/_mock/ui/rules")
    assert resp.status_code == 302 and "/_mock/ui/login?next=/_mock/ui/rules" in resp.headers["Location"]
    assert ctl.post("/_mock/clock", json={"advance": "1m"}).status_code == 401
    assert ctl.post("/_mock/ui/login", data={"token": "wrong"}).status_code == 401
    resp = ctl.post("/_mock/ui/login", data={"token": "s3cret", "next": "/_mock/ui/rules"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/_mock/ui/rules"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert ctl.get("/_mock/ui/rules").status_code == 200
    assert ctl.post("/_mock/clock", json={"advance": "1m"}).status_code == 200  # the cookie carries it
    ctl.post("/_mock/ui/logout")
    assert ctl.get("/_mock/ui/").status_code == 302


def test_without_an_admin_token_there_is_nothing_to_log_into(ctl):
    resp = ctl.get("/_mock/ui/login?next=/_mock/ui/rules")
    assert resp.status_code == 302 and resp.headers["Location"] == "/_mock/ui/rules"


def test_the_login_never_sends_a_browser_off_this_server():
    ctl = app_with(ADMIN_TOKEN="s3cret").test_client()
    for target in ("//evil.example/", "https://evil.example/"):
        resp = ctl.post("/_mock/ui/login", data={"token": "s3cret", "next": target})
        assert resp.headers["Location"] == "/_mock/ui/"


# ---- cross-site requests (the control API's check, api/cors.py, covers the dashboard) -------


@pytest.mark.parametrize(
    "path, body",
    [
        ("/_mock/shares", {"pk": "p11u5w", "dk": "LAMP00000001"}),  # a call the dashboard makes
        ("/s/made-by-evil/_mock/reset", None),  # a world that must not even be made
    ],
)
def test_the_dashboards_calls_are_refused_from_another_site(app, ctl, world, path, body):
    resp = ctl.post(path, json=body, headers={"Origin": "http://evil.example"})
    assert resp.status_code == 403
    assert not world.shares and "made-by-evil" not in app.extensions["mock_server"].worlds
    assert ctl.post(path, json=body, headers={"Origin": "http://localhost"}).status_code in (200, 201)


def test_the_login_form_is_refused_from_another_site_and_through_a_rebound_name():
    ctl = app_with(ADMIN_TOKEN="s3cret").test_client()
    evil = ctl.post("/_mock/ui/login", data={"token": "s3cret"}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and "Set-Cookie" not in evil.headers
    rebound = ctl.get("/_mock/ui/", headers={"Host": "evil.example:8080"})
    assert rebound.status_code == 403


# ---- the live journal ----------------------------------------------------------------------


def test_without_a_streaming_server_the_journal_answers_what_is_new_and_asks_to_reconnect(ctl, api):
    api.get("userDeviceList", "recipient-token")
    api.get("userDeviceList", "owner-token")
    first = ctl.get("/_mock/ui/journal/stream").get_data(as_text=True)
    assert first.count("event: request") == 2 and first.endswith("retry: 1000\n\n")
    later = ctl.get("/_mock/ui/journal/stream", headers={"Last-Event-ID": "1"}).get_data(as_text=True)
    assert later.count("event: request") == 1 and "id: 2\n" in later
    after_reset = ctl.get("/_mock/ui/journal/stream", headers={"Last-Event-ID": "99"}).get_data(as_text=True)
    assert after_reset.startswith("event: reset") and after_reset.count("event: request") == 2


def _read_until(sock: socket.socket, marker: bytes, seconds: float = 10) -> bytes:
    got, deadline = b"", time.monotonic() + seconds
    sock.settimeout(0.5)
    while marker not in got and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            got += sock.recv(65536)
    return got


def test_the_real_server_keeps_the_journal_stream_open_and_sends_each_new_request():
    server = Running()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /s/live/_mock/ui/journal/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = _read_until(sock, b"nothing yet")
        assert b"transfer-encoding: chunked" in head.lower() and b"retry:" not in head
        for token in ("owner-token", "recipient-token"):
            server.request("GET", "/s/live/v2/binding/enduserapi/userInfo", headers={"Authorization": token})
            got = _read_until(sock, b"event: request")
            assert b"userInfo" in got  # on the same connection, as it happened
        server.request("POST", "/s/live/_mock/reset")
        assert b"event: reset" in _read_until(sock, b"event: reset")
        # a client still connected does not keep the server from stopping
        assert server.stop() == 0
        sock.close()
    finally:
        if server.proc.poll() is None:
            server.kill()


def test_the_start_banner_gives_the_dashboards_address(tmp_path):
    import re
    import urllib.request

    with open(tmp_path / "out.txt", "w+") as out:
        server = Running(log=out)
        try:
            out.seek(0)
            url = re.search(r"dashboard: (\S+)", out.read()).group(1)
            assert url == server.base + "/_mock/ui/"
            with urllib.request.urlopen(url, timeout=10) as resp:
                assert "<h1>World <code>default</code>" in resp.read().decode()
        finally:
            server.stop()


def test_the_dashboards_templates_and_assets_ship_in_the_package():
    import configparser
    from fnmatch import fnmatch
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = configparser.ConfigParser()
    config.read(root / "setup.cfg")
    globs = [g.strip() for g in config["options.package_data"]["mock_server.ui"].split(",")]
    ui = root / "mock_server" / "ui"
    files = [p.relative_to(ui).as_posix() for p in ui.rglob("*") if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    assert files and all(any(fnmatch(f, g) for g in globs) for f in files), files


def test_without_a_browser_the_page_tests_say_why_they_skip(monkeypatch, tmp_path):
    from browser import find_browser

    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium, no chromedriver
    assert "install Debian's chromium and chromium-driver" in find_browser()


def test_the_rule_forms_faults_are_exactly_those_a_rule_may_name(ctl):
    from mock_server.harness.rules import FAULTS

    page = ctl.get("/_mock/ui/rules").get_data(as_text=True)
    select = re.search(r'<select name="fault">(.*?)</select>', page, re.S)
    offered = tuple(re.findall(r"<option>([^<]+)</option>", select.group(1)))
    assert offered == FAULTS
    for fault in offered:  # each one posts as a valid rule; another name does not
        assert ctl.post("/_mock/rules", json={"action": {"fault": fault}}).status_code == 201
    assert ctl.post("/_mock/rules", json={"action": {"fault": "teapot"}}).status_code == 400
