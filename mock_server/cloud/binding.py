"""Binding devices in stock (no owner) to their first user, and the binding helpers: the
owner's rename, the device's time zone, the product manual and a gateway's children.

A device is bound by `dk`, by `sn`, with the `bindingCode` it reported (Wi-Fi) or over
Bluetooth. Binding makes the caller an owner as the product's binding mode says (1 several
owners, 2 one owner, 3 the newest binder takes it over), mints a new authKey, and lists the
device at once, keeping its online state and values.
"""

from __future__ import annotations

import base64
import random
import re

from . import crypto, families
from .access import find_view
from .errors import QuectelError
from .models import Device, FailureCause, User
from .store import Cloud
from .views import page_info

MULTIPLE, UNIQUE, ROTATION = 1, 2, 3
DK_FORMAT = re.compile(r"^[A-Za-z0-9_:-]{1,64}$")
TIME_ZONE = re.compile(r"^[+-](?:[01][0-9]|2[0-3])(?::[0-5][0-9])?$")
DEFAULT_TIME_ZONE = {"timeZone": "+00:00", "timeZoneId": "Etc/UTC"}


def _device(cloud: Cloud, pk: str, dk: str) -> Device:
    """A device to bind: 5361 a malformed dk, 5229 a product the cloud does not know (so not
    associated with the app), 5314 no such device."""
    if not DK_FORMAT.match(dk):
        raise QuectelError(5361)
    if pk not in cloud.products:
        raise QuectelError(5229)
    device = cloud.devices.get((pk, dk))
    if device is None:
        raise QuectelError(5314)
    return device


def _mode(cloud: Cloud, device: Device) -> int:
    product = cloud.products.get(device.pk)
    return product.binding_mode if product else MULTIPLE


def _bind(
    cloud: Cloud,
    user: User,
    device: Device,
    name: str | None,
    fid: str | None,
    frid: str | None,
    common: bool = True,
) -> Device:
    """The checks every binding makes, in this order, then the binding itself; with `fid`,
    the device joins that family (in room `frid`; on its frequently used list unless `common`
    is false)."""
    if cloud.active_shares_of(user.uid, device.key):
        raise QuectelError(6040)
    mode = _mode(cloud, device)
    if device.owner_uid is not None:
        if device.owner_uid == user.uid or user.uid in device.binders:
            raise QuectelError(5049)
        if mode == UNIQUE:
            raise QuectelError(5412)
    if name is not None and len(name) > cloud.settings.device_name_max:
        raise QuectelError(5333)
    if frid and not fid:
        raise QuectelError(5636)
    family = families.binding_family(cloud, user, fid, frid) if fid else None
    if device.owner_uid is not None and mode != MULTIPLE:
        for share in cloud.live_shares_of_device(device.key):
            cloud.end(share, FailureCause.DEVICE_UNBOUND)
        cloud.unbind_device(device)
    now = cloud.now()
    cloud.bind(device, user.uid)
    device.bind_time = now
    if name:
        device.name = name
    rng = random.Random(f"{cloud.seed}/bind/{device.pk}/{device.dk}/{user.uid}/{now}")
    device.auth_key = base64.b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode()
    if family is not None:
        families.place_device(cloud, family, device, user.uid, frid).common = common
    return device


def bind_dk(
    cloud: Cloud,
    user: User,
    *,
    pk: str,
    dk: str,
    name: str | None = None,
    fid: str | None = None,
    frid: str | None = None,
    isCommonDevice: bool = True,
) -> dict:
    """POST bindDeviceDk: bind by device key."""
    device = _bind(cloud, user, _device(cloud, pk, dk), name, fid, frid, isCommonDevice)
    return {"authKey": device.auth_key}


def bind_sn(
    cloud: Cloud,
    user: User,
    *,
    pk: str,
    sn: str,
    deviceName: str | None = None,
    fid: str | None = None,
    frid: str | None = None,
    isCommonDevice: bool = True,
) -> dict:
    """POST bindDeviceSn: bind by serial number (5229 unknown product, 5090 no device of the
    product has this SN)."""
    if pk not in cloud.products:
        raise QuectelError(5229)
    device = next((d for d in cloud.devices.values() if d.pk == pk and d.sn and d.sn == sn), None)
    if device is None:
        raise QuectelError(5090)
    _bind(cloud, user, device, deviceName, fid, frid, isCommonDevice)
    return {"authKey": device.auth_key, "dk": device.dk, "moduleType": None, "pk": device.pk}


