"""The message centre: what the cloud writes to users, and how they read, count and delete it.

Two things write messages, nothing else: a device raising an event of its thing model (to
everyone who may use the device at that moment, by the event's subType: INFO a notification,
WARN an alarm, ERROR a fault), and a share made by shareByUid (to its recipient, a system
message carrying the share code). Push settings and phone push registrations are stored as
written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .access import users_of
from .errors import QuectelError
from .models import Device, Message, Share, User
from .store import Cloud
from .things import ascii_digits

# Event subType -> (msgType, secondaryLabel); firstLabel 3 (device) for all of them.
BY_SUB_TYPE = {"INFO": (1, 5), "WARN": (2, 6), "ERROR": (3, 7)}
DEVICE_LABEL, SYSTEM_LABEL = 3, 1
SYSTEM_MESSAGE = 4

# getMsgStats: bucket -> secondaryLabel, per group (firstLabel).
STATS: dict[str, tuple[int, dict[str, int | None]]] = {
    "device": (3, {"inform": 5, "warning": 6, "fault": 7}),
    "smart": (2, {"automation": 3, "scene": 4}),
    "system": (
        1,
        {"privacyPolicyRevision": 1, "serviceAgreementRevision": 2, "smsWarning": None, "voiceWarning": None},
    ),
}

DEFAULT_PUSH_SETTING = {
    "deviceNotify": True,
    "smartNotify": True,
    "systemNotify": True,
    "device": {"app": True, "sms": False, "voice": False},
    "smart": {"app": True, "sms": False, "voice": False},
    "system": {"app": True, "sms": False, "voice": False},
}


def _write(cloud: Cloud, uid: str, **fields: Any) -> Message:
    cloud.last_message_id += 1
    message = Message(msg_id=f"M{cloud.last_message_id}", uid=uid, **fields)
    cloud.add_message(message)
    return message


def device_event(cloud: Cloud, device: Device, code: str, at: int) -> list[Message]:
    """The device raised event `code`: a message to each user of the device."""
    product = cloud.products.get(device.pk)
    event = product.events.get(code) if product else None
    name = event.name if event and event.name else code
    msg_type, label = BY_SUB_TYPE.get((event.sub_type if event else "").upper(), BY_SUB_TYPE["INFO"])
    written = []
    for uid in users_of(cloud, device):
        shown = _name_for(cloud, uid, device)
        written.append(
            _write(
                cloud,
                uid,
                msg_type=msg_type,
                first_label=DEVICE_LABEL,
                secondary_label=label,
                title=name,
                content=f"{shown}: {name}",
                add_time=at,
                pk=device.pk,
                dk=device.dk,
                device_name=shown,
                product_name=product.name if product else device.product_name,
            )
        )
    return written


def _name_for(cloud: Cloud, uid: str, device: Device) -> str:
    """The device's name as this user sees it (a recipient's own name for it, if they gave one)."""
    for share in cloud.active_shares_of(uid, device.key):
        if share.device_name:
            return share.device_name
    return device.name


def share_made(cloud: Cloud, share: Share, recipient_uid: str) -> Message:
    """shareByUid shared a device with `recipient_uid`: a system message with the share code."""
    device = cloud.devices.get(share.device_key)
    owner = cloud.users.get(share.owner_uid)
    who = (owner.nickname or owner.uid) if owner else share.owner_uid
    name = device.name if device else share.dk
    return _write(
        cloud,
        recipient_uid,
        msg_type=SYSTEM_MESSAGE,
        first_label=SYSTEM_LABEL,
        secondary_label=None,
        title="Device shared with you",
        content=f"{who} shared {name} with you",
        add_time=share.share_time,
        pk=share.pk,
        dk=share.dk,
        device_name=name,
        product_name=device.product_name if device else "",
        share_code=share.code,
    )


# ---- reading ----------------------------------------------------------------------------------


def _numbers(values: list[str] | None) -> set[int] | None:
    if not values:
        return None
    return {int(v) for v in values if ascii_digits(v.lstrip("-"))}


def _select(
    cloud: Cloud,
    user: User,
    msgType: int | None = None,
    firstLabelList: list[str] | None = None,
    secondaryLabelList: list[str] | None = None,
) -> list[Message]:
    firsts, seconds = _numbers(firstLabelList), _numbers(secondaryLabelList)
    return [
        m
        for m in cloud.messages_of.get(user.uid, {}).values()
        if (msgType is None or m.msg_type == msgType)
        and (firsts is None or m.first_label in firsts)
        and (seconds is None or m.secondary_label in seconds)
    ]


def message_list(
    cloud: Cloud,
    user: User,
    *,
    msgType: int | None = None,
    isRead: bool | None = None,
    pk: str | None = None,
    dk: str | None = None,
    firstLabelList: list[str] | None = None,
    secondaryLabelList: list[str] | None = None,
) -> list[Message]:
    """GET userMsgList: the caller's messages, newest first, filtered."""
    rows = [
        m
        for m in _select(cloud, user, msgType, firstLabelList, secondaryLabelList)
        if (isRead is None or m.is_read == isRead) and (not pk or m.pk == pk) and (not dk or m.dk == dk)
    ]
    return sorted(rows, key=lambda m: (m.add_time, int(m.msg_id[1:])), reverse=True)


