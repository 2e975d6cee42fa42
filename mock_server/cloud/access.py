"""Who may use a device: its owners, the holders of an active share of it, and the members of
a family that holds it. Decided here once, for every device endpoint, history, control and
the realtime channel alike.

Expiry is judged on the clock at the moment of asking, so a share that ended (cancelled, left,
expired, device unbound) stops giving access at once, and so does the end of a membership
(leaving, removal, the family's deletion), which takes the member out of the index at once.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import QuectelError
from .models import Device, FamilyDevice, FamilyDeviceType, Share, ShareStatus, User
from .store import Cloud


class DeviceView(NamedTuple):
    """A device as one user sees it: their own (share and family None), through a share, or
    as a member of the family `family` that holds it. A named tuple: a device list makes one
    per row on every request, at half the cost of a frozen dataclass."""

    device: Device
    share: Share | None = None
    family: str | None = None

    @property
    def owned(self) -> bool:
        return self.share is None and self.family is None


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
    if mine:
        return DeviceView(device, latest(mine))
    fid = family_holding(cloud, uid, device)
    return None if fid is None else DeviceView(device, family=fid)


def still_placed(cloud: Cloud, held: FamilyDevice) -> bool:
    """Whether a family's entry for a device still stands: its placer still owns the device,
    or (a shared device) still holds the active share they placed it with."""
    device = cloud.devices.get((held.pk, held.dk))
    if device is None or device.owner_uid is None:
        return False
    if held.type != FamilyDeviceType.SHARED:
        return held.placed_by == device.owner_uid or held.placed_by in device.binders
    share = cloud.find_share(held.share_code or "")
    return share is not None and share.status is ShareStatus.ACTIVE and share.recipient_uid == held.placed_by


def family_holding(cloud: Cloud, uid: str, device: Device) -> str | None:
    """The first family (by fid) of which `uid` is a member that holds `device`, else None."""
    place = family_place(cloud, uid, device)
    return None if place is None else place[0]


def family_place(cloud: Cloud, uid: str, device: Device) -> tuple[str, str | None] | None:
    """family_holding's family with the room of its first entry for the device (what a device
    row shows as fid and frid), else None."""
    holders = cloud.families_holding.get((device.pk, device.dk))
    if not holders:
        return None
    mine = cloud.families_of.get(uid)
    if not mine:
        return None
    pk, dk = device.pk, device.dk
    for fid in sorted(holders & mine):  # plain loops: a device list asks this for every row
        first: tuple[str, str | None] | None = None
        for held in cloud.families[fid].devices:
            if held.pk == pk and held.dk == dk:
                first = first or (fid, held.frid)
                if still_placed(cloud, held):
                    return first
    return None


def usable_devices(cloud: Cloud, uid: str) -> list[Device]:
    """Every device `uid` may use: owned, shared with them, and held by their families."""
    keys = list(cloud.owned.get(uid, {}))
    keys += [s.device_key for s in cloud.active_shares_of(uid)]
    for fid in cloud.families_of.get(uid, ()):
        keys += [(h.pk, h.dk) for h in cloud.families[fid].devices if still_placed(cloud, h)]
    return [cloud.devices[k] for k in dict.fromkeys(keys) if k in cloud.devices]


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
    share, and the members of the families holding it, in that order."""
    candidates = [device.owner_uid, *device.binders]
    candidates += [s.recipient_uid for s in cloud.live_shares_of_device(device.key) if s.recipient_uid]
    for fid in sorted(cloud.families_holding.get(device.key, ())):
        candidates += list(cloud.families[fid].members)
    users = []
    for uid in dict.fromkeys(candidates):
        if uid and can_use(cloud, uid, device.pk, device.dk):
            users.append(uid)
    return users
