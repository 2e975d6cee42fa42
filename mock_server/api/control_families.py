"""The control API's home-mode calls (under /_mock/, on the control blueprint): see families,
set one up in one call, switch a user's home mode, invite, expire an invitation, remove a
member. Each change is the cloud's own step (cloud/families.py), as an app's would be,
made as the family's creator; a refusal answers the app's code under HTTP 409."""

from __future__ import annotations

from flask import Response, jsonify

from ..cloud import families
from ..cloud.models import Family, Role
from ..harness.scenario import family_from_spec
from ..harness.scenario_schema import Bool, FamilySpec, Instant, Int, Str, Strict, family_problems, one_of
from ..harness.timeparse import parse_instant
from ..harness.world import World
from .control import ControlError, _body, _world, bp
from .control_schemas import ERROR, documented, ok


class FamilyBody(FamilySpec):
    """A family as in a scenario file; homeMode turns home mode on for every member."""

    homeMode = Bool(load_default=True, metadata={"description": "turn home mode on for its members (default true)"})


class InviteBody(Strict):
    uid = Str(required=True)
    role = Int(load_default=3, validate=one_of((2, 3)), metadata={"description": "2 admin, 3 regular (default)"})
    name = Str(metadata={"description": "the name offered in the family (default: their nickname)"})
    expiresAt = Instant(load_default="+1h", metadata={"description": "epoch ms, ISO 8601 or relative; default +1h"})


class HomeModeBody(Strict):
    enabled = Bool(required=True)


def family_state(world: World, family: Family) -> dict:
    """A family as GET /_mock/families and the dashboard show it."""
    pending = families.pending(world, family)
    rooms = {r.frid: r.name for r in family.rooms}
    return {
        "fid": family.fid,
        "name": family.name,
        "creator": family.owner_uid,
        "location": family.location,
        "coordinates": family.coordinates,
        "rooms": [{"frid": r.frid, "name": r.name, "sort": r.sort} for r in family.rooms],
        "members": [
            {
                "uid": m.uid,
                "role": m.role,
                "roleName": Role(m.role).name.lower(),
                "name": m.name,
                "joined": m.accept_time,
            }
            for m in family.members.values()
        ],  # fmt: skip
        "devices": [
            {
                "pk": h.pk,
                "dk": h.dk,
                "room": rooms.get(h.frid or ""),
                "frid": h.frid,
                "commonUsed": h.common,
                "type": h.type,
                "placedBy": h.placed_by,
                "standing": families.still_placed(world, h),
            }
            for h in family.devices
        ],  # fmt: skip
        "invitations": [
            {"uid": i.uid, "role": i.role, "name": i.name, "invited": i.add_time, "expiresAt": i.invalid_time}
            for i in pending
        ],
    }


def families_state(world: World) -> dict:
    """Every user's home-mode switch and every family (the caller holds the lock)."""
    return {
        "homeMode": {u.uid: u.home_mode for u in world.users.values() if u.home_mode or world.families_of.get(u.uid)},
        "families": [family_state(world, f) for f in list(world.families.values())],
    }


FID = {
    "name": "fid", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "the family's id", "example": "F1001",
}  # fmt: skip
UID = {
    "name": "uid", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "a user's uid", "example": "C1002",
}  # fmt: skip
NO_FAMILY = {"404": {"description": "no such family or user"}}
REFUSED = {"409": {"description": "the cloud refused: {error, code} with the Quectel code"}}


@bp.get("/families")
@documented("Every family of the world, and who has home mode on", ok("{homeMode, families[]}"))
def get_families() -> Response:
    world = _world()
    with world.lock:
        return jsonify(families_state(world))


@bp.post("/families")
@documented("A family set up in one call, in the scenario file's form", {**ok("the family"), **ERROR}, body=FamilyBody)
def create_family() -> tuple[Response, int]:
    """A family set up in one call, in the scenario file's form."""
    body = _body(FamilyBody)
    world = _world()
    with world.lock:
        owners = {key: d.owner_uid for key, d in world.devices.items()}
        problems = [f"{path}: {message}" for path, message in family_problems(body, set(world.users), owners)]
        if body.get("fid") in world.families:
            problems.append(f"fid: the world has a family {body['fid']} already")
        if problems:
            raise ControlError(400, "invalid family", problems)
        family = family_from_spec(world, {"fid": world.new_home_id("f_"), **body}, world.now())
        world.add_family(family)
        if body["homeMode"]:
            for uid in family.members:
                world.users[uid].home_mode = True
        return jsonify(family_state(world, family)), 201


def _family(world: World, fid: str) -> Family:
    family = world.families.get(fid)
    if family is None:
        raise ControlError(404, f"no family {fid}")
    return family


@bp.post("/families/<fid>/invitations")
@documented(
    "The creator invites a user, as inviteFamilyMember would",
    {**ok("the family"), **ERROR, **NO_FAMILY, **REFUSED},
    body=InviteBody,
    parameters=(FID,),
)
def invite(fid: str) -> tuple[Response, int]:
    """The creator invites a user, as inviteFamilyMember would."""
    body = _body(InviteBody)
    world = _world()
    with world.lock:
        family = _family(world, fid)
        invitee = world.users.get(body["uid"])
        if invitee is None:
            raise ControlError(404, f"no user {body['uid']}")
        creator = world.users[family.owner_uid]
        families.invite(
            world,
            creator,
            fid=fid,
            invalidTime=parse_instant(body["expiresAt"], world.now()),
            memberName=body.get("name") or invitee.nickname or invitee.uid,
            memberRole=body["role"],
            uid=invitee.uid,
        )
        return jsonify(family_state(world, family)), 201


@bp.post("/families/<fid>/invitations/<uid>/expire")
@documented(
    "A pending invitation expires now", {**ok("the family"), **NO_FAMILY, **REFUSED}, parameters=(FID, UID)
)
def expire_invitation(fid: str, uid: str) -> Response:
    """The invitation expires now, as if the clock had reached its expiry."""
    world = _world()
    with world.lock:
        family = _family(world, fid)
        families.expire_invitation(world, fid, uid)
        return jsonify(family_state(world, family))


@bp.delete("/families/<fid>/members/<uid>")
@documented(
    "The creator removes a member: their access ends at once",
    {**ok("the family"), **NO_FAMILY, **REFUSED},
    parameters=(FID, UID),
)
def remove_member(fid: str, uid: str) -> Response:
    """The creator removes a member, as deleteFamilyMember would: their access ends at once."""
    world = _world()
    with world.lock:
        family = _family(world, fid)
        families.delete_member(world, world.users[family.owner_uid], fid=fid, memberUid=uid)
        return jsonify(family_state(world, family))


@bp.put("/users/<uid>/homeMode")
@documented(
    "A user turns home mode on or off, as enabledFamilyMode would",
    {**ok("the families"), **ERROR, **NO_FAMILY},
    body=HomeModeBody,
    parameters=(UID,),
)
def home_mode(uid: str) -> Response:
    """A user turns home mode on or off, as enabledFamilyMode would."""
    body = _body(HomeModeBody)
    world = _world()
    with world.lock:
        user = world.users.get(uid)
        if user is None:
            raise ControlError(404, f"no user {uid}")
        families.enable_mode(world, user, enabled=body["enabled"])
        return jsonify(families_state(world))
