"""Lazy expiry on the simulator's clock, frozen and advanced, and the clock itself."""

import pytest
from freezegun import freeze_time
from helpers import LAMP, OWNER, RECIPIENT, SECOND, codes_of

from mock_server.app import create_app
from mock_server.harness.clock import Clock
from mock_server.harness.scenario import Scenario

MINUTE = 60_000
START = 1_790_000_000_000


@pytest.fixture
def frozen(world):
    world.clock.freeze()
    world.clock.set(START)
    return world.clock


def test_accept_window_passes(api, world, frozen):
    code = api.share(accepting=START + 10 * MINUTE)
    frozen.advance(10 * MINUTE - 1)
    assert codes_of(world, code) == (0, None)
    frozen.advance(1)
    assert api.accept(code)["code"] == 5137
    assert codes_of(world, code) == (2, 1)
    assert world.shares[code].delete_time == START + 10 * MINUTE


def test_usage_window_passes(api, world, frozen):
    code = api.share(accepting=START + MINUTE, sharingExpireAt=START + 60 * MINUTE)
    api.accept(code)
    frozen.advance(59 * MINUTE)
    assert [d["shareCode"] for d in api.devices() if d["deviceType"] == 2] == [code]
    frozen.advance(MINUTE)
    assert [d for d in api.devices() if d["deviceType"] == 2] == []
    assert codes_of(world, code) == (2, 2)
    assert api.delete("shareUserUnshareDevice", RECIPIENT, shareCode=code)["code"] == 5142
    assert api.delete("ownerUserUnshareDevice", OWNER, shareCode=code)["code"] == 5142
    assert api.put("changeShareDeviceName", RECIPIENT, shareCode=code, deviceName="x")["code"] == 5142
    assert api.get("deviceShareUserList", OWNER, **LAMP)["data"] == []
    assert api.get("deviceInfo", RECIPIENT, **LAMP)["code"] == 5141


def test_set_share_time_extends_before_expiry(api, world, frozen):
    code = api.share(accepting=START + MINUTE, sharingExpireAt=START + 2 * MINUTE)
    api.accept(code)
    api.put("setShareTime", OWNER, shareCode=code, sharingExpireAt=START + 10 * MINUTE)
    frozen.advance(5 * MINUTE)
    assert codes_of(world, code) == (1, None)


def test_expired_share_no_longer_blocks_cover_mark_3(api, world, frozen):
    old = api.share(accepting=START + MINUTE, sharingExpireAt=START + 30 * MINUTE, coverMark=2)
    api.accept(old)
    frozen.advance(31 * MINUTE)
    new = api.share(accepting=START + 32 * MINUTE, sharingExpireAt=START + 35 * MINUTE, coverMark=3)
    assert api.accept(new)["code"] == 200


def test_frozen_clock_stands_still_in_real_time():
    with freeze_time("2026-01-01 00:00:00") as real:
        clock = Clock(START, frozen=True)
        real.tick(3600)
        assert clock.now_ms() == START


def test_a_clock_frozen_from_its_start_reads_exactly_that_start(monkeypatch):
    from mock_server.harness import clock

    ticks = iter(range(1_000, 2_000))
    monkeypatch.setattr(clock, "_real_ms", lambda: next(ticks))  # real time moves on every reading
    assert Clock(1_234_567, frozen=True).now_ms() == 1_234_567


def test_setting_and_freezing_in_one_request_reads_exactly_the_time_set(api, monkeypatch):
    from mock_server.harness import clock

    ticks = iter(range(START, START + 1_000_000))
    monkeypatch.setattr(clock, "_real_ms", lambda: next(ticks))  # real time moves on every reading
    answer = api.client.post("/_mock/clock", json={"set": "2026-06-01T00:00:00Z", "freeze": True}).get_json()
    assert answer["now"] == 1_780_272_000_000 and answer["frozen"], answer


def test_running_clock_follows_real_time_from_its_start():
    with freeze_time("2026-01-01 00:00:00") as real:
        clock = Clock(START)
        real.tick(90)
        assert clock.now_ms() == START + 90_000


def test_clock_defaults_to_real_time():
    with freeze_time("2026-03-04 05:06:07"):
        assert Clock().now_ms() == 1_772_600_767_000


def test_clock_set_advance_freeze_unfreeze():
    with freeze_time("2026-01-01 00:00:00") as real:
        clock = Clock()
        clock.advance(5000)
        assert clock.now_ms() == 1_767_225_605_000
        clock.freeze()
        real.tick(10)
        assert clock.now_ms() == 1_767_225_605_000
        clock.set(START)
        clock.unfreeze()
        real.tick(1)
        assert clock.now_ms() == START + 1000 and not clock.frozen


def test_token_lifetime_on_the_clock(api, world, frozen):
    tokens = _login(api)
    access = tokens["accessToken"]["token"]
    assert tokens["accessToken"]["expirationTime"] == (START + 7_200_000) // 1000
    frozen.advance(7_200_000 - 1)
    assert api.get("userInfo", access)["code"] == 200
    frozen.advance(1)
    assert api.get("userInfo", access)["code"] == 5032


def test_scenario_clock_start_and_frozen(default_scenario):
    spec = {**default_scenario.spec, "clock": {"start": "2030-01-01T00:00:00Z", "frozen": True}}
    world = create_app(scenario=Scenario.from_spec(spec)).extensions["mock_server"].world()
    assert world.clock.frozen and world.now() == 1_893_456_000_000


def test_second_user_never_sees_first_users_share(api, frozen):
    api.accept(api.share(accepting=START + MINUTE))
    assert [d for d in api.devices(SECOND) if d["deviceType"] == 2] == []


def _login(api):
    from mock_server.cloud import crypto

    pwd = crypto.encrypt_password("recipient-pass-2", "r" * 16)
    sig = crypto.signature("recipient@example.com", pwd, "r" * 16, "sim-domain-secret")
    body = api.post(
        "emailPwdLogin", email="recipient@example.com", pwd=pwd, random="r" * 16,
        signature=sig, userDomain="C.DM.5903.1",
    )  # fmt: skip
    assert body["code"] == 200, body
    return body["data"]
