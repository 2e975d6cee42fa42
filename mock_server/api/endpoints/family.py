"""Home mode: the 28 endpoints under /v2/family/enduserapi/ (account-family-binding-facts.md §2,
behaviour.md §6). Each answers its documented codes in the documented order: the request
schema checks presence (in the order of the page's parameter table), families.py the rest."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from ...cloud import families, views
from ...cloud.errors import QuectelError
from ...cloud.jsontext import read_json
from ..declare import Area, UserCall
from ..schemas import Choice, CommaList, Flag, Lenient, Params, Text, Timestamp, coded, described, ignored

family = Area("/v2/family/enduserapi")

FID = "f_4c3b1e0d9a8f7e6d5c4b3a2918070605"
FRID = "r_0a1b2c3d4e5f60718293a4b5c6d7e8f9"


# ---- field kinds of these pages --------------------------------------------------------------


class JsonList(fields.Field):
    """A JSON array (or the JSON text of one); `code` when absent, empty or not an array."""

    def __init__(self, code: int | None = None, **kwargs: Any) -> None:
        super().__init__(**coded(code, list, kwargs))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if isinstance(value, str):
            try:
                value = read_json(value)  # strict: deep nesting or huge numbers are refused, not a 500
            except ValueError:
                value = None
        if not isinstance(value, list) or (self.metadata["missing"] and not value):
            if self.metadata["invalid"] is None:
                return []
            raise self.make_error("invalid")
        return value


class Names(CommaList):
    """Room names: a JSON array of strings, or a comma list."""


def _fid(missing: int = 5618) -> Text:
    return described(Text(missing=missing), "the family's id", FID)


def _frid(missing: int | None = 5637, what: str = "the room's id") -> Text:
    return described(Text(missing=missing), what, FRID)


def _page() -> Lenient:
    return described(Lenient(default=1), "page number, from 1 (default 1)", 1)


def _page_size() -> Lenient:
    return described(Lenient(default=10), "rows per page (default 10)", 10)


def _ignored(example: Any = "") -> Text:
    return ignored(described(Text(), "sent by the apps; accepted and ignored", example))


def _pairs(items: list, *names: str) -> list[dict]:
    """Array items as mappings of their string fields (anything else counts as absent)."""
    out = []
    for item in items:
        item = item if isinstance(item, dict) else {}
        out.append({**item, **{n: _text(item.get(n)) for n in names}})
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return value.strip() or None if isinstance(value, str) else None


def _device_keys(items: list) -> list[dict]:
    """{pk, dk} items: 5066 / 5067 for the first item missing one."""
    out = _pairs(items, "pk", "dk")
    for item in out:
        if not item["pk"]:
            raise QuectelError(5066)
        if not item["dk"]:
            raise QuectelError(5067)
    return out


def _page_of(rows: list, params: dict, render=lambda item: item) -> dict:
    return views.page_info(rows, params["page"], params["pageSize"], render)


FAMILY_ROW = {
    "fid": FID,
    "familyName": "Beach house",
    "familyLocation": "1 Ocean Drive",
    "familyCoordinates": "38.6979,-9.4215",
    "memberRole": 1,
    "addTime": 1_767_225_600_000,
    "addTimeTs": 1_767_225_600_000,
}
BATCH: dict[str, list[dict]] = {"successList": [], "failureList": []}


def _page_example(item: dict) -> dict:
    return views.page_info([item], 1, 10)


# ---- the switch ------------------------------------------------------------------------------


class EnabledParams(Params):
    enabled = described(Flag(5623), "true to turn on, false to turn off", True)


@family.endpoint("PUT", "enabledFamilyMode", EnabledParams, codes=(5623,), data=None, devices=None)
def enabled_family_mode(call: UserCall) -> None:
    """Turns home mode on or off for the caller (on the first time: a family of their own)."""
    families.enable_mode(call.world, call.user, **call.params)


@family.endpoint(
    "GET",
    "getFamilyModeConfig",
    None,
    codes=(),
    data={"enabledFamilyMode": True, "enabledAutoSwitch": False},
    devices=None,
)
def get_family_mode_config(call: UserCall) -> dict:
    """The caller's home-mode switch and automatic family switching."""
    return families.mode_config(call.user)


