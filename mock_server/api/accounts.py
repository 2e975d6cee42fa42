"""The account and token endpoints under /v2/enduser/enduserapi/."""

from __future__ import annotations

from flask import Blueprint

from ..domain import accounts, views
from . import schemas as s
from .dispatch import Call, endpoint

bp = Blueprint("accounts", __name__, url_prefix="/v2/enduser/enduserapi")


@endpoint(bp, "POST", "emailPwdLogin", s.EmailLoginParams, auth=False)
def email_login(call: Call) -> dict:
    return accounts.email_login(call.world, call.params)


@endpoint(bp, "POST", "phonePwdLogin", s.PhoneLoginParams, auth=False)
def phone_login(call: Call) -> dict:
    return accounts.phone_login(call.world, call.params)


@endpoint(bp, "PUT", "refreshToken", s.RefreshParams, auth=False)
def refresh_token(call: Call) -> dict:
    return accounts.refresh(call.world, call.params)


@endpoint(bp, "GET", "userInfo")
def user_info(call: Call) -> dict:
    return views.user_info(call.user)


@endpoint(bp, "POST", "userLogout")
def logout(call: Call) -> None:
    accounts.logout(call.world, call.token)
