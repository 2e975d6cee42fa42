"""The documented `data` shapes: device details, PageInfo, share rows and user profiles.

Field names and types follow the public pages exactly, including their inconsistencies
(`nikeName`, `sharingExpireTimeTs`, share times as integers next to expiry times as strings).
Time strings are `yyyy-MM-dd HH:mm:ss` in UTC; `...Ts` fields are epoch milliseconds.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime

from . import shadows, things
from .access import DeviceView, family_holding
from .devices import display_name
from .models import Device, Share, User
from .store import Cloud


def time_string(ms: int | None) -> str | None:
    if ms is None:
        return None
    return _time_string(ms)


@functools.lru_cache(maxsize=65536)
def _time_string(ms: int) -> str:
    # Device lists render the same few creation and binding times over and over.
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def user_info(user: User) -> dict:
    """GET userInfo data."""
    return {
        "uid": user.uid,
        "phone": user.phone,
        "email": user.email,
        "nikeName": user.nickname,
        "headimg": user.head_img,
        "sex": user.sex,
        "address": user.address,
        "city": user.city,
        "province": user.province,
        "nationality": user.nationality,
        "lang": user.lang,
        "timezone": user.timezone,
        "signature": user.signature,
        "remark": user.remark,
        "status": user.status,
        "logonMode": 1,
        "registerTime": user.register_time,
        "registerTimeTs": user.register_time,
        "lastLoginTime": user.last_login_time,
        "lastLoginTimeTs": user.last_login_time,
        **dict.fromkeys(_THIRD_PARTY_IDS + ["appleUserId"]),
    }


_THIRD_PARTY_IDS = [
    "alipayUserId",
    "facebookUserId",
    "qqUserId",
    "twitterUserId",
    "wechatMiniprogramUserId",
    "wechatOffiaccountUserId",
    "wechatUnionId",
]


def share_user_info(user: User | None) -> dict | None:
    """The `userInfo` of a deviceShareUserList row (times as strings there)."""
    if user is None:
        return None
    info = user_info(user)
    for name in ("logonMode", "appleUserId"):
        info.pop(name)
    info["userDomain"] = user.user_domain
    info["registerTime"] = time_string(user.register_time)
    info["lastLoginTime"] = time_string(user.last_login_time)
    return info


def share_details(share: Share, device_name: str) -> dict:
    """The `shareInfo` of a deviceShareUserList row."""
    return {
        "shareId": share.share_id,
        "shareCode": share.code,
        "ownerUid": share.owner_uid,
        "shareUid": share.recipient_uid,
        "pk": share.pk,
        "dk": share.dk,
        "deviceName": share.device_name or device_name,
        "fid": None,
        "authKey": share.auth_key,
        "coverMark": share.cover_mark,
        "shareStatus": int(share.status),
        "failureCause": None if share.failure_cause is None else int(share.failure_cause),
        "shareTime": share.share_time,
        "shareTimeTs": share.share_time,
        "acceptTime": share.accept_time,
        "acceptTimeTs": share.accept_time,
        "acceptingExpireAt": time_string(share.accepting_expire_at),
        "acceptingExpireAtTs": share.accepting_expire_at,
        "sharingExpireAt": time_string(share.sharing_expire_at),
        "sharingExpireAtTs": share.sharing_expire_at,
        "deleteTime": share.delete_time,
        "deleteTimeTs": share.delete_time,
        "updateTime": share.update_time,
        "updateTimeTs": share.update_time,
    }


def share_rows(cloud: Cloud, shares: list[Share]) -> list[dict]:
    rows = []
    for share in shares:
        device = cloud.devices.get(share.device_key)
        rows.append(
            {
                "shareInfo": share_details(share, device.name if device else ""),
                "userInfo": share_user_info(cloud.users.get(share.recipient_uid or "")),
            }
        )
    return rows


def _timed(name: str, ms: int | None) -> dict:
    return {name: time_string(ms), name + "Ts": ms}


def device_details(cloud: Cloud, view: DeviceView, viewer: str | None = None) -> dict:
    """deviceInfo data, and one item of userDeviceList; with the `viewer`'s uid, `fid` and
    `frid` are their family and room for the device."""
    device, share = view.device, view.share
    owner = cloud.users.get(device.owner_uid or "")
    shared = share is not None
    data = dict(_fixed_details(device, cloud.products.get(device.pk)))
    data.update(
        deviceName=display_name(view),
        deviceType=2 if shared else 1,
        ownerUid=share.owner_uid if share is not None else None,
        shareCode=share.code if share is not None else None,
        sharingExpireAt=time_string(share.sharing_expire_at) if share is not None else None,
        sharingExpireTimeTs=share.sharing_expire_at if share is not None else None,
        uid=owner.uid if owner else None,
        userName=owner.nickname if owner else None,
        phone=owner.phone if owner else None,
        deviceStatus="Online" if device.online else "Offline",
        onlineStatus=1 if device.online else 0,
        verified=1 if device.verified else 0,
    )
    if view.family is not None:  # a family member's view: the owner is someone else
        data.update(ownerUid=device.owner_uid)
    if viewer is not None and cloud.families_of.get(viewer):
        data.update(_placement(cloud, viewer, device))
    return data


def _placement(cloud: Cloud, uid: str, device: Device) -> dict:
    fid = family_holding(cloud, uid, device)
    if fid is None:
        return {}
    held = next(h for h in cloud.families[fid].devices if h.pk == device.pk and h.dk == device.dk)
    return {"fid": fid, "frid": held.frid}


def _fixed_details(device: Device, product: things.Product | None) -> dict:
    """The fields that depend only on what (almost) never changes about a device, rendered
    once per distinct set of those values: the cache is keyed by the values themselves, so
    the record needs no cache of its own and a new authKey needs no invalidation. The
    product's name is the one getProductList says: one product, one name."""
    product_name = product.name if product is not None and product.name else device.product_name
    return _rendered_details(
        device.pk, device.dk, device.auth_key, product_name, product.logo if product else "", device.device_tag,
        device.sn, device.signal_strength, device.create_time, device.bind_time,
    )  # fmt: skip


