"""Home mode: the per-user switch, families, rooms, members, invitations and the devices a
family holds (behaviour.md §6; the endpoints are in account-family-binding-facts.md §2).

Each public function is one endpoint's domain step, taking keyword arguments named like the
endpoint's parameters. Presence of parameters has been checked by the request schema; the
formats, ranges, permissions and state are checked here, in that order. Who may *use* a device
through a family is decided in access.py; this module only keeps the records it reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .access import DeviceView, find_view, still_placed
from .devices import display_name
from .errors import QuectelError
from .models import (
    Device,
    Family,
    FamilyDevice,
    FamilyDeviceType,
    Invitation,
    Member,
    Role,
    Room,
    ShareStatus,
    User,
)
from .store import Cloud
from .things import ascii_digits
from .views import device_details, share_user_info, time_string

NAME_MAX = 256  # family name, address, member name (5659, 5660, 5649)
ROOM_NAME_MAX = 30  # 5641
NEAR_METRES = 1000  # getCurrentFamily with auto-switch: a family this close counts as here
COORDINATES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")
PHONE = re.compile(r"^\+?\d{5,20}$")

# The family service's own texts where the shared table says something else for the code
# (codes are per service: 5002/5003/5007 mean other things on registration).
MESSAGES: dict[int, str] = {
    5002: "Please enter room sort information",
    5003: "Room sorting failed",
    5007: "Room sequence number duplicated",
}


def fail(code: int) -> QuectelError:
    return QuectelError(code, MESSAGES.get(code))


# ---- the switch ------------------------------------------------------------------------------


def enable_mode(cloud: Cloud, user: User, *, enabled: bool) -> None:
    """Home mode on or off. The first time it goes on for a user who belongs to no family,
    a family is made for them holding every device they own; off keeps everything."""
    user.home_mode = enabled
    if enabled and not cloud.families_of.get(user.uid):
        family = _new_family(cloud, user, cloud.settings.default_family_name, "", "")
        for device in list(cloud.owned.get(user.uid, {}).values()):
            _place(cloud, family, device, user.uid, FamilyDeviceType.FAMILY)
    if not enabled:
        user.auto_switch = False


def mode_config(user: User) -> dict:
    return {"enabledFamilyMode": user.home_mode, "enabledAutoSwitch": user.auto_switch}


def enable_auto_switch(cloud: Cloud, user: User, *, enabled: bool) -> None:
    _home_mode(user)
    user.auto_switch = enabled


def _home_mode(user: User) -> None:
    if not user.home_mode:
        raise QuectelError(5635)


# ---- checks shared by several endpoints --------------------------------------------------------


def _coordinates(text: str | None) -> tuple[float, float] | None:
    """`lat,lng` (WGS84); 5633 when malformed or out of range, None when not given."""
    if not text:
        return None
    match = COORDINATES.match(text)
    if not match:
        raise QuectelError(5633)
    lat, lng = float(match[1]), float(match[2])
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise QuectelError(5633)
    return lat, lng


def _family_texts(name: str | None, location: str | None, coordinates: str | None) -> None:
    if name is not None and len(name) > NAME_MAX:
        raise QuectelError(5659)
    if location is not None and len(location) > NAME_MAX:
        raise QuectelError(5660)
    _coordinates(coordinates)


def _membership(cloud: Cloud, user: User, fid: str, code: int = 5041) -> tuple[Family, Member]:
    """The family `fid` and the caller's membership of it; `code` when they are not a member
    (or there is no such family: to a caller the two look the same)."""
    family = cloud.families.get(fid)
    member = None if family is None else family.members.get(user.uid)
    if family is None or member is None:
        raise QuectelError(code)
    return family, member


def _not_regular(member: Member, code: int) -> None:
    if member.role == Role.REGULAR:
        raise QuectelError(code)


def _room_of(cloud: Cloud, user: User, frid: str, code: int = 5041) -> tuple[Family, Member, Room]:
    """The room `frid` in a family the caller is a member of; `code` otherwise."""
    for fid in sorted(cloud.families_of.get(user.uid, ())):
        family = cloud.families[fid]
        for room in family.rooms:
            if room.frid == frid:
                return family, family.members[user.uid], room
    raise QuectelError(code)


def _name_taken(family: Family, name: str, but: str | None = None) -> bool:
    names = {m.name for uid, m in family.members.items() if uid != but}
    return name in names or any(i.name == name and i.uid != but for i in family.invitations)


# ---- families --------------------------------------------------------------------------------


def _new_family(cloud: Cloud, creator: User, name: str, location: str, coordinates: str) -> Family:
    now = cloud.now()
    family = Family(
        fid=cloud.new_home_id("f_"),
        name=name,
        owner_uid=creator.uid,
        location=location,
        coordinates=coordinates,
        add_time=now,
    )
    family.members[creator.uid] = Member(creator.uid, Role.CREATOR, creator.nickname or creator.uid, now)
    cloud.add_family(family)
    return family


def _own_names(cloud: Cloud, uid: str, but: str | None = None) -> set[str]:
    """The names of the families `uid` created: a creator's family names are unique (5616)."""
    return {
        cloud.families[fid].name
        for fid in cloud.families_of.get(uid, ())
        if cloud.families[fid].owner_uid == uid and fid != but
    }


