"""The message centre under /v2/mobilepush/enduserapi/: the caller's messages, their counts,
reading and deleting them, and push settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import fields

from ..cloud import messages, views
from .dispatch import Call, endpoint
from .schemas import Choice, CommaList, Lenient, Params, Text, described

bp = Blueprint("messages", __name__, url_prefix="/v2/mobilepush/enduserapi")
v2 = Blueprint("messages_v2", __name__, url_prefix="/v2/mobilepush/enduserapi/v2")
# The phone push registration is also called setDeviceInfo, as the binding rename is; it is
# declared one level up so that each keeps a name of its own in the registry.
push = Blueprint("messages_push", __name__, url_prefix="/v2/mobilepush")

MSG_TYPES = "1 device notification, 2 device alarm, 3 device fault, 4 system message"


class Flag(fields.Field):
    """true/false (or 1/0); anything else counts as not given."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool | None:
        text = str(value).strip().lower()
        return {"true": True, "1": True, "false": False, "0": False}.get(text)


def _msg_type() -> Choice:
    return described(Choice((1, 2, 3, 4), invalid=5000, default=None), MSG_TYPES, 2)


def _labels(what: str, example: str) -> CommaList:
    return described(CommaList(), what, example)


class MessageListParams(Params):
    page = described(Lenient(default=1), "page number, from 1", 1)
    pageSize = described(Lenient(default=10), "rows per page", 10)
    msgType = _msg_type()
    isRead = described(Flag(), "true only read messages, false only unread ones", "false")
    pk = described(Text(), "only messages of this product", "p11u5w")
    dk = described(Text(), "only messages of this device", "LAMP00000001")
    firstLabelList = _labels("comma list of first labels: 1 system, 2 smart, 3 device", "3")
    secondaryLabelList = _labels("comma list of second labels: 5 notification, 6 alarm, 7 fault, ...", "6,7")


@endpoint(bp, "GET", "userMsgList", MessageListParams, data="MessagePage")
def user_msg_list(call: Call) -> dict:
    """The caller's messages, newest first, a page at a time."""
    params = dict(call.params)
    page, size = params.pop("page"), params.pop("pageSize")
    rows = messages.message_list(call.world, call.user, **params)
    return views.page_info(rows, page, size, messages.render)


@endpoint(v2, "GET", "getMsgStats", data="MessageStats")
def get_msg_stats(call: Call) -> dict:
    """Read and unread counts of the caller's messages per group and kind."""
    return messages.stats(call.world, call.user)


class ReadParams(Params):
    msgIdList = _labels("comma list of message ids; absent: every message the filters select", "M1,M2")
    msgType = _msg_type()
    firstLabelList = _labels("comma list of first labels", "3")
    secondaryLabelList = _labels("comma list of second labels", "6")


@endpoint(bp, "POST", "readMsg", ReadParams, data="MessageBatch")
def read_msg(call: Call) -> dict:
    """Marks messages read: the listed ones, or all the filters select."""
    return messages.read(call.world, call.user, **call.params)


class DeleteParams(Params):
    msgId = described(Text(missing=5515), "the message's id", "M1")


@endpoint(bp, "DELETE", "deleteMsg", DeleteParams, data="string")
def delete_msg(call: Call) -> str:
    """Deletes one of the caller's messages."""
    return messages.delete(call.world, call.user, **call.params)


class BatchDeleteParams(Params):
    msgIdList = described(CommaList(required=True, error_messages={"required": "5515"}), "message ids", "M1,M2")


@endpoint(bp, "POST", "batchDeleteMsg", BatchDeleteParams, data="MessageBatch")
def batch_delete_msg(call: Call) -> dict:
    """Deletes several of the caller's messages."""
    return messages.batch_delete(call.world, call.user, **call.params)


@endpoint(bp, "GET", "getMsgPushSetting", data="PushSetting")
def get_msg_push_setting(call: Call) -> dict:
    """The caller's push settings, as last written."""
    return messages.push_setting(call.world, call.user)


class PushSettingParams(Params):
    msgPushSetting = described(
        fields.Raw(required=True, error_messages={"required": "5515", "null": "5515"}),
        "the settings document (JSON text or object): deviceNotify, smartNotify, systemNotify, device, ...",
        '{"deviceNotify":true}',
    )


@endpoint(bp, "POST", "setMsgPushSetting", PushSettingParams, body="json")
def set_msg_push_setting(call: Call) -> None:
    """Stores the caller's push settings as written."""
    messages.set_push_setting(call.world, call.user, **call.params)


class PushDeviceParams(Params):
    deviceLanguage = described(Text(missing=5000), "the phone's language", "en-US")
    deviceId = described(Text(), "the push id (Alibaba Cloud deviceId or FCM token)", "fcm-token-1")
    type = described(Text(), "APP (default) or MINI", "APP")


@endpoint(push, "POST", "enduserapi/setDeviceInfo", PushDeviceParams, body="json", data="null")
def set_push_device(call: Call) -> None:
    """Registers the phone's push id and language (JSON body)."""
    messages.register_push(call.world, call.user, **call.params)


class PushDeviceIdParams(Params):
    deviceId = described(Text(missing=5000), "the push id to forget", "fcm-token-1")


@endpoint(bp, "DELETE", "deleteDeviceInfo", PushDeviceIdParams)
def delete_push_device(call: Call) -> None:
    """Forgets a phone's push id."""
    messages.unregister_push(call.world, call.user, **call.params)


BLUEPRINTS = (bp, v2, push)
