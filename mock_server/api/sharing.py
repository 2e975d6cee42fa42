"""The sharing endpoints under /v2/binding/enduserapi/."""

from __future__ import annotations

from flask import Blueprint

from ..cloud import shares, views
from . import schemas as s
from .dispatch import Call, endpoint

bp = Blueprint("sharing", __name__, url_prefix="/v2/binding/enduserapi")


@endpoint(bp, "POST", "shareInfo", s.ShareInfoParams, data="string")
def share_info(call: Call) -> str:
    """The owner creates a share code for a device (pending until accepted)."""
    return shares.share_info(call.world, call.user, call.params)


@endpoint(bp, "POST", "shareByUid", s.ShareByUidParams, data="string")
def share_by_uid(call: Call) -> str:
    """The owner shares a device with a user by uid, email or phone: active at once."""
    return shares.share_by_uid(call.world, call.user, call.params)


@endpoint(bp, "PUT", "setShareTime", s.SetShareTimeParams)
def set_share_time(call: Call) -> None:
    """The owner changes when a share stops being usable (0: lifelong)."""
    shares.set_share_time(call.world, call.user, call.params)


@endpoint(bp, "DELETE", "ownerUserUnshareDevice", s.ShareCodeParams)
def owner_unshare(call: Call) -> None:
    """The owner cancels a share, pending or active."""
    shares.owner_unshare(call.world, call.user, call.params)


@endpoint(bp, "DELETE", "shareUserUnshareDevice", s.ShareCodeParams)
def recipient_unshare(call: Call) -> None:
    """The recipient leaves a share."""
    shares.recipient_unshare(call.world, call.user, call.params)


@endpoint(bp, "PUT", "changeShareDeviceName", s.RenameParams)
def change_share_device_name(call: Call) -> None:
    """The recipient renames a shared device, for themselves."""
    shares.change_share_device_name(call.world, call.user, call.params)


@endpoint(bp, "POST", "shareDevice", s.AcceptParams)
def share_device(call: Call) -> None:
    """The recipient accepts a share code, optionally naming the device."""
    shares.accept(call.world, call.user, call.params)


@endpoint(bp, "GET", "deviceShareUserList", s.DeviceKeyParams, data="ShareRows")
def device_share_user_list(call: Call) -> list[dict]:
    """The owner lists a device's recipients, newest first."""
    return views.share_rows(call.world, shares.share_user_list(call.world, call.user, call.params))
