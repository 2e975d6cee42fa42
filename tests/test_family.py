"""Home mode: the 28 endpoints under /v2/family/enduserapi/, each one's success and documented
codes, every role's refusals, invitations on the world's clock, access through membership, and
sharing meeting families.

The default world: Olivia (C1001, owner-token) created F1001 with rooms Living room (F1001-R1),
Kitchen (F1001-R2), Bedroom (F1001-R3) holding her lamps, plug and power station; Fay (C1004,
family-token) is an admin, Gus (C1005, guest-token) a regular member, Sam (C1003,
second-token) has a pending invitation; Rui (C1002, recipient-token) is in no family. Olivia,
Fay and Gus have home mode on.
"""

from __future__ import annotations

import pytest
from conftest import FAMILY, LAMP, OWNER, RECIPIENT, SECOND, Api, api_with

FAM = "/v2/family/enduserapi/"
GUEST = "guest-token"
F = "F1001"
LIVING, KITCHEN, BEDROOM = "F1001-R1", "F1001-R2", "F1001-R3"
PLUG = {"pk": "p11u6t", "dk": "PLUG00000001"}
SENSOR = {"pk": "p11u7a", "dk": "SENS00000001"}
LATER = 4_000_000_000_000


class Family:
    """The family endpoints on a test client: the envelope of each call."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def __call__(self, method: str, name: str, token: str | None, body=None, **params) -> dict:
        headers = {"Authorization": token} if token is not None else {}
        response = self.api.client.open(FAM + name, method=method, headers=headers, query_string=params, json=body)
        assert response.status_code == 200, response.data
        return response.get_json()

    def code(self, method: str, name: str, token: str | None, body=None, **params) -> int:
        return self(method, name, token, body, **params)["code"]

    def ok(self, method: str, name: str, token: str | None, body=None, **params):
        answer = self(method, name, token, body, **params)
        assert answer["code"] == 200, answer
        return answer["data"]

    def rows(self, name: str, token: str, **params) -> list[dict]:
        return self.ok("GET", name, token, pageSize=100, **params)["list"]

    def names(self, name: str, token: str, **params) -> list[str]:
        return [
            row.get("deviceName") or row.get("roomName") or row.get("familyName")
            for row in self.rows(name, token, **params)
        ]

    def members(self, token: str = OWNER, fid: str = F) -> dict[str, tuple[int, str]]:
        return {m["uid"]: (m["memberRole"], m["memberName"]) for m in self.rows("getFamilyMemberList", token, fid=fid)}

    def invite(self, uid: str, token: str = OWNER, fid: str = F, role: int = 3, name: str | None = None, **extra):
        return self("POST", "inviteFamilyMember", token, fid=fid, uid=uid, memberRole=role,
                    memberName=name or f"name-{uid}", invalidTime=extra.pop("invalidTime", LATER), **extra)  # fmt: skip

    def mode_on(self, token: str) -> None:
        self.ok("PUT", "enabledFamilyMode", token, enabled="true")

    def new_family(self, token: str = OWNER, name: str = "Beach house", rooms=("Kitchen",)) -> dict:
        return self.ok("POST", "addFamily", token, {"familyName": name, "familyRoomList": list(rooms)})


@pytest.fixture
def fam(api) -> Family:
    return Family(api)


def lamp_info(api: Api, token: str) -> dict:
    return api.get("deviceInfo", token, **LAMP)


# ---- the switch ------------------------------------------------------------------------------


def test_home_mode_is_off_by_default_and_turning_it_on_makes_a_family_with_the_users_devices(fam):
    assert fam.ok("GET", "getFamilyModeConfig", RECIPIENT) == {"enabledFamilyMode": False, "enabledAutoSwitch": False}
    assert fam.code("GET", "getFamilyList", RECIPIENT) == 5635
    fam.mode_on(RECIPIENT)
    assert fam.ok("GET", "getFamilyModeConfig", RECIPIENT)["enabledFamilyMode"] is True
    [home] = fam.rows("getFamilyList", RECIPIENT)
    assert home["familyName"] == "My Home" and home["memberRole"] == 1 and home["fid"].startswith("f_")
    [sensor] = fam.rows("getFamilyDeviceList", RECIPIENT, fid=home["fid"])
    assert (sensor["deviceKey"], sensor["roomName"], sensor["type"], sensor["fid"]) == (
        SENSOR["dk"],
        None,
        1,
        home["fid"],
    )
    fam.ok("PUT", "enabledFamilyMode", RECIPIENT, enabled=0)
    assert fam.code("GET", "getFamilyList", RECIPIENT) == 5635
    fam.ok("PUT", "enabledFamilyMode", RECIPIENT, enabled=1)
    assert [f["fid"] for f in fam.rows("getFamilyList", RECIPIENT)] == [home["fid"]]  # found again, not a second


@pytest.mark.parametrize("value", [None, "maybe", "2"])
def test_the_switches_want_true_or_false(fam, value):
    params = {} if value is None else {"enabled": value}
    assert fam.code("PUT", "enabledFamilyMode", OWNER, **params) == 5623
    assert fam.code("PUT", "enabledAutoSwitch", OWNER, **params) == 5623


def test_auto_switch_needs_home_mode(fam):
    assert fam.code("PUT", "enabledAutoSwitch", RECIPIENT, enabled=True) == 5635
    fam.ok("PUT", "enabledAutoSwitch", OWNER, enabled=True)
    assert fam.ok("GET", "getFamilyModeConfig", OWNER) == {"enabledFamilyMode": True, "enabledAutoSwitch": True}


GATED = [
    ("PUT", "enabledAutoSwitch", None, {"enabled": "true"}),
    ("POST", "addFamily", {"familyName": "X"}, {}),
    ("DELETE", "deleteFamily", None, {"fid": F}),
    ("GET", "getFamilyList", None, {}),
    ("GET", "getCurrentFamily", None, {}),
    ("PUT", "setFamily", None, {"fid": F, "familyName": "X"}),
    ("GET", "getFamilyDeviceList", None, {"fid": F}),
    ("PUT", "setDeviceInfo", [{"pk": "p11u5w", "dk": "LAMP00000001", "fid": F}], {}),
    ("GET", "getFamilyRoomList", None, {"fid": F}),
    ("POST", "addFamilyRoom", None, {"fid": F, "roomName": "Attic"}),
    ("PUT", "setFamilyRoom", None, {"frid": KITCHEN, "roomName": "Pantry"}),
    ("PUT", "setFamilyRoomSort", [{"frid": KITCHEN, "roomSort": 0}], {}),
    ("POST", "addDeviceInFamilyRoom", [{"pk": "p11u5w", "dk": "LAMP00000001", "newFrid": KITCHEN}], {}),
    ("GET", "getFamilyRoomDeviceList", None, {"frid": KITCHEN}),
    ("DELETE", "deleteFamilyRoom", [KITCHEN], {}),
    ("GET", "getCommonUsedDeviceList", None, {"fid": F}),
    ("POST", "addCommonUsedDevice", {"fid": F, "deviceList": [LAMP]}, {}),
    ("DELETE", "deleteCommonUsedDevice", {"fid": F, "deviceList": [LAMP]}, {}),
    ("POST", "inviteFamilyMember", None, {"fid": F, "uid": "C1003", "memberRole": 3, "memberName": "S", "invalidTime": LATER}),
    ("PUT", "setFamilyMemberRole", None, {"fid": F, "memberUid": "C1005", "memberRole": 2}),
    ("PUT", "setFamilyMemberName", None, {"fid": F, "memberUid": "C1005", "memberName": "G"}),
    ("DELETE", "deleteFamilyMember", None, {"fid": F, "memberUid": "C1005"}),
    ("GET", "getFamilyMemberList", None, {"fid": F}),
    ("DELETE", "leaveFamily", None, {"fid": F}),
]  # fmt: skip


@pytest.mark.parametrize("method, name, body, params", GATED, ids=[g[1] for g in GATED])
def test_every_family_endpoint_but_four_answers_5635_with_home_mode_off(fam, method, name, body, params):
    fam.ok("PUT", "enabledFamilyMode", FAMILY, enabled=False)  # Fay, an admin of F1001
    assert fam.code(method, name, FAMILY, body, **params) == 5635


def test_the_four_that_need_no_home_mode(fam):
    assert fam.ok("GET", "getFamilyModeConfig", SECOND)["enabledFamilyMode"] is False
    assert [i["fid"] for i in fam.rows("getFamilyInviteList", SECOND)] == [F]
    fam.ok("POST", "familyMemberInviteHandle", SECOND, decide=1, fid=F)
    assert fam.members()["C1003"] == (3, "Sam")


def test_unauthenticated_calls_get_5106_and_5032(fam):
    assert fam.code("GET", "getFamilyList", None) == 5106
    assert fam.code("GET", "getFamilyList", "nope") == 5032


# ---- families --------------------------------------------------------------------------------


def test_add_family_with_rooms_from_a_json_body(fam):
    data = fam.ok("POST", "addFamily", OWNER, {"familyName": "Beach house", "familyLocation": "1 Ocean Drive",
                                               "familyCoordinates": "38.6979,-9.4215", "familyRoomList": ["Kitchen", "Deck"]})  # fmt: skip
    assert set(data) == {
        "fid",
        "familyName",
        "familyLocation",
        "familyCoordinates",
        "memberRole",
        "addTime",
        "addTimeTs",
    }
    assert (data["familyName"], data["memberRole"], data["familyCoordinates"]) == ("Beach house", 1, "38.6979,-9.4215")
    assert fam.names("getFamilyList", OWNER) == ["Olivia's home", "Beach house"]
    rooms = fam.rows("getFamilyRoomList", OWNER, fid=data["fid"])
    assert [(r["roomName"], r["roomSort"]) for r in rooms] == [("Kitchen", 0), ("Deck", 1)]
    assert fam.members(fid=data["fid"]) == {"C1001": (1, "Olivia Owner")}


@pytest.mark.parametrize(
    "body, code",
    [
        ({}, 5613),
        ({"familyName": "  "}, 5613),
        ({"familyName": "x" * 257}, 5659),
        ({"familyName": "x", "familyLocation": "y" * 257}, 5660),
        ({"familyName": "x", "familyCoordinates": "north"}, 5633),
        ({"familyName": "x", "familyCoordinates": "91,0"}, 5633),
        ({"familyName": "x", "familyRoomList": ["r" * 31]}, 5641),
        ({"familyName": "x", "familyRoomList": ["Hall", "Hall"]}, 5673),
        ({"familyName": "Olivia's home"}, 5616),
    ],
)
def test_add_family_codes(fam, body, code):
    assert fam.code("POST", "addFamily", OWNER, body) == code


def test_get_current_family_by_fid_by_position_and_by_default(fam):
    beach = fam.ok("POST", "addFamily", OWNER, {"familyName": "Beach", "familyCoordinates": "38.6979,-9.4215"})
    assert fam.ok("GET", "getCurrentFamily", OWNER)["fid"] == F  # the oldest of her own
    assert fam.ok("GET", "getCurrentFamily", OWNER, fid=beach["fid"])["familyName"] == "Beach"
    near_beach = "38.6985,-9.4220"
    assert fam.ok("GET", "getCurrentFamily", OWNER, currentCoordinates=near_beach)["fid"] == F  # auto-switch off
    fam.ok("PUT", "enabledAutoSwitch", OWNER, enabled=True)
    assert fam.ok("GET", "getCurrentFamily", OWNER, currentCoordinates=near_beach)["fid"] == beach["fid"]
    assert fam.ok("GET", "getCurrentFamily", OWNER, currentCoordinates="0,0")["fid"] == F  # nothing near
    assert fam.ok("GET", "getCurrentFamily", FAMILY)["memberRole"] == 2  # Fay: the first she joined
    assert fam.code("GET", "getCurrentFamily", OWNER, currentCoordinates="here") == 5633
    assert fam.code("GET", "getCurrentFamily", RECIPIENT) == 5635
    assert fam.code("GET", "getCurrentFamily", FAMILY, fid=beach["fid"]) == 5041


def test_family_list_filters_by_role(fam):
    fam.new_family(FAMILY, "Fay's flat")
    assert fam.names("getFamilyList", FAMILY) == ["Olivia's home", "Fay's flat"]
    assert fam.names("getFamilyList", FAMILY, role="1") == ["Fay's flat"]
    assert fam.names("getFamilyList", FAMILY, role="2,3") == ["Olivia's home"]


def test_set_family(fam):
    fam.ok("PUT", "setFamily", FAMILY, fid=F, familyName="Harbour house", familyCoordinates="38.7,-9.1")
    [row] = fam.rows("getFamilyList", OWNER)
    assert (row["familyName"], row["familyCoordinates"], row["familyLocation"]) == (
        "Harbour house", "38.7,-9.1", "12 Harbour Road, Lisbon")  # fmt: skip


@pytest.mark.parametrize(
    "token, params, code",
    [
        (OWNER, {}, 5618),
        (OWNER, {"fid": F, "familyName": "x" * 257}, 5659),
        (OWNER, {"fid": F, "familyLocation": "x" * 257}, 5660),
        (OWNER, {"fid": F, "familyCoordinates": "1;2"}, 5633),
        (GUEST, {"fid": F, "familyName": "Mine now"}, 6049),
        (OWNER, {"fid": "f_nope", "familyName": "x"}, 5041),
    ],
)
def test_set_family_codes(fam, token, params, code):
    assert fam.code("PUT", "setFamily", token, **params) == code


def test_set_family_name_taken_by_the_creators_other_family(fam):
    fam.new_family(OWNER, "Beach house")
    assert fam.code("PUT", "setFamily", FAMILY, fid=F, familyName="Beach house") == 5616


def test_delete_family_by_its_creator_ends_the_members_access(fam, api):
    assert fam.code("DELETE", "deleteFamily", OWNER) == 5618
    assert fam.code("DELETE", "deleteFamily", OWNER, fid=F) == 5629  # her only family of her own
    assert fam.code("DELETE", "deleteFamily", GUEST, fid=F) == 6049
    assert fam.code("DELETE", "deleteFamily", FAMILY, fid=F) == 5041  # an admin
    assert fam.code("DELETE", "deleteFamily", RECIPIENT, fid=F) == 5635
    fam.mode_on(RECIPIENT)
    assert fam.code("DELETE", "deleteFamily", RECIPIENT, fid=F) == 5041
    assert lamp_info(api, GUEST)["code"] == 200
    fam.new_family(OWNER)
    fam.ok("DELETE", "deleteFamily", OWNER, fid=F)
    assert lamp_info(api, GUEST)["code"] == 5141 and lamp_info(api, FAMILY)["code"] == 5141
    assert fam.code("GET", "getFamilyRoomList", GUEST, fid=F) == 5041
    assert lamp_info(api, OWNER)["data"]["fid"] is None  # still hers, in no family now


# ---- rooms -----------------------------------------------------------------------------------


def test_rooms_are_added_renamed_sorted_and_deleted(fam):
    added = fam.ok("POST", "addFamilyRoom", FAMILY, fid=F, roomName="Attic")
    assert set(added) == {"frid", "roomName"} and added["roomName"] == "Attic"
    assert fam.names("getFamilyRoomList", GUEST, fid=F) == ["Living room", "Kitchen", "Bedroom", "Attic"]
    fam.ok("PUT", "setFamilyRoom", OWNER, frid=added["frid"], roomName="Loft")
    order = [{"frid": added["frid"], "roomSort": 0}, {"frid": LIVING, "roomSort": 3},
             {"frid": KITCHEN, "roomSort": 7}, {"frid": BEDROOM, "roomSort": 5}]  # fmt: skip
    assert fam.ok("PUT", "setFamilyRoomSort", OWNER, order)["failureList"] == []
    assert fam.names("getFamilyRoomList", OWNER, fid=F) == ["Loft", "Living room", "Bedroom", "Kitchen"]
    result = fam.ok("DELETE", "deleteFamilyRoom", OWNER, [KITCHEN])
    assert result == {"successList": [{"frid": KITCHEN}], "failureList": []}
    plug = next(d for d in fam.rows("getFamilyDeviceList", OWNER, fid=F) if d["deviceKey"] == PLUG["dk"])
    assert (plug["frid"], plug["roomName"]) == (None, None)  # still in the family, in no room


def test_room_pages_follow_page_and_page_size(fam):
    page = fam.ok("GET", "getFamilyRoomList", OWNER, fid=F, page=2, pageSize=2)
    assert ([r["roomName"] for r in page["list"]], page["total"], page["pages"]) == (["Bedroom"], 3, 2)


@pytest.mark.parametrize(
    "token, params, code",
    [
        (OWNER, {"roomName": "Attic"}, 5618),
        (OWNER, {"fid": F}, 5640),
        (OWNER, {"fid": F, "roomName": "r" * 31}, 5641),
        (OWNER, {"fid": F, "roomName": "Kitchen"}, 5642),
        (GUEST, {"fid": F, "roomName": "Attic"}, 6049),
        (OWNER, {"fid": "f_nope", "roomName": "Attic"}, 5041),
    ],
)
def test_add_room_codes(fam, token, params, code):
    assert fam.code("POST", "addFamilyRoom", token, **params) == code


@pytest.mark.parametrize(
    "token, params, code",
    [
        (OWNER, {"roomName": "Pantry"}, 5637),
        (OWNER, {"frid": KITCHEN}, 5640),
        (OWNER, {"frid": KITCHEN, "roomName": "r" * 31}, 5641),
        (OWNER, {"frid": KITCHEN, "roomName": "Bedroom"}, 5642),
        (GUEST, {"frid": KITCHEN, "roomName": "Pantry"}, 6049),
        (OWNER, {"frid": "r_nope", "roomName": "Pantry"}, 5041),
    ],
)
def test_set_room_codes(fam, token, params, code):
    assert fam.code("PUT", "setFamilyRoom", token, **params) == code


@pytest.mark.parametrize(
    "token, body, code, msg",
    [
        (OWNER, None, 5002, "Please enter room sort information"),
        (OWNER, [], 5002, "Please enter room sort information"),
        (OWNER, [{"frid": KITCHEN}], 5003, "Room sorting failed"),
        (OWNER, [{"frid": KITCHEN, "roomSort": -1}], 5003, "Room sorting failed"),
        (OWNER, [{"frid": KITCHEN, "roomSort": 1}, {"frid": LIVING, "roomSort": 1}], 5007, "Room sequence number duplicated"),
        (OWNER, [{"frid": "r_nope", "roomSort": 1}], 5041, "No permission"),
        (GUEST, [{"frid": KITCHEN, "roomSort": 1}], 6049, "Insufficient permissions, current user is a regular member"),
    ],
)  # fmt: skip
def test_room_sort_codes_with_the_family_services_own_messages(fam, token, body, code, msg):
    answer = fam("PUT", "setFamilyRoomSort", token, body)
    assert (answer["code"], answer["msg"]) == (code, msg)
    assert fam.names("getFamilyRoomList", OWNER, fid=F) == ["Living room", "Kitchen", "Bedroom"]  # nothing moved


def test_delete_room_codes_and_a_regular_members_failures(fam):
    assert fam.code("DELETE", "deleteFamilyRoom", OWNER) == 5637
    assert fam.code("DELETE", "deleteFamilyRoom", OWNER, []) == 5637
    result = fam.ok("DELETE", "deleteFamilyRoom", GUEST, [KITCHEN, "r_nope"])
    assert result["successList"] == []
    assert [(f["frid"], f["code"]) for f in result["failureList"]] == [(KITCHEN, 6049), ("r_nope", 5041)]


# ---- devices in the family -----------------------------------------------------------------------


def test_family_device_rows_carry_room_common_and_type_in_joining_order(fam):
    rows = fam.rows("getFamilyDeviceList", GUEST, fid=F)
    assert [(r["deviceKey"], r["roomName"], r["isCommonUsed"], r["commonUsed"], r["type"]) for r in rows] == [
        ("LAMP00000001", "Living room", True, True, 1),
        ("LAMP00000002", "Bedroom", False, False, 1),
        ("PLUG00000001", "Kitchen", True, True, 1),
        ("POWR00000001", None, False, False, 1),
    ]
    lamp = rows[0]
    assert (lamp["fid"], lamp["frid"], lamp["ownerUid"], lamp["deviceName"]) == (F, LIVING, "C1001", "Living room lamp")
    assert {"productKey", "deviceStatus", "onlineStatus", "authKey", "gdid"} <= set(lamp)


def test_family_device_list_filters_and_the_callers_own_devices(fam):
    assert [r["deviceKey"] for r in fam.rows("getFamilyDeviceList", OWNER, fid=F, deviceName="LAMP")] == [
        "LAMP00000001", "LAMP00000002"]  # fmt: skip
    assert [r["deviceKey"] for r in fam.rows("getFamilyDeviceList", OWNER, fid=F, pkList="p11u6t,p11u8k")] == [
        "PLUG00000001", "POWR00000001"]  # fmt: skip
    mine = fam.rows("getFamilyDeviceList", OWNER, fid=F, isAddOwnerDevice="true")
    extra = [(r["deviceKey"], r["fid"]) for r in mine[4:]]
    assert extra == [("PLUG00000009", None)]  # her unverified plug, not in the family (the spare lamp is unbound)
    assert fam.code("GET", "getFamilyDeviceList", OWNER) == 5618
    assert fam.code("GET", "getFamilyDeviceList", OWNER, fid="f_nope") == 5041


def test_room_and_frequently_used_lists(fam):
    assert [d["deviceKey"] for d in fam.rows("getFamilyRoomDeviceList", GUEST, frid=KITCHEN)] == ["PLUG00000001"]
    assert [d["deviceKey"] for d in fam.rows("getCommonUsedDeviceList", GUEST, fid=F)] == [
        "LAMP00000001",
        "PLUG00000001",
    ]
    assert fam.code("GET", "getFamilyRoomDeviceList", GUEST) == 5637
    assert fam.code("GET", "getFamilyRoomDeviceList", GUEST, frid="r_nope") == 6052
    assert fam.code("GET", "getCommonUsedDeviceList", GUEST) == 5618
    assert fam.code("GET", "getCommonUsedDeviceList", GUEST, fid="f_nope") == 5041


def test_any_member_changes_the_frequently_used_list(fam):
    power = {"pk": "p11u8k", "dk": "POWR00000001"}
    result = fam.ok("POST", "addCommonUsedDevice", GUEST, {"fid": F, "deviceList": [power, SENSOR]})
    assert result["successList"] == [power] and [f["dk"] for f in result["failureList"]] == [SENSOR["dk"]]
    fam.ok("DELETE", "deleteCommonUsedDevice", GUEST, {"fid": F, "deviceList": [LAMP]})
    assert [d["deviceKey"] for d in fam.rows("getCommonUsedDeviceList", OWNER, fid=F)] == [
        "PLUG00000001",
        "POWR00000001",
    ]


@pytest.mark.parametrize("method, name", [("POST", "addCommonUsedDevice"), ("DELETE", "deleteCommonUsedDevice")])
@pytest.mark.parametrize(
    "body, code",
    [({"deviceList": [LAMP]}, 5618), ({"fid": F, "deviceList": [{"dk": "x"}]}, 5066),
     ({"fid": F, "deviceList": [{"pk": "x"}]}, 5067), ({"fid": "f_nope", "deviceList": [LAMP]}, 5041)],
)  # fmt: skip
def test_frequently_used_codes(fam, method, name, body, code):
    assert fam.code(method, name, OWNER, body) == code


def test_moving_devices_between_rooms(fam):
    moves = [{"pk": "p11u5w", "dk": "LAMP00000001", "oldFrid": LIVING, "newFrid": KITCHEN},
             {"pk": "p11u7a", "dk": "SENS00000001", "newFrid": KITCHEN}]  # fmt: skip
    result = fam.ok("POST", "addDeviceInFamilyRoom", FAMILY, moves)
    assert [(s["dk"], s["code"]) for s in result["successList"]] == [("LAMP00000001", 200)]
    assert [(f["dk"], f["code"]) for f in result["failureList"]] == [("SENS00000001", 5041)]
    assert [d["deviceKey"] for d in fam.rows("getFamilyRoomDeviceList", OWNER, frid=KITCHEN)] == [
        "PLUG00000001", "LAMP00000001"]  # fmt: skip
    refused = fam.ok("POST", "addDeviceInFamilyRoom", GUEST, [{**LAMP, "newFrid": BEDROOM}])
    assert [f["code"] for f in refused["failureList"]] == [6049]
    assert fam.code("POST", "addDeviceInFamilyRoom", OWNER, [{**LAMP}]) == 5637
    assert fam.code("POST", "addDeviceInFamilyRoom", OWNER, [{**LAMP, "oldFrid": KITCHEN, "newFrid": KITCHEN}]) == 5663


def test_set_device_info_places_renames_and_marks(fam, api):
    garage = {"pk": "p11u6t", "dk": "PLUG00000009"}  # Olivia's, not yet in the family
    items = [{**garage, "fid": F, "newFrid": KITCHEN, "isCommonUsed": True, "deviceName": "Garage plug"},
             {**LAMP, "fid": F, "oldFrid": LIVING, "newFrid": BEDROOM}]  # fmt: skip
    result = fam.ok("PUT", "setDeviceInfo", OWNER, items)
    assert result["failureList"] == [] and len(result["successList"]) == 2
    kitchen = fam.rows("getFamilyRoomDeviceList", GUEST, frid=KITCHEN)
    assert [(d["deviceKey"], d["deviceName"], d["isCommonUsed"]) for d in kitchen] == [
        ("PLUG00000001", "Kitchen plug", True), ("PLUG00000009", "Garage plug", True)]  # fmt: skip
    assert api.get("deviceInfo", GUEST, **garage)["code"] == 200  # in the family: the members use it
    refused = fam.ok(
        "PUT", "setDeviceInfo", GUEST, [{**LAMP, "fid": F, "newFrid": LIVING}, {**SENSOR, "fid": F}, {"dk": "x"}]
    )
    assert [f["code"] for f in refused["failureList"]] == [6049, 5041, 5066]
    fam.ok("PUT", "setDeviceInfo", GUEST, [{**LAMP, "fid": F, "isCommonUsed": False}])  # the list: anyone's


def test_a_share_recipient_places_the_shared_device_in_their_own_family_as_type_2(fam, api):
    code = api.post("shareByUid", OWNER, **LAMP, shareUid="C1002")["data"]
    fam.mode_on(RECIPIENT)
    [home] = fam.rows("getFamilyList", RECIPIENT)
    room = fam.ok("POST", "addFamilyRoom", RECIPIENT, fid=home["fid"], roomName="Study")
    item = {**LAMP, "fid": home["fid"], "newFrid": room["frid"], "deviceName": "Borrowed lamp", "shareCode": code}
    assert fam.ok("PUT", "setDeviceInfo", RECIPIENT, [item])["failureList"] == []
    [row] = fam.rows("getFamilyRoomDeviceList", RECIPIENT, frid=room["frid"])
    assert (row["type"], row["deviceName"], row["deviceType"], row["shareCode"]) == (2, "Borrowed lamp", 2, code)
    assert lamp_info(api, OWNER)["data"]["deviceName"] == "Living room lamp"  # the owner's name stays
    rename = fam.ok("PUT", "setDeviceInfo", RECIPIENT, [{**LAMP, "deviceName": "Mine"}])  # without the code
    assert [f["code"] for f in rename["failureList"]] == [5041]
    api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)
    assert fam.rows("getFamilyRoomDeviceList", RECIPIENT, frid=room["frid"]) == []  # gone with the share


def test_fid_and_frid_in_the_device_list_and_device_info(api):
    rows = {d["deviceKey"]: d for d in api.devices(OWNER)}
    assert (rows["LAMP00000001"]["fid"], rows["LAMP00000001"]["frid"]) == (F, LIVING)
    assert (rows["PLUG00000009"]["fid"], rows["PLUG00000009"]["frid"]) == (None, None)
    info = lamp_info(api, FAMILY)["data"]
    assert (info["fid"], info["frid"], info["deviceType"], info["ownerUid"]) == (F, LIVING, 1, "C1001")
    assert lamp_info(api, RECIPIENT)["code"] == 5141


# ---- members and invitations --------------------------------------------------------------------


def test_member_list_has_every_member_creator_first_with_profiles(fam):
    rows = fam.rows("getFamilyMemberList", GUEST, fid=F)
    assert [(m["uid"], m["memberRole"], m["memberName"]) for m in rows] == [
        ("C1001", 1, "Olivia Owner"), ("C1004", 2, "Fay"), ("C1005", 3, "Gus")]  # fmt: skip
    assert rows[1]["email"] == "family@example.com" and rows[1]["acceptTime"]
    assert fam.code("GET", "getFamilyMemberList", GUEST) == 5636
    assert fam.code("GET", "getFamilyMemberList", SECOND, fid=F) == 5635
    fam.mode_on(RECIPIENT)
    assert fam.code("GET", "getFamilyMemberList", RECIPIENT, fid=F) == 5041


def test_an_invitation_accepted_makes_a_member_with_the_offered_role_and_name(fam, api):
    assert fam.invite("C1002", FAMILY, role=2, name="Rui")["code"] == 200
    [offer] = fam.rows("getFamilyInviteList", RECIPIENT)
    assert set(offer) == {
        "fid",
        "familyName",
        "familyLocation",
        "familyCoordinates",
        "addTime",
        "addTimeTs",
        "invalidTime",
    }
    assert (offer["fid"], offer["familyName"]) == (F, "Olivia's home")
    assert "C1002" not in fam.members()  # pending invitees are not members
    assert lamp_info(api, RECIPIENT)["code"] == 5141
    fam.ok("POST", "familyMemberInviteHandle", RECIPIENT, decide=1, fid=F)
    assert fam.members()["C1002"] == (2, "Rui")
    assert fam.rows("getFamilyInviteList", RECIPIENT) == []
    assert lamp_info(api, RECIPIENT)["code"] == 200


def test_invitations_by_phone_and_email_and_declining(fam):
    fam.ok("POST", "inviteFamilyMember", OWNER, fid=F, phone="13800000002", memberRole=3, memberName="R",
           invalidTime=LATER)  # fmt: skip
    fam.ok("POST", "familyMemberInviteHandle", RECIPIENT, decide="0", fid=F)
    assert "C1002" not in fam.members() and fam.rows("getFamilyInviteList", RECIPIENT) == []
    fam.ok("POST", "inviteFamilyMember", OWNER, fid=F, email="RECIPIENT@example.com", memberRole=3, memberName="R",
           invalidTime=LATER)  # fmt: skip
    assert [i["fid"] for i in fam.rows("getFamilyInviteList", RECIPIENT)] == [F]


def test_invitations_newest_first(fam):
    beach = fam.new_family()
    fam.invite("C1002")
    fam.api.client.post("/_mock/clock", json={"advance": "1m"})
    fam.invite("C1002", fid=beach["fid"])
    assert [i["familyName"] for i in fam.rows("getFamilyInviteList", RECIPIENT)] == ["Beach house", "Olivia's home"]


def test_an_invitation_expires_on_the_worlds_clock(fam):
    now = fam.api.client.get("/_mock/clock").get_json()["now"]
    fam.invite("C1002", invalidTime=now + 3_600_000)
    fam.api.client.post("/_mock/clock", json={"advance": "59m"})
    assert len(fam.rows("getFamilyInviteList", RECIPIENT)) == 1
    fam.api.client.post("/_mock/clock", json={"advance": "2m"})
    assert fam.rows("getFamilyInviteList", RECIPIENT) == []
    assert fam.code("POST", "familyMemberInviteHandle", RECIPIENT, decide=1, fid=F) == 5655
    assert fam.invite("C1002")["code"] == 200  # an expired invitation can be sent again


INVITE_CODES = [
    (OWNER, {"invalidTime": LATER, "memberName": "R", "memberRole": 3, "uid": "C1002"}, 5636),
    (OWNER, {"fid": F, "memberName": "R", "memberRole": 3, "uid": "C1002"}, 5646),
    (OWNER, {"fid": F, "invalidTime": "soon", "memberName": "R", "memberRole": 3, "uid": "C1002"}, 5145),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberRole": 3, "uid": "C1002"}, 5648),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "uid": "C1002"}, 5645),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 1, "uid": "C1002"}, 5658),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 7, "uid": "C1002"}, 5658),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R" * 257, "memberRole": 3, "uid": "C1002"}, 5649),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 3, "phone": "call me"}, 5019),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 3}, 5651),
    (OWNER, {"fid": F, "invalidTime": 1_000_000_000_000, "memberName": "R", "memberRole": 3, "uid": "C1002"}, 5647),
    (OWNER, {"fid": "f_nope", "invalidTime": LATER, "memberName": "R", "memberRole": 3, "uid": "C1002"}, 5041),
    (GUEST, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 3, "uid": "C1002"}, 5638),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 3, "uid": "C404"}, 5628),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 3, "uid": "C1005"}, 5653),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 3, "uid": "C1001"}, 5653),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "R", "memberRole": 3, "uid": "C1003"}, 5653),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "Gus", "memberRole": 3, "uid": "C1002"}, 5650),
    (OWNER, {"fid": F, "invalidTime": LATER, "memberName": "Sam", "memberRole": 3, "uid": "C1002"}, 5650),
]


@pytest.mark.parametrize("token, params, code", INVITE_CODES)
def test_invite_codes(fam, token, params, code):
    assert fam.code("POST", "inviteFamilyMember", token, **params) == code
    assert fam.rows("getFamilyInviteList", RECIPIENT) == []


@pytest.mark.parametrize(
    "params, code",
    [({"fid": F}, 5654), ({"decide": 1}, 5636), ({"decide": 2, "fid": F}, 5655), ({"decide": 1, "fid": F}, 5655)],
)
def test_invite_handle_codes(fam, params, code):
    assert fam.code("POST", "familyMemberInviteHandle", RECIPIENT, **params) == code


def test_roles_change_and_names_change(fam):
    fam.ok("PUT", "setFamilyMemberRole", OWNER, fid=F, memberUid="C1005", memberRole=2)
    fam.ok("PUT", "setFamilyMemberName", FAMILY, fid=F, memberUid="C1001", memberName="Mum")
    assert fam.members() == {"C1001": (1, "Mum"), "C1004": (2, "Fay"), "C1005": (2, "Gus")}


@pytest.mark.parametrize(
    "token, params, code",
    [
        (OWNER, {"memberUid": "C1005", "memberRole": 2}, 5636),
        (OWNER, {"fid": F, "memberRole": 2}, 5656),
        (OWNER, {"fid": F, "memberUid": "C1005"}, 5645),
        (OWNER, {"fid": F, "memberUid": "C1005", "memberRole": 1}, 5658),
        (OWNER, {"fid": F, "memberUid": "C1001", "memberRole": 2}, 5657),
        (FAMILY, {"fid": F, "memberUid": "C1004", "memberRole": 3}, 5657),
        (FAMILY, {"fid": F, "memberUid": "C1001", "memberRole": 2}, 5658),
        (OWNER, {"fid": F, "memberUid": "C1002", "memberRole": 2}, 5628),
        (GUEST, {"fid": F, "memberUid": "C1004", "memberRole": 3}, 5638),
        (OWNER, {"fid": "f_nope", "memberUid": "C1005", "memberRole": 2}, 5041),
    ],
)
def test_set_member_role_codes(fam, token, params, code):
    assert fam.code("PUT", "setFamilyMemberRole", token, **params) == code
    assert fam.members() == {"C1001": (1, "Olivia Owner"), "C1004": (2, "Fay"), "C1005": (3, "Gus")}


def test_an_admin_may_change_a_regular_members_role(fam):
    fam.ok("PUT", "setFamilyMemberRole", FAMILY, fid=F, memberUid="C1005", memberRole=2)
    assert (
        fam.code("PUT", "setFamilyMemberRole", FAMILY, fid=F, memberUid="C1005", memberRole=3) == 5658
    )  # an admin now


@pytest.mark.parametrize(
    "token, params, code",
    [
        (OWNER, {"memberUid": "C1005", "memberName": "G"}, 5636),
        (OWNER, {"fid": F, "memberName": "G"}, 5656),
        (OWNER, {"fid": F, "memberUid": "C1005"}, 5648),
        (OWNER, {"fid": F, "memberUid": "C1002", "memberName": "G"}, 6053),
        (GUEST, {"fid": F, "memberUid": "C1005", "memberName": "G"}, 5638),
        (OWNER, {"fid": F, "memberUid": "C1005", "memberName": "Fay"}, 5650),
        (OWNER, {"fid": "f_nope", "memberUid": "C1005", "memberName": "G"}, 5041),
    ],
)
def test_set_member_name_codes(fam, token, params, code):
    assert fam.code("PUT", "setFamilyMemberName", token, **params) == code


def test_removing_a_member_ends_their_access_at_once(fam, api):
    assert lamp_info(api, GUEST)["code"] == 200
    fam.ok("DELETE", "deleteFamilyMember", FAMILY, fid=F, memberUid="C1005")
    assert "C1005" not in fam.members()
    assert lamp_info(api, GUEST)["code"] == 5141
    control = {
        "type": 2,
        "data": '[{"switch":true}]',
        "deviceList": [{"productKey": LAMP["pk"], "deviceKey": LAMP["dk"]}],
    }
    assert api.call("POST", "batchControlDevice", GUEST, via="json", **control)["code"] == 5041
    assert fam.code("GET", "getFamilyDeviceList", GUEST, fid=F) == 5041


@pytest.mark.parametrize(
    "token, params, code",
    [
        (OWNER, {"memberUid": "C1005"}, 5636),
        (OWNER, {"fid": F}, 5656),
        (RECIPIENT, {"fid": F, "memberUid": "C1005"}, 5635),
        (GUEST, {"fid": F, "memberUid": "C1004"}, 5638),
        (OWNER, {"fid": F, "memberUid": "C1001"}, 5679),
        (OWNER, {"fid": F, "memberUid": "C1003"}, 6054),
        (FAMILY, {"fid": F, "memberUid": "C1001"}, 5658),
        (OWNER, {"fid": "f_nope", "memberUid": "C1005"}, 5671),
    ],
)
def test_delete_member_codes(fam, token, params, code):
    assert fam.code("DELETE", "deleteFamilyMember", token, **params) == code
    assert set(fam.members()) == {"C1001", "C1004", "C1005"}


def test_leaving_ends_access_and_takes_the_members_own_devices_along(fam, api):
    fam.mode_on(RECIPIENT)  # My Home, with his sensor
    [own] = fam.rows("getFamilyList", RECIPIENT)
    fam.invite("C1002")
    fam.ok("POST", "familyMemberInviteHandle", RECIPIENT, decide=1, fid=F)
    fam.ok("PUT", "setFamilyMemberRole", OWNER, fid=F, memberUid="C1002", memberRole=2)
    fam.ok("PUT", "setDeviceInfo", RECIPIENT, [{**SENSOR, "fid": F, "newFrid": LIVING}])
    assert api.get("deviceInfo", GUEST, **SENSOR)["code"] == 200  # Rui's sensor, used by Gus through F1001
    assert fam.code("DELETE", "leaveFamily", RECIPIENT) == 5636
    assert fam.code("DELETE", "leaveFamily", RECIPIENT, fid="f_nope") == 5671
    assert fam.code("DELETE", "leaveFamily", OWNER, fid=F) == 5661
    fam.ok("DELETE", "leaveFamily", RECIPIENT, fid=F)
    assert lamp_info(api, RECIPIENT)["code"] == 5141
    assert api.get("deviceInfo", GUEST, **SENSOR)["code"] == 5141  # his sensor left with him
    assert api.get("deviceInfo", RECIPIENT, **SENSOR)["data"]["fid"] is None  # still his, in no family
    assert fam.rows("getFamilyDeviceList", RECIPIENT, fid=own["fid"]) == []  # it had moved to F1001


# ---- sharing meets families -----------------------------------------------------------------------


def test_5864_for_a_member_of_a_family_holding_the_device_and_not_once_they_left(fam, api):
    assert api.post("shareByUid", OWNER, **LAMP, shareUid="C1004")["code"] == 5864
    assert api.post("shareByUid", OWNER, **LAMP, shareUid="C1005")["code"] == 5864
    assert api.post("shareByUid", OWNER, **LAMP, shareUid="C1003")["code"] == 200  # only invited
    fam.ok("DELETE", "deleteFamilyMember", OWNER, fid=F, memberUid="C1005")
    assert api.post("shareByUid", OWNER, **LAMP, shareUid="C1005")["code"] == 200


def test_a_device_outside_the_family_can_be_shared_with_a_member(api):
    assert api.post("shareByUid", RECIPIENT, **SENSOR, shareUid="C1004")["code"] == 200  # Rui's, in no family


def test_a_member_cannot_unbind_or_share_a_family_device(api):
    assert api.delete("unbundlingDeviceDk", FAMILY, **LAMP)["code"] == 5052
    assert api.post("shareInfo", FAMILY, **LAMP, acceptingExpireAt=LATER)["code"] == 5135
    assert api.get("deviceShareUserList", FAMILY, **LAMP)["code"] == 5141


def test_history_follows_membership(fam, api):
    path = "/v2/quecdatastorage/enduserapi/getPropertyDataList"
    params = {**LAMP, "attributeCode": "brightness", "startTimestamp": 0, "endTimestamp": LATER}
    assert api.call("GET", path, GUEST, **params)["code"] == 200
    fam.ok("DELETE", "deleteFamilyMember", OWNER, fid=F, memberUid="C1005")
    assert api.call("GET", path, GUEST, **params)["code"] == 5041


# ---- the world keeps it ---------------------------------------------------------------------------


def test_families_survive_a_state_file_round_trip(fam, world):
    from mock_server.harness import persistence

    beach = fam.new_family()
    fam.invite("C1002", fid=beach["fid"], name="Rui")
    restored = persistence.load_world(persistence.dump_world(world))
    assert restored.families == world.families
    assert restored.families_of == world.families_of and restored.invited_to == world.invited_to
    assert restored.families_holding == world.families_holding
    assert restored.users["C1001"].home_mode is True
    fresh = restored.new_home_id("f_")
    assert fresh not in world.families and fresh != beach["fid"]


def test_one_world_does_not_see_anothers_families(api):
    def family_names(world: str) -> list[str]:
        answer = api.client.get(f"/s/{world}{FAM}getFamilyList", headers={"Authorization": OWNER}).get_json()
        return [f["familyName"] for f in answer["data"]["list"]]

    body = {"familyName": "Beach house"}
    assert (
        api.client.post(f"/s/w1{FAM}addFamily", json=body, headers={"Authorization": OWNER}).get_json()["code"] == 200
    )
    assert family_names("w1") == ["Olivia's home", "Beach house"]
    assert family_names("w2") == ["Olivia's home"]


# ---- rules reach family endpoints -----------------------------------------------------------------


def test_rules_force_a_code_for_one_user_or_one_family_and_expire_an_invitation():
    rules = [
        {"match": {"endpoint": "getFamilyList", "uid": "C1004"}, "action": {"code": 5041}},
        {"match": {"endpoint": "getFamilyRoomList", "params": {"fid": F}}, "action": {"code": 5635}},
        {"match": {"endpoint": "familyMemberInviteHandle"}, "action": {"expireInvitation": True}, "times": 1},
    ]
    fam = Family(api_with({"rules": rules}))
    assert fam.code("GET", "getFamilyList", FAMILY) == 5041
    assert fam.code("GET", "getFamilyList", OWNER) == 200
    assert fam.code("GET", "getFamilyRoomList", GUEST, fid=F) == 5635
    beach = fam.new_family()
    assert fam.code("GET", "getFamilyRoomList", OWNER, fid=beach["fid"]) == 200
    assert fam.code("POST", "familyMemberInviteHandle", SECOND, decide=1, fid=F) == 5655  # expired by the rule
    assert fam.rows("getFamilyInviteList", SECOND) == []


def test_placing_a_device_in_another_family_takes_it_out_of_the_first(fam):
    beach = fam.new_family()
    frid = fam.rows("getFamilyRoomList", OWNER, fid=beach["fid"])[0]["frid"]
    lamp2 = {"pk": "p11u5w", "dk": "LAMP00000002"}
    fam.ok("PUT", "setDeviceInfo", OWNER, [{**lamp2, "fid": beach["fid"], "newFrid": frid}])
    assert [d["deviceKey"] for d in fam.rows("getFamilyRoomDeviceList", OWNER, frid=frid)] == ["LAMP00000002"]
    assert "LAMP00000002" not in [d["deviceKey"] for d in fam.rows("getFamilyDeviceList", OWNER, fid=F)]
    assert fam.api.get("deviceInfo", GUEST, **lamp2)["code"] == 5141  # Gus is not in the beach house


def test_a_room_lists_its_devices_in_the_order_they_came_in(fam):
    fam.api.client.post("/_mock/clock", json={"advance": "1m"})
    power = {"pk": "p11u8k", "dk": "POWR00000001"}
    fam.ok("POST", "addDeviceInFamilyRoom", OWNER, [{**power, "newFrid": KITCHEN}])
    fam.api.client.post("/_mock/clock", json={"advance": "1m"})
    fam.ok("POST", "addDeviceInFamilyRoom", OWNER, [{**LAMP, "oldFrid": LIVING, "newFrid": KITCHEN}])
    assert [d["deviceKey"] for d in fam.rows("getFamilyRoomDeviceList", OWNER, frid=KITCHEN)] == [
        "PLUG00000001", "POWR00000001", "LAMP00000001"]  # fmt: skip


def test_a_familys_impossible_coordinates_from_a_scenario_are_nowhere_near():
    fam = Family(api_with({"families": [{"fid": "F2", "owner": "C1001", "coordinates": "95,200"}]}))
    fam.ok("PUT", "enabledAutoSwitch", OWNER, enabled=True)
    assert fam.ok("GET", "getCurrentFamily", OWNER, currentCoordinates="38.7223,-9.1393")["fid"] == F
