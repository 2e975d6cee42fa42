"""Texts and shapes as the docs give them."""

from conftest import LAMP, OWNER, RECIPIENT, SECOND, api_with

from mock_server.cloud import crypto

RANDOM = "j1acpdj2bmtqZXVb"


def _shared(api) -> str:
    code = api.post("shareInfo", OWNER, **LAMP, acceptingExpireAt=4_000_000_000_000)["data"]
    assert api.accept(code)["code"] == 200
    return code


def test_share_user_rows_carry_signature_and_remark():
    api = api_with()
    _shared(api)
    row = api.get("deviceShareUserList", OWNER, **LAMP)["data"][0]
    assert row["userInfo"]["uid"] == "C1002"
    assert row["userInfo"]["signature"] == "" and row["userInfo"]["remark"] == ""


def _phone_login(api, phone: str, password: str) -> dict:
    pwd = crypto.encrypt_password(password, RANDOM)
    return api.post("phonePwdLogin", phone=phone, pwd=pwd, random=RANDOM, internationalCode="86",
                    userDomain="C.DM.5903.1", signature=crypto.signature("86", phone, pwd, RANDOM,
                                                                          "sim-domain-secret"))  # fmt: skip


def test_phone_login_messages_are_the_documented_ones():
    api = api_with()
    body = _phone_login(api, "13800000001", "wrong-pass-1")
    assert (body["code"], body["msg"]) == (5582, "Phone or password incorrect, 4 attempts left")
    for left in (3, 2, 1):
        body = _phone_login(api, "13800000001", "wrong-pass-1")
        assert body["msg"] == f"Phone or password incorrect, {left} attempt{'s' if left > 1 else ''} left"
    body = _phone_login(api, "not-a-phone", "owner-pass-1")
    assert (body["code"], body["msg"]) == (5019, "Phone number format incorrect")


def test_the_owner_reading_an_active_code_gets_5041_as_documented():
    api = api_with()
    code = _shared(api)
    assert api.get("deviceInfo", RECIPIENT, shareCode=code)["code"] == 200
    assert api.get("deviceInfo", OWNER, shareCode=code)["code"] == 5041
    assert api.get("deviceInfo", SECOND, shareCode=code)["code"] == 5041


def test_a_switch_keeps_the_owner_reading_an_active_code():
    api = api_with({"settings": {"ownerReadsActiveCode": True}})
    code = _shared(api)
    body = api.get("deviceInfo", OWNER, shareCode=code)
    assert body["code"] == 200 and body["data"]["deviceKey"] == "LAMP00000001"
    assert api.get("deviceInfo", SECOND, shareCode=code)["code"] == 5041
