"""Each `settings:` switch reverses the behaviour decision it names."""

from helpers import LAMP, OWNER, RECIPIENT, SECOND, api_with, codes_of
from test_accounts import email_params

ACCEPT_BY = 4_000_000_000_000


def switched(**settings):
    api = api_with({"settings": settings})
    return api, api.client.application.extensions["mock_server"].world()


def test_device_name_max():
    api, _ = switched(deviceNameMax=10)
    assert api.accept(api.share(), deviceName="x" * 11)["code"] == 5333
    assert api.accept(api.share(), deviceName="x" * 10)["code"] == 200


def test_login_attempts_and_freeze_minutes():
    api, world = switched(loginAttempts=3, loginFreezeMinutes=5)
    world.clock.freeze()
    wrong = email_params(password="wrong-pass")
    assert [api.post("emailPwdLogin", **wrong)["code"] for _ in range(3)] == [5584, 5583, 5147]
    world.clock.advance(5 * 60_000)
    assert api.post("emailPwdLogin", **email_params())["code"] == 200


def test_token_lifetimes():
    api, world = switched(accessTokenTtl=30, refreshTokenTtl=90)
    data = api.post("emailPwdLogin", **email_params())["data"]
    now = world.now() // 1000
    assert data["accessToken"]["expirationTime"] - now == 30
    assert data["refreshToken"]["expirationTime"] - now == 90


def test_region_letter():
    api, world = switched(region="E")
    assert api.share().startswith("share_dv_E")
    assert "E900001" in world.users


def test_auth_error_http_status():
    api, _ = switched(authErrorHttpStatus=401)
    assert api.get("userInfo")["code"] == 5106 and api.last.status_code == 401
    assert api.get("userInfo", "nope")["code"] == 5032 and api.last.status_code == 401
    assert api.post("shareInfo", OWNER)["code"] == 5066 and api.last.status_code == 200


def test_require_bearer():
    api, _ = switched(requireBearer=True)
    assert api.get("userInfo", "owner-token")["code"] == 5032
    assert api.get("userInfo", "Bearer owner-token")["code"] == 200


def test_parameter_sources():
    api, _ = switched(parameterSources=["json"])
    assert api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=ACCEPT_BY)["code"] == 5066
    assert api.call("POST", "shareInfo", OWNER, via="json", **LAMP, acceptingExpireAt=ACCEPT_BY)["code"] == 200


def test_seconds_timestamps_reject_and_convert():
    api, _ = switched(secondsTimestamps="reject")
    assert api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000)["code"] == 5145
    api, world = switched(secondsTimestamps="convert")
    code = api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000)["data"]
    assert world.shares[code].accepting_expire_at == ACCEPT_BY


def test_zero_expiry_is_a_real_time_when_switched_off():
    api, world = switched(zeroExpiryIsLifelong=False)
    assert api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=ACCEPT_BY, sharingExpireAt=0)["code"] == 5153
    code = api.share()
    api.accept(code)
    api.put("setShareTime", OWNER, shareCode=code, sharingExpireAt=0)
    assert codes_of(world, code) == (2, 2)


def test_cover_mark_zero_as_default():
    api, world = switched(coverMarkZeroIsDefault=True)
    code = api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=ACCEPT_BY, coverMark=0)["data"]
    assert world.shares[code].cover_mark == 1


def test_share_by_uid_needs_acceptance():
    api, world = switched(shareByUidNeedsAcceptance=True)
    code = api.post("shareByUid", OWNER, **LAMP, shareUid="C1002")["data"]
    assert codes_of(world, code) == (0, None)
    assert api.accept(code, SECOND)["code"] == 5137
    assert api.accept(code, RECIPIENT)["code"] == 200


def test_pending_code_preview_off():
    api, _ = switched(pendingCodePreview=False)
    code = api.share()
    assert api.get("deviceInfo", SECOND, shareCode=code)["code"] == 5041
    assert api.get("deviceInfo", OWNER, shareCode=code)["code"] == 200


def test_list_pending_shares():
    api, _ = switched(listPendingShares=True)
    pending = api.share()
    rows = api.get("deviceShareUserList", OWNER, **LAMP)["data"]
    assert [(r["shareInfo"]["shareCode"], r["shareInfo"]["shareStatus"], r["userInfo"]) for r in rows] == [
        (pending, 0, None)
    ]


def test_signatures_unchecked():
    api, _ = switched(checkSignatures=False)
    assert api.post("emailPwdLogin", **email_params(signature="anything"))["code"] == 200


def test_logout_keeps_refresh_token():
    api, _ = switched(logoutRevokesRefresh=False)
    tokens = api.post("emailPwdLogin", **email_params())["data"]
    api.post("userLogout", tokens["accessToken"]["token"])
    assert api.put("refreshToken", refreshToken=tokens["refreshToken"]["token"])["code"] == 200