def add_family(
    cloud: Cloud,
    user: User,
    *,
    familyName: str,
    familyLocation: str | None = None,
    familyCoordinates: str | None = None,
    familyRoomList: list[str] | None = None,
) -> dict:
    _family_texts(familyName, familyLocation, familyCoordinates)
    rooms = [name.strip() for name in familyRoomList or [] if name.strip()]
    if any(len(name) > ROOM_NAME_MAX for name in rooms):
        raise QuectelError(5641)
    if len(set(rooms)) != len(rooms):
        raise QuectelError(5673)
    _home_mode(user)
    if familyName in _own_names(cloud, user.uid):
        raise QuectelError(5616)
    family = _new_family(cloud, user, familyName, familyLocation or "", familyCoordinates or "")
    for name in rooms:
        _new_room(cloud, family, name)
    return family_row(family, Role.CREATOR)


def family_row(family: Family, role: int) -> dict:
    """A family as addFamily, getFamilyList and getCurrentFamily show it to a member."""
    return {
        "fid": family.fid,
        "familyName": family.name,
        "familyLocation": family.location,
        "familyCoordinates": family.coordinates,
        "memberRole": int(role),
        "addTime": family.add_time,
        "addTimeTs": family.add_time,
    }


def delete_family(cloud: Cloud, user: User, *, fid: str) -> None:
    """Only the creator deletes a family (6049 for a regular member, 5041 for an admin), and
    never the last family they created (5629). Devices stay bound to their owners."""
    _home_mode(user)
    family, member = _membership(cloud, user, fid)
    _not_regular(member, 6049)
    if member.role != Role.CREATOR:
        raise QuectelError(5041)
    if _created_count(cloud, user.uid) <= 1:
        raise QuectelError(5629)
    drop_family(cloud, family)


def _created_count(cloud: Cloud, uid: str) -> int:
    return sum(1 for fid in cloud.families_of.get(uid, ()) if cloud.families[fid].owner_uid == uid)


def drop_family(cloud: Cloud, family: Family) -> None:
    """Remove a family with its rooms, list, memberships and invitations: access through it
    ends at once."""
    for uid in family.members:
        _unindex(cloud.families_of, uid, family.fid)
    for held in family.devices:
        _unindex(cloud.families_holding, (held.pk, held.dk), family.fid)
    for invitation in family.invitations:
        _unindex(cloud.invited_to, invitation.uid, family.fid)
    del cloud.families[family.fid]


def _unindex(index: dict, key: object, fid: str) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(fid)
        if not bucket:
            del index[key]


def _my_families(cloud: Cloud, user: User) -> list[tuple[Family, Member]]:
    """The caller's families, in the order they joined them."""
    rows = [(cloud.families[fid], cloud.families[fid].members[user.uid]) for fid in cloud.families_of.get(user.uid, ())]
    return sorted(rows, key=lambda row: (row[1].accept_time, row[0].add_time, row[0].fid))


