"""The account and token endpoints under /v2/enduser/enduserapi/."""

from __future__ import annotations

from ...cloud import accounts, views
from .. import schemas as s
from ..declare import Area, Call, UserCall

enduser = Area("/v2/enduser/enduserapi")
EMAIL_CODES = (5013, 5015, 5022, 5023, 5026, 5031, 5040, 5056, 5104, 5147, 5325, 5420, 5550, *range(5583, 5587))
PHONE_CODES = (5002, 5004, 5013, 5015, 5019, 5021, 5022, 5023, 5028, 5056, 5104, 5147, 5325, 5420, 5550)


def _tokens(sample) -> list:
    return [sample.tokens]


@enduser.endpoint(
    "POST", "emailPwdLogin", s.EmailLoginParams, shape="TokenPair", auth=False,
    codes=(*EMAIL_CODES, 6084, 6085), data=_tokens, devices=None,
)  # fmt: skip
def email_login(call: Call) -> dict:
    """Sign in with e-mail and the AES-encrypted password."""
    return accounts.email_login(call.world, **call.params)


@enduser.endpoint(
    "POST", "phonePwdLogin", s.PhoneLoginParams, shape="TokenPair", auth=False,
    codes=(*PHONE_CODES, *range(5579, 5583), 6084, 6085), data=_tokens, devices=None,
)  # fmt: skip
def phone_login(call: Call) -> dict:
    """Sign in with phone number and the AES-encrypted password."""
    return accounts.phone_login(call.world, **call.params)


# Only 200 is documented; 5032 and 5106 are the decided answers to bad or missing tokens.
@enduser.endpoint(
    "PUT",
    "refreshToken",
    s.RefreshParams,
    shape="TokenPair",
    auth=False,
    codes=(5032, 5106),
    data=_tokens,
    devices=None,
)
def refresh_token(call: Call) -> dict:
    """A new token pair for a refresh token (which is then spent)."""
    return accounts.refresh(call.world, **call.params)


@enduser.endpoint(
    "GET", "userInfo", codes=(5033, 5065), shape="UserInfo", devices=None,
    data=lambda sample: [views.user_info(sample.owner), views.user_info(sample.world.users["C900001"])],
)  # fmt: skip
def user_info(call: UserCall) -> dict:
    """The caller's profile."""
    return views.user_info(call.user)


@enduser.endpoint("POST", "userLogout", devices=None)
def logout(call: UserCall) -> None:
    """Sign out: the token (and its refresh token) stop working."""
    accounts.logout(call.world, call.token)