@family.endpoint("PUT", "enabledAutoSwitch", EnabledParams, codes=(5623, 5635), data=None, devices=None)
def enabled_auto_switch(call: UserCall) -> None:
    """Turns automatic family switching on or off (home mode must be on)."""
    families.enable_auto_switch(call.world, call.user, **call.params)


# ---- families --------------------------------------------------------------------------------


def _coordinates(what: str) -> Text:
    return described(Text(), f"{what}, WGS84 latitude,longitude", "38.6979,-9.4215")


class AddFamilyParams(Params):
    familyName = described(Text(missing=5613), "the family's name, at most 256 characters", "Beach house")
    familyLocation = described(Text(), "its address, at most 256 characters", "1 Ocean Drive")
    familyCoordinates = _coordinates("where it is")
    familyRoomList = described(Names(), "rooms to create with it, each name at most 30 characters", ["Kitchen"])


@family.endpoint(
    "POST",
    "addFamily",
    AddFamilyParams,
    codes=(5613, 5616, 5619, 5620, 5632, 5633, 5635, 5641, 5659, 5660, 5673, 5676),
    data=FAMILY_ROW,
    body="json",
    devices=None,
)
def add_family(call: UserCall) -> dict:
    """Creates a family with the caller as its creator (role 1), with rooms if given."""
    return families.add_family(call.world, call.user, **call.params)


class FidParams(Params):
    fid = _fid()


@family.endpoint(
    "DELETE", "deleteFamily", FidParams, codes=(5041, 5618, 5622, 5629, 5635, 6049), data=None, devices=None
)
def delete_family(call: UserCall) -> None:
    """The creator deletes a family (not their last one); its devices stay bound to their owners."""
    families.delete_family(call.world, call.user, **call.params)


class FamilyListParams(Params):
    page = _page()
    pageSize = _page_size()
    role = described(CommaList(), "only the families where the caller has these roles, comma-separated", "1,2")


@family.endpoint(
    "GET", "getFamilyList", FamilyListParams, codes=(5041, 5635), data=_page_example(FAMILY_ROW), devices=None
)
def get_family_list(call: UserCall) -> dict:
    """The caller's families, in the order they joined them, a page at a time."""
    rows = families.family_list(call.world, call.user, role=call.params.get("role"))
    return _page_of(rows, call.params)


class CurrentFamilyParams(Params):
    fid = described(Text(), "the family's id (default: see below)", FID)
    currentCoordinates = _coordinates("where the phone is (used with automatic switching)")


@family.endpoint(
    "GET", "getCurrentFamily", CurrentFamilyParams, codes=(5041, 5633, 5635), data=FAMILY_ROW, devices=None
)
def get_current_family(call: UserCall) -> dict:
    """The family named by fid, else the nearest (auto-switch), else the caller's oldest own family."""
    return families.current_family(call.world, call.user, **call.params)


class SetFamilyParams(Params):
    fid = _fid()
    familyName = described(Text(), "a new name, at most 256 characters", "Beach house")
    familyLocation = described(Text(), "a new address, at most 256 characters", "1 Ocean Drive")
    familyCoordinates = _coordinates("where it is")


@family.endpoint(
    "PUT",
    "setFamily",
    SetFamilyParams,
    codes=(5041, 5616, 5618, 5621, 5633, 5635, 5659, 5660, 6049),
    data=None,
    devices=None,
)
def set_family(call: UserCall) -> None:
    """Renames, moves or relocates a family (creator or admin)."""
    families.set_family(call.world, call.user, **call.params)


# ---- devices in families -----------------------------------------------------------------------


def _device_rows(call: UserCall, rows: list[families.Placed]) -> dict:
    return _page_of(rows, call.params, lambda placed: families.device_row(call.world, placed))