@functools.lru_cache(maxsize=8192)
def _rendered_details(
    pk: str, dk: str, auth_key: str, product_name: str, logo: str, device_tag: str, sn: str, signal_strength: str,
    create_time: int, bind_time: int,
) -> dict:  # fmt: skip
    """Never mutated: device_details copies it."""
    data = {
        "productKey": pk,
        "deviceKey": dk,
        "status": 1,
        "bindStatus": 1,
        "bindMode": 1,
        "bindingType": 3,
        "accessType": "0",
        "networkType": "1",
        "capabilitiesBitmask": 1,
        "authKey": auth_key,
        "authCode": None,
        "bindingCode": None,
        "btPwd": None,
        "btLastUseTime": None,
        "protocol": "MQTT",
        "productName": product_name,
        "logoImage": logo,
        "deviceTag": device_tag,
        "sn": sn,
        "signalStrength": signal_strength,
        "locateType": "",
        "fid": None,
        "frid": None,
        "gdid": None,
        "groupDeviceDeviceNum": 0,
        "groupState": 0,
        "firstItemCode": "",
        "firstItemName": "",
        "secondItemCode": "",
        "secondItemName": "",
        "isMatter": 0,
        "isNative": 0,
        "matterInfo": None,
        "lowPowerProduct": False,
        "lowPowerStatus": False,
        "aiCapabilityStatus": False,
        "lowPowerAlive": 0,
        "lowPowerCache": 0,
        "planId": None,
        "upgradeStatus": 0,
        "userConfirmStatus": 0,
    }
    data.update(_timed("deviceCreateTime", create_time))
    data.update(_timed("activeTime", create_time))
    data.update(_timed("deviceBindTime", bind_time))
    data.update(_timed("lastConnTime", None))
    data.update(_timed("lastOfflineTime", None))
    data.update(_timed("invaildTime", None))
    return data


def page_info(items: list, page: int, page_size: int, render=lambda item: item) -> dict:
    """A PageInfo (PageHelper's shape) over `items`, for 1-based `page`; only the items of
    the page are rendered."""
    total = len(items)
    pages = math.ceil(total / page_size) if total else 0
    start = (page - 1) * page_size
    chunk = [render(item) for item in items[start : start + page_size]]
    nav = list(range(max(1, page - 3), min(pages, max(1, page - 3) + 7) + 1)) if pages else []
    return {
        "list": chunk,
        "total": total,
        "pageNum": page,
        "pageSize": page_size,
        "size": len(chunk),
        "startRow": start + 1 if chunk else 0,
        "endRow": start + len(chunk) if chunk else 0,
        "pages": pages,
        "prePage": page - 1 if page > 1 else 0,
        "nextPage": page + 1 if page < pages else 0,
        "isFirstPage": page == 1,
        "isLastPage": page >= pages,
        "hasPreviousPage": page > 1,
        "hasNextPage": page < pages,
        "navigatePages": 8,
        "navigatepageNums": nav,
        "navigateFirstPage": nav[0] if nav else 0,
        "navigateLastPage": nav[-1] if nav else 0,
    }


