"""Device queries and unbinding, as seen by owners and by share recipients."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import QuectelError
from .models import Device, FailureCause, Share, ShareStatus, User
from .store import Cloud


@dataclass(frozen=True)
class DeviceView:
    """A device as one user sees it: their own (share is None) or through a share."""

    device: Device
    share: Share | None = None


def _latest(shares: list[Share]) -> Share:
    # With coverMark 2 a recipient may hold several shares of a device: the one that lasts
    # longest (lifelong first) represents the device.
    return max(
        shares,
        key=lambda s: (s.sharing_expire_at is None, s.sharing_expire_at or 0, s.share_id),
    )


def _shared_views(cloud: Cloud, uid: str) -> list[DeviceView]:
    by_device: dict = {}
    for share in cloud.active_shares_of(uid):
        by_device.setdefault(share.device_key, []).append(share)
    views = []
    for key, shares in by_device.items():
        device = cloud.devices.get(key)
        if device is not None:
            views.append(DeviceView(device, _latest(shares)))
    return sorted(views, key=lambda v: v.share.accept_time or 0)


def _view_of(cloud: Cloud, caller: User, pk: str, dk: str) -> DeviceView | None:
    device = cloud.devices.get((pk, dk))
    if device is None or device.owner_uid is None:
        raise QuectelError(5052)
    if device.owner_uid == caller.uid:
        return DeviceView(device)
    mine = cloud.active_shares_of(caller.uid, device.key)
    return DeviceView(device, _latest(mine)) if mine else None


def device_info(cloud: Cloud, caller: User, params: dict) -> DeviceView:
    """GET deviceInfo: by share code when one is given, else by pk and dk."""
    code = params.get("shareCode")
    if code:
        return _view_by_code(cloud, caller, code)
    view = _view_of(cloud, caller, params["pk"], params["dk"])
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


def _matches(view: DeviceView, params: dict) -> bool:
    name = params.get("deviceName")
    if name and name.lower() not in display_name(view).lower():
        return False
    if params.get("dk") and view.device.dk != params["dk"]:
        return False
    pk_list = params.get("pkList")
    return not pk_list or view.device.pk in pk_list


def display_name(view: DeviceView) -> str:
    if view.share is not None and view.share.device_name:
        return view.share.device_name
    return view.device.name


def user_device_list(cloud: Cloud, caller: User, params: dict) -> list[DeviceView]:
    """GET userDeviceList: owned devices, then devices shared with the caller."""
    views = [DeviceView(d) for d in cloud.owned.get(caller.uid, {}).values()]
    views += _shared_views(cloud, caller.uid)
    return [v for v in views if _matches(v, params)]


def unbind(cloud: Cloud, caller: User, params: dict) -> int:
    """DELETE unbundlingDeviceDk: the owner unbinds (all shares end) or a recipient leaves.

    Returns bindingSum: the users still bound to the device afterwards.
    """
    view = _view_of(cloud, caller, params["pk"], params["dk"])
    if view is None:
        raise QuectelError(5052)
    device = view.device
    if view.share is None:
        for share in cloud.live_shares_of_device(device.key):
            cloud.end(share, FailureCause.DEVICE_UNBOUND)
        cloud.unbind_device(device)
        return 0
    for share in cloud.active_shares_of(caller.uid, device.key):
        cloud.end(share, FailureCause.LEFT_BY_RECIPIENT)
    recipients = {s.recipient_uid for s in cloud.live_shares_of_device(device.key) if s.status is ShareStatus.ACTIVE}
    return 1 + len(recipients)
