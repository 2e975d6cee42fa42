"""`mock-server import`: a second simulator (a real server process) plays the cloud; the
imported file validates and, served, answers the same userDeviceList, productTSL and
getDeviceBusinessAttributes to the same user."""

from __future__ import annotations

import re
import ssl

import pytest
import yaml
from serving import Running, free_port, run_cli

OLIVIA = ("--email", "owner@example.com", "--password", "owner-pass-1", "--user-domain", "C.DM.5903.1",
          "--domain-secret", "sim-domain-secret")  # fmt: skip
LAMP = {"pk": "p11u5w", "dk": "LAMP00000001"}
SENSOR = {"pk": "p11u7a", "dk": "SENS00000001"}


def import_from(base: str, *args: str):
    return run_cli("import", "--from", base, *args)


def answers(server: Running, token: str) -> dict:
    """The three answers the import promises to keep, for every device the user sees."""
    devices = server.api("GET", "userDeviceList", token, page=1, pageSize=100)
    out = {"userDeviceList": devices}
    for device in devices["data"]["list"]:
        key = {"pk": device["productKey"], "dk": device["deviceKey"]}
        out[f"productTSL {key['pk']}"] = server.api("GET", "productTSL", token, pk=key["pk"])
        out[f"attributes {key['pk']}/{key['dk']}"] = server.api("GET", "getDeviceBusinessAttributes", token, **key)
    return out


@pytest.fixture(scope="module")
def cloud():
    """The default world with shares both ways and a value reported after binding."""
    server = Running("--no-mqtt")
    try:
        assert server.api("POST", "shareByUid", "owner-token", **LAMP, shareUid="C1002")["code"] == 200
        assert server.api("POST", "shareByUid", "recipient-token", **SENSOR, shareUid="C1001")["code"] == 200
        server.request("POST", "/_mock/devices/p11u5w/LAMP00000001", {"values": {"brightness": 42}})
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def imported(cloud, tmp_path_factory):
    out = tmp_path_factory.mktemp("import") / "olivia.yaml"
    done = import_from(cloud.base, *OLIVIA, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, done


def test_the_import_writes_what_olivia_sees_and_says_so_on_stderr(imported):
    path, done = imported
    spec = yaml.safe_load(path.read_text())
    me = spec["users"][0]
    assert (me["uid"], me["nickname"], me["email"]) == ("C1001", "Olivia Owner", "owner@example.com")
    assert {(d["pk"], d["dk"]) for d in spec["devices"]} >= {("p11u5w", "LAMP00000001"), ("p11u7a", "SENS00000001")}
    assert {s["recipient"] for s in spec["shares"]} == {"C1002", "C1001"}
    assert "device 6/6: p11u7a/SENS00000001" in done.stderr and "1 family(ies)" in done.stderr
    [family] = spec["families"]
    assert (family["fid"], family["owner"], me["homeMode"]) == ("F1001", "C1001", True)
    assert family["members"] == [{"uid": "C1004", "role": 2, "name": "Fay"}, {"uid": "C1005", "role": 3, "name": "Gus"}]
    assert [r["frid"] for r in family["rooms"]] == ["F1001-R1", "F1001-R2", "F1001-R3"]
    assert {"pk": "p11u5w", "dk": "LAMP00000001", "room": "F1001-R1", "commonUsed": True} in family["devices"]
    assert done.stdout == ""


def test_the_real_password_and_tokens_stay_out_of_the_file(imported):
    path, _ = imported
    text = path.read_text()
    me = yaml.safe_load(text)["users"][0]
    assert "owner-pass-1" not in text and "owner-token" not in text and "sim-domain-secret" not in text
    assert "Bearer" not in text and "eyJ" not in text  # no JWT the cloud issued
    assert me["password"] != "owner-pass-1" and 6 <= len(me["password"]) <= 20
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert repr(me["password"]) in header and me["token"] in header


def test_the_imported_file_validates(imported):
    path, _ = imported
    done = run_cli("validate", str(path))
    assert done.returncode == 0 and "1 scenario file(s) valid" in done.stdout, done.stderr
    assert "warning" not in done.stderr


def test_served_it_answers_the_same_three_things_for_every_device(cloud, imported, tmp_path):
    path, _ = imported
    me = yaml.safe_load(path.read_text())["users"][0]
    with open(tmp_path / "banner.txt", "w+") as log:
        served = Running("--no-mqtt", "--scenario", str(path), log=log)
        try:
            expected, got = answers(cloud, "owner-token"), answers(served, me["token"])
            login = served.api("POST", "emailPwdLogin", email="owner@example.com", pwd=me["password"],
                               userDomain="C.DM.5903.1", signature="not checked")  # fmt: skip
        finally:
            served.stop()
        log.seek(0)
        banner = log.read()
    assert len(expected) == 1 + 6 + 4  # the list, six devices, four products
    for name, answer in expected.items():
        assert got[name] == answer, name
    assert login["code"] == 200
    assert me["token"] in banner and me["password"] in banner


def test_keep_password_keeps_the_real_password_and_token(cloud, tmp_path):
    done = import_from(cloud.base, *OLIVIA, "--keep-password")
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load(done.stdout)
    me = spec["users"][0]
    assert me["password"] == "owner-pass-1" and me["token"].startswith("eyJ") and me["tokenExpiresAt"] > 0
    assert spec["userDomains"][0] == {"domain": "C.DM.5903.1", "secret": "sim-domain-secret"}


def _one_line_failure(done) -> str:
    assert done.returncode == 1 and done.stdout == ""
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("import: ")]  # progress
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    return lines[0]


