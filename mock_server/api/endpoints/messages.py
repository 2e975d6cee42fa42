"""The message centre under /v2/mobilepush/enduserapi/: the caller's messages, their counts,
reading and deleting them, push settings and the phone's push registration."""

from __future__ import annotations

from marshmallow import fields

from ...cloud import messages, views
from ..declare import Area, UserCall
from ..schemas import Choice, CommaList, Flag, Lenient, Params, Text, described

push = Area("/v2/mobilepush/enduserapi")

MSG_TYPES = "1 device notification, 2 device alarm, 3 device fault, 4 system message"
BATCH = {"successList": [{"id": "M1"}], "failureList": [{"id": "M9", "failureMsg": "Message does not exist"}]}


def _msg_type() -> Choice:
    # 5000 (the parameter in extMsg): no code is documented for a msgType outside 1-4.
    return described(Choice((1, 2, 3, 4), invalid=5000, default=None), MSG_TYPES, 2)


def _labels(what: str, example: str) -> CommaList:
    return described(CommaList(), what, example)


def _message_page(sample) -> list:
    """A share notice and an alarm, as Rui's message centre shows them."""
    from ...cloud import shadows, shares

    world = sample.world
    lamp = world.devices[("p11u5w", "LAMP00000002")]
    shares.share_by_uid(world, sample.owner, pk=lamp.pk, dk=lamp.dk, shareUid="C1002")
    shadows.raise_event(world, lamp, "overheat", {"lamp_stats": {"power_w": 7.5, "led_temp": 96}})
    rows = messages.message_list(world, world.users["C1002"])
    return [views.page_info(rows, 1, 10, messages.render), views.page_info([], 1, 10)]


class MessageListParams(Params):
    page = described(Lenient(default=1), "page number, from 1", 1)
    pageSize = described(Lenient(default=10), "rows per page", 10)
    msgType = _msg_type()
    isRead = described(Flag(), "true only read messages, false only unread ones", "false")
    pk = described(Text(), "only messages of this product", "p11u5w")
    dk = described(Text(), "only messages of this device", "LAMP00000001")
    firstLabelList = _labels("comma list of first labels: 1 system, 2 smart, 3 device", "3")
    secondaryLabelList = _labels("comma list of second labels: 5 notification, 6 alarm, 7 fault, ...", "6,7")


# 5036/5055 are on the page (a copy from another page, as the facts note); they never occur.
@push.endpoint("GET", "userMsgList", MessageListParams, codes=(5000, 5036, 5055), data=_message_page, devices=None)
def user_msg_list(call: UserCall) -> dict:
    """The caller's messages, newest first, a page at a time."""
    params = dict(call.params)
    page, size = params.pop("page"), params.pop("pageSize")
    return views.page_info(messages.message_list(call.world, call.user, **params), page, size, messages.render)


@push.endpoint("GET", "v2/getMsgStats", devices=None, data=lambda sample: [messages.stats(sample.world, sample.owner)])
def get_msg_stats(call: UserCall) -> dict:
    """Read and unread counts of the caller's messages per group and kind."""
    return messages.stats(call.world, call.user)


class ReadParams(Params):
    msgIdList = _labels("comma list of message ids; absent: every message the filters select", "M1,M2")
    msgType = _msg_type()
    firstLabelList = _labels("comma list of first labels", "3")
    secondaryLabelList = _labels("comma list of second labels", "6")


@push.endpoint("POST", "readMsg", ReadParams, codes=(5000, 5041), data=BATCH, shape="MessageBatch", devices=None)
def read_msg(call: UserCall) -> dict:
    """Marks messages read: the listed ones, or all the filters select."""
    return messages.read(call.world, call.user, **call.params)


class DeleteParams(Params):
    msgId = described(Text(missing=5515), "the message's id", "M1")


@push.endpoint("DELETE", "deleteMsg", DeleteParams, codes=(5041, 5515, 5538), data="", devices=None)
def delete_msg(call: UserCall) -> str:
    """Deletes one of the caller's messages."""
    return messages.delete(call.world, call.user, **call.params)


class BatchDeleteParams(Params):
    msgIdList = described(
        CommaList(required=True, error_messages={"required": "5515"}, metadata={"missing": 5515}),
        "comma list of message ids",
        "M1,M2",
    )


# 5515: no ids (the page lists no code for it; this is deleteMsg's).
@push.endpoint(
    "POST", "batchDeleteMsg", BatchDeleteParams, codes=(5041, 5515), data=BATCH, shape="MessageBatch", devices=None
)
def batch_delete_msg(call: UserCall) -> dict:
    """Deletes several of the caller's messages."""
    return messages.batch_delete(call.world, call.user, **call.params)


@push.endpoint(
    "GET", "getMsgPushSetting", codes=(5515,), devices=None,
    data=lambda sample: [messages.push_setting(sample.world, sample.owner)],
)  # fmt: skip
def get_msg_push_setting(call: UserCall) -> dict:
    """The caller's push settings, as last written."""
    return messages.push_setting(call.world, call.user)


class PushSettingParams(Params):
    msgPushSetting = described(
        fields.Raw(required=True, error_messages={"required": "5515", "null": "5515"}, metadata={"missing": 5515}),
        "the settings document (JSON text or object): deviceNotify, smartNotify, systemNotify, device, ...",
        '{"deviceNotify":true}',
    )


@push.endpoint("POST", "setMsgPushSetting", PushSettingParams, body="json", codes=(5515,), devices=None)
def set_msg_push_setting(call: UserCall) -> None:
    """Stores the caller's push settings as written."""
    messages.set_push_setting(call.world, call.user, **call.params)


class PushDeviceParams(Params):
    deviceLanguage = described(Text(missing=5000), "the phone's language", "en-US")
    deviceId = described(Text(), "the push id (Alibaba Cloud deviceId or FCM token)", "fcm-token-1")
    type = described(Text(), "APP (default) or MINI", "APP")


# 5000: deviceLanguage (or deleteDeviceInfo's deviceId) missing; no code is documented.
@push.endpoint("POST", "setDeviceInfo", PushDeviceParams, body="json", codes=(5000,), devices=None)
def set_push_device(call: UserCall) -> None:
    """Registers the phone's push id and language (JSON body)."""
    messages.register_push(call.world, call.user, **call.params)


class PushDeviceIdParams(Params):
    deviceId = described(Text(missing=5000), "the push id to forget", "fcm-token-1")


@push.endpoint("DELETE", "deleteDeviceInfo", PushDeviceIdParams, codes=(5000,), devices=None)
def delete_push_device(call: UserCall) -> None:
    """Forgets a phone's push id."""
    messages.unregister_push(call.world, call.user, **call.params)
