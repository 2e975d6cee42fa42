"""Changing and ending shares: setShareTime, both unshares, rename, and the recipient list."""

import pytest
from helpers import FAR, LAMP, OWNER, RECIPIENT, SECOND, codes_of


@pytest.fixture
def active(api):
    code = api.share()
    api.accept(code)
    return code


# ---- setShareTime ---------------------------------------------------------------------------


def test_set_share_time_changes_the_expiry(api, world, active):
    assert api.put("setShareTime", OWNER, shareCode=active, sharingExpireAt=FAR)["code"] == 200
    assert world.shares[active].sharing_expire_at == FAR
    assert [d["sharingExpireTimeTs"] for d in api.devices() if d["deviceType"] == 2] == [FAR]


def test_set_share_time_zero_makes_it_lifelong_again(api, world, active):
    api.put("setShareTime", OWNER, shareCode=active, sharingExpireAt=FAR)
    api.put("setShareTime", OWNER, shareCode=active, sharingExpireAt=0)
    assert world.shares[active].sharing_expire_at is None


def test_set_share_time_in_the_past_ends_the_share(api, world, active):
    assert api.put("setShareTime", OWNER, shareCode=active, sharingExpireAt=1_000_000_000_000)["code"] == 200
    assert codes_of(world, active) == (2, 2)
    assert [d for d in api.devices() if d["deviceType"] == 2] == []


@pytest.mark.parametrize(
    "token, params, expected",
    [
        (OWNER, {"sharingExpireAt": FAR}, 5136),
        (OWNER, {"shareCode": "x"}, 5145),
        (OWNER, {"shareCode": "x", "sharingExpireAt": "later"}, 5145),
        (OWNER, {"shareCode": "share_dv_Cnope", "sharingExpireAt": FAR}, 5041),
        (RECIPIENT, {"sharingExpireAt": FAR}, 5041),
    ],
)
def test_set_share_time_codes(api, active, token, params, expected):
    params = {"shareCode": active, **params}
    if expected == 5136:
        params.pop("shareCode")
    assert api.put("setShareTime", token, **params)["code"] == expected


# ---- ownerUserUnshareDevice -----------------------------------------------------------------


def test_owner_unshare_revokes_the_recipient(api, world, active):
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode=active)["code"] == 200
    assert codes_of(world, active) == (2, 3)
    assert [d for d in api.devices() if d["deviceType"] == 2] == []


def test_owner_unshare_of_a_pending_code(api, world):
    code = api.share()
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)["code"] == 200
    assert codes_of(world, code) == (2, 3)


def test_owner_unshare_codes(api, active):
    assert api.delete("ownerUserUnshareDevice", OWNER)["code"] == 5136
    assert api.delete("ownerUserUnshareDevice", RECIPIENT, shareCode=active)["code"] == 5041
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode="share_dv_Cx")["code"] == 5041
    api.delete("ownerUserUnshareDevice", OWNER, shareCode=active)
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode=active)["code"] == 5142


def test_owner_unshare_via_form_body(api, world, active):
    assert api.call("DELETE", "ownerUserUnshareDevice", OWNER, via="form", shareCode=active)["code"] == 200


# ---- shareUserUnshareDevice -----------------------------------------------------------------


def test_recipient_leaves(api, world, active):
    assert api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=active)["code"] == 200
    assert codes_of(world, active) == (2, 4)


def test_recipient_unshare_codes(api, active):
    assert api.delete("shareUserUnshareDevice", RECIPIENT)["code"] == 5136
    assert api.delete("shareUserUnshareDevice", OWNER, shareCode=active)["code"] == 5041
    assert api.delete("shareUserUnshareDevice", SECOND, shareCode=active)["code"] == 5041
    assert api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=api.share(coverMark=2))["code"] == 5041
    api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=active)
    assert api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=active)["code"] == 5142


# ---- changeShareDeviceName ------------------------------------------------------------------


def test_rename_shows_in_recipients_views(api, active):
    assert api.put("changeShareDeviceName", RECIPIENT, shareCode=active, deviceName="Hall")["code"] == 200
    assert [d["deviceName"] for d in api.devices() if d["deviceType"] == 2] == ["Hall"]
    assert api.get("deviceInfo", RECIPIENT, **LAMP)["data"]["deviceName"] == "Hall"
    assert api.get("deviceInfo", OWNER, **LAMP)["data"]["deviceName"] == "Living room lamp"


def test_rename_codes(api, active):
    rename = lambda token=RECIPIENT, **p: api.put("changeShareDeviceName", token, **p)["code"]  # noqa: E731
    assert rename(deviceName="x") == 5136
    assert rename(shareCode=active) == 5068
    assert rename(shareCode=active, deviceName="x" * 65) == 5333
    assert rename(OWNER, shareCode=active, deviceName="x") == 5041
    api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=active)
    assert rename(shareCode=active, deviceName="x") == 5142


# ---- deviceShareUserList --------------------------------------------------------------------


def test_share_user_list_rows_newest_first(api, active):
    second = api.share(coverMark=2)
    api.accept(second, SECOND)
    api.share(coverMark=2)  # pending: not listed
    body = api.get("deviceShareUserList", OWNER, **LAMP)
    assert body["code"] == 200
    rows = body["data"]
    assert [r["shareInfo"]["shareCode"] for r in rows] == [second, active]
    info, user = rows[1]["shareInfo"], rows[1]["userInfo"]
    assert info["shareUid"] == "C1002" and info["ownerUid"] == "C1001" and info["shareStatus"] == 1
    assert isinstance(info["shareId"], int) and isinstance(info["shareTime"], int)
    assert info["acceptingExpireAt"] == "2096-10-02 07:06:40"
    assert info["acceptingExpireAtTs"] == 4_000_000_000_000
    assert info["sharingExpireAt"] is None and info["failureCause"] is None
    assert user["uid"] == "C1002" and user["nikeName"] == "Rui Recipient"
    assert user["userDomain"] == "C.DM.5903.1" and isinstance(user["registerTime"], str)
    expected = {
        "shareId", "shareCode", "ownerUid", "shareUid", "pk", "dk", "deviceName", "fid", "authKey",
        "coverMark", "shareStatus", "failureCause", "shareTime", "shareTimeTs", "acceptTime",
        "acceptTimeTs", "acceptingExpireAt", "acceptingExpireAtTs", "sharingExpireAt",
        "sharingExpireAtTs", "deleteTime", "deleteTimeTs", "updateTime", "updateTimeTs",
    }  # fmt: skip
    assert set(info) == expected


def test_share_user_list_codes(api):
    assert api.get("deviceShareUserList", OWNER, dk="LAMP00000001")["code"] == 5066
    assert api.get("deviceShareUserList", OWNER, pk="p11u5w")["code"] == 5067
    assert api.get("deviceShareUserList", RECIPIENT, **LAMP)["code"] == 5141
    assert api.get("deviceShareUserList", OWNER, pk="p11u5w", dk="NOPE")["code"] == 5141


def test_share_user_list_drops_ended_shares(api, active):
    api.delete("ownerUserUnshareDevice", OWNER, shareCode=active)
    assert api.get("deviceShareUserList", OWNER, **LAMP)["data"] == []
