"""Verification codes, the outbox, registration, passwords, profile and account links, against
a real server (the pytest plugin's), through `requests`."""

from __future__ import annotations

import pytest
from accounts_client import DOMAIN, RANDOM16, Client

from mock_server.cloud import crypto

NINA = "13900000077"
NINA_MAIL = "nina@example.com"
OLIVIA_PHONE, OLIVIA_TOKEN = "13800000001", "owner-token"  # the default scenario's owner


@pytest.fixture
def api(quectel_mock) -> Client:
    quectel_mock.clock(set="2031-01-01T00:00:00Z", freeze=True)
    return Client(quectel_mock)


# ---- the signature -------------------------------------------------------------------------------

VECTOR = {
    "phone": "17132136550",
    "codeType": 3,
    "random": "76a6L647F02CAoN9",
    "ts": 1744773894369,
    "secret": "57Fk69oYgbs2aWWN362NtZwYB2RqKNqQ7yZESnF5VM22",
    "signature": "2deb6518ca0ee701e28a6359a91270c59dbe69456a3336dc5f625bfa32e64df6",
}


def test_signature_test_vector_from_the_integration_guide():
    v = VECTOR
    assert crypto.signature(v["phone"], str(v["codeType"]), v["random"], str(v["ts"]), v["secret"]) == v["signature"]


def test_the_server_accepts_the_guides_request_and_refuses_it_altered(quectel_mock):
    spec = {
        "name": "guide",
        "userDomains": [{"domain": "C.DM.10271.5", "secret": VECTOR["secret"]}],
        "clock": {"start": VECTOR["ts"] + 60_000, "frozen": True},
    }
    quectel_mock.control("PUT", "/scenario", {"scenario": spec})
    api = Client(quectel_mock)
    query = {k: VECTOR[k] for k in ("phone", "codeType", "random", "ts", "signature")}
    query.update(internationalCode="86", userDomain="C.DM.10271.5")
    assert api.call("POST", "sendPhoneSmsCode", **query) == {"code": 200, "msg": "", "data": None, "extMsg": None}
    assert quectel_mock.last_code(VECTOR["phone"]).isdigit()
    assert api.call("POST", "sendPhoneSmsCode", **{**query, "codeType": 2})["code"] == 5420
    assert api.call("POST", "sendPhoneSmsCode", **{**query, "signature": query["signature"].upper()})["code"] == 200


# ---- sending codes ----------------------------------------------------------------------------------


def test_send_sms_code_puts_the_code_in_the_outbox(api):
    assert api.send_sms(NINA)["code"] == 200
    [message] = api.mock.outbox()
    assert message == {
        "channel": "sms", "to": NINA, "type": 3, "code": message["code"], "sentAt": api.now(), "usedAt": None,
    }  # fmt: skip
    assert len(message["code"]) == 6 and message["code"].isdigit()
    entries = api.mock.journal(kind="outbox")
    assert [(e["method"], e["params"]["code"]) for e in entries] == [("SMS", message["code"])]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"codeType": 6}, 5000),
        ({"codeType": None}, 5000),
        ({"internationalCode": None}, 5116),
        ({"phone": None}, 5021),
        ({"userDomain": None}, 5023),
        ({"phone": "12ab"}, 5019),
        ({"userDomain": "nonsense"}, 5013),
        ({"userDomain": "C.DM.1.1"}, 5015),
        ({"userDomain": "C.DM.5903.9"}, 5104),
        ({"signature": None}, 5550),
        ({"signature": "00" * 32}, 5420),
        ({"random": "short"}, 5420),
        ({"ts": 1}, 5420),
    ],
)
def test_send_sms_code_refusals(api, change, code):
    params = {"codeType": 3, "internationalCode": "86", "phone": NINA, "random": RANDOM16, "ts": api.now()}
    params["userDomain"] = DOMAIN
    params["signature"] = crypto.signature(NINA, "3", RANDOM16, str(params["ts"]), "sim-domain-secret")
    params.update(change)
    params = {k: v for k, v in params.items() if v is not None}
    assert api.call("POST", "sendPhoneSmsCode", **params)["code"] == code
    assert api.mock.outbox() == []


def test_ts_more_than_ten_minutes_from_the_clock_is_refused(api):
    assert api.send_sms(NINA, ts=api.now() - 10 * 60_000)["code"] == 200
    assert api.send_sms(NINA, ts=api.now() - 10 * 60_000 - 1)["code"] == 5420


