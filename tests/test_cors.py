"""Browsers: any web app may call the simulated API; no other site may drive the control API."""

import http.client
import json

from mock_server.api.cors import cors

WEB_APP = "http://app.example:5173"
SHARE_INFO = "/v2/binding/enduserapi/shareInfo"


def send(server, method: str, path: str, headers: dict, body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_preflight_of_the_simulated_api_allows_what_the_client_asks(server):
    status, headers, body = send(server, "OPTIONS", SHARE_INFO, {
        "Origin": WEB_APP, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-app-version"})  # fmt: skip
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == WEB_APP
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == "authorization, content-type, x-app-version"


def test_simulated_answers_carry_cors_headers_for_any_origin(server):
    status, headers, body = send(server, "POST", SHARE_INFO + "?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt="
                                 "4000000000000", {"Origin": WEB_APP, "Authorization": "owner-token"})  # fmt: skip
    assert status == 200 and json.loads(body)["code"] == 200
    assert headers["access-control-allow-origin"] == WEB_APP
    assert "X-Mock-Warning" in headers["access-control-expose-headers"]
    # An unknown path (one a rule may stub) answers cross-site too, preflight included.
    status, headers, _ = send(server, "GET", "/v2/other/thing", {"Origin": "http://other.test"})
    assert status == 404 and headers["access-control-allow-origin"] == "http://other.test"
    status, headers, _ = send(server, "OPTIONS", "/v2/other/thing",
                              {"Origin": WEB_APP, "Access-Control-Request-Method": "PUT"})  # fmt: skip
    assert status == 204 and headers["access-control-allow-origin"] == WEB_APP


def test_a_foreign_site_cannot_change_a_world_through_the_browser(server):
    world = {"X-Mock-Session": "cors-victim"}
    code = send(server, "POST", SHARE_INFO + "?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt=4000000000000",
                {**world, "Authorization": "owner-token"})[2]  # fmt: skip
    status, headers, body = send(server, "POST", "/_mock/reset", {**world, "Origin": "https://evil.example"})
    assert status == 403 and "another site" in json.loads(body)["error"]
    assert "access-control-allow-origin" not in headers
    shares = json.loads(send(server, "GET", "/_mock/state", world)[2])["shares"]
    assert [s["code"] for s in shares if s["code"] == json.loads(code)["data"]]  # still there


def test_same_origin_pages_and_tools_may_use_the_control_api(server):
    own = f"http://127.0.0.1:{server.port}"
    assert send(server, "POST", "/_mock/reset", {"Origin": own})[0] == 200
    assert send(server, "POST", "/_mock/reset", {})[0] == 200  # curl sends no Origin
    assert send(server, "POST", "/_mock/reset", {"Host": f"localhost:{server.port}"})[0] == 200


def test_a_dns_rebound_name_is_refused_even_for_reads(server):
    status, _, body = send(server, "GET", "/_mock/state", {"Host": f"attacker.example:{server.port}"})
    assert status == 403 and "attacker.example" in json.loads(body)["error"]
    status, _, _ = send(server, "GET", "/s/x/_mock/state", {"Host": f"attacker.example:{server.port}"})
    assert status == 403
    # The simulated API does not care which name reached it.
    status, _, _ = send(server, "GET", "/v2/enduser/enduserapi/userInfo",
                        {"Host": "api.example", "Authorization": "owner-token"})  # fmt: skip
    assert status == 200


def test_the_decision_is_a_plain_function_of_method_path_and_headers():
    assert cors("GET", "/v2/x", {}).headers == []
    assert cors("DELETE", "/s/a/_mock/rules", {"origin": "http://evil", "host": "127.0.0.1:1"}).refusal
    assert cors("DELETE", "/_mock/rules", {"host": "[::1]:8080"}).refusal is None
    assert cors("GET", "/_mock/state", {"host": "lab-box:8080"}, server_host="lab-box").refusal is None
