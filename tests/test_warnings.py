"""Silent mistakes made loud: where a user looks (the answer's header, the console, validate)."""

import subprocess
import sys
import time

from conftest import api_with
from serving import ROOT, Running, run_cli

from mock_server.cloud import crypto

SECONDS = int(time.time()) + 600  # what a client that forgot the milliseconds sends


def test_seconds_timestamp_warns_in_a_header_and_on_the_console(tmp_path):
    log = tmp_path / "out.log"
    with log.open("w") as out:
        server = Running(log=out)  # no --log-format: warnings are shown all the same
        try:
            status, body = server.request(
                "POST", "/v2/binding/enduserapi/shareInfo", headers={"Authorization": "owner-token"},
                pk="p11u5w", dk="LAMP00000001", acceptingExpireAt=SECONDS,
            )  # fmt: skip
            headers = _headers(server, SECONDS)
            server.api("GET", "userInfo", "owner-token")  # a request without warnings: no line
        finally:
            server.stop()
    assert status == 200 and body["code"] == 200
    assert headers["x-mock-warning"] == f"acceptingExpireAt={SECONDS} looks like seconds, not milliseconds"
    lines = [line for line in log.read_text().splitlines() if "/v2/" in line]
    assert len(lines) == 2 and all("WARNING: acceptingExpireAt=" in line for line in lines)
    assert not [line for line in lines if "userInfo" in line]


def _headers(server: Running, accept_by: int) -> dict:
    import urllib.request

    url = (
        f"{server.base}/v2/binding/enduserapi/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt={accept_by}"
        "&coverMark=2"
    )
    req = urllib.request.Request(url, data=b"", method="POST", headers={"Authorization": "owner-token"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return {name.lower(): value for name, value in resp.headers.items()}


def test_a_misspelt_rule_endpoint_is_kept_with_a_did_you_mean():
    api = api_with()
    resp = api.client.post("/_mock/rules", json={"match": {"endpoint": "userDevicelist"}, "action": {"code": 5047}})
    assert resp.status_code == 201
    assert "did you mean userDeviceList?" in resp.headers["X-Mock-Warning"]
    # A stub of an endpoint the simulator lacks is a feature: no warning for it.
    resp = api.client.post("/_mock/rules", json={"match": {"endpoint": "bindDeviceSn"}, "action": {"code": 200}})
    assert resp.status_code == 201 and "X-Mock-Warning" not in resp.headers


def test_validate_warns_of_a_misspelt_endpoint_and_an_undeclared_domain(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(
        "extends: default\n"
        "users:\n  - {uid: C2001, email: a@example.com, password: secret-1, userDomain: U.SP.8589934603}\n"
        "rules:\n  - {match: {endpoint: userDevicelist}, action: {code: 5047}}\n"
    )
    done = run_cli("validate", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: typo.yaml: users[0].userDomain: U.SP.8589934603 is not one of the world's userDomains "
        "(C.DM.5903.1, C.DM.5903.9): this user cannot sign in (5015)",
        "warning: typo.yaml: rules[0].match.endpoint: userDevicelist is not an endpoint of the simulator (the rule "
        "fires only on a path ending in /userDevicelist); did you mean userDeviceList?",
    ]


def test_validate_numbers_entries_in_the_users_own_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("extends: default\nusers:\n  - {uid: C2001, password: short}\n")
    done = run_cli("validate", str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == "mine.yaml: users[0].password: must be 6 to 20 characters"


def test_the_console_line_for_a_warning_needs_no_option():
    """`mock-server run` with no --log-format still prints warned requests (checked on the
    app the command builds, so the logger set-up is the one users get)."""
    code = (
        "from mock_server.app import create_app\n"
        "c = create_app().test_client()\n"
        "c.post('/v2/binding/enduserapi/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt=1700000000',"
        " headers={'Authorization': 'owner-token'})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "WARNING: acceptingExpireAt=1700000000 looks like seconds" in done.stdout


# ---- user domains ----------------------------------------------------------------------------


def _login(api, domain: str, secret: str | None = None) -> dict:
    random = "j1acpdj2bmtqZXVb"
    pwd = crypto.encrypt_password("owner-pass-1", random)
    params = {"email": "owner@example.com", "pwd": pwd, "random": random, "userDomain": domain}
    params["signature"] = crypto.signature("owner@example.com", pwd, random, secret or "")
    return api.post("emailPwdLogin", **params)


def test_real_user_domain_formats_are_accepted():
    for domain in ("U.SP.8589934603", "E.SP.4294967410", "C.DM.10351.1"):
        api = api_with({"userDomains": [{"domain": domain}], "users": [
            {"uid": "C7", "email": "owner7@example.com", "password": "owner-pass-7", "userDomain": domain}]})  # fmt: skip
        random = "j1acpdj2bmtqZXVb"
        pwd = crypto.encrypt_password("owner-pass-7", random)
        body = api.post("emailPwdLogin", email="owner7@example.com", pwd=pwd, random=random, userDomain=domain,
                        signature="x")  # fmt: skip
        assert body["code"] == 200, (domain, body)


def test_malformed_domains_still_get_5013():
    api = api_with()
    for domain in ("C.XX.5903.1", "C.DM.abc", "CDM.5903.1", "C.DM.1.2.3"):
        assert _login(api, domain)["code"] == 5013, domain


def test_users_default_to_the_worlds_first_declared_domain():
    from mock_server.harness.scenario import Scenario

    spec = {
        "userDomains": [{"domain": "U.SP.8589934603"}, {"domain": "E.SP.4294967410"}],
        "users": [{"uid": "U1", "email": "u1@example.com", "password": "secret-1"}, {"generate": 2}],
    }
    world = Scenario.from_spec(spec, "own.yaml").build()
    assert {u.user_domain for u in world.users.values()} == {"U.SP.8589934603"}


def test_a_device_condition_on_an_endpoint_that_names_no_device_is_kept_with_a_warning():
    api = api_with()
    resp = api.client.post("/_mock/rules", json={"match": {"endpoint": "userInfo", "dk": "LAMP00000001"},
                                                 "action": {"code": 5047}})  # fmt: skip
    assert resp.status_code == 201
    assert resp.headers["X-Mock-Warning"] == "rule.match.dk: userInfo names no device, so a rule on its dk never fires"
    # deviceEventList names its device productKey/deviceKey: a dk condition there is fine.
    resp = api.client.post("/_mock/rules", json={"match": {"endpoint": "deviceEventList", "dk": "LAMP00000001"},
                                                 "action": {"code": 5047}})  # fmt: skip
    assert resp.status_code == 201 and "X-Mock-Warning" not in resp.headers
