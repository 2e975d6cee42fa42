"""Phones, TLS, the admin token, the state file and request logs."""

import json
import ssl
import urllib.error

import pytest
from helpers import LAMP, OWNER, RECIPIENT, Running, app_with, run_cli

from mock_server.harness.persistence import StateFileError, read_state, write_state
from mock_server.network import ANDROID_EMULATOR_HOST, is_loopback, reachable_urls

ACCEPT_BY = 4_000_000_000_000


# ---- addresses and the admin token ---------------------------------------------------------


def test_addresses_printed_for_phones_and_emulators():
    urls = dict((who, url) for who, url in reachable_urls("0.0.0.0", 8080, "http"))
    assert urls["Android emulator"] == f"http://{ANDROID_EMULATOR_HOST}:8080"
    assert urls["this machine, iOS simulator"] == "http://127.0.0.1:8080"
    assert [url for _, url in reachable_urls("127.0.0.1", 9, "https")] == ["https://127.0.0.1:9"]


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                            ("0.0.0.0", False), ("192.168.1.5", False)])  # fmt: skip
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_refuses_to_open_the_control_api_to_the_network_without_a_token():
    done = run_cli("run", "--host", "0.0.0.0", "--port", "1")
    assert done.returncode == 2 and "--admin-token" in done.stderr


def test_admin_token_guards_the_control_api():
    client = app_with(ADMIN_TOKEN="s3cret").test_client()
    assert client.post("/_mock/reset").status_code == 401
    assert client.get("/_mock/state", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/_mock/reset", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/_mock/health").status_code == 200
    assert client.get("/_mock/openapi/quectel.json").status_code == 200
    assert client.get("/_mock/docs/").status_code == 200
    api = client.get("/v2/enduser/enduserapi/userInfo", headers={"Authorization": OWNER})
    assert api.get_json()["code"] == 200  # the simulated API itself is not affected


# ---- TLS -----------------------------------------------------------------------------------


def test_tls_with_a_local_certificate_authority(tmp_path):
    tls_dir = tmp_path / "tls"
    done = run_cli("run", "--tls", "--tls-dir", str(tls_dir), "--cert", "only-one")
    assert done.returncode == 2 and "--cert and --key go together" in done.stderr
    server = Running("--tls", "--tls-dir", str(tls_dir), scheme="https", context=ssl._create_unverified_context())
    first_ca = (tls_dir / "ca.pem").read_bytes()
    server.context = ssl.create_default_context()  # a client that does not trust the CA refuses
    with pytest.raises(urllib.error.URLError) as refused:
        server.request("GET", "/_mock/health")
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    server.context = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
    assert server.api("GET", "userInfo", OWNER)["data"]["uid"] == "C1001"
    server.stop()
    # A second start keeps the same CA, so phones need to trust it only once.
    server = Running("--tls", "--tls-dir", str(tls_dir), scheme="https", context=server.context)
    assert (tls_dir / "ca.pem").read_bytes() == first_ca
    server.stop()


def test_own_certificate_and_key(tmp_path):
    from mock_server.network import tls_material

    ca, cert, key = tls_material(tmp_path, "127.0.0.1")
    context = ssl.create_default_context(cafile=str(ca))
    server = Running("--cert", str(cert), "--key", str(key), scheme="https", context=context)
    assert server.request("GET", "/_mock/health")[0] == 200
    server.stop()


# ---- the state file ------------------------------------------------------------------------


