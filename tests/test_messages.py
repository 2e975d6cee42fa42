"""The message centre: messages written for device events (on the world's clock) and for shares
by uid, read, counted and deleted through the nine endpoints, against a real server."""

from __future__ import annotations

import pytest
from accounts_client import Client

OWNER, RUI, SAM = "owner-token", "recipient-token", "second-token"
LAMP = {"pk": "p11u5w", "dk": "LAMP00000001"}
OVERHEAT = {"code": "overheat", "output": {"lamp_stats": {"power_w": 7.5, "led_temp": 96}}}
BOOL = {
    "dataType": "BOOL",
    "subType": "R",
    "specs": [{"name": "Yes", "value": "true"}, {"name": "No", "value": "false"}],
}
KINDS = {
    "name": "event-kinds",
    "extends": "default",
    "products": [
        {
            "pk": "pkinds",
            "name": "Alarm panel",
            "tsl": {
                "properties": [{"id": 1, "code": "armed", "name": "Armed", **BOOL}],
                "events": [
                    {"id": 2, "code": "hello", "name": "Hello", "subType": "INFO", "outputData": []},
                    {"id": 3, "code": "intruder", "name": "Intruder", "subType": "WARN", "outputData": []},
                    {"id": 4, "code": "broken", "name": "Broken", "subType": "ERROR", "outputData": []},
                ],
            },
        }
    ],
    "devices": [{"pk": "pkinds", "dk": "PANEL001", "name": "Hall panel", "owner": "C1001"}],
}


@pytest.fixture
def api(quectel_mock) -> Client:
    quectel_mock.clock(set="2031-01-01T00:00:00Z", freeze=True)
    return Client(quectel_mock)


def _raise(api: Client, event: dict = OVERHEAT, device: dict = LAMP) -> None:
    api.mock.control("POST", f"/devices/{device['pk']}/{device['dk']}", {"event": event})


def _messages(api: Client, token: str, **filters) -> list[dict]:
    answer = api.call("GET", "userMsgList", token, pageSize=100, **filters)
    assert answer["code"] == 200, answer
    return answer["data"]["list"]


def test_a_device_event_on_the_clock_reaches_everyone_who_may_use_the_device(api):
    code = api.call("POST", "shareByUid", OWNER, **LAMP, shareUid="C1002")["data"]
    api.mock.advance("1h")
    _raise(api)
    at = api.now()
    [mine] = _messages(api, OWNER)
    assert mine | {"id": "x"} == mine | {
        "id": "x", "msgType": 2, "firstLabel": 3, "secondaryLabel": 6, "isRead": False, "readTime": None,
        "addTime": at, "title": "Overheat", "pk": "p11u5w", "dk": "LAMP00000001", "deviceName": "Living room lamp",
        "productName": "Smart Lamp", "shareCode": None,
    }  # fmt: skip
    alarms = [m for m in _messages(api, RUI) if m["msgType"] == 2]
    assert [(m["addTime"], m["title"]) for m in alarms] == [(at, "Overheat")]
    assert _messages(api, SAM) == []  # invited to Olivia's family, not yet a member
    assert [m["title"] for m in _messages(api, "guest-token")] == ["Overheat"]  # Gus, a member of it
    # once the share ends, the next event no longer reaches Rui
    assert api.call("DELETE", "ownerUserUnshareDevice", OWNER, shareCode=code)["code"] == 200
    api.mock.advance("1m")
    _raise(api)
    assert len(_messages(api, OWNER)) == 2
    assert len([m for m in _messages(api, RUI) if m["msgType"] == 2]) == 1


def test_event_kinds_by_subtype(api):
    api.mock.control("PUT", "/scenario", {"scenario": KINDS})
    panel = {"pk": "pkinds", "dk": "PANEL001"}
    for code in ("hello", "intruder", "broken"):
        _raise(api, {"code": code, "output": {}}, panel)
        api.mock.advance("1s")
    rows = _messages(api, OWNER)
    assert [(m["title"], m["msgType"], m["firstLabel"], m["secondaryLabel"]) for m in rows] == [
        ("Broken", 3, 3, 7), ("Intruder", 2, 3, 6), ("Hello", 1, 3, 5),
    ]  # fmt: skip


