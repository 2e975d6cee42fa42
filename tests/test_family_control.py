"""Home mode through the control API (one-call setup, invite, expire, remove, the switch) and
on the dashboard's Families page in headless Chromium against the real server."""

from __future__ import annotations

import pytest
import test_dashboard_browser
from browser import css, wait_for
from conftest import OWNER, RECIPIENT, SECOND, api_with
from test_dashboard_browser import click_and_reload, open_page

pytest_plugins = ["pytester"]
server = test_dashboard_browser.server  # the dashboard suite's fixture: a real server for the module

FAM = "/v2/family/enduserapi/"


def test_a_family_in_one_call_and_its_members_use_its_devices():
    api = api_with()
    body = {"name": "Beach house", "owner": "C1002", "rooms": ["Kitchen"],
            "members": [{"uid": "C1003", "role": 2, "name": "Sam"}],
            "devices": [{"pk": "p11u7a", "dk": "SENS00000001", "room": "Kitchen", "commonUsed": True}]}  # fmt: skip
    made = api.client.post("/_mock/families", json=body)
    assert made.status_code == 201
    family = made.get_json()
    assert [(m["uid"], m["role"]) for m in family["members"]] == [("C1002", 1), ("C1003", 2)]
    sensor = api.get("deviceInfo", SECOND, pk="p11u7a", dk="SENS00000001")["data"]
    assert (sensor["fid"], sensor["frid"]) == (family["fid"], family["rooms"][0]["frid"])
    answer = api.get(FAM + "getCommonUsedDeviceList", SECOND, fid=family["fid"])  # home mode turned on
    assert [d["deviceKey"] for d in answer["data"]["list"]] == ["SENS00000001"]


@pytest.mark.parametrize(
    "body, problem",
    [
        ({"owner": "C404"}, "owner: unknown user C404"),
        ({"owner": "C1001", "devices": [{"pk": "p11u7a", "dk": "SENS00000001"}]},
         "devices[0]: device p11u7a/SENS00000001 is owned by C1002, not a member"),
        ({"fid": "F1001", "owner": "C1001"}, "fid: the world has a family F1001 already"),
        ({"members": ["C1002"]}, "owner: the family has no creator: give owner, or a member with role 1"),
    ],
)  # fmt: skip
def test_a_bad_family_is_refused_with_its_problems(body, problem):
    answer = api_with().client.post("/_mock/families", json=body)
    assert answer.status_code == 400 and problem in answer.get_json()["problems"]


def test_invite_expire_and_remove_go_through_the_cloud():
    api = api_with()
    c = api.client
    assert c.post("/_mock/families/F1001/invitations", json={"uid": "C1002", "role": 2}).status_code == 201
    offers = api.get(FAM + "getFamilyInviteList", RECIPIENT)["data"]["list"]
    assert [o["fid"] for o in offers] == ["F1001"]
    assert c.post("/_mock/families/F1001/invitations/C1002/expire").get_json()["invitations"][0]["uid"] == "C1003"
    assert api.post(FAM + "familyMemberInviteHandle", RECIPIENT, decide=1, fid="F1001")["code"] == 5655
    again = c.post("/_mock/families/F1001/invitations/C1002/expire")
    assert (again.status_code, again.get_json()["code"]) == (409, 5655)
    assert c.post("/_mock/families/F1001/invitations", json={"uid": "C1005"}).get_json()["code"] == 5653
    assert api.get("deviceInfo", "guest-token", pk="p11u5w", dk="LAMP00000001")["code"] == 200
    assert c.delete("/_mock/families/F1001/members/C1005").status_code == 200
    assert api.get("deviceInfo", "guest-token", pk="p11u5w", dk="LAMP00000001")["code"] == 5141
    assert c.delete("/_mock/families/F1001/members/C1001").get_json()["code"] == 5679
    assert c.delete("/_mock/families/F9/members/C1001").status_code == 404


def test_the_home_mode_switch_from_the_control_api():
    api = api_with()
    state = api.client.put("/_mock/users/C1002/homeMode", json={"enabled": True}).get_json()
    assert state["homeMode"]["C1002"] is True
    assert [f["name"] for f in state["families"] if f["creator"] == "C1002"] == ["My Home"]
    assert api.client.put("/_mock/users/C1002/homeMode", json={"enabled": "yes"}).status_code == 400
    assert api.get(FAM + "getFamilyModeConfig", RECIPIENT)["data"]["enabledFamilyMode"] is True
    assert api.get(FAM + "getFamilyModeConfig", OWNER)["data"]["enabledFamilyMode"] is True


def test_the_families_page_invites_expires_and_removes(browser, server):
    url = server.base + "/s/fampage/_mock/ui/families"
    open_page(browser, url)
    family = css(browser, 'article.family[data-fid="F1001"]')
    assert "Gus" in family.text and "regular (3)" in family.text and "Sam" in family.text
    form = css(browser, 'article.family[data-fid="F1001"] form.invite')
    form.find_element("name", "uid").send_keys("C1002")
    form.find_element("name", "name").send_keys("Rui")
    click_and_reload(browser, form.find_element("tag name", "button"))
    assert "Rui" in css(browser, 'tr[data-invitee="C1002"]').text
    click_and_reload(browser, css(browser, 'tr[data-invitee="C1002"] button'))  # expire now
    wait_for(browser, lambda d: not d.find_elements("css selector", 'tr[data-invitee="C1002"]'))
    browser.execute_script("window.confirm = () => true")
    click_and_reload(browser, css(browser, 'tr[data-member="C1005"] button'))
    assert not browser.find_elements("css selector", 'tr[data-member="C1005"]')
    click_and_reload(browser, css(browser, 'tr[data-user="C1002"] button'))  # home mode on
    assert "on" in css(browser, 'tr[data-user="C1002"] .badge').text


PLUGIN_EXAMPLE = """
FAM = "/v2/family/enduserapi/"


def test_a_family_in_one_call(quectel_mock):
    family = quectel_mock.family("C1002", "Beach house", rooms=["Kitchen"], members={"C1003": 3},
                                 devices=[{"pk": "p11u7a", "dk": "SENS00000001", "room": "Kitchen"}])
    kitchen = family["rooms"][0]["frid"]
    rows = quectel_mock.call("GET", FAM + "getFamilyRoomDeviceList", "second-token", frid=kitchen)["data"]["list"]
    assert [r["deviceKey"] for r in rows] == ["SENS00000001"]
    quectel_mock.remove_member(family["fid"], "C1003")
    assert quectel_mock.call("GET", "deviceInfo", "second-token", pk="p11u7a", dk="SENS00000001")["code"] == 5141


def test_invite_and_home_mode(quectel_mock):
    quectel_mock.home_mode("C1002")
    quectel_mock.invite("F1001", "C1002", role=2, name="Rui")
    offers = quectel_mock.call("GET", "getFamilyInviteList", "recipient-token")["data"]["list"]
    assert [o["fid"] for o in offers] == ["F1001"]
    assert quectel_mock.call("POST", "familyMemberInviteHandle", "recipient-token", decide=1, fid="F1001")["code"] == 200
    room = quectel_mock.call("POST", "addFamilyRoom", "recipient-token", fid="F1001", roomName="Attic")
    assert room["code"] == 200  # an admin now
"""


def test_plugin_family_helpers(pytester):
    pytester.makepyfile(test_family_example=PLUGIN_EXAMPLE)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