def test_a_refused_login_is_one_line_with_its_code(cloud):
    done = import_from(cloud.base, "--email", "second@example.com", "--password", "wrong-pass",
                       "--user-domain", "C.DM.5903.1", "--domain-secret", "sim-domain-secret")  # fmt: skip
    line = _one_line_failure(done)
    assert re.fullmatch(r"mock-server import: login refused: 558[3-6] .+", line), line
    bad_domain = import_from(cloud.base, "--phone", "13800000003", "--international-code", "86", "--password",
                             "second-pass-3", "--user-domain", "C.DM.5903.9")  # fmt: skip
    assert _one_line_failure(bad_domain) == "mock-server import: login refused: 5104 " + _message(cloud, 5104)


def _message(cloud, code: int) -> str:
    from mock_server.cloud.errors import QuectelError

    return QuectelError(code).msg


def test_an_unreachable_host_is_one_line():
    port = free_port()
    line = _one_line_failure(import_from(f"http://127.0.0.1:{port}", *OLIVIA))
    assert line == f"mock-server import: cannot reach 127.0.0.1:{port}: Connection refused"
    not_http = _one_line_failure(import_from(f"ftp://127.0.0.1:{port}", *OLIVIA))
    assert not_http == f"mock-server import: --from ftp://127.0.0.1:{port}: not an http:// or https:// URL"
    no_ca = _one_line_failure(import_from(f"https://127.0.0.1:{port}", *OLIVIA, "--ca-file", "/no/such/ca.pem"))
    assert no_ca == "mock-server import: --ca-file /no/such/ca.pem: No such file or directory"


def test_a_phone_login_signs_the_international_code(cloud):
    done = import_from(cloud.base, "--phone", "13800000002", "--international-code", "86", "--password",
                       "recipient-pass-2", "--user-domain", "C.DM.5903.1", "--domain-secret", "sim-domain-secret")  # fmt: skip
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load(done.stdout)
    assert spec["users"][0]["uid"] == "C1002" and spec["users"][0]["internationalCode"] == "86"
    wrong = import_from(cloud.base, "--phone", "13800000002", "--international-code", "86", "--password",
                        "recipient-pass-2", "--user-domain", "C.DM.5903.1", "--domain-secret", "other")  # fmt: skip
    assert _one_line_failure(wrong).startswith("mock-server import: login refused: 5420")


def test_tls_failure_is_one_line_and_a_trusted_ca_works(tmp_path):
    tls_dir = tmp_path / "tls"
    server = Running("--no-mqtt", "--tls", "--tls-dir", str(tls_dir), scheme="https",
                     context=ssl._create_unverified_context())  # fmt: skip
    try:
        untrusted = import_from(server.base, *OLIVIA)
        trusted = import_from(server.base, *OLIVIA, "--ca-file", str(tls_dir / "ca.pem"))
    finally:
        server.stop()
    line = _one_line_failure(untrusted)
    assert line.startswith(f"mock-server import: TLS failure talking to 127.0.0.1:{server.port}: "), line
    assert line.endswith("certificate (a CA of your own: --ca-file)")
    assert trusted.returncode == 0, trusted.stderr


def _page(items: list) -> dict:
    return {"list": items, "total": len(items), "pageNum": 1, "pageSize": 100, "pages": 1, "isLastPage": True}