def family_list(cloud: Cloud, user: User, *, role: list[str] | None = None) -> list[dict]:
    _home_mode(user)
    wanted = {int(r) for r in role or [] if ascii_digits(r)}
    return [family_row(f, m.role) for f, m in _my_families(cloud, user) if not wanted or m.role in wanted]


def current_family(cloud: Cloud, user: User, *, fid: str | None = None, currentCoordinates: str | None = None) -> dict:
    """The family named by fid; else, with auto-switch and a position, the caller's nearest
    family within a kilometre; else their oldest own family, else the first they joined."""
    here = _coordinates(currentCoordinates)
    _home_mode(user)
    if fid:
        family, member = _membership(cloud, user, fid)
        return family_row(family, member.role)
    mine = _my_families(cloud, user)
    if not mine:
        raise QuectelError(5041)
    if user.auto_switch and here is not None:
        near = [(_distance(here, f), f, m) for f, m in mine if f.coordinates and _distance(here, f) <= NEAR_METRES]
        if near:
            _, family, member = min(near, key=lambda row: row[0])
            return family_row(family, member.role)
    own = [(f, m) for f, m in mine if m.role == Role.CREATOR]
    family, member = min(own, key=lambda row: (row[0].add_time, row[0].fid)) if own else mine[0]
    return family_row(family, member.role)


def _distance(here: tuple[float, float], family: Family) -> float:
    """Metres between `here` and the family's coordinates (haversine); a family with none, or
    with coordinates no phone could be at (a scenario's), is nowhere near."""
    try:
        there = _coordinates(family.coordinates)
    except QuectelError:
        there = None
    if there is None:
        return math.inf
    lat1, lng1, lat2, lng2 = map(math.radians, (*here, *there))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def set_family(
    cloud: Cloud,
    user: User,
    *,
    fid: str,
    familyName: str | None = None,
    familyLocation: str | None = None,
    familyCoordinates: str | None = None,
) -> None:
    _family_texts(familyName, familyLocation, familyCoordinates)
    _home_mode(user)
    family, member = _membership(cloud, user, fid)
    _not_regular(member, 6049)
    if familyName is not None and familyName in _own_names(cloud, family.owner_uid, but=fid):
        raise QuectelError(5616)
    if familyName is not None:
        family.name = familyName
    if familyLocation is not None:
        family.location = familyLocation
    if familyCoordinates is not None:
        family.coordinates = familyCoordinates


# ---- rooms -----------------------------------------------------------------------------------


def _new_room(cloud: Cloud, family: Family, name: str) -> Room:
    sort = max((r.sort for r in family.rooms), default=-1) + 1
    room = Room(cloud.new_home_id("r_"), name, sort, cloud.now())
    family.rooms.append(room)
    return room


def room_row(room: Room) -> dict:
    return {"frid": room.frid, "roomName": room.name, "roomSort": room.sort, "addTime": room.add_time}


def room_list(cloud: Cloud, user: User, *, fid: str) -> list[Room]:
    _home_mode(user)
    family, _ = _membership(cloud, user, fid)
    return list(family.rooms)


def _room_name(name: str) -> None:
    if len(name) > ROOM_NAME_MAX:
        raise QuectelError(5641)


def add_room(cloud: Cloud, user: User, *, fid: str, roomName: str) -> dict:
    _room_name(roomName)
    _home_mode(user)
    family, member = _membership(cloud, user, fid)
    _not_regular(member, 6049)
    if any(r.name == roomName for r in family.rooms):
        raise QuectelError(5642)
    room = _new_room(cloud, family, roomName)
    return {"frid": room.frid, "roomName": room.name}


def set_room(cloud: Cloud, user: User, *, frid: str, roomName: str) -> None:
    _room_name(roomName)
    _home_mode(user)
    family, member, room = _room_of(cloud, user, frid)
    _not_regular(member, 6049)
    if any(r.name == roomName and r.frid != frid for r in family.rooms):
        raise QuectelError(5642)
    room.name = roomName


