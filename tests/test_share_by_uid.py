"""POST shareByUid: invitation that is active at once."""

import pytest
from helpers import FAR, LAMP, OWNER, RECIPIENT, codes_of


def invite(api, token=OWNER, **params):
    return api.post("shareByUid", token, **{**LAMP, **params})


@pytest.mark.parametrize("who", [{"shareUid": "C1002"}, {"email": "recipient@example.com"}, {"phone": "13800000002"}])
def test_invited_user_gets_the_device_at_once(api, world, who):
    body = invite(api, **who)
    assert body["code"] == 200
    assert codes_of(world, body["data"]) == (1, None)
    shared = [d for d in api.devices(RECIPIENT) if d["deviceType"] == 2]
    assert [d["shareCode"] for d in shared] == [body["data"]]


def test_email_lookup_ignores_case(api):
    assert invite(api, email="Recipient@Example.com")["code"] == 200


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"pk": ""}, 5066),
        ({"dk": ""}, 5067),
        ({"shareUid": "C1002", "sharingExpireAt": "x"}, 5145),
        ({"shareUid": "C1002", "coverMark": 7}, 5133),
        ({}, 5891),
        ({"shareUid": "C1002", "dk": "NOPE"}, 5135),
        ({"shareUid": "C1002", "pk": "p11u6t", "dk": "PLUG00000009"}, 5360),
        ({"shareUid": "C1004"}, 5864),
        ({"shareUid": "C424242"}, 5134),
        ({"email": "nobody@example.com"}, 5134),
        ({"shareUid": "C1001"}, 5134),
    ],
)
def test_documented_codes(api, params, expected):
    assert invite(api, **params)["code"] == expected


def test_not_the_owner_is_5135(api):
    assert invite(api, RECIPIENT, shareUid="C1003")["code"] == 5135


def test_cover_mark_3_rejection_is_5134_and_changes_nothing(api, world):
    old = invite(api, shareUid="C1002")["data"]  # lifelong
    before = len(world.shares)
    assert invite(api, shareUid="C1002", coverMark=3, sharingExpireAt=FAR)["code"] == 5134
    assert len(world.shares) == before
    assert codes_of(world, old) == (1, None)


def test_cover_mark_1_replaces_the_recipients_share(api, world):
    old = invite(api, shareUid="C1002")["data"]
    new = invite(api, shareUid="C1002", coverMark=1)["data"]
    assert codes_of(world, old) == (2, 5)
    assert codes_of(world, new) == (1, None)