def stats(cloud: Cloud, user: User) -> dict:
    """GET v2/getMsgStats: read and unread counts per documented bucket and per group."""
    mine = list(cloud.messages_of.get(user.uid, {}).values())
    out: dict[str, dict] = {}
    for group, (first, buckets) in STATS.items():
        in_group = [m for m in mine if m.first_label == first]
        counts: dict[str, Any] = {"read": sum(m.is_read for m in in_group)}
        counts["unRead"] = len(in_group) - counts["read"]
        for bucket, label in buckets.items():
            rows = [m for m in in_group if label is not None and m.secondary_label == label]
            read = sum(m.is_read for m in rows)
            counts[bucket] = {"read": read, "unRead": len(rows) - read}
        out[group] = counts
    return out


def read(
    cloud: Cloud,
    user: User,
    *,
    msgIdList: list[str] | None = None,
    msgType: int | None = None,
    firstLabelList: list[str] | None = None,
    secondaryLabelList: list[str] | None = None,
) -> dict:
    """POST readMsg: the listed messages, or without ids every message the filters select,
    are marked read."""
    now = cloud.now()
    if not msgIdList:
        msgIdList = [m.msg_id for m in _select(cloud, user, msgType, firstLabelList, secondaryLabelList)]

    def mark(message: Message) -> None:
        if not message.is_read:
            message.is_read, message.read_time = True, now

    return _each(cloud, user, msgIdList, mark)


def _each(cloud: Cloud, user: User, ids: list[str], act: Callable[[Message], None]) -> dict:
    """`act` on each listed message of the caller's; ids that name none are failures."""
    mine = cloud.messages_of.get(user.uid, {})
    success, failure = [], []
    for msg_id in ids:
        message = mine.get(msg_id)
        if message is None:
            failure.append({"id": msg_id, "failureMsg": "Message does not exist"})
        else:
            act(message)
            success.append({"id": msg_id})
    return {"successList": success, "failureList": failure}


def delete(cloud: Cloud, user: User, *, msgId: str) -> str:
    """DELETE deleteMsg: one of the caller's messages (5538 when it is not one)."""
    message = cloud.messages_of.get(user.uid, {}).get(msgId)
    if message is None:
        raise QuectelError(5538)
    cloud.drop_message(message)
    return ""


def batch_delete(cloud: Cloud, user: User, *, msgIdList: list[str]) -> dict:
    """POST batchDeleteMsg: several of the caller's messages; the others are listed as failures."""
    return _each(cloud, user, msgIdList, cloud.drop_message)


def render(message: Message) -> dict:
    """A userMsgList row."""
    return {
        "id": message.msg_id,
        "msgType": message.msg_type,
        "firstLabel": message.first_label,
        "secondaryLabel": message.secondary_label,
        "isRead": message.is_read,
        "readTime": message.read_time,
        "addTime": message.add_time,
        "title": message.title,
        "content": message.content,
        "titleLangs": None,
        "contentLangs": None,
        "i18nData": None,
        "replaceData": None,
        "pk": message.pk,
        "dk": message.dk,
        "deviceName": message.device_name,
        "productName": message.product_name,
        "icon": "",
        "shareCode": message.share_code or None,
        "sceneName": None,
        "sceneIcon": None,
        "sceneExecuteTime": None,
        "executeId": None,
        "automationId": None,
        "logId": None,
        "conditionKey": None,
        "target": None,
        "targetValue": None,
    }


# ---- push settings and registrations -----------------------------------------------------------


def push_setting(cloud: Cloud, user: User) -> dict:
    """GET getMsgPushSetting: the stored document (everything on in the app by default)."""
    stored = cloud.push_settings.get(user.uid)
    setting = stored["setting"] if stored else json.dumps(DEFAULT_PUSH_SETTING, separators=(",", ":"))
    return {
        "msgUserTypeDataId": f"P{user.uid}",
        "uid": user.uid,
        "msgPushSetting": setting,
        "recvMsgPushType": "1,2,3,4",
        "addTime": stored["addTime"] if stored else user.register_time,
    }


def set_push_setting(cloud: Cloud, user: User, *, msgPushSetting: Any) -> None:
    """POST setMsgPushSetting: the document is kept as written (an object is kept as its JSON)."""
    text = msgPushSetting if isinstance(msgPushSetting, str) else json.dumps(msgPushSetting, separators=(",", ":"))
    cloud.push_settings[user.uid] = {"setting": text, "addTime": cloud.now()}


def register_push(
    cloud: Cloud, user: User, *, deviceLanguage: str, deviceId: str | None = None, type: str | None = None
) -> None:  # noqa: A002 - the documented name
    """POST setDeviceInfo (mobilepush): the phone's push id and language."""
    devices = cloud.push_devices.setdefault(user.uid, {})
    devices[deviceId or ""] = {"deviceLanguage": deviceLanguage, "type": type or "APP", "addTime": cloud.now()}


def unregister_push(cloud: Cloud, user: User, *, deviceId: str) -> None:
    """DELETE deleteDeviceInfo: forget a push id (an unknown one is no error)."""
    cloud.push_devices.get(user.uid, {}).pop(deviceId, None)