def set_room_sort(cloud: Cloud, user: User, *, roomSortList: list) -> dict:
    """Each item {frid, roomSort}: 5003 a malformed item, 5007 a number used twice; then the
    caller's rights over every room named (5041 not theirs, 6049 a regular member)."""
    items = []
    for item in roomSortList:
        frid = item.get("frid") if isinstance(item, dict) else None
        sort = item.get("roomSort") if isinstance(item, dict) else None
        if isinstance(sort, str) and ascii_digits(sort):
            sort = int(sort)
        if not isinstance(frid, str) or not frid or isinstance(sort, bool) or not isinstance(sort, int) or sort < 0:
            raise fail(5003)
        items.append((frid, sort))
    if len({sort for _, sort in items}) != len(items) or len({frid for frid, _ in items}) != len(items):
        raise fail(5007)
    _home_mode(user)
    targets = []
    for frid, sort in items:
        family, member, room = _room_of(cloud, user, frid)
        _not_regular(member, 6049)
        targets.append((family, room, sort))
    for _family, room, sort in targets:
        room.sort = sort
    for family in {id(f): f for f, _, _ in targets}.values():
        family.rooms.sort(key=lambda r: r.sort)
    return {"successList": [{"frid": frid, "roomSort": sort} for frid, sort in items], "failureList": []}


def delete_rooms(cloud: Cloud, user: User, *, fridList: list[str]) -> dict:
    """Each room the caller may change goes; its devices stay in the family, in no room."""
    _home_mode(user)
    success, failure = [], []
    for frid in fridList:
        try:
            family, member, room = _room_of(cloud, user, frid)
            _not_regular(member, 6049)
        except QuectelError as refused:
            failure.append({"frid": frid, "code": refused.code, "msg": refused.msg})
            continue
        family.rooms.remove(room)
        for held in family.devices:
            if held.frid == frid:
                held.frid = None
        success.append({"frid": frid})
    return {"successList": success, "failureList": failure}


# ---- devices in families -----------------------------------------------------------------------


def _entry(family: Family, pk: str, dk: str) -> FamilyDevice | None:
    return next((h for h in family.devices if h.pk == pk and h.dk == dk), None)


def _place(
    cloud: Cloud, family: Family, device: Device, uid: str, kind: FamilyDeviceType, share_code: str | None = None
) -> FamilyDevice:
    """Put a device in a family (or find it there), placed by `uid`. A device is in one family
    of those its placer belongs to: placing it here takes it out of the others."""
    held = _entry(family, device.pk, device.dk)
    if held is not None and still_placed(cloud, held):
        return held
    if held is not None:
        family.devices.remove(held)
    for fid in list(cloud.families_holding.get(device.key, ())):
        other = cloud.families[fid]
        for old in [h for h in other.devices if h.pk == device.pk and h.dk == device.dk and h.placed_by == uid]:
            _drop_device(cloud, other, old)
    held = FamilyDevice(device.pk, device.dk, uid, int(kind), cloud.now(), share_code=share_code)
    family.devices.append(held)
    cloud.families_holding[device.key].add(family.fid)
    return held


def place_device(cloud: Cloud, family: Family, device: Device, uid: str, frid: str | None = None) -> FamilyDevice:
    """For binding into a family (bind with fid/frid): the owner `uid` puts their device in
    `family`, in room `frid` when given."""
    held = _place(cloud, family, device, uid, FamilyDeviceType.FAMILY)
    if frid is not None:
        _into_room(cloud, held, frid)
    return held


def binding_family(cloud: Cloud, user: User, fid: str, frid: str | None) -> Family:
    """The family a device is being bound into (bind with fid): home mode on (5624), a member
    (5041), not a regular member (5669), and `frid` one of its rooms (5041)."""
    if not user.home_mode:
        raise fail(5624)
    family, member = _membership(cloud, user, fid)
    _not_regular(member, 5669)
    if frid is not None and all(room.frid != frid for room in family.rooms):
        raise fail(5041)
    return family


def _into_room(cloud: Cloud, held: FamilyDevice, frid: str) -> None:
    if held.frid != frid:
        held.frid, held.room_time = frid, cloud.now()