def test_state_round_trip_keeps_everything_that_matters(tmp_path):
    app = app_with({"rules": [{"id": "x", "match": {"endpoint": "nothing"}, "action": {"code": 1}}]})
    sim = app.extensions["mock_server"]
    world = sim.world()
    world.clock.freeze()
    client = app.test_client()
    code = client.post(f"/v2/binding/enduserapi/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt={ACCEPT_BY}",
                       headers={"Authorization": OWNER}).get_json()["data"]  # fmt: skip
    client.post(f"/v2/binding/enduserapi/shareDevice?shareCode={code}", headers={"Authorization": RECIPIENT})
    sim.world("other")
    path = tmp_path / "state.json"
    write_state(path, sim.worlds)
    restored = read_state(path)
    assert set(restored) == {"default", "other"}
    again = restored["default"]
    assert again.shares[code].recipient_uid == "C1002" and int(again.shares[code].status) == 1
    assert [s.code for s in again.active_shares_of("C1002")] == [code]
    assert again.now() == world.now() and again.clock.frozen
    assert again.rules.rules[0].id == "x"
    assert again.new_share_code() == world.new_share_code()  # codes go on where they left off
    assert again.scenario.name == world.scenario.name


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "not a state file (not JSON, or cut short)"),
        (b'{"hello": "world"}', "not a state file of this simulator"),
        (b'{"format": "quectel-mock-server-state", "version": 99, "worlds": {}}', "version 99"),
        (b'{"format": "quectel-mock-server-state", "version": 1, "worlds": {"default": {"seed": 1}}}',
         "world 'default' is damaged"),
    ],
)  # fmt: skip
def test_corrupt_or_foreign_state_files_are_refused(tmp_path, content, message):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(StateFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_state(path)
    done = run_cli("run", "--state-file", str(path), "--port", "1")
    assert done.returncode == 2 and message in done.stderr


def test_kill_and_restart_loses_nothing_a_snapshot_wrote(tmp_path):
    state = tmp_path / "worlds.json"
    server = Running("--state-file", str(state))
    code = server.api("POST", "shareInfo", OWNER, **LAMP, acceptingExpireAt=ACCEPT_BY)["data"]
    server.api("POST", "shareDevice", RECIPIENT, shareCode=code, deviceName="Kept")
    status, body = server.request("POST", "/_mock/snapshot")
    assert status == 200 and body["worlds"] == ["default"]
    server.kill()  # no clean shutdown: only the snapshot counts
    server = Running("--state-file", str(state))
    devices = server.api("GET", "userDeviceList", RECIPIENT)["data"]["list"]
    assert [d["deviceName"] for d in devices if d["deviceType"] == 2] == ["Kept"]
    later = server.api("POST", "shareInfo", OWNER, **LAMP, acceptingExpireAt=ACCEPT_BY, coverMark=2)["data"]
    assert server.stop() == 0  # a clean stop writes the state too
    server = Running("--state-file", str(state))
    codes = {s["code"] for s in server.request("GET", "/_mock/state")[1]["shares"]}
    assert {code, later} <= codes
    server.stop()


def test_snapshot_without_a_state_file_is_400():
    resp = app_with().test_client().post("/_mock/snapshot")
    assert resp.status_code == 400 and "--state-file" in resp.get_json()["error"]


# ---- request logs --------------------------------------------------------------------------


def test_json_request_log(tmp_path):
    log = tmp_path / "out.log"
    with log.open("w") as out:
        server = Running("--log-format", "json", log=out)
        server.api("GET", "userInfo", OWNER)
        server.api("GET", "userInfo")
        server.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    user_info = [entry for entry in lines if entry["path"].endswith("/userInfo")]
    assert [(e["status"], e["code"], e["uid"]) for e in user_info] == [(200, 200, "C1001"), (200, 5106, None)]
    assert all(e["world"] == "default" and e["ms"] >= 0 and e["time"].endswith("+00:00") for e in user_info)


def test_a_restored_world_keeps_its_scenario_when_a_rule_has_a_window(tmp_path):
    # The rule's `window: {from: ...}` must be stored as written, or the scenario fails to
    # validate on the way back in and the restored world loses it (and resets go elsewhere).
    app = app_with({"rules": [{"match": {"endpoint": "shareInfo", "window": {"from": "+1h"}}, "action": {"code": 5134}}]})
    path = tmp_path / "worlds.json"
    write_state(path, app.extensions["mock_server"].worlds)
    restored = read_state(path)["default"]
    assert restored.scenario is not None and restored.scenario.name == "test"
    assert restored.rules.rules[0].to_dict()["match"]["window"] == {"from": "+1h"}
