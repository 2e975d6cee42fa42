"""The documented `data` shapes: device details, PageInfo, share rows and user profiles.

Field names and types follow the public pages exactly, including their inconsistencies
(`nikeName`, `sharingExpireTimeTs`, share times as integers next to expiry times as strings).
Time strings are `yyyy-MM-dd HH:mm:ss` in UTC; `...Ts` fields are epoch milliseconds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from . import shadows, things
from .access import DeviceView, family_place
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
    return _details(*_row_facts(cloud, view, _placing(cloud, viewer)))


def device_rows(cloud: Cloud, views: list[DeviceView], viewer: str | None = None) -> list:
    """device_details of each view, each as its JSON text (an orjson Fragment, which the
    envelope writes as it is): a list of 50 devices is rendered and serialized once per
    distinct set of what its rows show, not on every request. Plain dicts for all, when a row
    holds what orjson cannot write (the envelope's fallback cannot read a Fragment)."""
    placing = _placing(cloud, viewer)
    facts = _page_facts(cloud, views, placing)
    slot = (id(cloud), viewer, len(views))  # deviceInfo's one row apart from the viewer's list
    kept = _PAGES.get(slot)
    if kept is not None and kept[0] == facts:  # the same rows as this slot's last answer
        return list(kept[1])
    rows = [_row_json(*row) for row in facts]
    if None in rows:
        return [device_details(cloud, view, viewer) for view in views]
    if len(_PAGES) >= PAGES_KEPT:
        _PAGES.clear()  # whole: atomic, where dropping the oldest could race another world's thread
    _PAGES[slot] = (facts, rows)
    return list(rows)


# The last rows each (world, viewer, number of rows) was answered, with the facts they were
# rendered from: a page whose facts are all equal to the last ones is that answer again, found
# by one list comparison instead of a cache lookup per row (hashing each row's facts cost more
# than rendering the envelope). Keyed by id(): a slot another world takes after this one is
# gone holds other facts, so it can only miss. Facts are plain values: no world is kept alive.
_PAGES: dict[tuple[int, str | None, int], tuple[list[tuple], list[orjson.Fragment | None]]] = {}
PAGES_KEPT = 1024


def _placing(cloud: Cloud, viewer: str | None) -> str | None:
    """The viewer, when a row may show their family and room: they are in a family."""
    return viewer if viewer is not None and cloud.families_of.get(viewer) else None


def _row_facts(cloud: Cloud, view: DeviceView, placing: str | None) -> tuple:
    """Everything a device row shows, as plain values (`_page_facts` of one row)."""
    return _page_facts(cloud, [view], placing)[0]


def _page_facts(cloud: Cloud, views: list[DeviceView], placing: str | None) -> list[tuple]:
    """Everything each row shows, as plain values: `_details` renders a row from these alone,
    so a cache keyed by them (`_row_json`, `_PAGES`) cannot serve a stale row, whatever
    changed (a value, a name, online, a share, a family, a product, the owner's profile).
    `placing`: the viewer whose family and room the rows show, if any. One loop for the page,
    the owner's and product's facts looked up once a run of rows: a list of 50 asks this on every
    request."""
    users, products, holding = cloud.users, cloud.products, cloud.families_holding
    owner_uid_was = pk_was = _NOTHING  # rows come in runs of one owner and one product
    owner: tuple = ()
    product: tuple = ()
    facts = []
    for device, share, family in views:
        owner_uid = device.owner_uid
        if owner_uid != owner_uid_was:
            user = users.get(owner_uid or "")
            owner = (user.uid, user.nickname, user.phone) if user else (None, None, None)
            owner_uid_was = owner_uid
        pk = device.pk
        if pk != pk_was:
            known = products.get(pk)
            # The product's name is the one getProductList says: one product, one name.
            product = (known.name or None, known.logo) if known is not None else (None, "")
            pk_was = pk
        # A family member's view shows the device's owner; a share's, who shared it.
        if share is None:
            name, code, expiry = device.name, None, None
            shown_owner = owner_uid if family is not None else None
        else:
            name, code, expiry = share.device_name or device.name, share.code, share.sharing_expire_at
            shown_owner = owner_uid if family is not None else share.owner_uid
        # family_place finds nothing for a device no family holds: most devices, asked first
        placed = family_place(cloud, placing, device) if placing and (pk, device.dk) in holding else None
        create_time, bind_time = device.create_time, device.bind_time
        facts.append((
            pk, device.dk, device.auth_key, product[0] or device.product_name, product[1], device.device_tag,
            device.sn, device.signal_strength, create_time, bind_time,
            name, share is not None, shown_owner, code, expiry,
            owner[0], owner[1], owner[2], device.online, device.verified, placed,
            (type(create_time), type(bind_time), type(expiry)),
        ))  # fmt: skip
    return facts


_NOTHING = object()  # no owner or product yet: unequal to every uid and pk, None included


def _details(
    pk: str, dk: str, auth_key: str, product_name: str, logo: str, device_tag: str, sn: str, signal_strength: str,
    create_time: int, bind_time: int, name: str, shared: bool, shown_owner: str | None, code: str | None,
    sharing_expire_at: int | None, uid: str | None, nickname: str | None, phone: str | None, online: bool,
    verified: bool, placement: tuple[str, str | None] | None, number_types: tuple[type, ...] = (),
) -> dict:  # fmt: skip
    """A device row from its facts (`_row_facts`), a new dict each time. `number_types` only
    keys the cache: 5, 5.0 and True are equal keys, and are written apart."""
    data = dict(_rendered_details(
        pk, dk, auth_key, product_name, logo, device_tag, sn, signal_strength, create_time, bind_time
    ))  # fmt: skip
    data.update(
        deviceName=name,
        deviceType=2 if shared else 1,
        ownerUid=shown_owner,
        shareCode=code,
        sharingExpireAt=time_string(sharing_expire_at),
        sharingExpireTimeTs=sharing_expire_at,
        uid=uid,
        userName=nickname,
        phone=phone,
        deviceStatus="Online" if online else "Offline",
        onlineStatus=1 if online else 0,
        verified=1 if verified else 0,
    )
    if placement is not None:
        data.update(fid=placement[0], frid=placement[1])
    return data


@functools.lru_cache(maxsize=4096)
def _row_json(*facts: Any) -> orjson.Fragment | None:
    """A row's JSON text, None when orjson cannot write it (an integer past 64 bits)."""
    try:
        return orjson.Fragment(orjson.dumps(_details(*facts)))
    except TypeError:
        return None


@functools.lru_cache(maxsize=8192, typed=True)  # typed, as _row_json
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


def page_info(
    items: list, page: int, page_size: int, render: Callable[[Any], Any] = lambda item: item,
    render_all: Callable[[list], list] | None = None,
) -> dict:  # fmt: skip
    """A PageInfo (PageHelper's shape) over `items`, for 1-based `page`; only the items of
    the page are rendered (by `render_all` given them all, else `render` one at a time)."""
    total = len(items)
    pages = math.ceil(total / page_size) if total else 0
    start = (page - 1) * page_size
    shown = items[start : start + page_size]
    chunk = render_all(shown) if render_all is not None else [render(item) for item in shown]
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