def _standing(cloud: Cloud, family: Family) -> list[FamilyDevice]:
    return [h for h in family.devices if still_placed(cloud, h)]


@dataclass(frozen=True)
class Placed:
    """A device as a family list shows it to one member: their view of it, and its place in
    the family (held None: the caller's own device, not in the family)."""

    view: DeviceView
    family: Family
    held: FamilyDevice | None

    @property
    def room(self) -> Room | None:
        frid = self.held.frid if self.held else None
        return next((r for r in self.family.rooms if r.frid == frid), None) if frid else None


def _rows(cloud: Cloud, user: User, family: Family, held: Iterable[FamilyDevice]) -> list[Placed]:
    rows = []
    for entry in held:
        device = cloud.devices[(entry.pk, entry.dk)]
        view = find_view(cloud, user.uid, entry.pk, entry.dk) or DeviceView(device, family=family.fid)
        rows.append(Placed(view, family, entry))
    return rows


def device_row(cloud: Cloud, placed: Placed) -> dict:
    """A family device row: the userDeviceList row plus roomName, isCommonUsed, commonUsed
    and type, with fid and frid of this family."""
    data = device_details(cloud, placed.view)
    room = placed.room
    common = bool(placed.held and placed.held.common)
    data.update(
        fid=placed.family.fid if placed.held else None,
        frid=room.frid if room else None,
        roomName=room.name if room else None,
        isCommonUsed=common,
        commonUsed=common,
        type=type_of(placed.held, placed.view),
    )
    return data


def _named(row: Placed, name: str | None, pk_list: list[str] | None) -> bool:
    view = row.view
    if name and name.lower() not in display_name(view).lower():
        return False
    return not pk_list or view.device.pk in pk_list


def family_devices(
    cloud: Cloud,
    user: User,
    *,
    fid: str,
    deviceName: str | None = None,
    isAddOwnerDevice: bool = False,
    pkList: list[str] | None = None,
) -> list[Placed]:
    """The family's devices in the order they joined; with isAddOwnerDevice, then the
    caller's own devices that are not in it."""
    _home_mode(user)
    family, _ = _membership(cloud, user, fid)
    held = _standing(cloud, family)
    rows = _rows(cloud, user, family, held)
    if isAddOwnerDevice:
        inside = {(h.pk, h.dk) for h in held}
        for device in cloud.owned.get(user.uid, {}).values():
            if device.key not in inside:
                rows.append(Placed(DeviceView(device), family, None))
    return [row for row in rows if _named(row, deviceName, pkList)]


def room_devices(cloud: Cloud, user: User, *, frid: str) -> list[Placed]:
    _home_mode(user)
    family, _, room = _room_of(cloud, user, frid, code=6052)
    inside = [h for h in _standing(cloud, family) if h.frid == room.frid]
    return _rows(cloud, user, family, sorted(inside, key=lambda h: h.room_time))  # in the order they came in


def common_devices(cloud: Cloud, user: User, *, fid: str) -> list[Placed]:
    _home_mode(user)
    family, _ = _membership(cloud, user, fid)
    return _rows(cloud, user, family, [h for h in _standing(cloud, family) if h.common])


def _set_common(cloud: Cloud, user: User, fid: str, devices: list[dict], common: bool) -> dict:
    _home_mode(user)
    family, _ = _membership(cloud, user, fid)
    success, failure = [], []
    for item in devices:
        held = _entry(family, item["pk"], item["dk"])
        keys = {"pk": item["pk"], "dk": item["dk"]}
        if held is None or not still_placed(cloud, held):
            failure.append({**keys, "code": 5041, "msg": "Device is not in this family"})
            continue
        held.common = common
        success.append(keys)
    return {"successList": success, "failureList": failure}


def add_common(cloud: Cloud, user: User, *, fid: str, deviceList: list[dict]) -> dict:
    return _set_common(cloud, user, fid, deviceList, True)


def delete_common(cloud: Cloud, user: User, *, fid: str, deviceList: list[dict]) -> dict:
    return _set_common(cloud, user, fid, deviceList, False)