def test_send_email(api):
    assert api.send_email(NINA_MAIL)["code"] == 200
    assert api.mock.outbox()[0] | {"code": "x"} == {
        "channel": "email", "to": NINA_MAIL, "type": 1, "code": "x", "sentAt": api.now(), "usedAt": None,
    }  # fmt: skip
    refusals = [
        ({"emailType": 1, "userDomain": DOMAIN}, 5026),
        ({"email": "nope", "emailType": 1, "userDomain": DOMAIN}, 5040),
        ({"email": NINA_MAIL, "emailType": 9, "userDomain": DOMAIN}, 5000),
        ({"email": NINA_MAIL, "emailType": 1}, 5023),
    ]
    for params, code in refusals:
        assert api.call("POST", "sendEmail", **params)["code"] == code


def test_rate_limit_per_address_on_the_clock(api):
    for _ in range(5):
        assert api.send_sms(NINA)["code"] == 200
    assert api.send_sms(NINA)["code"] == 5058
    assert api.send_sms("13900000078")["code"] == 200  # another address has its own budget
    api.mock.advance("59s")
    assert api.send_sms(NINA)["code"] == 5058
    api.mock.advance("1s")
    assert api.send_sms(NINA)["code"] == 200
    for _ in range(5):
        api.send_email(NINA_MAIL)
    assert api.send_email(NINA_MAIL)["code"] == 5058


def test_outbox_newest_first_and_emptied(api):
    api.send_sms(NINA)
    api.mock.advance("1s")
    api.send_email(NINA_MAIL)
    assert [m["channel"] for m in api.mock.outbox()] == ["email", "sms"]
    code = api.mock.last_code(NINA)
    assert api.mock.control("DELETE", "/outbox") == {"cleared": 2}
    assert api.mock.outbox() == []
    # emptying the outbox forgets the messages, not the codes
    body = {"phone": NINA, "pwd": "nina-pass-1", "smsCode": code, "userDomain": DOMAIN}
    assert api.call("POST", "phonePwdRegister", json=body)["code"] == 200


def test_outbox_belongs_to_one_world(api, quectel_mock_server):
    api.send_sms(NINA)
    other = requests_get(quectel_mock_server + "/s/someone-else/_mock/outbox")
    assert other == {"messages": []}


def requests_get(url: str) -> dict:
    import requests

    return requests.get(url, timeout=10).json()


# ---- codes on the clock ----------------------------------------------------------------------------------


def _register(api: Client, code: str, phone: str = NINA) -> dict:
    body = {"phone": phone, "pwd": "nina-pass-1", "smsCode": code, "userDomain": DOMAIN}
    return api.call("POST", "phonePwdRegister", json=body)


def test_a_code_lasts_five_minutes_of_the_clock(api):
    api.send_sms(NINA)
    code = api.mock.last_code(NINA)
    api.mock.advance("5m")
    assert _register(api, code)["code"] == 5037
    api.send_sms(NINA)
    api.mock.advance(299_000)
    assert _register(api, api.mock.last_code(NINA))["code"] == 200


def test_a_code_is_spent_once_used_and_only_the_newest_counts(api):
    api.send_sms(OLIVIA_PHONE, code_type=1)
    first = api.mock.last_code(OLIVIA_PHONE)
    api.mock.advance("1s")
    api.send_sms(OLIVIA_PHONE, code_type=1)
    second = api.mock.last_code(OLIVIA_PHONE)
    reset = {"phone": OLIVIA_PHONE, "userDomain": DOMAIN, "pwd": "olivia-new-1"}
    assert first != second  # the world's first two codes (seed 1) differ
    assert api.call("PUT", "userPwdReset", code=first, **reset)["code"] == 5037
    assert api.call("PUT", "userPwdReset", code=second, **reset)["code"] == 200
    assert api.mock.outbox()[0]["usedAt"] == api.now()
    assert api.call("PUT", "userPwdReset", code=second, **reset)["code"] == 5037


def test_a_code_of_another_type_is_refused(api):
    api.send_sms(NINA, code_type=2)  # a login code
    assert _register(api, api.mock.last_code(NINA))["code"] == 5037


def test_codes_follow_the_seed(quectel_mock):
    codes = []
    for _ in range(2):
        quectel_mock.reset()
        quectel_mock.clock(set="2031-01-01T00:00:00Z", freeze=True)
        Client(quectel_mock).send_sms(NINA)
        codes.append(quectel_mock.last_code(NINA))
    assert codes[0] == codes[1]


# ---- registration ---------------------------------------------------------------------------------------