def test_a_share_by_uid_tells_its_recipient(api):
    code = api.call("POST", "shareByUid", OWNER, **LAMP, shareUid="C1002")["data"]
    [notice] = _messages(api, RUI)
    assert (notice["msgType"], notice["firstLabel"], notice["shareCode"]) == (4, 1, code)
    assert notice["content"] == "Olivia Owner shared Living room lamp with you"
    assert _messages(api, OWNER) == []
    # a share code made by shareInfo writes nothing
    api.call("POST", "shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000_000)
    assert len(_messages(api, RUI)) == 1


def test_filters_and_pages(api):
    api.call("POST", "shareByUid", OWNER, **LAMP, shareUid="C1002")
    for _ in range(3):
        api.mock.advance("1s")
        _raise(api)
    assert len(_messages(api, RUI)) == 4
    assert len(_messages(api, RUI, msgType=2)) == 3
    assert len(_messages(api, RUI, firstLabelList="1")) == 1
    assert len(_messages(api, RUI, secondaryLabelList="6,7")) == 3
    assert len(_messages(api, RUI, dk="LAMP00000002")) == 0
    page = api.call("GET", "userMsgList", RUI, page=2, pageSize=3)["data"]
    assert (page["total"], page["size"], page["pageNum"]) == (4, 1, 2)
    assert api.call("GET", "userMsgList", RUI, msgType=9)["code"] == 5000
    assert api.call("GET", "userMsgList")["code"] == 5106


def test_label_filters_with_digits_int_cannot_read_are_ignored_not_a_500(api):
    _raise(api)
    for odd in ("²", "1" * 5000, "٣", "-"):
        body = api.call("GET", "userMsgList", RUI, secondaryLabelList=odd)
        assert body["code"] == 200 and body["data"]["list"] == [], (odd, body)


def test_read_and_stats(api):
    api.call("POST", "shareByUid", OWNER, **LAMP, shareUid="C1002")
    _raise(api)
    _raise(api)
    stats = api.call("GET", "getMsgStats", RUI)["data"]
    assert stats["device"] == {
        "read": 0, "unRead": 2, "inform": {"read": 0, "unRead": 0}, "warning": {"read": 0, "unRead": 2},
        "fault": {"read": 0, "unRead": 0},
    }  # fmt: skip
    assert (stats["system"]["read"], stats["system"]["unRead"]) == (0, 1)
    assert stats["smart"]["unRead"] == 0
    first, *_ = [m["id"] for m in _messages(api, RUI, msgType=2)]
    answer = api.call("POST", "readMsg", RUI, msgIdList=f"{first},M999")["data"]
    assert answer == {
        "successList": [{"id": first}],
        "failureList": [{"id": "M999", "failureMsg": "Message does not exist"}],
    }
    assert [m["id"] for m in _messages(api, RUI, isRead="true")] == [first]
    assert _messages(api, RUI, isRead="true")[0]["readTime"] == api.now()
    assert api.call("GET", "getMsgStats", RUI)["data"]["device"]["warning"] == {"read": 1, "unRead": 1}
    # another user's message id is not the caller's to read
    others = [m["id"] for m in _messages(api, OWNER)]
    assert api.call("POST", "readMsg", RUI, msgIdList=others[0])["data"]["failureList"][0]["id"] == others[0]
    # no ids: everything the filters select, then everything
    api.call("POST", "readMsg", RUI, firstLabelList="1")
    assert api.call("GET", "getMsgStats", RUI)["data"]["system"]["read"] == 1
    assert api.call("POST", "readMsg", RUI)["code"] == 200
    assert _messages(api, RUI, isRead="false") == []
    assert [m["isRead"] for m in _messages(api, OWNER)] == [False, False]


def test_delete_and_batch_delete(api):
    for _ in range(3):
        _raise(api)
    ids = [m["id"] for m in _messages(api, OWNER)]
    assert api.call("DELETE", "deleteMsg", RUI, msgId=ids[0])["code"] == 5538
    assert api.call("DELETE", "deleteMsg", OWNER)["code"] == 5515
    assert api.call("DELETE", "deleteMsg", OWNER, msgId=ids[0]) == {"code": 200, "msg": "", "data": "", "extMsg": None}
    assert api.call("DELETE", "deleteMsg", OWNER, msgId=ids[0])["code"] == 5538
    answer = api.call("POST", "batchDeleteMsg", OWNER, msgIdList=f"{ids[1]},{ids[0]}")["data"]
    assert answer == {
        "successList": [{"id": ids[1]}],
        "failureList": [{"id": ids[0], "failureMsg": "Message does not exist"}],
    }
    assert [m["id"] for m in _messages(api, OWNER)] == [ids[2]]
    assert api.call("POST", "batchDeleteMsg", OWNER)["code"] == 5515


def test_push_settings_are_stored_as_written(api):
    default = api.call("GET", "getMsgPushSetting", RUI)["data"]
    assert default["uid"] == "C1002" and '"deviceNotify":true' in default["msgPushSetting"]
    document = '{"deviceNotify":false,"smartNotify":true,"systemNotify":true}'
    assert api.call("POST", "setMsgPushSetting", RUI, json={"msgPushSetting": document})["code"] == 200
    stored = api.call("GET", "getMsgPushSetting", RUI)["data"]
    assert (stored["msgPushSetting"], stored["addTime"]) == (document, api.now())
    assert api.call("GET", "getMsgPushSetting", OWNER)["data"]["msgPushSetting"] == default["msgPushSetting"]
    assert api.call("POST", "setMsgPushSetting", RUI, json={})["code"] == 5515


def test_phone_push_registration(api, quectel_mock):
    body = {"deviceLanguage": "pt-PT", "deviceId": "fcm-1", "type": "APP"}
    assert api.call("POST", "pushSetDeviceInfo", RUI, json=body)["code"] == 200
    assert api.call("POST", "pushSetDeviceInfo", RUI, json={"deviceId": "fcm-2"})["code"] == 5000
    assert api.call("DELETE", "deleteDeviceInfo", RUI, deviceId="fcm-1")["code"] == 200
    assert api.call("DELETE", "deleteDeviceInfo", RUI)["code"] == 5000


def test_messages_survive_a_state_file(tmp_path):
    from mock_server.cloud import messages, shadows
    from mock_server.harness import persistence
    from mock_server.harness.scenario import Scenario

    world = Scenario.load("default").build()
    lamp = world.devices[("p11u5w", "LAMP00000001")]
    shadows.raise_event(world, lamp, "overheat", OVERHEAT["output"])
    owner = world.users["C1001"]
    messages.read(world, owner)
    messages.set_push_setting(world, owner, msgPushSetting='{"deviceNotify":false}')
    persistence.write_state(tmp_path / "s.json", {"w": world})
    again = persistence.read_state(tmp_path / "s.json")["w"]
    before = [messages.render(m) for m in messages.message_list(world, owner)]
    assert [messages.render(m) for m in messages.message_list(again, again.users["C1001"])] == before
    assert messages.push_setting(again, again.users["C1001"]) == messages.push_setting(world, owner)
    shadows.raise_event(again, again.devices[lamp.key], "overheat", OVERHEAT["output"])
    new = set(again.messages) - set(world.messages)
    assert new and min(int(i[1:]) for i in new) > max(int(i[1:]) for i in world.messages)  # ids go on


def test_a_user_keeps_a_bounded_message_centre(monkeypatch):
    from mock_server.cloud import messages, shadows
    from mock_server.cloud.store import Cloud
    from mock_server.harness.scenario import Scenario

    monkeypatch.setattr(Cloud, "MESSAGES_KEPT", 2)
    world = Scenario.load("default").build()
    lamp = world.devices[("p11u5w", "LAMP00000001")]
    for _ in range(3):
        shadows.raise_event(world, lamp, "overheat", OVERHEAT["output"])
    olivia = [m.msg_id for m in world.messages_of["C1001"].values()]
    assert len(olivia) == 2 and set(olivia) == {m.msg_id for m in messages.message_list(world, world.users["C1001"])}
    assert all(len(mine) == 2 for mine in world.messages_of.values())
    assert len(world.messages) == 2 * len(world.messages_of)  # the dropped ones are gone everywhere
