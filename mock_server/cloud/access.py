"""Who may use a device: its owner, and the holders of an active share of it. Decided here
once, for every device endpoint and the realtime channel alike.

Expiry is judged on the clock at the moment of asking, so a share that ended (cancelled, left,
expired, device unbound) stops giving access at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import QuectelError
from .models import Device, Share, User
from .store import Cloud


@dataclass(frozen=True)
class DeviceView:
    """A device as one user sees it: their own (share is None) or through a share."""

    device: Device
    share: Share | None = None


def latest(shares: list[Share]) -> Share:
    """With coverMark 2 a recipient may hold several shares of a device: the one that lasts
    longest (lifelong first) represents the device."""
    return max(shares, key=lambda s: (s.sharing_expire_at is None, s.sharing_expire_at or 0, s.share_id))


def find_view(cloud: Cloud, uid: str, pk: str, dk: str) -> DeviceView | None:
    """The caller's view of a bound device, None when they may not use it; 5052 when the
    device is unknown or bound to nobody."""
    device = cloud.devices.get((pk, dk))
    if device is None or device.owner_uid is None:
        raise QuectelError(5052)
    if device.owner_uid == uid:
        return DeviceView(device)
    mine = cloud.active_shares_of(uid, device.key)
    return DeviceView(device, latest(mine)) if mine else None


def view_of(cloud: Cloud, user: User, pk: str, dk: str) -> DeviceView:
    """The caller's view of a device they may use: 5052 unknown or unbound, 5041 not theirs."""
    view = find_view(cloud, user.uid, pk, dk)
    if view is None:
        raise QuectelError(5041)
    return view


def can_use(cloud: Cloud, uid: str, pk: str, dk: str) -> bool:
    try:
        return find_view(cloud, uid, pk, dk) is not None
    except QuectelError:
        return False