def test_register_by_phone_then_sign_in_at_once(api):
    uid = api.register_phone(NINA, "nina-pass-1")
    token = api.token_of(NINA, "nina-pass-1")
    info = api.call("GET", "userInfo", token)["data"]
    assert (info["uid"], info["phone"], info["email"]) == (uid, NINA, None)
    assert uid in [u["uid"] for u in api.mock.state()["users"]]


def test_register_by_the_pages_path_with_query_parameters_and_an_encrypted_password(api):
    api.send_sms(NINA)
    pwd = crypto.encrypt_password("abcd1234", "abcdef")
    answer = api.call(
        "POST", "/v2/enduser/enduserapi/phonePwdRegister", phone=NINA, pwd=pwd, random="abcdef",
        smsCode=api.mock.last_code(NINA), userDomain=DOMAIN,
    )  # fmt: skip
    assert answer["code"] == 200 and set(answer["data"]) == {"uid"}
    assert api.login_phone(NINA, "abcd1234")["code"] == 200


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"phone": OLIVIA_PHONE}, 5002),
        ({"smsCode": "000000"}, 5037),
        ({"smsCode": None}, 5064),
        ({"phone": None}, 5021),
        ({"pwd": None}, 5022),
        ({"userDomain": None}, 5023),
        ({"phone": "x1"}, 5019),
        ({"pwd": "short"}, 5056),
        ({"userDomain": "C.DM.1.1"}, 5015),
        ({"userDomain": "bad"}, 5013),
        ({"userDomain": "C.DM.5903.9"}, 5104),
    ],
)
def test_phone_registration_refusals(api, change, code):
    api.send_sms(NINA)
    api.send_sms(OLIVIA_PHONE)
    body = {"phone": NINA, "pwd": "nina-pass-1", "smsCode": api.mock.last_code(NINA), "userDomain": DOMAIN, **change}
    answer = api.call("POST", "phonePwdRegister", json={k: v for k, v in body.items() if v is not None})
    assert answer["code"] == code
    assert api.mock.outbox()[1]["usedAt"] is None  # a refused registration spends no code


def test_register_by_email_both_paths(api):
    for path, address in (("emailPwdRegister", NINA_MAIL), ("/v2/enduser/enduserapi/emailPwdRegister", "n2@x.org")):
        api.send_email(address)
        body = {"email": address, "pwd": "nina-pass-1", "code": api.mock.last_code(address), "userDomain": DOMAIN}
        answer = api.call("POST", path, json=body)
        assert answer["code"] == 200, answer
    assert api.call("POST", "emailPwdRegister", json=body)["code"] == 5039
    api.send_email("n3@x.org")
    refusals = [
        ({"code": "999999"}, 5046),
        ({"code": None}, 5064),
        ({"email": None}, 5026),
        ({"email": "bad"}, 5040),
        ({"pwd": None}, 5022),
    ]
    for change, code in refusals:
        body = {"email": "n3@x.org", "pwd": "nina-pass-1", "code": api.mock.last_code("n3@x.org"), "userDomain": DOMAIN}
        body = {k: v for k, v in {**body, **change}.items() if v is not None}
        assert api.call("POST", "emailPwdRegister", json=body)["code"] == code


# ---- passwords ----------------------------------------------------------------------------------------------


def test_reset_by_phone_revokes_tokens_and_defaults_to_12345678(api):
    assert api.call("GET", "userInfo", OLIVIA_TOKEN)["code"] == 200
    api.send_sms(OLIVIA_PHONE, code_type=1)
    code = api.mock.last_code(OLIVIA_PHONE)
    assert api.call("PUT", "userPwdReset", code=code, phone=OLIVIA_PHONE, userDomain=DOMAIN)["code"] == 200
    assert api.call("GET", "userInfo", OLIVIA_TOKEN)["code"] == 5032
    assert api.login_phone(OLIVIA_PHONE, "12345678")["code"] == 200


def test_reset_by_email(api):
    api.send_email("owner@example.com", email_type=2)
    code = api.mock.last_code("owner@example.com")
    pwd = crypto.encrypt_password("brand-new-9", "r4nd")
    params = {"email": "owner@example.com", "userDomain": DOMAIN, "pwd": pwd, "random": "r4nd"}
    assert api.call("PUT", "userPwdReset", code="111111", **params)["code"] == 5046
    assert api.call("PUT", "userPwdReset", code=code, **params)["code"] == 200
    assert api.login_phone(OLIVIA_PHONE, "brand-new-9")["code"] == 200


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"userDomain": DOMAIN}, 5044),
        ({"phone": NINA, "userDomain": DOMAIN}, 5004),
        ({"email": "nobody@example.com", "userDomain": DOMAIN}, 5031),
        ({"phone": OLIVIA_PHONE, "userDomain": DOMAIN}, 5037),
        ({"phone": OLIVIA_PHONE}, 5023),
        ({"phone": "bad!", "userDomain": DOMAIN}, 5019),
    ],
)
def test_reset_refusals(api, params, code):
    assert api.call("PUT", "userPwdReset", code="123456", **params)["code"] == code
    assert api.call("PUT", "userPwdReset", **params)["code"] == 5064


