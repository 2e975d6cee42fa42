"""Device queries, unbinding and online state, as seen by owners and by share recipients."""

from __future__ import annotations

import base64
import operator
import random
import re

from . import control
from .access import DeviceView, find_view, latest
from .errors import QuectelError
from .events import OnlineChanged
from .models import Device, FailureCause, ShareStatus, User
from .store import Cloud


def _shared_views(cloud: Cloud, uid: str) -> list[DeviceView]:
    by_device: dict = {}
    for share in cloud.active_shares_of(uid):
        by_device.setdefault(share.device_key, []).append(share)
    views = []
    for key, shares in by_device.items():
        device = cloud.devices.get(key)
        if device is not None:
            views.append(DeviceView(device, latest(shares)))
    return sorted(views, key=lambda v: (v.share.accept_time if v.share else None) or 0)


def _owned_views(cloud: Cloud, uid: str) -> list[DeviceView]:
    """A view of each device `uid` owns, in binding order (a new list). The views of the same
    device records in the same order are the same (a view is immutable): kept per (world, uid)
    with the records they were made of, checked by identity, as a list of 50 would otherwise
    make them afresh on every request."""
    owned = list(cloud.owned.get(uid, {}).values())
    slot = (id(cloud), uid)
    kept = _OWNED.get(slot)
    if kept is not None and len(kept[0]) == len(owned) and all(map(operator.is_, kept[0], owned)):
        return list(kept[1])
    views = [DeviceView(d) for d in owned]
    if len(_OWNED) >= OWNED_KEPT:
        _OWNED.clear()  # whole: atomic, where dropping the oldest could race another world's thread
    _OWNED[slot] = (owned, views)
    return list(views)


# Keyed by id(): another world's records are other objects, so a slot it takes over can only
# miss. Holds records of a dropped world until the slot is taken or the whole is cleared.
_OWNED: dict[tuple[int, str], tuple[list[Device], list[DeviceView]]] = {}
OWNED_KEPT = 256


def device_info(
    cloud: Cloud, caller: User, *, pk: str | None = None, dk: str | None = None, shareCode: str | None = None
) -> DeviceView:
    """GET deviceInfo: by share code when one is given, else by pk and dk."""
    if shareCode:
        return _view_by_code(cloud, caller, shareCode)
    view = find_view(cloud, caller.uid, pk or "", dk or "")
    if view is None:
        raise QuectelError(5141)
    return view


def _view_by_code(cloud: Cloud, caller: User, code: str) -> DeviceView:
    share = cloud.find_share(code)
    if share is None or share.status is ShareStatus.ENDED:
        raise QuectelError(5041)
    allowed = (share.recipient_uid, share.owner_uid)
    readers = allowed if cloud.settings.owner_reads_active_code else (share.recipient_uid,)
    if share.status is ShareStatus.ACTIVE and caller.uid not in readers:
        raise QuectelError(5041)
    if share.status is ShareStatus.PENDING and not cloud.settings.pending_code_preview and caller.uid not in allowed:
        raise QuectelError(5041)
    device = cloud.devices.get(share.device_key)
    if device is None:
        raise QuectelError(5041)
    return DeviceView(device, share)


def _matches(view: DeviceView, name: str | None, dk: str | None, pk_list: list[str] | None) -> bool:
    if name and name.lower() not in display_name(view).lower():
        return False
    if dk and view.device.dk != dk:
        return False
    return not pk_list or view.device.pk in pk_list


def display_name(view: DeviceView) -> str:
    if view.share is not None and view.share.device_name:
        return view.share.device_name
    return view.device.name


def user_device_list(
    cloud: Cloud,
    caller: User,
    *,
    deviceName: str | None = None,
    dk: str | None = None,
    pkList: list[str] | None = None,
) -> list[DeviceView]:
    """GET userDeviceList: owned devices, then devices shared with the caller."""
    views = _owned_views(cloud, caller.uid)
    views += _shared_views(cloud, caller.uid)
    if not (deviceName or dk or pkList):
        return views
    return [v for v in views if _matches(v, deviceName, dk, pkList)]


