"""Access through family membership against the real server: REST with `requests`, the
realtime channel with paho-mqtt over a real WebSocket. A member follows the family's devices;
removal, leaving and the family's deletion stop the stream at once."""

from __future__ import annotations

import time

import pytest
import requests
import test_realtime
from test_realtime import DOWN, LAMP, QUIET, World, kv_of

FAM = "/v2/family/enduserapi/"
server, world = test_realtime.server, test_realtime.world  # the realtime suite's fixtures: a server, a world


def family(world: World, method: str, name: str, token: str, body=None, **params) -> dict:
    url = f"{world.server.base}/s/{world.name}{FAM}{name}"
    answer = requests.request(method, url, params=params, json=body, headers={"Authorization": token}, timeout=10)
    assert answer.status_code == 200
    return answer.json()


def test_a_member_reads_and_switches_a_family_device_over_rest(world):
    assert world.api("GET", "deviceInfo", "guest-token", pk=LAMP[0], dk=LAMP[1])["data"]["fid"] == "F1001"
    assert world.switch("guest-token", switch=True)["data"]["successList"]
    assert world.values("guest-token")["switch"] == "true"  # resourceValce is text
    assert family(world, "DELETE", "deleteFamilyMember", "owner-token", fid="F1001", memberUid="C1005")["code"] == 200
    assert world.api("GET", "deviceInfo", "guest-token", pk=LAMP[0], dk=LAMP[1])["code"] == 5141
    assert world.switch("guest-token", switch=False)["code"] == 5041


@pytest.mark.parametrize("ending", ["removed", "leaves", "family deleted"])
def test_a_members_stream_stops_at_once_when_membership_ends(world, ending):
    owner, gus = world.connect("owner-token"), world.connect("guest-token")
    for client in (owner, gus):
        assert client.subscribe(DOWN + "bus_") == [1]
    world.control("POST", f"/devices/{LAMP[0]}/{LAMP[1]}", {"values": {"brightness": 11}})
    assert kv_of(gus.wait_for("bus_")) == [{"brightness": 11}]
    if ending == "removed":
        answer = family(world, "DELETE", "deleteFamilyMember", "family-token", fid="F1001", memberUid="C1005")
    elif ending == "leaves":
        answer = family(world, "DELETE", "leaveFamily", "guest-token", fid="F1001")
    else:
        assert family(world, "POST", "addFamily", "owner-token", {"familyName": "Beach house"})["code"] == 200
        answer = family(world, "DELETE", "deleteFamily", "owner-token", fid="F1001")
    assert answer["code"] == 200, answer
    world.control("POST", f"/devices/{LAMP[0]}/{LAMP[1]}", {"values": {"brightness": 12}})
    assert kv_of(owner.wait_for("bus_", count=2))[-1] == {"brightness": 12}
    time.sleep(QUIET)
    assert kv_of(gus.received("bus_")) == [{"brightness": 11}]


def test_a_new_member_is_granted_the_subscription_only_after_accepting(world):
    rui = world.connect("recipient-token")
    assert rui.subscribe(DOWN + "bus_") == [0x80]
    invite = {"fid": "F1001", "uid": "C1002", "memberRole": 3, "memberName": "Rui", "invalidTime": 4_000_000_000_000}
    assert family(world, "POST", "inviteFamilyMember", "owner-token", **invite)["code"] == 200
    assert family(world, "POST", "familyMemberInviteHandle", "recipient-token", decide=1, fid="F1001")["code"] == 200
    assert rui.subscribe(DOWN + "bus_") == [1]
    world.switch("owner-token", switch=True)
    assert kv_of(rui.wait_for("bus_")) == [{"switch": True}]


def test_the_readme_family_walk_through_pasted_into_bash(server):
    """Olivia creates Beach house, invites Rui, who accepts and switches the kitchen lamp;
    removed, his next read answers 5041."""
    import os
    import re
    import shutil
    import subprocess
    import uuid
    from pathlib import Path

    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"<!-- family walk-through -->\s*```bash\n(.*?)```", readme, re.S).group(1)
    base = f"{server.base}/s/walk-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env={**os.environ, "BASE": base},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ok = '{"code":200,"msg":"","data":null,"extMsg":null}'
    assert lines[0] == ok  # home mode on
    assert '"successList":[{' in lines[1] and '"failureList":[]' in lines[1]  # the lamp in the kitchen
    assert lines[2] == ok and lines[3] == "Beach house" and lines[4] == ok  # invited, seen, accepted
    assert '"successList":[{' in lines[5] and '"failureList":[]' in lines[5]  # switched by Rui
    assert '"resourceCode":"switch","resourceValce":"true"' in lines[6]
    assert lines[7] == ok
    assert lines[8] == '{"code":5041,"msg":"No permission","data":null,"extMsg":null}'
    again = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env={**os.environ, "BASE": base},
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert again.returncode == 0, again.stderr  # pasted again: the same story from the default world
    assert again.stdout.splitlines()[3] == "Beach house" and again.stdout.splitlines()[8] == lines[8]