# ---- device values ---------------------------------------------------------------------------

BLOCKS = {"1": "deviceData", "2": "customizeTslInfo", "3": "deviceLocateInfo"}


def business_attributes(cloud: Cloud, device: Device, types: list[str] | None, codes: list[str] | None) -> dict:
    """getDeviceBusinessAttributes data: every block, or those `types` names (others null)."""
    wanted = set(BLOCKS.values()) if not types else {BLOCKS[t] for t in types if t in BLOCKS}
    state = shadows.shadow_of(cloud, device)
    data: dict = {"customizeTslInfo": None, "deviceData": None, "deviceLocateInfo": None}
    if "customizeTslInfo" in wanted:
        data["customizeTslInfo"] = _tsl_info(cloud.products.get(device.pk), state, codes)
    if "deviceData" in wanted:
        data["deviceData"] = _device_data(device, state)
    if "deviceLocateInfo" in wanted and state.location:
        data["deviceLocateInfo"] = locate_info(device, state.location, state.located_at)
    return data


def _tsl_info(product: things.Product | None, state: shadows.DeviceState, codes: list[str] | None) -> list[dict]:
    """One item per property with a reported value, in the thing model's order."""
    if product is None:
        return []
    items = []
    for feature in product.ordered_properties():
        if feature.code not in state.reported or (codes and feature.code not in codes):
            continue
        items.append(
            {
                "abId": feature.id,
                "resourceCode": feature.code,
                "resourceValce": feature.resource_value(state.reported[feature.code]),
                "dataType": feature.data_type,
                "name": feature.name,
                "type": "PROPERTY",
                "subType": feature.sub_type,
                "createTime": str(state.reported_at[feature.code]),
            }
        )
    return items


def _device_data(device: Device, state: shadows.DeviceState) -> dict:
    """The module's own facts, as the device last reported them; a scenario may state any."""
    text = device.signal_strength.lstrip("-")
    signal = int(device.signal_strength) if text.isascii() and text.isdigit() and len(text) < 6 else 0
    data = {
        "battery": 100,
        "voltage": 3.3,
        "signalStrength": signal,
        "rsrp": -85,
        "rsrq": -9,
        "snr": 12,
        "cellId": 24187651,
        "lac": 6150,
        "mcc": 460,
        "mnc": 0,
        "memoryFree": 52400,
        "version": "EC200UCNAAR03A01M08",
        "mcuVersion": "1.0.0",
        "comProtocolVer": "V1.0",
        "dataProtocolVer": "V1.0",
        "sdkVersion": "QuecThing-2.9.0",
        "type": "EC200U",
        "iccid": "8986" + device.dk.encode().hex()[:16].upper(),
        "phoneNum": "",
        "sim": "",
        "locator": "",
        "productKey": device.pk,
        "deviceKey": device.dk,
        "updateTime": max(state.reported_at.values(), default=device.bind_time),
    }
    data.update(state.device_data or {})
    return data


def locate_info(device: Device, location: dict, at: int | None) -> dict:
    """deviceLocateInfo from a location {lat, lng, locateType, hdop, satellites}."""
    when = at or 0
    lat, lng = float(location.get("lat", 0)), float(location.get("lng", 0))
    return {
        "lat": str(abs(lat)),
        "lng": str(abs(lng)),
        "latType": "N" if lat >= 0 else "S",
        "lngType": "E" if lng >= 0 else "W",
        "locateTime": time_string(when),
        "createTime": time_string(when),
        "hdop": str(location.get("hdop", "0.9")),
        "satellites": str(location.get("satellites", "8")),
        "locateType": str(location.get("locateType", "GP")),
        "locateStatus": "1",
        "locateRaw": "",
        "productKey": device.pk,
        "deviceKey": device.dk,
        "locateTimeTs": when,
        "createTimeTs": when,
    }