def unbind(cloud: Cloud, caller: User, *, pk: str, dk: str) -> int:
    """DELETE unbundlingDeviceDk: the owner unbinds (all shares end) or a recipient leaves.

    Returns bindingSum: the users still bound to the device afterwards.
    """
    view = _in_use(cloud, caller, pk, dk)
    device = view.device
    if view.family is not None:
        raise QuectelError(5052)  # a family member uses the device; only its owner unbinds it
    if view.share is None:
        for share in cloud.live_shares_of_device(device.key):
            if share.owner_uid == caller.uid or not device.binders:
                cloud.end(share, FailureCause.DEVICE_UNBOUND)
        cloud.unbind_device(device, caller.uid)
        return len(device.binders) + (1 if device.owner_uid else 0)
    for share in cloud.active_shares_of(caller.uid, device.key):
        cloud.end(share, FailureCause.LEFT_BY_RECIPIENT)
    recipients = {s.recipient_uid for s in cloud.live_shares_of_device(device.key) if s.status is ShareStatus.ACTIVE}
    return 1 + len(recipients)


def set_online(cloud: Cloud, device: Device, online: bool, at: int | None = None) -> None:
    """The device connects or disconnects (at `at`, default now): `onl_` for whoever listens."""
    if device.online == online:
        return
    device.online = online
    cloud.events.emit(OnlineChanged(device.pk, device.dk, online, cloud.now() if at is None else at))
    if online:
        control.deliver_cached(cloud, device)


# ---- helpers that apps and published clients call beside the documented pages ----------------


def _in_use(cloud: Cloud, caller: User, pk: str, dk: str) -> DeviceView:
    """The caller's view of the device; to these helpers a device the caller may not use does
    not exist (5052)."""
    view = find_view(cloud, caller.uid, pk, dk)
    if view is None:
        raise QuectelError(5052)
    return view


def binding_info(cloud: Cloud, caller: User, *, pk: str, dk: str) -> dict:
    """GET getDeviceBindingInfo (undocumented): a device the caller may use, else 5052."""
    view = _in_use(cloud, caller, pk, dk)
    device = view.device
    product = cloud.products.get(device.pk)
    return {
        "productKey": device.pk,
        "deviceKey": device.dk,
        "productName": product.name if product else device.product_name,
        "deviceName": display_name(view),
        "bindingMode": product.binding_mode if product else 1,
    }


def online_status(cloud: Cloud, caller: User, *, pk: str, dk: str) -> dict:
    """GET getDeviceOnlineStatus (undocumented): online as 0/1, under both names clients read."""
    view = _in_use(cloud, caller, pk, dk)
    online = 1 if view.device.online else 0
    return {"productKey": view.device.pk, "deviceKey": view.device.dk, "online": online, "value": online}


def auth_key(cloud: Cloud, caller: User, *, pk: str, dk: str) -> dict:
    """POST getAuthKey / regenerateAuthKey: the device's LAN key. Regenerating returns the same
    key, as the live service was seen to, so the device list's `authKey` stays right."""
    view = _in_use(cloud, caller, pk, dk)
    device = view.device
    if not device.auth_key:
        rng = random.Random(f"{cloud.seed}/authKey/{device.pk}/{device.dk}")
        device.auth_key = base64.b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode()
    return {"authKey": device.auth_key}


DK_FORMAT = re.compile(r"^[A-Za-z0-9_:-]{1,64}$")


def info_by_binding(cloud: Cloud, caller: User, *, pk: str, dk: str | None = None) -> dict:
    """GET getDeviceInfoByBinding: whether the caller can bind the device, and how."""
    product = cloud.products.get(pk)
    if dk and not DK_FORMAT.match(dk):
        raise QuectelError(5361)
    if product is None:
        raise QuectelError(5913)
    device = cloud.devices.get((pk, dk)) if dk else None
    if device is not None and device.owner_uid is not None:
        if device.owner_uid == caller.uid or product.binding_mode == 2:
            raise QuectelError(5049)
        if cloud.active_shares_of(caller.uid, device.key):
            raise QuectelError(6040)
    return {
        "activeBluetooth": False,
        "bindingMode": product.binding_mode,
        "productLogo": product.logo,
        "productName": product.name,
    }


def product_list(cloud: Cloud) -> list[dict]:
    """GET getProductList (undocumented for end users): every product the cloud knows."""
    return [{"productKey": p.pk, "name": p.name, "productName": p.name} for p in cloud.products.values()]


def product_tsl(cloud: Cloud, *, pk: str) -> dict:
    """GET productTSL: the thing model of any known product (5193 otherwise)."""
    product = cloud.products.get(pk)
    if product is None:
        raise QuectelError(5193)
    return product.tsl
