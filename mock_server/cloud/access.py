"""Who may use a device: its owners, and the holders of an active share of it. Decided here
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
    if device.owner_uid == uid or uid in device.binders:
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


def users_of(cloud: Cloud, device: Device) -> list[str]:
    """Everyone who may use the device at this moment: its owners, the holders of an active
    share, and whoever else the rule above lets in (family members), in that order."""
    candidates = [device.owner_uid, *device.binders]
    candidates += [s.recipient_uid for s in cloud.live_shares_of_device(device.key) if s.recipient_uid]
    for uid in (device.owner_uid, *device.binders):
        for fid in cloud.families_of.get(uid or "", ()):
            family = cloud.families.get(fid)
            if family is not None:
                candidates += [family.owner_uid, *sorted(family.members)]
    seen: list[str] = []
    for uid in candidates:
        if uid and uid not in seen and can_use(cloud, uid, device.pk, device.dk):
            seen.append(uid)
    return seen