def _device_pages(sample: Any) -> list[dict]:
    """Family device rows of the documentation world: the creator's view (in a room, in none,
    one of their own outside the family), a member's view, and an empty page."""
    world = sample.world
    fay = world.users["C1004"]
    mine = families.family_devices(world, sample.owner, fid="F1001", isAddOwnerDevice=True)
    theirs = families.family_devices(world, fay, fid="F1001")
    return [
        views.page_info(mine, 1, 100, lambda p: families.device_row(world, p)),
        views.page_info(theirs, 1, 1, lambda p: families.device_row(world, p)),
        views.page_info([], 1, 10),
    ]


def _member_pages(sample: Any) -> list[dict]:
    rows = families.member_list(sample.world, sample.owner, fid="F1001")
    return [views.page_info(rows, 1, 10, lambda row: families.member_row(*row))]


class FamilyDeviceListParams(Params):
    fid = _fid()
    deviceName = described(Text(), "only devices whose name contains this (any case)", "lamp")
    isAddOwnerDevice = described(
        Flag(default=False), "true: the caller's own devices outside the family too, after the family's", False
    )
    pkList = described(CommaList(), "only devices of these Product Keys, comma-separated", "p11u5w")
    page = _page()
    pageSize = _page_size()
    isAssociation = _ignored(False)
    isGroupDeviceShow = _ignored(False)
    secondItemCode = _ignored()


@family.endpoint(
    "GET",
    "getFamilyDeviceList",
    FamilyDeviceListParams,
    codes=(5041, 5618, 5635, 5676),
    data=_device_pages,
    devices=None,
)
def get_family_device_list(call: UserCall) -> dict:
    """The family's devices, in the order they joined it, with room and frequently used marks."""
    p = call.params
    rows = families.family_devices(
        call.world,
        call.user,
        fid=p["fid"],
        deviceName=p.get("deviceName"),
        isAddOwnerDevice=p["isAddOwnerDevice"],
        pkList=p.get("pkList"),
    )
    return _device_rows(call, rows)


class DeviceInfoListParams(Params):
    deviceInfoList = described(
        JsonList(),
        "the request body: an array of {pk, dk, fid, deviceName, isCommonUsed, oldFrid, newFrid, shareCode, type}",
        [{"pk": "p11u5w", "dk": "LAMP00000001", "fid": FID, "newFrid": FRID, "isCommonUsed": True}],
    )


@family.endpoint(
    "PUT",
    "setDeviceInfo",
    DeviceInfoListParams,
    codes=(5041, 5635),
    data=BATCH,
    body="json",
    array="deviceInfoList",
    devices=None,
)
def set_device_info(call: UserCall) -> dict:
    """Per device: rename, place in or move between the family's rooms, mark frequently used."""
    items = _pairs(call.params["deviceInfoList"], "pk", "dk", "fid", "deviceName", "oldFrid", "newFrid", "shareCode")
    for item in items:
        item["isCommonUsed"] = _flag(item.get("isCommonUsed"))
    good = [i for i in items if i["pk"] and i["dk"]]
    result = families.set_device_info(call.world, call.user, deviceInfoList=good)
    for item in items:
        if not (item["pk"] and item["dk"]):
            code = 5066 if not item["pk"] else 5067
            result["failureList"].append(
                {"fid": item["fid"], "pk": item["pk"], "dk": item["dk"], "code": code, "msg": _msg(code)}
            )
    return result


def _flag(value: Any) -> bool | None:
    text = str(value).strip().lower() if value is not None else ""
    return True if text in Flag.TRUE else False if text in Flag.FALSE else None


def _msg(code: int) -> str:
    return QuectelError(code).msg


# ---- rooms -----------------------------------------------------------------------------------

ROOM_ROW = {"frid": FRID, "roomName": "Kitchen", "roomSort": 0, "addTime": 1_767_225_600_000}


class RoomListParams(Params):
    fid = _fid()
    page = _page()
    pageSize = _page_size()


