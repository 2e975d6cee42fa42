"""The share rules: creating, accepting, changing and ending shares.

Each function is one endpoint's domain step. Parameter presence and formats have already
been checked by the request schemas; what is left here are the cross-field, permission and
state checks, in the order of the behaviour table.
"""

from __future__ import annotations

from .access import family_holding
from .errors import QuectelError
from .models import Device, FailureCause, Share, ShareStatus, User
from .store import Cloud


def _owned_device(cloud: Cloud, caller: User, pk: str, dk: str, code: int) -> Device:
    device = cloud.devices.get((pk, dk))
    if device is None or device.owner_uid != caller.uid:
        raise QuectelError(code)
    return device


def _shareable_device(cloud: Cloud, caller: User, pk: str, dk: str) -> Device:
    device = _owned_device(cloud, caller, pk, dk, 5135)
    if not device.verified:
        raise QuectelError(5360)
    return device


def _new_share(
    cloud: Cloud, caller: User, device: Device, cover_mark: int, sharing_expire_at: int | None, auth_key: str | None
) -> Share:
    return Share(
        share_id=cloud.next_share_id(),
        code=cloud.new_share_code(),
        owner_uid=caller.uid,
        pk=device.pk,
        dk=device.dk,
        cover_mark=cover_mark,
        share_time=cloud.now(),
        sharing_expire_at=sharing_expire_at,
        auth_key=auth_key,
    )


def _expiry_rank(share: Share) -> float:
    # Lifelong counts as the latest expiry of all.
    return float("inf") if share.sharing_expire_at is None else share.sharing_expire_at


def _cover(cloud: Cloud, new: Share, recipient_uid: str, rejection_code: int) -> list[Share]:
    """Apply the new share's coverMark against the recipient's active shares of the device.

    Returns the shares to end once the new one is active; raises `rejection_code` when
    coverMark 3 forbids the replacement. Nothing is changed here, so a rejection leaves
    the cloud as it was.
    """
    held = [s for s in cloud.active_shares_of(recipient_uid, new.device_key) if s.code != new.code]
    if not held or new.cover_mark == 2:
        return []
    if new.cover_mark == 3 and _expiry_rank(new) < max(_expiry_rank(s) for s in held):
        raise QuectelError(rejection_code)
    return held


def _activate(cloud: Cloud, share: Share, recipient_uid: str, replaced: list[Share]) -> None:
    cloud.activate(share, recipient_uid)
    for old in replaced:
        cloud.end(old, FailureCause.OVERRIDDEN)
    cloud.settle(share)  # a usage window already past ends the share at once


def share_info(
    cloud: Cloud,
    caller: User,
    *,
    pk: str,
    dk: str,
    acceptingExpireAt: int,
    sharingExpireAt: int | None = None,
    coverMark: int = 1,
    authKey: str | None = None,
) -> str:
    """POST shareInfo: a new pending share code for the caller's own device."""
    device = _shareable_device(cloud, caller, pk, dk)
    share = _new_share(cloud, caller, device, coverMark, sharingExpireAt, authKey)
    share.accepting_expire_at = acceptingExpireAt
    if share.cover_mark == 1:
        for other in cloud.live_shares_of_device(device.key):
            if other.status is ShareStatus.PENDING and other.owner_uid == caller.uid:
                cloud.end(other, FailureCause.OVERRIDDEN)
    cloud.add_share(share)
    return share.code


def _find_recipient(cloud: Cloud, uid: str | None, email: str | None, phone: str | None) -> User | None:
    if uid:
        return cloud.users.get(uid)
    if email:
        return cloud.users_by_email.get(email.lower())
    return cloud.users_by_phone.get(phone or "")


def share_by_uid(
    cloud: Cloud,
    caller: User,
    *,
    pk: str,
    dk: str,
    sharingExpireAt: int | None = None,
    coverMark: int = 1,
    shareUid: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    authKey: str | None = None,
) -> str:
    """POST shareByUid: a share that is active at once for the invited user."""
    device = _shareable_device(cloud, caller, pk, dk)
    recipient = _find_recipient(cloud, shareUid, email, phone)
    if recipient is not None and recipient.uid != caller.uid and family_holding(cloud, recipient.uid, device):
        raise QuectelError(5864)  # a member of a family holding the device uses it already
    if recipient is None or recipient.uid == caller.uid:
        raise QuectelError(5134)
    share = _new_share(cloud, caller, device, coverMark, sharingExpireAt, authKey)
    if cloud.settings.share_by_uid_needs_acceptance:
        share.invitee_uid = recipient.uid  # pending: only the invitee may accept it
        cloud.add_share(share)
        return share.code
    replaced = _cover(cloud, share, recipient.uid, 5134)
    cloud.add_share(share)
    _activate(cloud, share, recipient.uid, replaced)
    return share.code