def test_set_user_pwd(api):
    change = {"oldPwd": "owner-pass-1", "newPwd": "owner-pass-2"}
    refusals = [
        ({**change, "oldPwd": "wrong-pass"}, 5008),
        ({**change, "newPwd": "owner-pass-1"}, 5063),
        ({"newPwd": "owner-pass-2"}, 5505),
        ({"oldPwd": "owner-pass-1"}, 5507),
        ({**change, "random": "abc"}, 5506),
        ({**change, "newPwd": "tiny"}, 5510),
        ({**change, "oldPwd": "tiny"}, 5509),
    ]
    for params, code in refusals:
        assert api.call("PUT", "setUserPwd", OLIVIA_TOKEN, **params)["code"] == code
    assert api.call("PUT", "setUserPwd", OLIVIA_TOKEN, **change)["code"] == 200
    assert api.login_phone(OLIVIA_PHONE, "owner-pass-2")["code"] == 200
    assert api.call("GET", "userInfo", OLIVIA_TOKEN)["code"] == 200  # the caller stays signed in


# ---- profile -----------------------------------------------------------------------------------------------


def test_set_user_info_is_read_back(api):
    change = {"nikeName": "Liv", "sex": 1, "address": "1 Quay", "city": "Porto", "province": "Norte"}
    change |= {"signature": "hi", "remark": "r", "headImage": "https://x.org/a.png", "lang": "2"}
    assert api.call("PUT", "setUserInfo", OLIVIA_TOKEN, **change)["code"] == 200
    info = api.call("GET", "userInfo", OLIVIA_TOKEN)["data"]
    assert (info["nikeName"], info["sex"], info["address"], info["city"], info["province"]) == (
        "Liv", "1", "1 Quay", "Porto", "Norte",
    )  # fmt: skip
    assert (info["signature"], info["remark"], info["headimg"], info["lang"]) == ("hi", "r", "https://x.org/a.png", "2")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"nikeName": "n" * 51}, 5060),
        ({"sex": 3}, 5061),
        ({"address": "a" * 255}, 5076),
        ({"province": "p" * 255}, 5473),
        ({"city": "c" * 255}, 5474),
        ({"signature": "s" * 255}, 5475),
        ({"remark": "r" * 255}, 5476),
    ],
)
def test_set_user_info_refusals_change_nothing(api, params, code):
    assert api.call("PUT", "setUserInfo", OLIVIA_TOKEN, **{"nikeName": "Kept", **params})["code"] == code
    assert api.call("GET", "userInfo", OLIVIA_TOKEN)["data"]["nikeName"] == "Olivia Owner"


# ---- phone and e-mail links ----------------------------------------------------------------------------------


def test_link_and_unlink_email_and_phone(api):
    uid = api.register_phone(NINA)
    token = api.token_of(NINA, "nina-pass-1")
    assert api.call("DELETE", "deleteEmailRelation", token, code="123456")["code"] == 5385
    assert api.call("DELETE", "deletePhoneRelation", token, code="123456")["code"] == 5396  # her only way in
    api.send_email("owner@example.com", email_type=3)
    assert api.call("POST", "relationEmail", token, code="1", email="owner@example.com")["code"] == 5039
    api.send_email(NINA_MAIL, email_type=3)
    assert api.call("POST", "relationEmail", token, code="000000", email=NINA_MAIL)["code"] == 5046
    assert api.call("POST", "relationEmail", token, code=api.mock.last_code(NINA_MAIL), email=NINA_MAIL)["code"] == 200
    assert api.call("GET", "userInfo", token)["data"]["email"] == NINA_MAIL
    # now the phone may go, with a cancellation code sent to it
    api.send_sms(NINA, code_type=4)
    assert api.call("DELETE", "deletePhoneRelation", token, code=api.mock.last_code(NINA))["code"] == 200
    assert api.call("GET", "userInfo", token)["data"]["phone"] is None
    assert api.call("DELETE", "deletePhoneRelation", token, code="1")["code"] == 5384
    assert api.call("DELETE", "deleteEmailRelation", token, code="1")["code"] == 5396
    # and come back by relationPhone (codeType 3)
    assert api.call("POST", "relationPhone", token, code="1", phone=OLIVIA_PHONE)["code"] == 5002
    assert api.call("POST", "relationPhone", token, code="1", phone="x")["code"] == 5019
    api.send_sms(NINA, code_type=3)
    assert api.call("POST", "relationPhone", token, code="000001", phone=NINA)["code"] == 5037
    assert api.call("POST", "relationPhone", token, code=api.mock.last_code(NINA), phone=NINA)["code"] == 200
    assert api.call("POST", "relationPhone", token, phone=NINA)["code"] == 5064
    assert api.login_phone(NINA, "nina-pass-1")["data"] is not None
    assert uid == api.call("GET", "userInfo", token)["data"]["uid"]