def bind_wifi(
    cloud: Cloud,
    user: User,
    *,
    productKey: str,
    deviceKey: str,
    bindingCode: str,
    deviceName: str | None = None,
    fid: str | None = None,
    frid: str | None = None,
    isCommonDevice: bool = True,
) -> dict:
    """POST v2/deviceBindingByWifi: bind with the code the device reported while it was
    provisioned (5460 it reported none, 5462 another)."""
    device = _device(cloud, productKey, deviceKey)
    if not device.binding_code:
        raise QuectelError(5460)
    if bindingCode != device.binding_code:
        raise QuectelError(5462)
    _bind(cloud, user, device, deviceName, fid, frid, isCommonDevice)
    product = cloud.products[device.pk]
    return {
        "authKey": device.auth_key,
        "bindingMode": product.binding_mode,
        "productLogo": product.logo,
        "productName": product.name,
    }


def bind_pure_bt(
    cloud: Cloud,
    user: User,
    *,
    pk: str,
    dk: str,
    random: str,
    encryptedNewBindingSecret: str,
    signature: str,
    bindingCode: str | None = None,
    encryptedBindingCode: str | None = None,
    pwd: str | None = None,
    deviceName: str | None = None,
    fid: str | None = None,
    frid: str | None = None,
    isCommonDevice: bool = True,
) -> dict:
    """POST deviceBindingByPureBt: bind over Bluetooth. The signature (SHA-256 of pk, dk,
    the binding code as sent, pwd and the user domain's secret) is checked when the scenario
    gives the secret; a plain bindingCode must be the device's own (5213). The encrypted
    fields are taken as sent: the simulator holds no product secrets to open them."""
    code = bindingCode or encryptedBindingCode
    if not code:
        raise QuectelError(5179)
    device = _device(cloud, pk, dk)
    domain = cloud.domains.get(user.user_domain)
    secret = domain.secret if domain is not None and cloud.settings.check_signatures else None
    if secret is not None and signature.lower() != crypto.signature(pk, dk, code, pwd or "", secret):
        raise QuectelError(5420)
    if bindingCode and device.binding_code and bindingCode != device.binding_code:
        raise QuectelError(5213)
    _bind(cloud, user, device, deviceName, fid, frid, isCommonDevice)
    return {"verified": "1" if device.verified else "0"}


# ---- the helpers around a bound device -----------------------------------------------------------


def _owners_device(cloud: Cloud, user: User, pk: str, dk: str) -> Device:
    """A device the caller owns; 5041 for anything else (unknown, unbound, shared)."""
    try:
        view = find_view(cloud, user.uid, pk, dk)
    except QuectelError:
        raise QuectelError(5041) from None
    if view is None or view.share is not None:
        raise QuectelError(5041)
    return view.device


def rename(cloud: Cloud, user: User, *, pk: str, dk: str, deviceName: str) -> None:
    """PUT setDeviceInfo (binding): the owner renames the device; recipients keep their names."""
    device = _owners_device(cloud, user, pk, dk)
    if len(deviceName) > cloud.settings.device_name_max:
        raise QuectelError(5333)
    device.name = deviceName


def time_zone(cloud: Cloud, user: User, *, pk: str, dk: str) -> dict:
    """GET getDeviceTimeZone: for anyone who may use the device (5041 otherwise)."""
    try:
        view = find_view(cloud, user.uid, pk, dk)
    except QuectelError:
        view = None
    if view is None:
        raise QuectelError(5041)
    device = view.device
    if not device.time_zone:
        return dict(DEFAULT_TIME_ZONE)
    return {"timeZone": device.time_zone, "timeZoneId": device.time_zone_id}


def set_time_zone(cloud: Cloud, user: User, *, pk: str, dk: str, timeZone: str, timeZoneId: str | None = None) -> None:
    """PUT v2/setDeviceTimeZone: the owner sets "+HH:mm" or "+HH" (a leading GMT is taken)."""
    device = _owners_device(cloud, user, pk, dk)
    zone = timeZone[3:] if timeZone.upper().startswith("GMT") else timeZone
    if not TIME_ZONE.match(zone):
        raise QuectelError(5000, ext_msg="timeZone must be +HH:mm or +HH")
    device.time_zone, device.time_zone_id = zone, timeZoneId or ""


def product_manual(cloud: Cloud, *, pk: str) -> dict:
    """GET getProductManual: no product here carries a manual, so its URL is empty."""
    return {"url": ""}


def gateway_children(cloud: Cloud, user: User, *, pk: str, dk: str, page: int = 1, pageSize: int = 10) -> dict:
    """GET getGatewayDeviceChildList: for a device the caller may use (5041 otherwise). The
    simulator models no gateways, so the list is empty."""
    try:
        view = find_view(cloud, user.uid, pk, dk)
    except QuectelError:
        view = None
    if view is None:
        raise QuectelError(5041)
    return page_info([], page, pageSize)


def put_in_stock(cloud: Cloud, device: Device) -> Device:
    """A new device, bound to nobody, for users to bind (the control API's and dashboard's)."""
    if device.key in cloud.devices:
        raise ValueError(f"device {device.pk}/{device.dk} exists")
    device.owner_uid, device.binders = None, []
    device.create_time = device.create_time or cloud.now()
    cloud.add_device(device)
    return device
