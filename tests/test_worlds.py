"""A world per client: the session header, the /s/NAME/ prefix, isolation, idle expiry."""

import threading

from helpers import LAMP, OWNER, RECIPIENT, Api

from mock_server.harness.worlds import Simulator


def in_world(api: Api, name: str, method: str, path: str, token=None, **params):
    headers = {"X-Mock-Session": name}
    if token:
        headers["Authorization"] = token
    return api.client.open(path, method=method, headers=headers, query_string=params).get_json()


def test_header_and_prefix_reach_the_same_world(api):
    code = in_world(api, "alice", "POST", "/v2/binding/enduserapi/shareInfo", OWNER, **LAMP,
                    acceptingExpireAt=4_000_000_000_000)["data"]  # fmt: skip
    resp = api.client.post(
        "/s/alice/v2/binding/enduserapi/shareDevice", query_string={"shareCode": code},
        headers={"Authorization": RECIPIENT},
    )  # fmt: skip
    assert resp.get_json()["code"] == 200
    assert api.accept(code)["code"] == 5137  # the default world never saw it


def test_control_api_per_world(api):
    api.client.post("/s/bob/_mock/clock", json={"set": "2030-01-01T00:00:00Z", "freeze": True})
    assert api.client.get("/s/bob/_mock/clock").get_json()["iso"] == "2030-01-01 00:00:00"
    assert api.client.get("/_mock/clock").get_json()["frozen"] is False
    api.client.post("/_mock/rules", json={"match": {"endpoint": "userInfo"}, "action": {"code": 5033}},
                    headers={"X-Mock-Session": "carol"})  # fmt: skip
    assert api.get("userInfo", OWNER)["code"] == 200
    assert in_world(api, "carol", "GET", "/v2/enduser/enduserapi/userInfo", OWNER)["code"] == 5033
    assert api.client.get("/s/carol/_mock/journal").get_json()["total"] == 1
    assert api.client.get("/_mock/journal").get_json()["total"] == 1


def test_new_world_from_a_named_scenario(api):
    resp = api.client.get("/s/dave/_mock/state", headers={"X-Mock-Scenario": "cover-mark"}).get_json()
    assert resp["scenario"] == "cover-mark" and resp["counts"]["shares"] == 5
    assert api.client.get("/_mock/state").get_json()["counts"]["shares"] == 0


def test_bad_session_name_and_unknown_scenario_are_400(api):
    assert api.client.get("/_mock/health", headers={"X-Mock-Session": "a b"}).status_code == 400
    resp = api.client.get("/_mock/health", headers={"X-Mock-Session": "e", "X-Mock-Scenario": "none"})
    assert resp.status_code == 400 and resp.get_json()["code"] == 400


def test_reset_and_drop_of_a_session_world(api):
    in_world(
        api, "erin", "POST", "/v2/binding/enduserapi/shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000_000
    )
    assert api.client.get("/s/erin/_mock/state").get_json()["counts"]["shares"] == 1
    api.client.post("/s/erin/_mock/reset")
    assert api.client.get("/s/erin/_mock/state").get_json()["counts"]["shares"] == 0
    assert api.client.delete("/s/erin/_mock/world").get_json() == {"dropped": "erin"}
    assert "erin" not in [w["name"] for w in api.client.get("/_mock/worlds").get_json()]
    assert api.client.delete("/_mock/world").status_code == 400


def test_idle_worlds_are_dropped(default_scenario):
    sim = Simulator(default_scenario, idle_timeout_s=60)
    sim.world("idle")
    sim.world("busy")
    last = sim._last_used["busy"]
    sim._last_used["idle"] = last - 120
    assert sim.sweep(now=last + 1) == ["idle"]
    assert set(sim.worlds) == {"default", "busy"}


def test_world_cap(default_scenario):
    sim = Simulator(default_scenario, max_worlds=2)
    sim.world("one")
    try:
        sim.world("two")
    except ValueError as exc:
        assert "too many worlds" in str(exc)
    else:
        raise AssertionError("a third world was created")


def test_concurrent_requests_in_two_worlds_stay_apart(app):
    """Two clients hammer their own worlds at once; each sees only its own shares."""
    errors: list[str] = []

    def client(name: str, count: int) -> None:
        api = Api(app.test_client())
        for _ in range(count):
            body = in_world(api, name, "POST", "/v2/binding/enduserapi/shareInfo", OWNER, **LAMP,
                            acceptingExpireAt=4_000_000_000_000, coverMark=2)  # fmt: skip
            if body["code"] != 200:
                errors.append(str(body))

    threads = [threading.Thread(target=client, args=(n, c)) for n, c in (("w1", 40), ("w2", 25), ("w1", 40))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sim = app.extensions["mock_server"]
    assert len(sim.world("w1").shares) == 80 and len(sim.world("w2").shares) == 25
    # Each world numbered its own shares from 1: no request landed in the other world.
    assert sorted(s.share_id for s in sim.world("w1").shares.values()) == list(range(1, 81))
    assert sorted(s.share_id for s in sim.world("w2").shares.values()) == list(range(1, 26))
    assert sim.world("w1").journal.total == 80 and sim.world().shares == {}


def test_idle_worlds_go_while_other_requests_come(default_scenario):
    sim = Simulator(default_scenario, idle_timeout_s=60)
    sim.world("idle")
    sim._last_used["idle"] -= 120
    sim._next_sweep = 0  # the next request may sweep
    sim.world()  # an ordinary request to the default world
    assert "idle" not in sim.worlds