def move_devices(cloud: Cloud, user: User, *, deviceRoomList: list[dict]) -> dict:
    """addDeviceInFamilyRoom: each {pk, dk, newFrid, oldFrid}; a failure per item that cannot
    move (5041 room or device not the caller's family's, 6049 a regular member)."""
    for item in deviceRoomList:
        if not item.get("newFrid"):
            raise QuectelError(5637)
        if item.get("oldFrid") and item["oldFrid"] == item["newFrid"]:
            raise QuectelError(5663)
    _home_mode(user)
    success, failure = [], []
    for item in deviceRoomList:
        row = {"oldFrid": item.get("oldFrid"), "nFrid": item["newFrid"], "pk": item["pk"], "dk": item["dk"]}
        try:
            family, member, room = _room_of(cloud, user, item["newFrid"])
            _not_regular(member, 6049)
            held = _entry(family, item["pk"], item["dk"])
            if held is None or not still_placed(cloud, held):
                raise QuectelError(5041)
        except QuectelError as refused:
            failure.append({**row, "code": refused.code, "msg": refused.msg})
            continue
        _into_room(cloud, held, room.frid)
        success.append({**row, "code": 200, "msg": ""})
    return {"successList": success, "failureList": failure}


def set_device_info(cloud: Cloud, user: User, *, deviceInfoList: list[dict]) -> dict:
    """Family setDeviceInfo, per item: rename (the owner's name, or a recipient's own name with
    the shareCode), put in or move between rooms of `fid`, mark frequently used. A device the
    caller owns joins the family as type 1; one shared with them, as type 2."""
    _home_mode(user)
    success, failure = [], []
    for item in deviceInfoList:
        keys = {"fid": item.get("fid"), "pk": item["pk"], "dk": item["dk"]}
        try:
            _set_one(cloud, user, item)
        except QuectelError as refused:
            failure.append({**keys, "code": refused.code, "msg": refused.msg})
            continue
        success.append(keys)
    return {"successList": success, "failureList": failure}


def _set_one(cloud: Cloud, user: User, item: dict) -> None:
    view = find_view(cloud, user.uid, item["pk"], item["dk"])
    if view is None:
        raise QuectelError(5041)
    moves = item.get("newFrid") is not None or item.get("oldFrid") is not None
    if item.get("deviceName"):
        _rename(cloud, user, view, item)
    fid = item.get("fid")
    if not fid:
        if moves or item.get("isCommonUsed") is not None:
            raise QuectelError(5618)
        return
    family, member = _membership(cloud, user, fid)
    if moves:
        _not_regular(member, 6049)
    held = _entry(family, item["pk"], item["dk"])
    if held is None or not still_placed(cloud, held):
        held = _join(cloud, user, family, member, view)
    if item.get("newFrid"):
        room = next((r for r in family.rooms if r.frid == item["newFrid"]), None)
        if room is None:
            raise QuectelError(5041)
        _into_room(cloud, held, room.frid)
    elif item.get("oldFrid") is not None and held.frid == item["oldFrid"]:
        held.frid = None
    if item.get("isCommonUsed") is not None:
        held.common = bool(item["isCommonUsed"])


def _join(cloud: Cloud, user: User, family: Family, member: Member, view: DeviceView) -> FamilyDevice:
    if view.owned:
        _not_regular(member, 6049)
        return _place(cloud, family, view.device, user.uid, FamilyDeviceType.FAMILY)
    if view.share is not None:
        return _place(cloud, family, view.device, user.uid, FamilyDeviceType.SHARED, view.share.code)
    raise QuectelError(5041)


def _rename(cloud: Cloud, user: User, view: DeviceView, item: dict) -> None:
    name = item["deviceName"]
    if len(name) > cloud.settings.device_name_max:
        raise QuectelError(5333)
    if view.owned:
        view.device.name = name
        return
    share = cloud.find_share(item.get("shareCode") or "")
    if share is None or share.status is not ShareStatus.ACTIVE or share.recipient_uid != user.uid:
        raise QuectelError(5041)
    share.device_name = name


def type_of(held: FamilyDevice | None, view: DeviceView) -> int:
    if held is not None:
        return held.type
    return int(FamilyDeviceType.SHARED if view.share is not None else FamilyDeviceType.FAMILY)