def test_home_mode_families_come_with_their_members(cloud):
    """Where the family endpoints answer (stubbed here by rules in a world of its own), the
    families, their creator, members and rooms are imported; devices of users the file does
    not hold are named in the file's header."""
    world = f"{cloud.base}/s/families"
    member = {"uid": "C1004", "memberRole": 3, "nikeName": "Fay Family", "email": "family@example.com"}
    rules = [
        {"match": {"path": "getFamilyList$"}, "action": {"code": 200, "data": _page(
            [{"fid": "F1001", "familyName": "Olivia's home", "memberRole": 1}])}},
        {"match": {"path": "getFamilyMemberList$", "params": {"fid": "F1001"}}, "action": {"code": 200, "data": _page(
            [{"uid": "C1001", "memberRole": 1, "nikeName": "Olivia Owner"}, member])}},
        {"match": {"path": "getFamilyRoomList$"}, "action": {"code": 200, "data": _page(
            [{"frid": "R1", "roomName": "Kitchen", "roomSort": 1}])}},
        {"match": {"path": "getFamilyDeviceList$"}, "action": {"code": 200, "data": _page(
            [{"productKey": "p11u5w", "deviceKey": "LAMP00000001", "frid": "R1", "type": 1},
             {"productKey": "p11u5w", "deviceKey": "FAYS00000001", "type": 1}])}},
    ]  # fmt: skip
    assert cloud.request("POST", "/s/families/_mock/rules", rules)[0] == 201
    done = import_from(world, *OLIVIA)
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load(done.stdout)
    assert spec["families"] == [{"fid": "F1001", "name": "Olivia's home", "owner": "C1001",
                                 "rooms": [{"frid": "R1", "name": "Kitchen"}], "members": [{"uid": "C1004", "role": 3}],
                                 "devices": [{"pk": "p11u5w", "dk": "LAMP00000001", "room": "R1"}]}]  # fmt: skip
    assert {"uid": "C1004", "nickname": "Fay Family", "email": "family@example.com"} in spec["users"]
    assert "# Not imported: family F1001 holds devices of other users: p11u5w/FAYS00000001" in done.stdout
    assert "1 family(ies)" in done.stderr


def test_families_are_skipped_where_home_mode_is_off(cloud):
    rule = {"match": {"path": "getFamilyList$"}, "action": {"code": 5635}}
    assert cloud.request("POST", "/s/home-mode-off/_mock/rules", rule)[0] == 201
    done = import_from(f"{cloud.base}/s/home-mode-off", *OLIVIA)
    assert done.returncode == 0, done.stderr
    assert "families: skipped (5635" in done.stderr
    assert "families" not in yaml.safe_load(done.stdout)


def test_every_page_of_a_long_device_list_is_read(cloud):
    spec = {"extends": "default", "devices": [{"generate": 130, "owner": "C1001", "pk": "p11u6t"}]}
    assert cloud.request("PUT", "/s/many/_mock/scenario", {"scenario": spec})[0] == 200
    total = cloud.request("GET", "/s/many/v2/binding/enduserapi/userDeviceList", headers={"Authorization": "owner-token"})
    assert total[1]["data"]["total"] == 135
    done = import_from(f"{cloud.base}/s/many", *OLIVIA)
    assert done.returncode == 0, done.stderr
    assert len(yaml.safe_load(done.stdout)["devices"]) == 135 and "device 135/135" in done.stderr


def test_reported_at_gives_each_value_its_time_and_names_only_stated_values():
    from mock_server.harness.scenario import Scenario, ScenarioInvalid

    lamp = {**LAMP, "owner": "C1001", "bound": 1_700_000_000_000, "values": {"switch": True, "brightness": 5},
            "reportedAt": {"brightness": 1_700_000_100_000}}  # fmt: skip
    world = Scenario.from_spec({"extends": "products", "users": [{"uid": "C1001"}], "devices": [lamp]}).build()
    state = world.devices[("p11u5w", "LAMP00000001")].shadow
    assert state.reported_at == {"switch": 1_700_000_000_000, "brightness": 1_700_000_100_000}
    with pytest.raises(ScenarioInvalid) as refused:
        Scenario.from_spec({"extends": "products", "users": [{"uid": "C1001"}],
                            "devices": [{**lamp, "reportedAt": {"colour_temp": 1}}]}, "x.yaml")  # fmt: skip
    assert refused.value.problems == ["x.yaml: devices[0].reportedAt.colour_temp: states no value of this code"]


def test_an_answer_of_another_shape_is_one_line(cloud):
    rule = {"match": {"endpoint": "userDeviceList"}, "action": {"code": 200, "data": "not a page"}}
    assert cloud.request("POST", "/s/odd/_mock/rules", rule)[0] == 201
    line = _one_line_failure(import_from(f"{cloud.base}/s/odd", *OLIVIA))
    assert line.startswith("mock-server import: an answer of an unexpected shape (AttributeError: "), line
