"""The sharing endpoints under /v2/binding/enduserapi/."""

from __future__ import annotations

from ...cloud import shares, views
from .. import schemas as s
from ..declare import Area, UserCall

binding = Area("/v2/binding/enduserapi")
CODE_SAMPLE = "share_dv_C0123456789abcdef0123456789abcdef0123"


@binding.endpoint(
    "POST", "shareInfo", s.ShareInfoParams,
    codes=(5066, 5067, 5132, 5133, 5134, 5135, 5145, 5153, 5360), data=CODE_SAMPLE,
)  # fmt: skip
def share_info(call: UserCall) -> str:
    """The owner creates a share code for a device (pending until accepted)."""
    return shares.share_info(call.world, call.user, **call.params)


# 5135: the owner check the notes give shareByUid too.
@binding.endpoint(
    "POST", "shareByUid", s.ShareByUidParams,
    codes=(5066, 5067, 5133, 5134, 5135, 5145, 5360, 5864, 5891), data=CODE_SAMPLE,
)  # fmt: skip
def share_by_uid(call: UserCall) -> str:
    """The owner shares a device with a user by uid, email or phone: active at once."""
    return shares.share_by_uid(call.world, call.user, **call.params)


# 5145: a missing or malformed sharingExpireAt.
@binding.endpoint("PUT", "setShareTime", s.SetShareTimeParams, codes=(5041, 5136, 5145), devices=None)
def set_share_time(call: UserCall) -> None:
    """The owner changes when a share stops being usable (0: lifelong)."""
    shares.set_share_time(call.world, call.user, **call.params)


@binding.endpoint("DELETE", "ownerUserUnshareDevice", s.ShareCodeParams, codes=(5041, 5136, 5142), devices=None)
def owner_unshare(call: UserCall) -> None:
    """The owner cancels a share, pending or active."""
    shares.owner_unshare(call.world, call.user, **call.params)


@binding.endpoint("DELETE", "shareUserUnshareDevice", s.ShareCodeParams, codes=(5041, 5136, 5142), devices=None)
def recipient_unshare(call: UserCall) -> None:
    """The recipient leaves a share."""
    shares.recipient_unshare(call.world, call.user, **call.params)


@binding.endpoint("PUT", "changeShareDeviceName", s.RenameParams, codes=(5041, 5068, 5136, 5142, 5333), devices=None)
def change_share_device_name(call: UserCall) -> None:
    """The recipient renames a shared device, for themselves."""
    shares.change_share_device_name(call.world, call.user, **call.params)


@binding.endpoint("POST", "shareDevice", s.AcceptParams, codes=(5049, 5136, 5137, 5138, 5151, 5333), devices=None)
def share_device(call: UserCall) -> None:
    """The recipient accepts a share code, optionally naming the device."""
    shares.accept(call.world, call.user, **call.params)


@binding.endpoint(
    "GET", "deviceShareUserList", s.DeviceKeyParams, shape="ShareRows", codes=(5066, 5067, 5141),
    data=lambda sample: [views.share_rows(sample.world, sample.shares)],
)  # fmt: skip
def device_share_user_list(call: UserCall) -> list[dict]:
    """The owner lists a device's recipients, newest first."""
    return views.share_rows(call.world, shares.share_user_list(call.world, call.user, **call.params))