# ---- members and invitations --------------------------------------------------------------------


def _invitee(cloud: Cloud, uid: str | None, phone: str | None, email: str | None) -> User:
    if uid:
        found = cloud.users.get(uid)
    elif phone:
        found = cloud.users_by_phone.get(phone)
    else:
        found = cloud.users_by_email.get((email or "").lower())
    if found is None:
        raise QuectelError(5628)
    return found


def pending(cloud: Cloud, family: Family) -> list[Invitation]:
    """The family's invitations still open on the clock; those past their expiry go."""
    now = cloud.now()
    for invitation in [i for i in family.invitations if i.invalid_time <= now]:
        _drop_invitation(cloud, family, invitation)
    return list(family.invitations)


def _drop_invitation(cloud: Cloud, family: Family, invitation: Invitation) -> None:
    family.invitations.remove(invitation)
    if not any(i.uid == invitation.uid for i in family.invitations):
        _unindex(cloud.invited_to, invitation.uid, family.fid)


def invite(
    cloud: Cloud,
    user: User,
    *,
    fid: str,
    invalidTime: int,
    memberName: str,
    memberRole: int,
    uid: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> None:
    if len(memberName) > NAME_MAX:
        raise QuectelError(5649)
    if memberRole not in (Role.ADMIN, Role.REGULAR):
        raise QuectelError(5658)
    if phone and not PHONE.match(phone):
        raise QuectelError(5019)
    if not (uid or phone or email):
        raise QuectelError(5651)
    if invalidTime <= cloud.now():
        raise QuectelError(5647)
    _home_mode(user)
    family, member = _membership(cloud, user, fid)
    _not_regular(member, 5638)
    invitee = _invitee(cloud, uid, phone, email)
    if invitee.uid in family.members or any(i.uid == invitee.uid for i in pending(cloud, family)):
        raise QuectelError(5653)
    if _name_taken(family, memberName):
        raise QuectelError(5650)
    family.invitations.append(Invitation(invitee.uid, memberRole, memberName, cloud.now(), invalidTime))
    cloud.invited_to[invitee.uid].add(family.fid)


def invite_list(cloud: Cloud, user: User) -> list[dict]:
    """The caller's open invitations, newest first (home mode not needed)."""
    rows = []
    for fid in list(cloud.invited_to.get(user.uid, ())):
        family = cloud.families[fid]
        for invitation in pending(cloud, family):
            if invitation.uid == user.uid:
                rows.append((invitation, family))
    rows.sort(key=lambda row: (row[0].add_time, row[1].fid), reverse=True)
    return [invite_row(invitation, family) for invitation, family in rows]


def invite_row(invitation: Invitation, family: Family) -> dict:
    """An invitation as getFamilyInviteList shows it: the family, and the invitation's times
    (addTime as text there, as the SDK's model types it)."""
    row = family_row(family, invitation.role)
    del row["memberRole"]
    row.update(
        addTime=time_string(invitation.add_time),
        addTimeTs=invitation.add_time,
        invalidTime=time_string(invitation.invalid_time),
    )
    return row


def handle_invite(cloud: Cloud, user: User, *, fid: str, decide: int) -> None:
    """1 joins with the offered role and name, 0 declines; 5655 with no open invitation."""
    family = cloud.families.get(fid)
    mine = None if family is None else next((i for i in pending(cloud, family) if i.uid == user.uid), None)
    if family is None or mine is None:
        raise QuectelError(5655)
    _drop_invitation(cloud, family, mine)
    if decide == 1:
        family.members[user.uid] = Member(user.uid, mine.role, mine.name, cloud.now(), mine.invalid_time)
        cloud.families_of[user.uid].add(family.fid)


def expire_invitation(cloud: Cloud, fid: str, uid: str) -> None:
    """Close an open invitation now, as if the clock had reached its expiry (control API)."""
    family = cloud.families.get(fid)
    mine = None if family is None else next((i for i in pending(cloud, family) if i.uid == uid), None)
    if family is None or mine is None:
        raise QuectelError(5655)
    _drop_invitation(cloud, family, mine)


def _target(family: Family, member: Member, uid: str, missing: int) -> Member:
    target = family.members.get(uid)
    if target is None:
        raise QuectelError(missing)
    if member.role == Role.ADMIN and target.role in (Role.CREATOR, Role.ADMIN) and target.uid != member.uid:
        raise QuectelError(5658)
    return target


def set_member_role(cloud: Cloud, user: User, *, fid: str, memberUid: str, memberRole: int) -> None:
    if memberRole not in (Role.ADMIN, Role.REGULAR):
        raise QuectelError(5658)
    _home_mode(user)
    family, member = _membership(cloud, user, fid)
    _not_regular(member, 5638)
    if memberUid == user.uid:
        raise QuectelError(5657)
    target = _target(family, member, memberUid, 5628)
    if target.role == Role.CREATOR:
        raise QuectelError(5658)
    target.role = memberRole


def set_member_name(cloud: Cloud, user: User, *, fid: str, memberUid: str, memberName: str) -> None:
    if len(memberName) > NAME_MAX:
        raise QuectelError(5649)
    _home_mode(user)
    family, member = _membership(cloud, user, fid)
    _not_regular(member, 5638)
    target = family.members.get(memberUid)
    if target is None:
        raise QuectelError(6053)
    if _name_taken(family, memberName, but=memberUid):
        raise QuectelError(5650)
    target.name = memberName


def delete_member(cloud: Cloud, user: User, *, fid: str, memberUid: str) -> None:
    _home_mode(user)
    family, member = _membership(cloud, user, fid, code=5671)
    _not_regular(member, 5638)
    if memberUid == user.uid:
        raise QuectelError(5679)
    _target(family, member, memberUid, 6054)
    if memberUid == family.owner_uid:
        raise QuectelError(5658)
    remove_member(cloud, family, memberUid)


def remove_member(cloud: Cloud, family: Family, uid: str) -> None:
    """`uid` is no longer a member: the family's devices are no longer theirs to use, and the
    devices they had put in it leave with them."""
    del family.members[uid]
    _unindex(cloud.families_of, uid, family.fid)
    for held in [h for h in family.devices if h.placed_by == uid]:
        _drop_device(cloud, family, held)


def _drop_device(cloud: Cloud, family: Family, held: FamilyDevice) -> None:
    family.devices.remove(held)
    if _entry(family, held.pk, held.dk) is None:
        _unindex(cloud.families_holding, (held.pk, held.dk), family.fid)


def forget_user(cloud: Cloud, uid: str) -> None:
    """An account is deleted (userDelete): families it created are deleted, it leaves the
    others (the devices it placed leave with it), and its pending invitations go."""
    for fid in sorted(cloud.families_of.get(uid, set())):
        family = cloud.families[fid]
        if family.owner_uid == uid:
            drop_family(cloud, family)
        else:
            remove_member(cloud, family, uid)
    for fid in sorted(cloud.invited_to.get(uid, set())):
        family = cloud.families[fid]
        for invitation in [i for i in family.invitations if i.uid == uid]:
            _drop_invitation(cloud, family, invitation)


def leave(cloud: Cloud, user: User, *, fid: str) -> None:
    _home_mode(user)
    family, member = _membership(cloud, user, fid, code=5671)
    if member.role == Role.CREATOR:
        raise QuectelError(5661)
    remove_member(cloud, family, user.uid)


def member_list(cloud: Cloud, user: User, *, fid: str) -> list[tuple[Member, User | None]]:
    """Every member, the creator first, then in the order they joined."""
    _home_mode(user)
    family, _ = _membership(cloud, user, fid)
    ordered = sorted(family.members.values(), key=lambda m: (m.role != Role.CREATOR, m.accept_time))
    return [(m, cloud.users.get(m.uid)) for m in ordered]


def member_row(member: Member, user: User | None) -> dict:
    info = share_user_info(user) or {"uid": member.uid}
    info.update(
        memberName=member.name,
        memberRole=int(member.role),
        acceptTime=time_string(member.accept_time),
        invalidTime=time_string(member.invalid_time),
    )
    return info


