"""Password login (the documented AES scheme), the attempt countdown, refresh, logout, profile."""

import jwt
import pytest
from helpers import OWNER

from mock_server.cloud import crypto

DOMAIN, SECRET = "C.DM.5903.1", "sim-domain-secret"
RANDOM = "j1acpdj2bmtqZXVb"


def test_documented_worked_example():
    assert crypto.key_and_iv(RANDOM) == (b"89A049614445CCA8", b"4445CCA889A04961")
    assert crypto.encrypt_password("china1234", RANDOM) == "lkZMvj0KDSJXlp66jBieHA=="
    assert crypto.decrypt_password("lkZMvj0KDSJXlp66jBieHA==", RANDOM) == "china1234"


def email_params(email="owner@example.com", password="owner-pass-1", random=RANDOM, pwd=None, **over):
    pwd = crypto.encrypt_password(password, random) if pwd is None else pwd
    params = {
        "email": email,
        "pwd": pwd,
        "random": random,
        "userDomain": DOMAIN,
        "signature": crypto.signature(email, pwd, random, SECRET),
    }
    params.update(over)
    return params


def phone_params(phone="13800000001", password="owner-pass-1", code="86", **over):
    pwd = crypto.encrypt_password(password, RANDOM)
    params = {
        "phone": phone,
        "pwd": pwd,
        "random": RANDOM,
        "internationalCode": code,
        "userDomain": DOMAIN,
        "signature": crypto.signature(code, phone, pwd, RANDOM, SECRET),
    }
    params.update(over)
    return params


def test_email_login_as_the_docs_describe(api):
    body = api.post("emailPwdLogin", **email_params())
    assert body["code"] == 200 and body["msg"] == "" and body["extMsg"] is None
    access, refresh = body["data"]["accessToken"], body["data"]["refreshToken"]
    assert access["token"].startswith("Bearer ") and refresh["token"].startswith("Bearer ")
    assert isinstance(access["expirationTime"], int) and access["expirationTime"] < 10**11
    claims = jwt.decode(access["token"][7:], options={"verify_signature": False})
    assert claims["uid"] == "C1001" and claims["type"] == "AccessToken"
    assert claims["exp"] - claims["iat"] == 7200 and claims["iat"] - claims["nbf"] == 120
    assert jwt.get_unverified_header(access["token"][7:])["alg"] == "RS256"
    assert api.get("userInfo", access["token"])["data"]["uid"] == "C1001"


def test_email_login_with_form_body(api):
    assert api.call("POST", "emailPwdLogin", via="form", **email_params())["code"] == 200


def test_android_pwd_with_a_trailing_newline_signed_as_sent(api):
    # Android's Base64.DEFAULT ends the text with "\n"; such clients sign that exact string.
    pwd = crypto.encrypt_password("owner-pass-1", RANDOM) + "\n"
    assert api.call("POST", "emailPwdLogin", via="form", **email_params(pwd=pwd))["code"] == 200
    stripped_signature = crypto.signature("owner@example.com", pwd.strip(), RANDOM, SECRET)
    refused = email_params(pwd=pwd, signature=stripped_signature)
    assert api.call("POST", "emailPwdLogin", via="form", **refused)["code"] == 5420


def test_phone_login(api):
    body = api.post("phonePwdLogin", **phone_params())
    assert body["code"] == 200
    assert api.get("userInfo", body["data"]["accessToken"]["token"])["data"]["phone"] == "13800000001"


def test_plain_password_without_random(api):
    params = email_params(random="")
    params.update(pwd="owner-pass-1", signature=crypto.signature("owner@example.com", "owner-pass-1", SECRET))
    params.pop("random")
    assert api.post("emailPwdLogin", **params)["code"] == 200


@pytest.mark.parametrize(
    "over, expected",
    [
        ({"email": ""}, 5026),
        ({"signature": ""}, 5550),
        ({"userDomain": ""}, 5023),
        ({"email": "not-an-email"}, 5040),
        ({"userDomain": "nonsense"}, 5013),
        ({"userDomain": "C.DM.1.1"}, 5015),
        ({"userDomain": "C.DM.5903.9"}, 5104),
        ({"signature": "00" * 32}, 5420),
        ({"pwd": "garbage"}, 5056),
        ({"pwd": ""}, 5022),
    ],
)
def test_email_login_codes(api, over, expected):
    assert api.post("emailPwdLogin", **email_params(**over))["code"] == expected


def test_short_password_is_5056(api):
    assert api.post("emailPwdLogin", **email_params(password="abc"))["code"] == 5056