@family.endpoint(
    "GET", "getFamilyRoomList", RoomListParams, codes=(5041, 5618, 5635), data=_page_example(ROOM_ROW), devices=None
)
def get_family_room_list(call: UserCall) -> dict:
    """The family's rooms in their sort order."""
    rooms = families.room_list(call.world, call.user, fid=call.params["fid"])
    return _page_of(rooms, call.params, families.room_row)


def _room_name() -> Text:
    return described(Text(missing=5640), "the room's name, at most 30 characters", "Kitchen")


class AddRoomParams(Params):
    fid = _fid()
    roomName = _room_name()


@family.endpoint(
    "POST",
    "addFamilyRoom",
    AddRoomParams,
    codes=(5041, 5618, 5620, 5635, 5640, 5641, 5642, 6049),
    data={"frid": FRID, "roomName": "Kitchen"},
    devices=None,
)
def add_family_room(call: UserCall) -> dict:
    """Adds a room to a family, last in order (creator or admin)."""
    return families.add_room(call.world, call.user, **call.params)


class SetRoomParams(Params):
    frid = _frid()
    roomName = _room_name()


@family.endpoint(
    "PUT",
    "setFamilyRoom",
    SetRoomParams,
    codes=(5041, 5620, 5635, 5637, 5640, 5641, 5642, 6049),
    data=None,
    devices=None,
)
def set_family_room(call: UserCall) -> None:
    """Renames a room (creator or admin)."""
    families.set_room(call.world, call.user, **call.params)


class RoomSortParams(Params):
    roomSortList = described(
        JsonList(),
        "the request body: an array of {frid, roomSort}; roomSort from 0, smaller first, each used once",
        [{"frid": FRID, "roomSort": 0}],
    )


@family.endpoint(
    "PUT",
    "setFamilyRoomSort",
    RoomSortParams,
    codes=(5002, 5003, 5007, 5041, 5635, 6049),
    data={"successList": [{"frid": FRID, "roomSort": 0}], "failureList": []},
    body="json",
    array="roomSortList",
    devices=None,
)
def set_family_room_sort(call: UserCall) -> dict:
    """Sets the order of rooms (creator or admin)."""
    items = call.params["roomSortList"]
    if not items:
        raise families.fail(5002)
    return families.set_room_sort(call.world, call.user, roomSortList=items)


class MoveParams(Params):
    deviceRoomList = described(
        JsonList(),
        "the request body: an array of {pk, dk, newFrid, oldFrid}",
        [{"pk": "p11u5w", "dk": "LAMP00000001", "newFrid": FRID, "oldFrid": ""}],
    )


@family.endpoint(
    "POST",
    "addDeviceInFamilyRoom",
    MoveParams,
    codes=(5635, 5637, 5663),
    data={"successList": [], "failureList": []},
    body="json",
    array="deviceRoomList",
    devices=None,
)
def add_device_in_family_room(call: UserCall) -> dict:
    """Moves devices of the family into a room (creator or admin)."""
    items = _pairs(call.params["deviceRoomList"], "pk", "dk", "newFrid", "oldFrid")
    return families.move_devices(call.world, call.user, deviceRoomList=items)


class RoomDeviceListParams(Params):
    frid = _frid()
    page = _page()
    pageSize = _page_size()
    isGroupDeviceShow = _ignored(False)


@family.endpoint(
    "GET",
    "getFamilyRoomDeviceList",
    RoomDeviceListParams,
    codes=(5635, 5637, 5676, 6052),
    data=_device_pages,
    devices=None,
)
def get_family_room_device_list(call: UserCall) -> dict:
    """The devices in one room, in the order they came into it."""
    return _device_rows(call, families.room_devices(call.world, call.user, frid=call.params["frid"]))


class DeleteRoomsParams(Params):
    fridList = described(JsonList(5637), "the request body: an array of room ids", [FRID])


