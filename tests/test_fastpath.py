"""The RSGI fast path (api/fastpath.py) and the Flask app answer alike, byte for byte.

Two apps are built from one scenario with a frozen clock; one is served by the RSGI bridge
through Flask only, the other with the fast path. Every call goes to both, and the test holds
that status, headers and body are identical, that the fast bridge really answered without
Flask, and that the two simulators' journals (every world's) are identical after it.

Every endpoint in declare.registry() gets the same treatment through each parameter source
(query, form, multipart, JSON), so an endpoint declared later is covered as soon as it has
cases in CASES; one without cases fails here.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import json
import logging
import random
import re
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from helpers import ACCEPT_BY, FAMILY, FAR, LAMP, OWNER, RECIPIENT, SECOND, Running
from test_accounts import email_params, phone_params
from werkzeug.datastructures import EnvironHeaders
from werkzeug.test import encode_multipart
from werkzeug.wrappers import Request

from mock_server.api.declare import registry
from mock_server.api.light_request import LightHeaders, LightRequest
from mock_server.app import create_app
from mock_server.cloud import crypto
from mock_server.harness.scenario import Scenario
from mock_server.rsgi import RSGIBridge

REGISTRY = registry()

FROZEN = {"extends": "default", "clock": {"start": "2026-03-01T12:00:00Z", "frozen": True}}
PLUG = {"pk": "p11u6t", "dk": "PLUG00000001"}
SOURCES = ("query", "form", "multipart", "json")

# ---- one request through a bridge, without the network -------------------------------------


class _Headers:
    """granian's headers: a value given as None stands for one that is not ASCII, which
    granian leaves out of items() (and get) but not out of keys()."""

    def __init__(self, items: list[tuple[str, str | None]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self._items if v is not None]

    def keys(self) -> list[str]:
        return [k for k, _ in self._items]

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.items() if k == name), default)


@dataclass
class _Scope:
    method: str
    path: str
    query_string: str
    headers: _Headers
    http_version: str = "1.1"
    client: str = "127.0.0.1:5555"
    scheme: str = "http"
    proto: str = "http"  # granian sets "ws" for a WebSocket


@dataclass
class _Proto:
    """Records what the bridge sends: (status, headers, body), body None for a drop."""

    body: bytes
    sent: tuple | None = None
    streamed: list[bytes] = field(default_factory=list)

    async def __call__(self) -> bytes:
        return self.body

    async def __aiter__(self):  # granian gives a body in chunks too
        for start in range(0, len(self.body), 65536):
            yield self.body[start : start + 65536]

    def response_bytes(self, status: int, headers: list, body: bytes) -> None:
        self.sent = (status, list(headers), body)

    def response_stream(self, status: int, headers: list) -> _Proto:
        self.sent = (status, list(headers), None)
        return self

    async def send_bytes(self, data: bytes) -> None:
        self.streamed.append(data)


# ---- both paths at once --------------------------------------------------------------------


@functools.cache
def _scenario(spec: str) -> Scenario:
    return Scenario.from_spec(json.loads(spec))  # read-only: each app builds its own world


class Pair:
    """The same simulator twice: `slow` answers through Flask, `fast` through the fast path."""

    def __init__(self, spec: dict | None = None, config: dict | None = None) -> None:
        scenario = _scenario(json.dumps(spec or FROZEN))
        self.apps = [create_app(config, scenario=scenario) for _ in range(2)]
        self.slow = RSGIBridge(self.apps[0], fast=False)
        self.fast = RSGIBridge(self.apps[1])
        self.calls = 0
        self.code: str | None = None  # the last share code handed out
        self.refresh: str | None = None  # the last refresh token handed out
        self.access: str | None = None

    def send(self, method: str, path: str, query: str = "", headers=(), body: bytes = b"", fast: bool = True):
        """One request to both; returns what was sent (identical on both)."""
        assert self.fast.fast is not None
        taken = self.fast.fast.route(method, path, body) is not None
        assert taken == fast, f"{method} {path}: fast path {'not ' if fast else ''}taken"
        self.calls += 1
        if body:  # as clients send it; Werkzeug reads no body without it
            headers = [*headers, ("content-length", str(len(body)))]
        sent = [self._one(bridge, method, path, query, list(headers), body) for bridge in (self.slow, self.fast)]
        assert sent[0] == sent[1], f"{method} {path}?{query}: the paths differ"
        assert self.journals(0) == self.journals(1), f"{method} {path}?{query}: the journals differ"
        return sent[0]

    def _one(self, bridge: RSGIBridge, method: str, path: str, query: str, headers: list, body: bytes):
        # Token ids (JWT jti) are random: the same sequence on both sides.
        rng = random.Random(self.calls)
        with mock.patch.object(crypto.uuid, "uuid4", lambda: uuid.UUID(int=rng.getrandbits(128))):
            proto = _Proto(body)
            asyncio.run(bridge(_Scope(method, path, query, _Headers(headers)), proto))
        return proto.sent, proto.streamed

    def journals(self, side: int) -> dict[str, list[dict]]:
        sim = self.apps[side].extensions["mock_server"]
        return {name: world.journal.query() for name, world in sim.worlds.items()}

    def api(self, name: str, token: str | None, via: str = "query", prefix: str = "", headers=(), **params):
        """Call endpoint `name` with `params` from the source `via`; the decoded answer."""
        doc = next(d for d in REGISTRY if d.key == name)
        params = {k: self._fill(v) for k, v in params.items()}
        if via != "json":  # lists and objects travel as JSON text outside a JSON body
            params = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in params.items()}
        headers = [*headers, *([("authorization", token)] if token is not None else [])]
        query, body = "", b""
        if via == "query":
            query = urllib.parse.urlencode(params)
        elif via == "form":
            body = urllib.parse.urlencode(params).encode()
            headers.append(("content-type", "application/x-www-form-urlencoded"))
        elif via == "multipart":
            _, body = encode_multipart({k: str(v) for k, v in params.items()}, boundary="fastpath-boundary")
            headers.append(("content-type", "multipart/form-data; boundary=fastpath-boundary"))
        else:
            body = json.dumps(params).encode()
            headers.append(("content-type", "application/json"))
        (status, sent_headers, payload), _ = self.send(doc.method, prefix + doc.path, query, headers, body)
        try:
            answer = json.loads(payload)
        except (TypeError, ValueError):  # a fault: no envelope
            answer = None
        self._remember(answer)
        return status, answer

    def _fill(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.startswith("$sent"):  # the newest code in the outbox ($sent:ADDRESS: sent there)
            sent = self.apps[0].extensions["mock_server"].world().sent_codes
            return next(c.code for c in reversed(sent) if value in ("$sent", f"$sent:{c.to}"))
        return {"$code": self.code, "$refresh": self.refresh, "$access": self.access}.get(value, value)

    def _remember(self, answer: Any) -> None:
        data = answer.get("data") if isinstance(answer, dict) else None
        if isinstance(data, str) and data.startswith("share"):
            self.code = data
        if isinstance(data, dict) and "refreshToken" in data:
            self.refresh, self.access = data["refreshToken"]["token"], data["accessToken"]["token"]


# ---- what each endpoint is called with -----------------------------------------------------
# name -> calls (endpoint, token, params), run in order in a fresh pair; `$code`, `$refresh`
# and `$access` stand for the last share code and tokens handed out. Success and error codes.

SHARE = ("shareInfo", OWNER, {**LAMP, "acceptingExpireAt": ACCEPT_BY, "sharingExpireAt": FAR})
ACCEPT = ("shareDevice", RECIPIENT, {"shareCode": "$code", "deviceName": "Hall"})
LOGIN = ("emailPwdLogin", None, email_params())

CASES: dict[str, list[tuple[str, str | None, dict]]] = {
    "shareInfo": [
        SHARE,
        ("shareInfo", OWNER, {**LAMP, "acceptingExpireAt": 1_900_000_000, "coverMark": 2}),  # seconds: warning
        ("shareInfo", OWNER, {**LAMP, "acceptingExpireAt": "soon"}),
        ("shareInfo", OWNER, {"pk": "p11u5w", "acceptingExpireAt": ACCEPT_BY}),
        ("shareInfo", OWNER, {"pk": "p11u6t", "dk": "PLUG00000009", "acceptingExpireAt": ACCEPT_BY}),
        ("shareInfo", OWNER, {**LAMP, "acceptingExpireAt": ACCEPT_BY, "coverMark": 7}),
        ("shareInfo", RECIPIENT, {**LAMP, "acceptingExpireAt": ACCEPT_BY}),
    ],
    "shareByUid": [
        ("shareByUid", OWNER, {**PLUG, "email": "second@example.com"}),
        ("shareByUid", OWNER, {**PLUG, "shareUid": "C1004"}),
        ("shareByUid", OWNER, {**PLUG, "phone": "13800000099"}),
        ("shareByUid", OWNER, {**PLUG}),
    ],
    "setShareTime": [
        SHARE,
        ACCEPT,
        ("setShareTime", OWNER, {"shareCode": "$code", "sharingExpireAt": 0}),
        ("setShareTime", OWNER, {"shareCode": "$code"}),
        ("setShareTime", RECIPIENT, {"shareCode": "$code", "sharingExpireAt": FAR}),
    ],
    "ownerUserUnshareDevice": [
        SHARE,
        ("ownerUserUnshareDevice", OWNER, {"shareCode": "$code"}),
        ("ownerUserUnshareDevice", OWNER, {"shareCode": "$code"}),
        ("ownerUserUnshareDevice", OWNER, {"shareCode": "share_dv_nothing"}),
    ],
    "shareUserUnshareDevice": [
        SHARE,
        ACCEPT,
        ("shareUserUnshareDevice", SECOND, {"shareCode": "$code"}),
        ("shareUserUnshareDevice", RECIPIENT, {"shareCode": "$code"}),
        ("shareUserUnshareDevice", RECIPIENT, {}),
    ],
    "changeShareDeviceName": [
        SHARE,
        ACCEPT,
        ("changeShareDeviceName", RECIPIENT, {"shareCode": "$code", "deviceName": "Kitchen"}),
        ("changeShareDeviceName", RECIPIENT, {"shareCode": "$code", "deviceName": "x" * 200}),
        ("changeShareDeviceName", RECIPIENT, {"shareCode": "$code"}),
    ],
    "shareDevice": [
        SHARE,
        ("shareDevice", OWNER, {"shareCode": "$code"}),
        ACCEPT,
        ("shareDevice", RECIPIENT, {"shareCode": "$code"}),
        ("shareDevice", FAMILY, {"shareCode": "nope"}),
    ],
    "deviceShareUserList": [
        SHARE,
        ACCEPT,
        ("deviceShareUserList", OWNER, LAMP),
        ("deviceShareUserList", RECIPIENT, LAMP),
        ("deviceShareUserList", OWNER, {"pk": "p11u5w"}),
    ],
    "userDeviceList": [
        SHARE,
        ACCEPT,
        ("userDeviceList", OWNER, {"pageSize": 50}),
        ("userDeviceList", RECIPIENT, {"page": 1, "pageSize": 10}),
        ("userDeviceList", OWNER, {"pageNumber": 2, "pageSize": 2, "deviceName": "lamp"}),
        ("userDeviceList", OWNER, {"pkList": "p11u5w,p11u6t"}),
    ],
    "deviceInfo": [
        SHARE,
        ("deviceInfo", RECIPIENT, {"shareCode": "$code"}),
        ("deviceInfo", OWNER, LAMP),
        ("deviceInfo", OWNER, {"pk": "p11u5w", "dk": "LAMP00000009"}),
        ("deviceInfo", OWNER, {}),
    ],
    "unbundlingDeviceDk": [
        SHARE,
        ACCEPT,
        ("unbundlingDeviceDk", RECIPIENT, LAMP),
        ("unbundlingDeviceDk", OWNER, LAMP),
        ("unbundlingDeviceDk", OWNER, LAMP),
    ],
    "emailPwdLogin": [
        LOGIN,
        ("emailPwdLogin", None, email_params(password="wrong-pass")),
        ("emailPwdLogin", None, email_params(email="ghost@example.com")),
        ("emailPwdLogin", None, email_params(userDomain="C.DM.5903.9")),
    ],
    "phonePwdLogin": [
        ("phonePwdLogin", None, phone_params()),
        ("phonePwdLogin", None, phone_params(code="1")),
        ("phonePwdLogin", None, {"phone": "13800000001"}),
    ],
    "refreshToken": [
        LOGIN,
        ("refreshToken", None, {"refreshToken": "$refresh"}),
        ("refreshToken", None, {"refreshToken": "$refresh"}),
        ("refreshToken", None, {"refreshToken": "$access"}),
        ("refreshToken", None, {}),
    ],
    "userInfo": [
        ("userInfo", OWNER, {}),
        ("userInfo", "Bearer " + RECIPIENT, {}),
        LOGIN,
        ("userInfo", "$access", {}),
    ],
    "userLogout": [
        LOGIN,
        ("userLogout", "$access", {}),
        ("userLogout", "$access", {}),
        ("userInfo", "$access", {}),
    ],
}

DEVICES = [{"productKey": "p11u5w", "deviceKey": "LAMP00000001"}, {"productKey": "p11u5w", "deviceKey": "LAMP00000002"}]
WRITE = {"data": '[{"switch": true}, {"brightness": 35}]', "deviceList": DEVICES, "type": 2}
CASES |= {
    "productTSL": [
        ("productTSL", RECIPIENT, {"pk": "p11u5w"}),
        ("productTSL", OWNER, {"pk": "p11u7a"}),
        ("productTSL", OWNER, {"pk": "nope"}),
        ("productTSL", OWNER, {}),
    ],
    "getDeviceBusinessAttributes": [
        ("getDeviceBusinessAttributes", OWNER, LAMP),
        ("getDeviceBusinessAttributes", OWNER, {**LAMP, "type": "1", "codeList": "switch,brightness"}),
        ("getDeviceBusinessAttributes", OWNER, {"pk": "p11u8k", "dk": "POWR00000001"}),
        ("getDeviceBusinessAttributes", OWNER, {**LAMP, "codeList": "switch"}),
        ("getDeviceBusinessAttributes", RECIPIENT, LAMP),
        ("getDeviceBusinessAttributes", OWNER, {"pk": "p11u5w", "dk": "NOPE"}),
    ],
    "batchControlDevice": [
        ("batchControlDevice", OWNER, WRITE),
        ("getDeviceBusinessAttributes", OWNER, LAMP),
        ("batchControlDevice", OWNER, {**WRITE, "data": '[{"brightness": 120}]'}),
        ("batchControlDevice", OWNER, {**WRITE, "data": "not json"}),
        ("batchControlDevice", OWNER, {**WRITE, "type": 7}),
        ("batchControlDevice", OWNER, {**WRITE, "type": 1, "dataFormat": 3}),
        ("batchControlDevice", OWNER, {**WRITE, "deviceList": "not json"}),
        ("batchControlDevice", OWNER, {**WRITE, "isCache": 1, "cacheTime": 30}),
        SHARE,
        ACCEPT,
        ("batchControlDevice", RECIPIENT, WRITE),
    ],
    "getDeviceInfoByBinding": [
        ("getDeviceInfoByBinding", OWNER, {"pk": "p11u5w", "dk": "LAMP00000009"}),
        ("getDeviceInfoByBinding", OWNER, LAMP),
        ("getDeviceInfoByBinding", OWNER, {}),
    ],
    "getAuthKey": [
        ("getAuthKey", OWNER, LAMP),
        ("getAuthKey", RECIPIENT, LAMP),
        ("getAuthKey", OWNER, {"pk": "p11u5w"}),
    ],
    "regenerateAuthKey": [
        ("regenerateAuthKey", OWNER, LAMP),
        ("regenerateAuthKey", SECOND, LAMP),
    ],
    "getDeviceBindingInfo": [
        ("getDeviceBindingInfo", OWNER, LAMP),
        ("getDeviceBindingInfo", SECOND, LAMP),
        ("getDeviceBindingInfo", OWNER, {}),
    ],
    "getDeviceOnlineStatus": [
        ("getDeviceOnlineStatus", OWNER, PLUG),
        ("getDeviceOnlineStatus", OWNER, LAMP),
        ("getDeviceOnlineStatus", SECOND, PLUG),
    ],
    "getProductList": [
        ("getProductList", OWNER, {}),
        ("getProductList", OWNER, {"pageNum": 2, "pageSize": 2}),
        ("getProductList", OWNER, {"page": "x"}),
    ],
}

SPAN = {"startTimestamp": 0, "endTimestamp": FAR}
CASES |= {
    "getPropertyDataList": [
        ("getPropertyDataList", OWNER, {**LAMP, **SPAN, "attributeCode": "brightness"}),
        ("getPropertyDataList", OWNER, {**LAMP, **SPAN}),
        ("getPropertyDataList", SECOND, {**LAMP, **SPAN, "attributeCode": "brightness"}),
        ("getPropertyDataList", OWNER, {"pk": "p11u5w"}),
    ],
    "getPropertyChartList": [
        ("getPropertyChartList", OWNER, {**LAMP, **SPAN, "attributeCode": "brightness", "timeGranularity": 3}),
        ("getPropertyChartList", OWNER, {**LAMP, **SPAN, "attributeCode": "dance"}),
        ("getPropertyChartList", OWNER, LAMP),
    ],
    "getPropertyStatistics": [
        ("getPropertyStatistics", OWNER, {**LAMP, "attributeCode": "brightness", "countType": 1,
                                          "timeGranularities": "1,2,3,4"}),
        ("getPropertyStatistics", OWNER, LAMP),
    ],
    "deviceEventList": [
        ("deviceEventList", OWNER, {"productKey": "p11u5w", "deviceKey": "LAMP00000001", "codeList": ["overheat"],
                                    "startTime": 0, "endTime": FAR}),
        ("deviceEventList", OWNER, {"productKey": "p11u5w"}),
    ],
    "getLocationHistory": [
        ("getLocationHistory", OWNER, {**LAMP, **SPAN}),
        ("getLocationHistory", SECOND, {**LAMP, **SPAN}),
        ("getLocationHistory", OWNER, {}),
    ],
}  # fmt: skip

# Accounts from nothing, binding, the message centre. The clock is FROZEN's: 2026-03-01T12:00Z.
NOW = 1_772_366_400_000
NINA = "13900000077"
SMS = {"codeType": 3, "internationalCode": "86", "phone": NINA, "random": "76a6L647F02CAoN9", "ts": NOW,
       "userDomain": "C.DM.5903.1"}
SMS["signature"] = crypto.signature(NINA, "3", SMS["random"], str(NOW), "sim-domain-secret")
SEND_SMS = ("sendPhoneSmsCode", None, SMS)
SEND_MAIL = ("sendEmail", None, {"email": "nina@example.com", "emailType": 1, "userDomain": "C.DM.5903.1"})
STOCK = {"pk": "p11u5w", "dk": "LAMP00000009"}
PURE_BT = {**STOCK, "random": "0123456789abcdef", "encryptedNewBindingSecret": "q83v", "bindingCode": "482913",
           "signature": crypto.signature("p11u5w", "LAMP00000009", "482913", "", "sim-domain-secret")}
EVENT_BY_UID = ("shareByUid", OWNER, {**LAMP, "shareUid": "C1002"})  # writes Rui's message M1
CASES |= {
    "sendPhoneSmsCode": [SEND_SMS, ("sendPhoneSmsCode", None, {**SMS, "signature": "00"}),
                         ("sendPhoneSmsCode", None, {**SMS, "codeType": 9})],
    "sendEmail": [SEND_MAIL, ("sendEmail", None, {"email": "bad", "emailType": 1, "userDomain": "C.DM.5903.1"})],
    "phonePwdRegister": [
        SEND_SMS,
        ("phonePwdRegister", None, {"phone": NINA, "pwd": "nina-pass-1", "smsCode": "$sent", "userDomain": "C.DM.5903.1"}),
        ("phonePwdRegister", None, {"phone": NINA, "pwd": "nina-pass-1", "userDomain": "C.DM.5903.1"}),
    ],
    "v2/enduser/enduserapi/phonePwdRegister": [
        SEND_SMS,
        ("v2/enduser/enduserapi/phonePwdRegister", None, {"phone": NINA, "pwd": "nina-pass-1", "smsCode": "$sent",
                                                          "userDomain": "C.DM.5903.1"}),
        ("v2/enduser/enduserapi/phonePwdRegister", None, {"phone": NINA, "userDomain": "C.DM.5903.1"}),
    ],
    "v2/enduser/enduserapi/emailPwdRegister": [
        SEND_MAIL,
        ("v2/enduser/enduserapi/emailPwdRegister", None, {"email": "nina@example.com", "pwd": "nina-pass-1",
                                                          "code": "$sent", "userDomain": "C.DM.5903.1"}),
        ("v2/enduser/enduserapi/emailPwdRegister", None, {"email": "nina@example.com", "userDomain": "C.DM.5903.1"}),
    ],
    "emailPwdRegister": [
        SEND_MAIL,
        ("emailPwdRegister", None, {"email": "nina@example.com", "pwd": "nina-pass-1", "code": "$sent",
                                    "userDomain": "C.DM.5903.1"}),
        ("emailPwdRegister", None, {"email": "nina@example.com", "pwd": "x", "code": "1", "userDomain": "C.DM.5903.1"}),
    ],
    "userPwdReset": [
        ("sendPhoneSmsCode", None, {**SMS, "phone": "13800000002", "codeType": 1,
                                    "signature": crypto.signature("13800000002", "1", SMS["random"], str(NOW),
                                                                  "sim-domain-secret")}),
        ("userPwdReset", None, {"phone": "13800000002", "code": "$sent", "userDomain": "C.DM.5903.1"}),
        ("userPwdReset", None, {"phone": "13800000002", "userDomain": "C.DM.5903.1"}),
    ],
    "setUserPwd": [
        ("setUserPwd", SECOND, {"oldPwd": "second-pass-3", "newPwd": "second-pass-4"}),
        ("setUserPwd", SECOND, {"oldPwd": "wrong-pass", "newPwd": "second-pass-5"}),
    ],
    "setUserInfo": [("setUserInfo", OWNER, {"nikeName": "Liv", "sex": 1}), ("setUserInfo", OWNER, {"sex": 7})],
    "userDelete": [("userDelete", SECOND, {"type": 9}), ("userDelete", SECOND, {"type": 1})],
    "relationPhone": [
        SEND_SMS,
        ("relationPhone", OWNER, {"phone": NINA, "code": "000000"}),
        ("relationPhone", OWNER, {"phone": NINA, "code": "$sent"}),
    ],
    "relationEmail": [
        ("sendEmail", None, {"email": "liv@example.com", "emailType": 3, "userDomain": "C.DM.5903.1"}),
        ("relationEmail", OWNER, {"email": "liv@example.com", "code": "$sent"}),
        ("relationEmail", OWNER, {"email": "recipient@example.com", "code": "1"}),
    ],
    "deletePhoneRelation": [
        ("sendPhoneSmsCode", None, {**SMS, "phone": "13800000001", "codeType": 4,
                                    "signature": crypto.signature("13800000001", "4", SMS["random"], str(NOW),
                                                                  "sim-domain-secret")}),
        ("deletePhoneRelation", OWNER, {"code": "$sent"}),
        ("deletePhoneRelation", OWNER, {}),
    ],
    "deleteEmailRelation": [
        ("sendEmail", None, {"email": "owner@example.com", "emailType": 4, "userDomain": "C.DM.5903.1"}),
        ("deleteEmailRelation", OWNER, {"code": "$sent"}),
        ("deleteEmailRelation", OWNER, {"code": "1"}),
    ],
    "setPhone": [SEND_SMS, ("sendPhoneSmsCode", None, {**SMS, "phone": "13800000001", "signature": crypto.signature(
        "13800000001", "3", SMS["random"], str(NOW), "sim-domain-secret")}), ("setPhone", OWNER, {
        "newInternationalCode": "86", "newPhone": NINA, "newPhoneCode": f"$sent:{NINA}", "oldInternationalCode": "86",
        "oldPhone": "13800000001", "oldPhoneCode": "$sent:13800000001"}),
        ("setPhone", OWNER, {"newPhone": NINA}), ("setPhone", OWNER, {
        "newInternationalCode": "86", "newPhone": NINA, "newPhoneCode": "1", "oldInternationalCode": "86",
        "oldPhone": "13800000009", "oldPhoneCode": "1"})],
    "bindDeviceDk": [("bindDeviceDk", SECOND, STOCK), ("bindDeviceDk", SECOND, STOCK), ("bindDeviceDk", SECOND, {})],
    "bindDeviceSn": [("bindDeviceSn", SECOND, {"pk": "p11u5w", "sn": "SN-LAMP-0009"}),
                     ("bindDeviceSn", SECOND, {"pk": "p11u5w", "sn": "nope"})],
    "deviceBindingByWifi": [
        ("deviceBindingByWifi", SECOND, {"productKey": "p11u5w", "deviceKey": "LAMP00000009", "bindingCode": "1"}),
        ("deviceBindingByWifi", SECOND, {"productKey": "p11u5w", "deviceKey": "LAMP00000009",
                                         "bindingCode": "482913"}),
    ],
    "deviceBindingByPureBt": [("deviceBindingByPureBt", SECOND, PURE_BT),
                              ("deviceBindingByPureBt", SECOND, {**PURE_BT, "signature": "0"})],
    "binding/setDeviceInfo": [("binding/setDeviceInfo", OWNER, {**LAMP, "deviceName": "Lounge"}),
                              ("binding/setDeviceInfo", RECIPIENT, {**LAMP, "deviceName": "Mine"})],
    "getDeviceTimeZone": [("getDeviceTimeZone", OWNER, LAMP), ("getDeviceTimeZone", SECOND, LAMP)],
    "setDeviceTimeZone": [("setDeviceTimeZone", OWNER, {**LAMP, "timeZone": "+01:00"}),
                          ("setDeviceTimeZone", OWNER, {**LAMP, "timeZone": "1"})],
    "getProductManual": [("getProductManual", OWNER, {"pk": "p11u5w"}), ("getProductManual", OWNER, {})],
    "getGatewayDeviceChildList": [("getGatewayDeviceChildList", OWNER, LAMP),
                                  ("getGatewayDeviceChildList", SECOND, LAMP)],
    "userMsgList": [EVENT_BY_UID, ("userMsgList", RECIPIENT, {"msgType": 4}), ("userMsgList", RECIPIENT, {"msgType": 8})],
    "getMsgStats": [EVENT_BY_UID, ("getMsgStats", RECIPIENT, {})],
    "readMsg": [EVENT_BY_UID, ("readMsg", RECIPIENT, {"msgIdList": "M1,M9"}), ("readMsg", RECIPIENT, {"msgType": 0})],
    "deleteMsg": [EVENT_BY_UID, ("deleteMsg", RECIPIENT, {"msgId": "M1"}), ("deleteMsg", RECIPIENT, {})],
    "batchDeleteMsg": [EVENT_BY_UID, ("batchDeleteMsg", RECIPIENT, {"msgIdList": "M1"}),
                       ("batchDeleteMsg", RECIPIENT, {})],
    "getMsgPushSetting": [("getMsgPushSetting", RECIPIENT, {})],
    "setMsgPushSetting": [("setMsgPushSetting", RECIPIENT, {"msgPushSetting": '{"deviceNotify":false}'}),
                          ("setMsgPushSetting", RECIPIENT, {})],
    "mobilepush/setDeviceInfo": [("mobilepush/setDeviceInfo", RECIPIENT, {"deviceLanguage": "en", "deviceId": "f"}),
                                 ("mobilepush/setDeviceInfo", RECIPIENT, {"deviceId": "f"})],
    "deleteDeviceInfo": [("deleteDeviceInfo", RECIPIENT, {"deviceId": "f"}), ("deleteDeviceInfo", RECIPIENT, {})],
}  # fmt: skip

# Home mode (the default world's family F1001: Olivia creates, Fay admin, Gus regular, Sam invited).
GUEST, F = "guest-token", "F1001"
INVITE = {"fid": F, "uid": "C1002", "memberRole": 3, "memberName": "Rui", "invalidTime": ACCEPT_BY}
CASES |= {
    "enabledFamilyMode": [("enabledFamilyMode", RECIPIENT, {"enabled": "true"}),
                          ("enabledFamilyMode", OWNER, {"enabled": "maybe"})],
    "getFamilyModeConfig": [("getFamilyModeConfig", OWNER, {})],
    "enabledAutoSwitch": [("enabledAutoSwitch", OWNER, {"enabled": True}), ("enabledAutoSwitch", SECOND, {"enabled": 1})],
    "addFamily": [("addFamily", OWNER, {"familyName": "Beach", "familyRoomList": ["Kitchen"]}),
                  ("addFamily", OWNER, {"familyName": "x", "familyCoordinates": "north"})],
    "deleteFamily": [("deleteFamily", OWNER, {"fid": F}), ("addFamily", OWNER, {"familyName": "Beach"}),
                     ("deleteFamily", GUEST, {"fid": F}), ("deleteFamily", OWNER, {"fid": F})],
    "getFamilyList": [("getFamilyList", FAMILY, {"role": "2", "pageSize": 5}), ("getFamilyList", SECOND, {})],
    "getCurrentFamily": [("getCurrentFamily", OWNER, {}), ("getCurrentFamily", OWNER, {"fid": "f_nope"})],
    "setFamily": [("setFamily", FAMILY, {"fid": F, "familyLocation": "Porto"}), ("setFamily", GUEST, {"fid": F})],
    "getFamilyDeviceList": [("getFamilyDeviceList", GUEST, {"fid": F, "isAddOwnerDevice": "true"}),
                            ("getFamilyDeviceList", GUEST, {})],
    "family/setDeviceInfo": [("family/setDeviceInfo", OWNER, {"deviceInfoList": [{**LAMP, "fid": F, "newFrid": "F1001-R2"}]}),
                             ("family/setDeviceInfo", SECOND, {"deviceInfoList": [{**LAMP, "fid": F}]})],
    "getFamilyRoomList": [("getFamilyRoomList", GUEST, {"fid": F}), ("getFamilyRoomList", GUEST, {"fid": "f_x"})],
    "addFamilyRoom": [("addFamilyRoom", FAMILY, {"fid": F, "roomName": "Attic"}),
                      ("addFamilyRoom", GUEST, {"fid": F, "roomName": "Attic"})],
    "setFamilyRoom": [("setFamilyRoom", OWNER, {"frid": "F1001-R2", "roomName": "Pantry"}),
                      ("setFamilyRoom", OWNER, {"frid": "F1001-R2"})],
    "setFamilyRoomSort": [("setFamilyRoomSort", OWNER, {"roomSortList": [{"frid": "F1001-R2", "roomSort": 0},
                                                                         {"frid": "F1001-R1", "roomSort": 1}]}),
                          ("setFamilyRoomSort", OWNER, {})],
    "addDeviceInFamilyRoom": [("addDeviceInFamilyRoom", OWNER, {"deviceRoomList": [{**LAMP, "newFrid": "F1001-R3"}]}),
                              ("addDeviceInFamilyRoom", OWNER, {"deviceRoomList": [LAMP]})],
    "getFamilyRoomDeviceList": [("getFamilyRoomDeviceList", GUEST, {"frid": "F1001-R2"}),
                                ("getFamilyRoomDeviceList", GUEST, {"frid": "r_x"})],
    "deleteFamilyRoom": [("deleteFamilyRoom", OWNER, {"fridList": ["F1001-R3"]}), ("deleteFamilyRoom", OWNER, {})],
    "getCommonUsedDeviceList": [("getCommonUsedDeviceList", GUEST, {"fid": F, "isGroupDeviceShow": "1"}),
                                ("getCommonUsedDeviceList", GUEST, {})],
    "addCommonUsedDevice": [("addCommonUsedDevice", GUEST, {"fid": F, "deviceList": [PLUG]}),
                            ("addCommonUsedDevice", GUEST, {"fid": F, "deviceList": [{"pk": "x"}]})],
    "deleteCommonUsedDevice": [("deleteCommonUsedDevice", GUEST, {"fid": F, "deviceList": [PLUG]}),
                               ("deleteCommonUsedDevice", GUEST, {"deviceList": [PLUG]})],
    "inviteFamilyMember": [("inviteFamilyMember", OWNER, INVITE), ("inviteFamilyMember", GUEST, INVITE)],
    "setFamilyMemberRole": [("setFamilyMemberRole", OWNER, {"fid": F, "memberUid": "C1005", "memberRole": 2}),
                            ("setFamilyMemberRole", OWNER, {"fid": F, "memberUid": "C1001", "memberRole": 2})],
    "setFamilyMemberName": [("setFamilyMemberName", FAMILY, {"fid": F, "memberUid": "C1005", "memberName": "G"}),
                            ("setFamilyMemberName", FAMILY, {"fid": F, "memberUid": "C1002", "memberName": "R"})],
    "deleteFamilyMember": [("deleteFamilyMember", OWNER, {"fid": F, "memberUid": "C1005"}),
                           ("deleteFamilyMember", OWNER, {"fid": F, "memberUid": "C1001"})],
    "getFamilyMemberList": [("getFamilyMemberList", GUEST, {"fid": F}), ("getFamilyMemberList", GUEST, {})],
    "getFamilyInviteList": [("getFamilyInviteList", SECOND, {}), ("getFamilyInviteList", SECOND, {"page": 2})],
    "familyMemberInviteHandle": [("familyMemberInviteHandle", SECOND, {"fid": F, "decide": 1}),
                                 ("familyMemberInviteHandle", SECOND, {"fid": F, "decide": 1})],
    "leaveFamily": [("leaveFamily", GUEST, {"fid": F}), ("leaveFamily", OWNER, {"fid": F})],
}  # fmt: skip

ENDPOINTS = [doc.key for doc in REGISTRY]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_answers_alike(name):
    assert name in CASES, f"{name} has no equivalence cases: add some to CASES in {__name__}"
    pair = Pair()
    doc = next(d for d in REGISTRY if d.key == name)
    codes = set()
    for via in SOURCES:  # one world throughout: each source meets the state the last one left
        if doc.auth:  # no token, a blank one, one that is not live
            for token in (None, "", "Bearer ", "not-a-token"):
                codes.add(pair.api(name, token, via)[1]["code"])
        pair.api(name, OWNER, via, unknown="x")
        for endpoint, token, params in CASES[name]:
            _, answer = pair.api(endpoint, pair._fill(token), via, **params)
            codes.add(answer["code"])
    assert 200 in codes, f"{name}: no case succeeds: {codes}"
    assert codes - {200}, f"{name}: no case fails: {codes}"


def test_the_suite_covers_every_endpoint():
    missing = sorted(set(ENDPOINTS) - set(CASES))
    assert not missing, f"endpoints without equivalence cases: {missing}"
    assert len(ENDPOINTS) >= 25


# ---- worlds, switches, bodies --------------------------------------------------------------


def test_session_worlds_alike(tmp_path):
    pair = Pair(config={"SCENARIO_DIRS": [str(tmp_path)]})
    pair.api("shareInfo", OWNER, prefix="/s/alpha", **SHARE[2])
    pair.api("userDeviceList", OWNER, headers=[("x-mock-session", "beta")])
    pair.api("userInfo", OWNER, prefix="/s/alpha", headers=[("x-mock-session", "ignored")])
    assert set(pair.journals(1)) == {"default", "alpha", "beta"}
    status, answer = pair.api("userInfo", OWNER, prefix="/s/bad name!")
    assert (status, answer["code"]) == (400, 400)
    status, answer = pair.api("userInfo", OWNER, headers=[("x-mock-session", "x" * 65)])
    assert status == 400
    status, answer = pair.api("userInfo", OWNER, headers=[("x-mock-session", "g"), ("x-mock-scenario", "nope")])
    assert status == 400
    custom = tmp_path / "strict.yaml"
    custom.write_text(json.dumps({**FROZEN, "settings": {"authErrorHttpStatus": 401, "requireBearer": True}}))
    session = [("x-mock-session", "strict"), ("x-mock-scenario", "strict")]
    assert pair.api("userInfo", OWNER, headers=session)[0] == 401
    assert pair.api("userInfo", "Bearer " + OWNER, headers=session)[1]["code"] == 200


def test_a_scenario_named_by_a_request_needs_the_admin_token(tmp_path):
    (tmp_path / "frozen.yaml").write_text(json.dumps(FROZEN))
    pair = Pair(config={"ADMIN_TOKEN": "s3cret", "SCENARIO_DIRS": [str(tmp_path)]})
    asked = [("x-mock-session", "new"), ("x-mock-scenario", "frozen")]
    assert pair.api("userInfo", OWNER, headers=asked)[0] == 401
    assert pair.api("userInfo", OWNER, headers=[*asked, ("x-mock-admin-token", "Bearer s3cret")])[0] == 200


@pytest.mark.parametrize(
    "settings",
    [
        {"parameterSources": ["json", "query"]},
        {"secondsTimestamps": "reject"},
        {"secondsTimestamps": "convert"},
        {"zeroExpiryIsLifelong": False, "coverMarkZeroIsDefault": True},
    ],
)
def test_switches_alike(settings):
    pair = Pair({**FROZEN, "settings": settings})
    for via in SOURCES:
        pair.api("shareInfo", OWNER, via, **LAMP, acceptingExpireAt=1_900_000_000, sharingExpireAt=0, coverMark=0)
    # The same name in the query and the body: the world's order decides.
    params = urllib.parse.urlencode({**LAMP, "acceptingExpireAt": ACCEPT_BY})
    body = json.dumps({"pk": "p11u6t", "dk": "PLUG00000001", "acceptingExpireAt": ACCEPT_BY}).encode()
    pair.send("POST", "/v2/binding/enduserapi/shareInfo", params, [("authorization", OWNER),
              ("content-type", "application/json")], body)  # fmt: skip


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
        ("application/json", b'{"pk": {"a": 1}, "dk": "d", "acceptingExpireAt": 4000000000000}'),
        ("application/vnd.api+json", b'{"pk": "p11u5w", "dk": "LAMP00000001", "acceptingExpireAt": 4000000000000}'),
        ("application/json; charset=utf-8", '{"pk": "p11u5w", "dk": "LAMPé", "acceptingExpireAt": 1}'.encode()),
        ("application/x-www-form-urlencoded", b"pk=p11u5w&pk=other&dk=LAMP00000001&acceptingExpireAt=%zz"),
        ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
        ("text/plain", b"pk=p11u5w"),
    ],
)
def test_odd_bodies_alike(content_type, body):
    headers = [("authorization", OWNER), ("content-type", content_type)]
    Pair().send("POST", "/v2/binding/enduserapi/shareInfo", "x=1&x=2&dk=%ff", headers, body)


def test_what_flask_answers_is_left_to_flask():
    pair = Pair()
    owner = [("authorization", OWNER)]
    pair.send("GET", "/v2/binding/enduserapi/shareInfo", "", owner, fast=False)  # 405, with Allow
    pair.send("HEAD", "/v2/binding/enduserapi/userDeviceList", "", owner, fast=False)
    pair.send("OPTIONS", "/v2/binding/enduserapi/userDeviceList", "", owner, fast=False)
    pair.send("POST", "/v2/binding/enduserapi/shareInfo/", "", owner, fast=False)  # 404
    pair.send("POST", "/v2/binding/enduserapi/shareInfo", "", owner, b"pk=" + b"x" * (2 << 20), fast=False)  # 413
    pair.send("GET", "/_mock/journal", "", [], fast=False)


def test_browser_requests_alike():
    """A page's calls carry Origin (and preflights come first): whatever headers the app adds
    for them, the fast path must add too."""
    pair = Pair()
    origin = [("origin", "http://localhost:3000")]
    pair.api("userInfo", OWNER, headers=origin)
    pair.api("shareInfo", OWNER, "json", headers=origin, **SHARE[2])
    pair.api("userInfo", None, headers=origin)
    preflight = [
        *origin,
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "authorization"),
    ]
    pair.send("OPTIONS", "/v2/binding/enduserapi/shareInfo", "", preflight, fast=False)


# ---- the request as the fast path reads it (api/light_request.py) ----------------------------


def test_odd_headers_and_paths_alike():
    """Headers the WSGI environ folds together (a repeated name, `_` for `-`, any case), a
    header granian cannot decode, an empty Content-Type, and paths that are not ASCII."""
    pair = Pair()
    statuses = [
        pair.api("userInfo", OWNER, headers=[("authorization", "Bearer x")])[0],  # two: joined, no such token
        pair.api("userInfo", OWNER, headers=[("x_mock_session", "under"), ("X-Mock-Session", "over")])[0],
        pair.api("userInfo", OWNER, headers=[("x-mock-session", None)])[0],  # not ASCII: refused, not the default
        pair.api("userInfo", OWNER, headers=[("x-mock-session", "s1"), ("x-mock-scenario", None)])[0],
        pair.api("shareInfo", OWNER, headers=[("content-type", "")], **SHARE[2])[0],
        pair.api("shareInfo", OWNER, "json", headers=[("Content-Type", "Application/JSON ; charset=utf-8")],
                 **SHARE[2])[0],
        pair.api("userInfo", OWNER, prefix="/s/émoji")[0],  # a path that is not ASCII: Werkzeug's reading
        pair.api("userInfo", OWNER, prefix="/s/\udcff")[0],  # not UTF-8 either (granian's surrogate escape)
        pair.api("userInfo", OWNER, prefix="/s/plain", headers=[("x-mock-session", "ignored")])[0],
    ]  # fmt: skip
    assert statuses == [200, 400, 400, 400, 200, 200, 400, 400, 200]
    journals = pair.journals(1)
    assert set(journals) == {"default", "plain"}
    assert [(e["endpoint"], e["code"]) for e in journals["default"]] == [
        ("userInfo", 5032), ("shareInfo", 200), ("shareInfo", 200)]  # fmt: skip


class _Counted:
    """Werkzeug Requests made while it is open."""

    def __enter__(self) -> _Counted:
        self.made = 0
        init = Request.__init__

        def counting(request, *args, **kwargs):
            self.made += 1
            init(request, *args, **kwargs)

        self._patch = mock.patch.object(Request, "__init__", counting)
        self._patch.start()
        return self

    def __exit__(self, *exc) -> None:
        self._patch.stop()


def test_a_plain_request_is_answered_without_werkzeugs_request():
    """The light request is what the fast path reads; Werkzeug's Request only for what it
    alone parses (a form body, an escaped query), which then answers alike (the cases above)."""
    pair = Pair()
    light = [("query", {**LAMP, "acceptingExpireAt": ACCEPT_BY}), ("json", {**LAMP, "acceptingExpireAt": ACCEPT_BY})]
    for via, params in light:
        with _Counted() as counted:
            (status, sent_headers, payload), _ = pair.send(*_request(via, params), fast=True)
        assert status == 200 and json.loads(payload)["code"] == 200
        assert counted.made == 1, f"{via}: a Werkzeug Request besides the Flask side's"
    for via, params in [("form", {**LAMP, "acceptingExpireAt": ACCEPT_BY}), ("query", {**LAMP, "x": "a%20b"})]:
        with _Counted() as counted:
            pair.send(*_request(via, params), fast=True)
        assert counted.made == 2, f"{via}: the fast path read it without Werkzeug"


def _request(via: str, params: dict) -> tuple[str, str, str, list, bytes]:
    """A shareInfo call by the owner with `params` sent `via` the query, a form or JSON."""
    headers: list = [("authorization", OWNER)]
    if via == "query":
        return "POST", "/v2/binding/enduserapi/shareInfo", urllib.parse.urlencode(params, safe="%"), headers, b""
    if via == "form":
        headers.append(("content-type", "application/x-www-form-urlencoded"))
        return "POST", "/v2/binding/enduserapi/shareInfo", "", headers, urllib.parse.urlencode(params).encode()
    headers.append(("content-type", "application/json"))
    return "POST", "/v2/binding/enduserapi/shareInfo", "", headers, json.dumps(params).encode()


ODD_ENVIRON = {
    "HTTP_X_TEST": "a, b",
    "CONTENT_TYPE": "",
    "CONTENT_LENGTH": "12",
    "HTTP_CONTENT_TYPE": "hidden",  # what a header named http-content-type would not make, yet skipped
    "HTTP_HTTP_CONTENT_TYPE": "shown",
    "HTTP_AUTHORIZATION": "Bearer t",
    "QUERY_STRING": "a=1",
    "mock_server.session": "w",
}


@pytest.mark.parametrize("name", ["x-test", "X_Test", "X-TEST", "content-type", "Content-Length", "authorization",
                                  "http-content-type", "query-string", "origin", "http_x_test"])  # fmt: skip
def test_light_headers_read_as_werkzeugs(name):
    light, werkzeug = LightHeaders(dict(ODD_ENVIRON)), EnvironHeaders(dict(ODD_ENVIRON))
    assert light.get(name) == werkzeug.get(name)
    assert list(light.items()) == list(werkzeug.items())


@pytest.mark.parametrize(
    "content_type", ["", "application/json", "Application/JSON; charset=utf-8", "application/vnd.x+json",
                     " text/plain ;x=1", "multipart/form-data; boundary=b", "application/json+xml"],
)  # fmt: skip
def test_light_request_mimetype_as_werkzeugs(content_type):
    environ = {"CONTENT_TYPE": content_type} if content_type else {}
    made = Request({"REQUEST_METHOD": "POST", **environ})
    light = LightRequest("POST", "/", environ, b"", lambda: made)
    assert (light.mimetype, light.is_json) == (made.mimetype, made.is_json)


def test_unexpected_error_alike(monkeypatch, caplog):
    from mock_server.cloud import shares

    def boom(*args):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(shares, "share_info", boom)
    pair = Pair()
    with caplog.at_level(logging.ERROR, "mock_server.app"):
        status, answer = pair.api("shareInfo", OWNER, **SHARE[2])
    assert (status, answer["code"]) == (500, 500)
    assert [r.getMessage() for r in caplog.records] == ["unexpected error"] * 2


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_alike(fmt, caplog):
    pair = Pair(config={"LOG_FORMAT": fmt})
    requests_log = logging.getLogger("mock_server.requests")  # it does not propagate
    requests_log.addHandler(caplog.handler)
    try:
        pair.api("shareInfo", OWNER, prefix="/s/logged", **SHARE[2])
        pair.api("userInfo", "nobody")
    finally:
        requests_log.removeHandler(caplog.handler)
    lines = [_timeless(r.getMessage(), fmt) for r in caplog.records]
    assert len(lines) == 4 and lines[0::2] == lines[1::2]


def _timeless(line: str, fmt: str) -> Any:
    """A log line without the parts that differ from one moment to the next."""
    if fmt == "text":
        return re.sub(r" [\d.]+ms ", " ", line)
    fields = json.loads(line)
    del fields["time"], fields["ms"]
    return fields


# ---- rules ---------------------------------------------------------------------------------

RULES = [
    {"match": {"endpoint": "shareInfo"}, "action": {"code": 5047}},
    {
        "match": {"endpoint": "shareInfo"},
        "action": {"code": 5999, "msg": "m", "data": [1], "extMsg": "e", "status": 503},
    },
    {"match": {"endpoint": "shareInfo"}, "action": {"code": 200, "data": 2**70}},
    {"match": {"endpoint": "shareInfo"}, "action": {"code": 200, "status": 204}},
    {"match": {"endpoint": "shareInfo"}, "action": {"code": 200, "status": 101}},
    {"match": {"endpoint": "shareInfo"}, "action": {"code": 200, "status": 304}},
    {"match": {"endpoint": "shareInfo"}, "action": {"fault": "malformed"}},
    {"match": {"endpoint": "shareInfo"}, "action": {"fault": "empty"}},
    {"match": {"endpoint": "shareInfo"}, "action": {"fault": "http502"}},
    {"match": {"endpoint": "shareInfo"}, "action": {"fault": "drop"}},
    {"match": {"endpoint": "shareInfo"}, "action": {"delay": "30ms"}},
    {"match": {"endpoint": "shareInfo"}, "action": {"delay": {"min": "10ms", "max": "40ms"}, "code": 5050}},
    {"match": {"endpoint": "shareInfo"}, "action": {"delay": "20ms", "fault": "http503"}},
    {"match": {"endpoint": "shareInfo"}, "action": {"expireShare": True}},
    {"match": {"endpoint": "shareInfo"}, "action": {"revokeToken": True}},
    {"match": {"endpoint": "shareInfo"}, "action": {"advanceClock": "1h"}},
    {"match": {"headers": {"x-test": "yes"}, "params": {"pk": {"regex": "^p11"}}}, "action": {"code": 5052}},
    {"match": {"endpoint": "shareInfo", "nth": 2}, "action": {"code": 5053}, "times": 1},
    {"match": {"endpoint": "shareInfo", "chance": 0.5}, "action": {"code": 5054}},
    {"match": {"method": "POST", "uid": "C1001"}, "action": {"code": 5055}},
]


@pytest.mark.parametrize("rule", RULES, ids=[json.dumps(r["action"]) for r in RULES])
def test_rules_alike(rule):
    pair = Pair({**FROZEN, "rules": [rule]})
    for via in ("query", "json"):
        for headers in ([], [("x-test", "yes")], [("X_Test", "yes")]):
            pair.api("shareInfo", OWNER, via, headers=headers, **SHARE[2])
    pair.api("userInfo", OWNER)
    rules = [e["rule"] for entries in pair.journals(1).values() for e in entries]
    assert "r1" in rules


@pytest.mark.parametrize("action", [{"controlFailure": "Device busy"}, {"controlFailure": "Busy", "delay": "20ms"}])
def test_control_failure_rules_alike(action):
    rule = {"match": {"endpoint": "batchControlDevice", "dk": "LAMP00000001"}, "action": action}
    pair = Pair({**FROZEN, "rules": [rule]})
    for via in SOURCES:
        status, answer = pair.api("batchControlDevice", OWNER, via, **WRITE)
    assert answer["data"]["failureList"][0]["msg"] == action["controlFailure"]


def test_a_hang_is_waited_for_then_dropped():
    pair = Pair({**FROZEN, "settings": {"hangSeconds": 1}, "rules": [{"action": {"fault": "hang"}, "times": 1}]})
    status_headers, streamed = pair.send("GET", "/v2/enduser/enduserapi/userInfo", "", [("authorization", OWNER)])
    assert status_headers[2] is None and streamed == [b"{"]


# ---- the real server -----------------------------------------------------------------------


def test_bodies_reach_the_fast_path_however_they_are_sent():
    """Over granian: a chunked JSON body (no Content-Length), a form body, an empty POST."""
    running = Running()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        owner = {"Authorization": OWNER}
        chunked = [json.dumps(WRITE).encode()[:20], json.dumps(WRITE).encode()[20:]]
        conn.request("POST", "/v2/binding/enduserapi/batchControlDevice", body=iter(chunked),
                     headers={**owner, "Content-Type": "application/json"}, encode_chunked=True)  # fmt: skip
        resp = conn.getresponse()
        payload = resp.read()
        assert json.loads(payload)["data"]["successList"][0]["data"]["deviceKey"] == "LAMP00000001"
        assert resp.getheader("Content-Type") == "application/json"
        assert resp.getheader("Content-Length") == str(len(payload))
        form = urllib.parse.urlencode({**LAMP, "acceptingExpireAt": ACCEPT_BY})
        conn.request("POST", "/v2/binding/enduserapi/shareInfo", body=form,
                     headers={**owner, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert json.loads(conn.getresponse().read())["data"].startswith("share")
        conn.request("POST", "/v2/binding/enduserapi/shareInfo?" + form, body=b"", headers=owner)
        assert json.loads(conn.getresponse().read())["data"].startswith("share")
        journal = running.request("GET", "/_mock/journal")[1]["entries"]
        assert [e["params"].get("pk") for e in journal[1:]] == ["p11u5w"] * 2
        assert journal[0]["params"]["deviceList"] == DEVICES
    finally:
        running.stop()