def test_set_phone(api):
    new = "13900000099"
    base = {"newInternationalCode": "86", "newPhone": new, "oldInternationalCode": "86", "oldPhone": OLIVIA_PHONE}
    api.send_sms(OLIVIA_PHONE, code_type=4)
    old_code = api.mock.last_code(OLIVIA_PHONE)
    api.send_sms(new, code_type=2)
    new_code = api.mock.last_code(new)
    codes = {"oldPhoneCode": old_code, "newPhoneCode": new_code}
    refusals = [
        ({**base, **codes, "oldPhone": "13800000002"}, 5174),
        ({**base, **codes, "newPhone": OLIVIA_PHONE}, 5177),
        ({**base, **codes, "newPhone": "13800000002"}, 5176),
        ({**base, **codes, "oldPhoneCode": "000000"}, 5168),
        ({**base, **codes, "newPhoneCode": "000000"}, 5169),
        ({**codes, "newPhone": new, "oldInternationalCode": "86", "oldPhone": OLIVIA_PHONE}, 5162),
        ({**base, "newPhoneCode": new_code}, 5167),
    ]
    for params, code in refusals:
        assert api.call("PUT", "setPhone", OLIVIA_TOKEN, **params)["code"] == code
    assert api.call("PUT", "setPhone", OLIVIA_TOKEN, **base, **codes)["code"] == 200
    assert api.login_phone(new, "owner-pass-1")["code"] == 200
    assert api.login_phone(OLIVIA_PHONE, "owner-pass-1")["code"] == 5004


def test_user_delete_type_out_of_range(api):
    assert api.call("DELETE", "userDelete", OLIVIA_TOKEN, type=3)["code"] == 5152
    assert api.call("GET", "userInfo", OLIVIA_TOKEN)["code"] == 200


def test_state_file_keeps_codes_and_registered_users(tmp_path):
    from mock_server.cloud import registration
    from mock_server.harness import persistence
    from mock_server.harness.scenario import Scenario

    world = Scenario.load("default").build()
    sent = registration.send_email(world, email=NINA_MAIL, emailType=1, userDomain=DOMAIN)
    registration.register_email(world, code=sent.code, email=NINA_MAIL, pwd="nina-pass-1", userDomain=DOMAIN)
    persistence.write_state(tmp_path / "state.json", {"default": world})
    again = persistence.read_state(tmp_path / "state.json")["default"]
    assert [(c.to, c.code, c.used_at) for c in again.sent_codes] == [(NINA_MAIL, sent.code, sent.used_at)]
    assert again.users_by_email[NINA_MAIL].uid == world.users_by_email[NINA_MAIL].uid
    assert again.last_registered == 1


def test_a_world_keeps_a_bounded_outbox_and_codes_go_on_after_a_state_file(tmp_path, monkeypatch):
    from mock_server.cloud import codes
    from mock_server.harness import persistence
    from mock_server.harness.scenario import Scenario

    monkeypatch.setattr(codes, "KEPT", 3)
    world = Scenario.load("default").build()
    for n in range(5):
        codes.send(world, codes.SMS, f"1390000000{n}", 3)
    assert [c.to for c in world.sent_codes] == ["13900000002", "13900000003", "13900000004"]
    fresh = Scenario.load("default").build()
    expected = [codes.send(fresh, codes.SMS, f"1390000001{n}", 3).code for n in range(7)]
    persistence.write_state(tmp_path / "s.json", {"w": world})
    again = persistence.read_state(tmp_path / "s.json")["w"]
    assert [codes.send(again, codes.SMS, "13900000019", 3).code] == expected[5:6]