def _owners_share(cloud: Cloud, caller: User, code: str) -> Share:
    share = cloud.find_share(code)
    if share is None or share.owner_uid != caller.uid:
        raise QuectelError(5041)
    return share


def _recipients_share(cloud: Cloud, caller: User, code: str) -> Share:
    share = cloud.find_share(code)
    if share is None or share.recipient_uid != caller.uid:
        raise QuectelError(5041)
    if share.status is ShareStatus.ENDED:
        raise QuectelError(5142)
    return share


def set_share_time(cloud: Cloud, caller: User, *, shareCode: str, sharingExpireAt: int | None) -> None:
    """PUT setShareTime: the owner moves the usage expiry (None: lifelong)."""
    share = _owners_share(cloud, caller, shareCode)
    share.sharing_expire_at = sharingExpireAt
    share.update_time = cloud.now()
    cloud.settle(share)


def owner_unshare(cloud: Cloud, caller: User, *, shareCode: str) -> None:
    """DELETE ownerUserUnshareDevice: the owner ends a pending or active share."""
    share = _owners_share(cloud, caller, shareCode)
    if share.status is ShareStatus.ENDED:
        raise QuectelError(5142)
    cloud.end(share, FailureCause.CANCELLED_BY_OWNER)


def recipient_unshare(cloud: Cloud, caller: User, *, shareCode: str) -> None:
    """DELETE shareUserUnshareDevice: the recipient leaves a share."""
    share = _recipients_share(cloud, caller, shareCode)
    cloud.end(share, FailureCause.LEFT_BY_RECIPIENT)


def change_share_device_name(cloud: Cloud, caller: User, *, shareCode: str, deviceName: str) -> None:
    """PUT changeShareDeviceName: the recipient's own name for a shared device."""
    share = _recipients_share(cloud, caller, shareCode)
    share.device_name = deviceName
    share.update_time = cloud.now()


def accept(cloud: Cloud, caller: User, *, shareCode: str, deviceName: str | None = None) -> None:
    """POST shareDevice: the caller accepts a share code."""
    share = cloud.find_share(shareCode)
    if share is None or share.status is ShareStatus.ENDED:
        raise QuectelError(5137)
    if share.status is ShareStatus.ACTIVE and share.recipient_uid != caller.uid:
        raise QuectelError(5137)
    if share.invitee_uid is not None and share.invitee_uid != caller.uid:
        raise QuectelError(5137)
    device = cloud.devices.get(share.device_key)
    if share.status is ShareStatus.ACTIVE or (device is not None and device.owner_uid == caller.uid):
        raise QuectelError(5049)
    if device is None or device.owner_uid != share.owner_uid:
        raise QuectelError(5138)
    replaced = _cover(cloud, share, caller.uid, 5151)
    if deviceName:
        share.device_name = deviceName
    _activate(cloud, share, caller.uid, replaced)


def share_user_list(cloud: Cloud, caller: User, *, pk: str, dk: str) -> list[Share]:
    """GET deviceShareUserList: the device's active shares (and pending ones, when the cloud
    lists them), newest first."""
    device = _owned_device(cloud, caller, pk, dk, 5141)
    shown = {ShareStatus.ACTIVE, ShareStatus.PENDING} if cloud.settings.list_pending_shares else {ShareStatus.ACTIVE}
    rows = [s for s in cloud.live_shares_of_device(device.key) if s.status in shown]
    return sorted(rows, key=lambda s: s.share_id, reverse=True)


def expire_now(cloud: Cloud, share: Share) -> None:
    """Close the window the share is in now, as if the clock had reached it: a pending code's
    accept window (cause 1), an active share's usage window (cause 2)."""
    if share.status is ShareStatus.ENDED:
        raise QuectelError(5142)
    if share.status is ShareStatus.PENDING:
        share.accepting_expire_at = cloud.now()
        cloud.end(share, FailureCause.ACCEPT_WINDOW_PASSED)
    else:
        share.sharing_expire_at = cloud.now()
        cloud.end(share, FailureCause.USAGE_WINDOW_PASSED)
