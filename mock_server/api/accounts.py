"""The account and token endpoints under /v2/enduser/enduserapi/."""

from __future__ import annotations

from flask import Blueprint

from ..cloud import accounts, views
from . import schemas as s
from .dispatch import Call, endpoint

bp = Blueprint("accounts", __name__, url_prefix="/v2/enduser/enduserapi")


@endpoint(bp, "POST", "emailPwdLogin", s.EmailLoginParams, auth=False, data="TokenPair")
def email_login(call: Call) -> dict:
    """Sign in with e-mail and the AES-encrypted password."""
    return accounts.email_login(call.world, call.params)


@endpoint(bp, "POST", "phonePwdLogin", s.PhoneLoginParams, auth=False, data="TokenPair")
def phone_login(call: Call) -> dict:
    """Sign in with phone number and the AES-encrypted password."""
    return accounts.phone_login(call.world, call.params)


@endpoint(bp, "PUT", "refreshToken", s.RefreshParams, auth=False, data="TokenPair")
def refresh_token(call: Call) -> dict:
    """A new token pair for a refresh token (which is then spent)."""
    return accounts.refresh(call.world, call.params)


@endpoint(bp, "GET", "userInfo", data="UserInfo")
def user_info(call: Call) -> dict:
    """The caller's profile."""
    return views.user_info(call.user)


@endpoint(bp, "POST", "userLogout")
def logout(call: Call) -> None:
    """Sign out: the token (and its refresh token) stop working."""
    accounts.logout(call.world, call.token)