def test_unregistered_email_is_5031(api):
    assert api.post("emailPwdLogin", **email_params(email="ghost@example.com"))["code"] == 5031


def test_email_countdown_then_freeze_then_thaw(api, world):
    world.clock.freeze()
    wrong = email_params(password="wrong-pass")
    codes = [api.post("emailPwdLogin", **wrong)["code"] for _ in range(5)]
    assert codes == [5586, 5585, 5584, 5583, 5147]
    assert api.last.get_json()["msg"] == "Account frozen, try again after 20 minutes"
    assert api.post("emailPwdLogin", **email_params())["code"] == 5147
    world.clock.advance(20 * 60_000)
    assert api.post("emailPwdLogin", **email_params())["code"] == 200


def test_success_resets_the_countdown(api):
    api.post("emailPwdLogin", **email_params(password="wrong-pass"))
    api.post("emailPwdLogin", **email_params())
    assert api.post("emailPwdLogin", **email_params(password="wrong-pass"))["code"] == 5586


@pytest.mark.parametrize(
    "over, expected",
    [
        ({"phone": ""}, 5021),
        ({"phone": "12ab"}, 5019),
        ({"signature": "bad"}, 5420),
    ],
)
def test_phone_login_codes(api, over, expected):
    assert api.post("phonePwdLogin", **phone_params(**over))["code"] == expected


def test_phone_unregistered_and_countdown(api):
    assert api.post("phonePwdLogin", **phone_params(phone="13999999999"))["code"] == 5004
    codes = [api.post("phonePwdLogin", **phone_params(password="wrong-pass"))["code"] for _ in range(5)]
    assert codes == [5582, 5581, 5580, 5579, 5147]


def test_phone_signature_covers_the_international_code(api):
    params = phone_params()
    params["internationalCode"] = "44"
    assert api.post("phonePwdLogin", **params)["code"] == 5420


def test_refresh_spends_the_refresh_token_and_keeps_the_old_access_token(api):
    first = api.post("emailPwdLogin", **email_params())["data"]
    body = api.put("refreshToken", refreshToken=first["refreshToken"]["token"])
    assert body["code"] == 200
    second = body["data"]
    assert second["accessToken"]["token"] != first["accessToken"]["token"]
    assert api.put("refreshToken", refreshToken=first["refreshToken"]["token"])["code"] == 5032
    assert api.get("userInfo", first["accessToken"]["token"])["code"] == 200
    bare = second["refreshToken"]["token"].removeprefix("Bearer ")
    assert api.call("PUT", "refreshToken", via="form", refreshToken=bare)["code"] == 200


def test_refresh_codes(api):
    first = api.post("emailPwdLogin", **email_params())["data"]
    assert api.put("refreshToken")["code"] == 5106
    assert api.put("refreshToken", refreshToken="nope")["code"] == 5032
    assert api.put("refreshToken", refreshToken=first["accessToken"]["token"])["code"] == 5032


def test_refresh_token_expires_after_30_days(api, world):
    world.clock.freeze()
    first = api.post("emailPwdLogin", **email_params())["data"]
    world.clock.advance(30 * 86_400_000)
    assert api.put("refreshToken", refreshToken=first["refreshToken"]["token"])["code"] == 5032


def test_refresh_token_is_not_an_access_token(api):
    first = api.post("emailPwdLogin", **email_params())["data"]
    assert api.get("userInfo", first["refreshToken"]["token"])["code"] == 5032


def test_logout_revokes_access_and_refresh(api):
    tokens = api.post("emailPwdLogin", **email_params())["data"]
    access = tokens["accessToken"]["token"]
    assert api.post("userLogout", access)["code"] == 200
    assert api.get("userInfo", access)["code"] == 5032
    assert api.put("refreshToken", refreshToken=tokens["refreshToken"]["token"])["code"] == 5032


def test_user_info_fields(api):
    data = api.get("userInfo", OWNER)["data"]
    assert data["uid"] == "C1001" and data["nikeName"] == "Olivia Owner" and data["status"] == 1
    assert data["email"] == "owner@example.com" and data["phone"] == "13800000001"
    assert isinstance(data["registerTime"], int) and data["registerTimeTs"] == data["registerTime"]
    assert {"headimg", "sex", "lang", "timezone", "wechatUnionId", "appleUserId"} <= set(data)


def test_login_records_last_login_time(api):
    api.post("emailPwdLogin", **email_params())
    assert isinstance(api.get("userInfo", OWNER)["data"]["lastLoginTime"], int)
