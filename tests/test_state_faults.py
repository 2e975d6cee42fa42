"""Saving holds up: one world never blocks another's save, a full disk and a kill leave the
previous file whole and no debris, a damaged file is one clear line (issue 19)."""

from __future__ import annotations

import copy
import errno
import json
import os

import orjson
import pytest
from helpers import OWNER, Running, app_with, free_port, run_cli

from mock_server.harness import persistence
from mock_server.harness.persistence import StateFileError, read_state, write_state

BIG = 123456789012345678901234567890


def test_numbers_over_64_bits_are_refused_and_saving_goes_on(tmp_path):
    state = tmp_path / "worlds.json"
    server = Running("--state-file", str(state))
    try:
        rule = '{"match": {"endpoint": "userInfo"}, "action": {"code": 200, "data": %d}}' % BIG
        for path, body in (("/_mock/rules", rule), ("/_mock/clock", '{"set": %d}' % BIG),
                           ("/_mock/clock", '{"set": 1e29}'), ("/_mock/clock", '{"advance": "%s"}' % ("9" * 30 + "d")),
                           ("/_mock/scenario", '{"scenario": {"seed": %d}}' % BIG)):  # fmt: skip
            status, answer = _raw(server, "POST" if "scenario" not in path else "PUT", path, body)
            assert status == 400, (path, body, answer)
        assert server.request("GET", "/_mock/clock")[1]["now"] < 10**13  # the refused clock request changed nothing
        assert server.request("GET", "/_mock/worlds")[0] == 200
        status, answer = server.request("POST", "/_mock/snapshot")
        assert status == 200 and "notSaved" not in answer
    finally:
        server.stop()


def _raw(server: Running, method: str, path: str, body: str) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(server.base + path, data=body.encode(), method=method,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_world_that_cannot_be_written_never_blocks_the_others(tmp_path):
    app = app_with()
    sim = app.extensions["mock_server"]
    sim.world("kept")
    path = tmp_path / "worlds.json"
    write_state(path, sim.worlds)
    # a number no JSON reader of 64 bits takes gets into one world by a way not yet refused
    sim.world("kept").rules.add({"match": {"endpoint": "userInfo"}, "action": {"code": 200, "data": BIG}})
    sim.world("fresh")
    sim.world().clock.freeze()
    skipped: dict = {}
    write_state(path, sim.worlds, skipped)
    assert list(skipped) == ["kept"] and "64" in skipped["kept"]
    restored = read_state(path)
    assert set(restored) == {"default", "kept", "fresh"}
    assert restored["default"].clock.frozen  # the other worlds' changes were saved
    assert restored["kept"].rules.rules == []  # its previous copy is kept
    answer = app.test_client().post("/_mock/snapshot")
    assert answer.status_code == 400  # this app has no state file: the endpoint is tested below


def test_a_full_disk_gets_a_clear_answer_and_leaves_no_debris(tmp_path, monkeypatch):
    path = tmp_path / "worlds.json"
    app = app_with(STATE_FILE=str(path))
    client = app.test_client()
    assert client.post("/_mock/snapshot").status_code == 200
    before = path.read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(persistence.os, "fsync", full)
    answer = client.post("/_mock/snapshot")
    assert answer.status_code == 507
    assert answer.get_json()["error"] == (f"cannot write the state file {path}: No space left on device; "
                                          "the previous one is kept")  # fmt: skip
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["worlds.json"]


def test_a_write_cut_short_by_a_kill_leaves_nothing_behind_the_next_start(tmp_path):
    path = tmp_path / "worlds.json"
    leftover = tmp_path / "worlds.json.abc123.tmp"
    leftover.write_bytes(b'{"format": "quectel-mock-server-sta')
    app_with(STATE_FILE=str(path))
    assert not leftover.exists()
    leftover.write_bytes(b"{")
    write_state(path, app_with().extensions["mock_server"].worlds)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["worlds.json"]


def _damaged(world: dict) -> list[tuple[str, dict]]:
    clock = copy.deepcopy(world)
    clock["clock"]["now"] = "noon"
    share = copy.deepcopy(world)
    share["shares"][0]["dk"] = "GONE00000001"
    users = copy.deepcopy(world)
    users["users"] = [{"uid": "C1"}]
    rules = copy.deepcopy(world)
    rules["rules"] = [{"spec": {"action": {"code": 1}, "match": {"path": "("}}, "fired": 0, "seen": 0, "id": "r1"}]
    return [("clock", clock), ("share", share), ("users", users), ("rules", rules), ("list", [])]  # fmt: skip


@pytest.fixture(scope="module")
def good_world(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "worlds.json"
    app = app_with()
    code = app.test_client().post("/v2/binding/enduserapi/shareInfo?pk=p11u5w&dk=LAMP00000001&acceptingExpireAt="
                                  "4000000000000", headers={"Authorization": OWNER}).get_json()  # fmt: skip
    assert code["code"] == 200
    write_state(path, app.extensions["mock_server"].worlds)
    return orjson.loads(path.read_bytes())


@pytest.mark.parametrize("case", range(5))
def test_a_damaged_state_file_is_one_clear_line(tmp_path, good_world, case):
    what, world = _damaged(good_world["worlds"]["default"])[case]
    path = tmp_path / "worlds.json"
    path.write_bytes(orjson.dumps({**good_world, "worlds": {"default": world}}))
    with pytest.raises(StateFileError, match="world 'default' is damaged"):
        read_state(path)
    done = run_cli("run", "--state-file", str(path), "--port", str(free_port()))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "is damaged" in lines[0], (what, done.stderr)
    assert "Traceback" not in done.stderr
