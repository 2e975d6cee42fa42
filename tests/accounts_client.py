"""A `requests` client for the account, binding and message endpoints, against the real server
the pytest plugin runs (each test in a world of its own), with the steps tests repeat."""

from __future__ import annotations

import requests

from mock_server.cloud import crypto

DOMAIN, SECRET = "C.DM.5903.1", "sim-domain-secret"  # the default scenario's user domain
RANDOM16 = "76a6L647F02CAoN9"
ENDUSER, BINDING, PUSH = "/v2/enduser/enduserapi/", "/v2/binding/enduserapi/", "/v2/mobilepush/enduserapi/"
PATHS = {
    "sendPhoneSmsCode": "/v2/sms/enduserapi/v2/sendPhoneSmsCode",
    "sendEmail": "/v2/mail/enduserapi/v2/sendEmail",
    "phonePwdRegister": ENDUSER + "v2/phonePwdRegister",
    "emailPwdRegister": ENDUSER + "v2/emailPwdRegister",
    "deviceBindingByWifi": BINDING + "v2/deviceBindingByWifi",
    "setDeviceTimeZone": BINDING + "v2/setDeviceTimeZone",
    "getMsgStats": PUSH + "v2/getMsgStats",
    "pushSetDeviceInfo": PUSH + "setDeviceInfo",
}
for _name in [
    "userPwdReset",
    "setUserPwd",
    "setUserInfo",
    "userDelete",
    "relationPhone",
    "relationEmail",
    "deletePhoneRelation",
    "deleteEmailRelation",
    "setPhone",
    "phonePwdLogin",
    "emailPwdLogin",
    "userInfo",
]:
    PATHS[_name] = ENDUSER + _name
for _name in [
    "userMsgList",
    "readMsg",
    "deleteMsg",
    "batchDeleteMsg",
    "getMsgPushSetting",
    "setMsgPushSetting",
    "deleteDeviceInfo",
]:
    PATHS[_name] = PUSH + _name


class Client:
    def __init__(self, mock) -> None:
        self.mock = mock
        self.http = requests.Session()

    def call(self, method: str, endpoint: str, token: str | None = None, /, json=None, **params) -> dict:
        path = endpoint if endpoint.startswith("/") else PATHS.get(endpoint, BINDING + endpoint)
        headers = {"Authorization": token} if token else {}
        resp = self.http.request(method, self.mock.base_url + path, params=params, json=json, headers=headers)
        return resp.json()

    def now(self) -> int:
        return self.mock.clock()["now"]

    # ---- the steps a journey repeats ---------------------------------------------------------

    def send_sms(self, phone: str, code_type: int = 3, **overrides) -> dict:
        ts = overrides.pop("ts", None) or self.now()
        random = overrides.pop("random", RANDOM16)
        signature = crypto.signature(phone, str(code_type), random, str(ts), SECRET)
        params = {"codeType": code_type, "internationalCode": "86", "phone": phone, "random": random, "ts": ts}
        params.update(userDomain=DOMAIN, signature=signature, **overrides)
        return self.call("POST", "sendPhoneSmsCode", **params)

    def send_email(self, email: str, email_type: int = 1) -> dict:
        return self.call("POST", "sendEmail", email=email, emailType=email_type, userDomain=DOMAIN)

    def register_phone(self, phone: str, password: str = "nina-pass-1") -> str:
        assert self.send_sms(phone)["code"] == 200
        body = {"phone": phone, "pwd": password, "smsCode": self.mock.last_code(phone), "userDomain": DOMAIN}
        answer = self.call("POST", "phonePwdRegister", json={**body, "internationalCode": "86"})
        assert answer["code"] == 200, answer
        return answer["data"]["uid"]

    def login_phone(self, phone: str, password: str) -> dict:
        random = "abcdef"
        pwd = crypto.encrypt_password(password, random)
        signature = crypto.signature("86", phone, pwd, random, SECRET)
        return self.call(
            "POST", "phonePwdLogin", phone=phone, pwd=pwd, random=random, internationalCode="86",
            userDomain=DOMAIN, signature=signature,
        )  # fmt: skip

    def token_of(self, phone: str, password: str) -> str:
        answer = self.login_phone(phone, password)
        assert answer["code"] == 200, answer
        return answer["data"]["accessToken"]["token"]
