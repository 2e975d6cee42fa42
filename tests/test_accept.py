"""POST shareDevice: accepting, its codes, and coverMark at acceptance."""

import pytest
from helpers import FAR, LAMP, OWNER, RECIPIENT, SECOND, codes_of


def test_accept_shows_device_in_recipients_list(api, world):
    code = api.share()
    assert api.accept(code) == {"code": 200, "msg": "", "data": None, "extMsg": None}
    shared = [d for d in api.devices() if d["deviceType"] == 2]
    assert len(shared) == 1
    device = shared[0]
    assert device["deviceKey"] == "LAMP00000001" and device["ownerUid"] == "C1001"
    assert device["shareCode"] == code and device["deviceName"] == "Living room lamp"
    assert codes_of(world, code) == (1, None)


def test_accept_stores_the_recipients_device_name(api):
    api.accept(api.share(), deviceName="Mum's lamp")
    assert [d["deviceName"] for d in api.devices() if d["deviceType"] == 2] == ["Mum's lamp"]
    owner_view = [d for d in api.devices(OWNER) if d["deviceKey"] == "LAMP00000001"]
    assert owner_view[0]["deviceName"] == "Living room lamp"


def test_missing_share_code_is_5136(api):
    assert api.post("shareDevice", RECIPIENT)["code"] == 5136


def test_device_name_too_long_is_5333(api):
    assert api.accept(api.share(), deviceName="x" * 65)["code"] == 5333
    assert api.accept(api.share(), deviceName="x" * 64)["code"] == 200


def test_unknown_code_is_5137(api):
    assert api.accept("share_dv_Cdeadbeef")["code"] == 5137


def test_ended_code_is_5137(api):
    code = api.share()
    api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)
    assert api.accept(code)["code"] == 5137


def test_code_is_used_once(api):
    code = api.share()
    api.accept(code)
    assert api.accept(code, SECOND)["code"] == 5137


def test_accepting_twice_is_5049(api):
    code = api.share()
    api.accept(code)
    assert api.accept(code)["code"] == 5049


def test_owner_accepting_own_code_is_5049(api):
    assert api.accept(api.share(), OWNER)["code"] == 5049


def test_code_whose_owner_lost_the_device_is_5138(api, world):
    code = api.share()
    world.devices[("p11u5w", "LAMP00000001")].owner_uid = "C1003"  # moved without unbinding
    assert api.accept(code)["code"] == 5138


def test_check_order_5136_before_5333(api):
    assert api.post("shareDevice", RECIPIENT, deviceName="x" * 100)["code"] == 5136


def test_cover_mark_1_replaces_the_older_share(api, world):
    old = api.share(coverMark=2)
    api.accept(old)
    new = api.share(coverMark=1)
    assert api.accept(new)["code"] == 200
    assert codes_of(world, old) == (2, 5)
    assert [d["shareCode"] for d in api.devices() if d["deviceType"] == 2] == [new]


def test_cover_mark_2_keeps_both_and_lists_the_longest_once(api, world):
    short = api.share(coverMark=2, sharingExpireAt=FAR - 1000)
    api.accept(short)
    long = api.share(coverMark=2, sharingExpireAt=FAR)
    api.accept(long)
    assert codes_of(world, short) == (1, None) and codes_of(world, long) == (1, None)
    assert [d["shareCode"] for d in api.devices() if d["deviceType"] == 2] == [long]


def test_cover_mark_3_with_earlier_expiry_is_5151_and_changes_nothing(api, world):
    old = api.share(coverMark=2, sharingExpireAt=FAR)
    api.accept(old)
    new = api.share(coverMark=3, sharingExpireAt=FAR - 1000)
    assert api.accept(new)["code"] == 5151
    assert codes_of(world, old) == (1, None)
    assert codes_of(world, new) == (0, None)


@pytest.mark.parametrize("later", [FAR, None])
def test_cover_mark_3_with_later_or_lifelong_expiry_replaces(api, world, later):
    old = api.share(coverMark=2, sharingExpireAt=FAR - 1000)
    api.accept(old)
    params = {"coverMark": 3} if later is None else {"coverMark": 3, "sharingExpireAt": later}
    new = api.share(**params)
    assert api.accept(new)["code"] == 200
    assert codes_of(world, old) == (2, 5)


def test_cover_mark_3_against_lifelong_share_is_5151(api):
    api.accept(api.share(coverMark=2))
    assert api.accept(api.share(coverMark=3, sharingExpireAt=FAR))["code"] == 5151


def test_another_recipients_share_is_not_affected(api, world):
    first = api.share(coverMark=2)
    api.accept(first, SECOND)
    api.accept(api.share(coverMark=1))
    assert codes_of(world, first) == (1, None)


def test_accept_via_form_and_json(api):
    assert api.call("POST", "shareDevice", RECIPIENT, via="form", shareCode=api.share(coverMark=2))["code"] == 200
    assert api.call("POST", "shareDevice", SECOND, via="json", shareCode=api.share(coverMark=2))["code"] == 200


def test_lamp_fixture_is_owned(world):
    assert world.devices[(LAMP["pk"], LAMP["dk"])].owner_uid == "C1001"
