"""deviceInfo, userDeviceList and unbundlingDeviceDk, for owners and recipients."""

import pytest
from helpers import LAMP, OWNER, RECIPIENT, SECOND, codes_of

DEVICE_FIELDS = {
    "productKey", "deviceKey", "deviceName", "deviceType", "ownerUid", "shareCode", "sharingExpireAt",
    "sharingExpireTimeTs", "uid", "userName", "phone", "deviceStatus", "onlineStatus", "status",
    "bindStatus", "verified", "bindMode", "bindingType", "accessType", "networkType",
    "capabilitiesBitmask", "authKey", "protocol", "productName", "sn", "deviceCreateTime",
    "deviceCreateTimeTs", "deviceBindTime", "deviceBindTimeTs", "matterInfo", "lowPowerProduct",
}  # fmt: skip


def test_owner_view(api):
    body = api.get("deviceInfo", OWNER, **LAMP)
    data = body["data"]
    assert body["code"] == 200
    assert set(data) >= DEVICE_FIELDS
    assert data["deviceType"] == 1 and data["ownerUid"] is None and data["shareCode"] is None
    assert data["uid"] == "C1001" and data["onlineStatus"] == 1 and data["deviceStatus"] == "Online"


def test_recipient_view_by_pk_dk_and_by_code(api):
    code = api.share(sharingExpireAt=4_100_000_000_000)
    api.accept(code)
    for params in (LAMP, {"shareCode": code}, {"shareCode": code, "pk": "p11u5w"}):
        data = api.get("deviceInfo", RECIPIENT, **params)["data"]
        assert data["deviceType"] == 2 and data["ownerUid"] == "C1001" and data["shareCode"] == code
        assert data["sharingExpireTimeTs"] == 4_100_000_000_000
        assert data["sharingExpireAt"] == "2099-12-03 16:53:20"


def test_pending_code_previews_to_any_user(api):
    code = api.share()
    assert api.get("deviceInfo", SECOND, shareCode=code)["data"]["deviceKey"] == "LAMP00000001"


def test_device_info_codes(api):
    code = api.share()
    api.accept(code)
    assert api.get("deviceInfo", RECIPIENT)["code"] == 5140
    assert api.get("deviceInfo", RECIPIENT, pk="p11u5w")["code"] == 5140
    assert api.get("deviceInfo", RECIPIENT, pk="p11u5w", dk="NOPE")["code"] == 5052
    assert api.get("deviceInfo", OWNER, pk="p11u5w", dk="LAMP00000009")["code"] == 5052
    assert api.get("deviceInfo", SECOND, **LAMP)["code"] == 5141
    assert api.get("deviceInfo", SECOND, shareCode=code)["code"] == 5041
    assert api.get("deviceInfo", SECOND, shareCode="share_dv_Cnope")["code"] == 5041
    api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)
    assert api.get("deviceInfo", RECIPIENT, shareCode=code)["code"] == 5041


def test_device_list_is_a_page_info(api):
    body = api.get("userDeviceList", OWNER, pageSize=2, page=2)
    data = body["data"]
    assert [d["deviceKey"] for d in data["list"]] == ["PLUG00000001", "PLUG00000009"]
    assert data["total"] == 5 and data["pages"] == 3 and data["pageNum"] == 2 and data["size"] == 2
    assert data["startRow"] == 3 and data["endRow"] == 4 and data["prePage"] == 1 and data["nextPage"] == 3
    assert not data["isLastPage"] and data["hasPreviousPage"] and data["hasNextPage"]
    assert data["navigatepageNums"] == [1, 2, 3]


def test_page_num_alias(api):
    # MON sends pageNum, the docs page, HA-O and the SDK pageNumber.
    assert api.get("userDeviceList", OWNER, pageSize=1, pageNum=3)["data"]["list"][0]["deviceKey"] == "PLUG00000001"


def test_page_number_alias_and_defaults(api):
    assert api.get("userDeviceList", OWNER, pageSize=1, pageNumber=3)["data"]["list"][0]["deviceKey"] == (
        "PLUG00000001"
    )
    data = api.get("userDeviceList", OWNER)["data"]
    assert data["pageNum"] == 1 and data["pageSize"] == 10
    assert api.get("userDeviceList", OWNER, page="x", pageSize="-3")["data"]["pageSize"] == 10


def test_device_list_filters(api):
    assert [d["deviceKey"] for d in api.devices(OWNER, deviceName="lamp")] == ["LAMP00000001", "LAMP00000002"]
    assert [d["deviceKey"] for d in api.devices(OWNER, dk="PLUG00000001")] == ["PLUG00000001"]
    assert len(api.devices(OWNER, pkList="p11u6t,p11u7a")) == 2
    assert api.get("userDeviceList", OWNER, deviceName="x" * 65)["code"] == 5333


def test_device_list_shows_owned_then_shared(api):
    api.accept(api.share())
    assert [(d["deviceKey"], d["deviceType"]) for d in api.devices()] == [
        ("SENS00000001", 1),
        ("LAMP00000001", 2),
    ]


def test_owner_unbind_ends_every_share(api, world):
    pending, active = api.share(coverMark=2), api.share(coverMark=2)
    api.accept(active)
    body = api.delete("unbundlingDeviceDk", OWNER, **LAMP)
    assert body == {"code": 200, "msg": "", "data": {"bindingSum": 0}, "extMsg": None}
    assert codes_of(world, pending) == (2, 6) and codes_of(world, active) == (2, 6)
    assert api.get("deviceInfo", OWNER, **LAMP)["code"] == 5052
    assert api.devices() == [d for d in api.devices() if d["deviceType"] == 1]


def test_recipient_unbind_leaves_the_share(api, world):
    mine, theirs = api.share(coverMark=2), api.share(coverMark=2)
    api.accept(mine)
    api.accept(theirs, SECOND)
    assert api.delete("unbundlingDeviceDk", RECIPIENT, **LAMP)["data"] == {"bindingSum": 2}
    assert codes_of(world, mine) == (2, 4) and codes_of(world, theirs) == (1, None)


@pytest.mark.parametrize(
    "token, params, expected",
    [
        (OWNER, {"dk": "LAMP00000001"}, 5066),
        (OWNER, {"pk": "p11u5w"}, 5067),
        (SECOND, LAMP, 5052),
        (OWNER, {"pk": "p11u5w", "dk": "LAMP00000009"}, 5052),
    ],
)
def test_unbind_codes(api, token, params, expected):
    assert api.delete("unbundlingDeviceDk", token, **params)["code"] == expected