@family.endpoint(
    "DELETE",
    "deleteFamilyRoom",
    DeleteRoomsParams,
    codes=(5635, 5637),
    data={"successList": [{"frid": FRID}], "failureList": []},
    body="json",
    array="fridList",
    devices=None,
)
def delete_family_room(call: UserCall) -> dict:
    """Deletes rooms (creator or admin); their devices stay in the family, in no room."""
    frids = [frid for frid in map(_text, call.params["fridList"]) if frid]
    if len(frids) != len(call.params["fridList"]):
        raise QuectelError(5637)  # an empty or non-text room id
    return families.delete_rooms(call.world, call.user, fridList=frids)


# ---- the frequently used list -------------------------------------------------------------------


class CommonListParams(Params):
    fid = _fid()
    page = _page()
    pageSize = _page_size()
    isGroupDeviceShow = _ignored(False)


@family.endpoint(
    "GET",
    "getCommonUsedDeviceList",
    CommonListParams,
    codes=(5041, 5618, 5635, 5676),
    data=_device_pages,
    devices=None,
)
def get_common_used_device_list(call: UserCall) -> dict:
    """The family's frequently used devices (the home screen of the apps in home mode)."""
    return _device_rows(call, families.common_devices(call.world, call.user, fid=call.params["fid"]))


class CommonParams(Params):
    fid = _fid()
    deviceList = described(JsonList(), "the devices, an array of {pk, dk}", [{"pk": "p11u5w", "dk": "LAMP00000001"}])


@family.endpoint(
    "POST",
    "addCommonUsedDevice",
    CommonParams,
    codes=(5041, 5066, 5067, 5618, 5635, 5676),
    data=BATCH,
    body="json",
    devices=None,
)
def add_common_used_device(call: UserCall) -> dict:
    """Puts devices of the family on its frequently used list (any member)."""
    items = _device_keys(call.params["deviceList"])
    return families.add_common(call.world, call.user, fid=call.params["fid"], deviceList=items)


@family.endpoint(
    "DELETE",
    "deleteCommonUsedDevice",
    CommonParams,
    codes=(5041, 5066, 5067, 5618, 5635),
    data=BATCH,
    body="json",
    devices=None,
)
def delete_common_used_device(call: UserCall) -> dict:
    """Takes devices off the family's frequently used list (any member)."""
    items = _device_keys(call.params["deviceList"])
    return families.delete_common(call.world, call.user, fid=call.params["fid"], deviceList=items)


# ---- members and invitations --------------------------------------------------------------------


def _member_fid() -> Text:
    return _fid(missing=5636)


def _member_uid() -> Text:
    return described(Text(missing=5656), "the member's uid", "C1002")


def _member_name(example: str = "Rui") -> Text:
    return described(Text(missing=5648), "the member's name in this family, at most 256 characters", example)


def _role(what: str) -> Choice:
    return described(Choice((1, 2, 3), invalid=5658, missing=5645), what, 3)


class InviteParams(Params):
    fid = _member_fid()
    invalidTime = described(
        Timestamp(missing=5646), "when the invitation expires, epoch milliseconds (in the future)", 1_767_229_200_000
    )
    memberName = _member_name()
    memberRole = _role("the role offered: 2 admin, 3 regular member")
    uid = described(Text(), "the invitee's uid (looked up first)", "C1002")
    phone = described(Text(), "the invitee's phone, when no uid is given", "13800000002")
    email = described(Text(), "the invitee's e-mail, when neither uid nor phone is given", "recipient@example.com")
    inviteTime = _ignored()
    acceptTime = _ignored()


@family.endpoint(
    "POST",
    "inviteFamilyMember",
    InviteParams,
    codes=(5019, 5041, 5145, 5628, 5635, 5636, 5638, 5645, 5646, 5647, 5648, 5649, 5650, 5651, 5653, 5658),
    data=None,
    devices=None,
)
def invite_family_member(call: UserCall) -> None:
    """Invites a user, by uid, phone or e-mail, to join a family (creator or admin)."""
    p = call.params
    families.invite(
        call.world,
        call.user,
        fid=p["fid"],
        invalidTime=p["invalidTime"],
        memberName=p["memberName"],
        memberRole=p["memberRole"],
        uid=p.get("uid"),
        phone=p.get("phone"),
        email=p.get("email"),
    )


