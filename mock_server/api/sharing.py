"""The sharing endpoints under /v2/binding/enduserapi/."""

from __future__ import annotations

from flask import Blueprint

from ..domain import shares, views
from . import schemas as s
from .dispatch import Call, endpoint

bp = Blueprint("sharing", __name__, url_prefix="/v2/binding/enduserapi")


@endpoint(bp, "POST", "shareInfo", s.ShareInfoParams)
def share_info(call: Call) -> str:
    return shares.share_info(call.world, call.user, call.params)


@endpoint(bp, "POST", "shareByUid", s.ShareByUidParams)
def share_by_uid(call: Call) -> str:
    return shares.share_by_uid(call.world, call.user, call.params)


@endpoint(bp, "PUT", "setShareTime", s.SetShareTimeParams)
def set_share_time(call: Call) -> None:
    shares.set_share_time(call.world, call.user, call.params)


@endpoint(bp, "DELETE", "ownerUserUnshareDevice", s.ShareCodeParams)
def owner_unshare(call: Call) -> None:
    shares.owner_unshare(call.world, call.user, call.params)


@endpoint(bp, "DELETE", "shareUserUnshareDevice", s.ShareCodeParams)
def recipient_unshare(call: Call) -> None:
    shares.recipient_unshare(call.world, call.user, call.params)


@endpoint(bp, "PUT", "changeShareDeviceName", s.RenameParams)
def change_share_device_name(call: Call) -> None:
    shares.change_share_device_name(call.world, call.user, call.params)


@endpoint(bp, "POST", "shareDevice", s.AcceptParams)
def share_device(call: Call) -> None:
    shares.accept(call.world, call.user, call.params)


@endpoint(bp, "GET", "deviceShareUserList", s.DeviceKeyParams)
def device_share_user_list(call: Call) -> list[dict]:
    return views.share_rows(call.world, shares.share_user_list(call.world, call.user, call.params))
