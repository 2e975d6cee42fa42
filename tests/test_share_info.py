"""POST shareInfo: every documented code in the documented order, and coverMark at creation."""

import re

import pytest
from helpers import FAR, LAMP, OWNER, RECIPIENT, codes_of

from mock_server.api.params import schema_for, seconds_warnings
from mock_server.api.schemas import ShareInfoParams
from mock_server.cloud.models import Settings


def create(api, token=OWNER, **params):
    return api.post("shareInfo", token, **params)["code"]


def test_success_returns_a_documented_share_code(api, world):
    code = api.share()
    assert re.fullmatch(r"share_dv_C[0-9a-f]{36}", code)
    assert codes_of(world, code) == (0, None)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"dk": "LAMP00000001", "acceptingExpireAt": FAR}, 5066),
        ({"pk": "p11u5w", "acceptingExpireAt": FAR}, 5067),
        ({**LAMP}, 5132),
        ({**LAMP, "acceptingExpireAt": "tomorrow"}, 5145),
        ({**LAMP, "acceptingExpireAt": -5}, 5145),
        ({**LAMP, "acceptingExpireAt": "1.5"}, 5145),
        ({**LAMP, "acceptingExpireAt": 2**63}, 5145),
        ({**LAMP, "acceptingExpireAt": FAR, "sharingExpireAt": "soon"}, 5145),
        ({**LAMP, "acceptingExpireAt": FAR, "coverMark": 0}, 5133),
        ({**LAMP, "acceptingExpireAt": FAR, "coverMark": 4}, 5133),
        ({**LAMP, "acceptingExpireAt": FAR, "coverMark": "x"}, 5133),
        ({**LAMP, "acceptingExpireAt": FAR, "sharingExpireAt": FAR}, 5153),
        ({**LAMP, "acceptingExpireAt": FAR, "sharingExpireAt": FAR - 1}, 5153),
        ({"pk": "p11u5w", "dk": "NOPE", "acceptingExpireAt": FAR}, 5135),
        ({"pk": "p11u6t", "dk": "PLUG00000009", "acceptingExpireAt": FAR}, 5360),
    ],
)
def test_documented_codes(api, params, expected):
    assert create(api, **params) == expected


def test_check_order_presence_then_format_then_range_then_cross_field(api):
    assert create(api, acceptingExpireAt="bad", coverMark=9) == 5066
    assert create(api, **LAMP, acceptingExpireAt="bad", coverMark=9) == 5145
    assert create(api, **LAMP, acceptingExpireAt=FAR, coverMark=9, sharingExpireAt=1) == 5133
    assert create(api, pk="p11u5w", dk="NOPE", acceptingExpireAt=FAR, sharingExpireAt=1) == 5153


def test_someone_elses_device_is_5135(api):
    assert create(api, RECIPIENT, **LAMP, acceptingExpireAt=FAR) == 5135


def test_recipient_cannot_reshare(api):
    api.accept(api.share())
    assert create(api, RECIPIENT, **LAMP, acceptingExpireAt=FAR) == 5135


def test_blank_values_count_as_missing(api):
    assert create(api, pk="  ", dk="LAMP00000001", acceptingExpireAt=FAR) == 5066


def test_sharing_expire_at_zero_means_lifelong(api, world):
    code = api.share(sharingExpireAt=0)
    assert world.shares[code].sharing_expire_at is None


def test_cover_mark_1_ends_owners_other_pending_codes(api, world):
    first = api.share(coverMark=2)
    second = api.share(coverMark=1)
    assert codes_of(world, first) == (2, 5)
    assert codes_of(world, second) == (0, None)
    assert api.accept(first)["code"] == 5137


def test_cover_mark_1_leaves_active_shares_alone(api, world):
    active = api.share()
    api.accept(active)
    api.share(coverMark=1)
    assert codes_of(world, active) == (1, None)


@pytest.mark.parametrize("mark", [2, 3])
def test_cover_mark_2_and_3_leave_pending_codes_valid(api, world, mark):
    first = api.share()
    api.share(coverMark=mark)
    assert codes_of(world, first) == (0, None)


def test_codes_are_unique(api):
    codes = {api.share(coverMark=2) for _ in range(50)}
    assert len(codes) == 50


def test_timestamp_in_seconds_is_accepted_with_a_warning(api):
    assert create(api, **LAMP, acceptingExpireAt=4_102_444_800) == 200
    schema = schema_for(ShareInfoParams, Settings())
    warnings = seconds_warnings(schema, {"acceptingExpireAt": 4_102_444_800, "sharingExpireAt": FAR})
    assert warnings == ["acceptingExpireAt=4102444800 looks like seconds, not milliseconds"]