class MemberRoleParams(Params):
    fid = _member_fid()
    memberUid = _member_uid()
    memberRole = _role("the new role: 2 admin, 3 regular member")


@family.endpoint(
    "PUT",
    "setFamilyMemberRole",
    MemberRoleParams,
    codes=(5041, 5628, 5635, 5636, 5638, 5645, 5648, 5656, 5657, 5658, 6049),
    data=None,
    devices=None,
)
def set_family_member_role(call: UserCall) -> None:
    """Changes another member's role (creator, or an admin for regular members)."""
    families.set_member_role(call.world, call.user, **call.params)


class MemberNameParams(Params):
    fid = _member_fid()
    memberUid = _member_uid()
    memberName = _member_name()


@family.endpoint(
    "PUT",
    "setFamilyMemberName",
    MemberNameParams,
    codes=(5041, 5628, 5635, 5636, 5638, 5648, 5649, 5650, 5656, 6049, 6053),
    data=None,
    devices=None,
)
def set_family_member_name(call: UserCall) -> None:
    """Changes a member's name in the family (creator or admin)."""
    families.set_member_name(call.world, call.user, **call.params)


class MemberParams(Params):
    fid = _member_fid()
    memberUid = _member_uid()


@family.endpoint(
    "DELETE",
    "deleteFamilyMember",
    MemberParams,
    codes=(5635, 5636, 5638, 5656, 5658, 5671, 5679, 6054),
    data=None,
    devices=None,
)
def delete_family_member(call: UserCall) -> None:
    """Removes a member (creator, or an admin for regular members): their access ends at once."""
    families.delete_member(call.world, call.user, **call.params)


class MemberListParams(Params):
    fid = _member_fid()
    page = _page()
    pageSize = _page_size()


@family.endpoint(
    "GET",
    "getFamilyMemberList",
    MemberListParams,
    codes=(5041, 5628, 5635, 5636, 5658),
    data=_member_pages,
    devices=None,
)
def get_family_member_list(call: UserCall) -> dict:
    """Every member of the family, the creator first, with their profile."""
    rows = families.member_list(call.world, call.user, fid=call.params["fid"])
    return _page_of(rows, call.params, lambda row: families.member_row(*row))


class PageParams(Params):
    page = _page()
    pageSize = _page_size()


INVITE_ROW = {
    "fid": FID,
    "familyName": "Beach house",
    "familyLocation": "1 Ocean Drive",
    "familyCoordinates": "38.6979,-9.4215",
    "addTime": "2026-01-01 00:00:00",
    "addTimeTs": 1_767_225_600_000,
    "invalidTime": "2026-01-01 01:00:00",
}


@family.endpoint("GET", "getFamilyInviteList", PageParams, codes=(), data=_page_example(INVITE_ROW), devices=None)
def get_family_invite_list(call: UserCall) -> dict:
    """The caller's open invitations, newest first (home mode not needed)."""
    return _page_of(families.invite_list(call.world, call.user), call.params)


class HandleParams(Params):
    decide = described(Choice((0, 1), invalid=5655, missing=5654), "1 accept, 0 decline", 1)
    fid = _member_fid()


@family.endpoint("POST", "familyMemberInviteHandle", HandleParams, codes=(5636, 5654, 5655), data=None, devices=None)
def family_member_invite_handle(call: UserCall) -> None:
    """Accepts (joining with the offered role and name) or declines an invitation."""
    families.handle_invite(call.world, call.user, **call.params)


class LeaveParams(Params):
    fid = _member_fid()


@family.endpoint("DELETE", "leaveFamily", LeaveParams, codes=(5635, 5636, 5661, 5671), data=None, devices=None)
def leave_family(call: UserCall) -> None:
    """Leaves a family (not one's own): its devices are no longer the caller's to use."""
    families.leave(call.world, call.user, **call.params)
