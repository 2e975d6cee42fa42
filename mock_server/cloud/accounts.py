"""Accounts and tokens: password login with its attempt countdown, refresh, logout, and the
check every authenticated request starts with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import crypto
from .errors import QuectelError
from .models import LoginFailures, Token, User, UserDomain
from .store import Cloud

# <region letter>.<DM|SP>.<digits>[.<digits>]: C.DM.5903.1, U.SP.8589934603, E.SP.4294967410.
DOMAIN_FORMAT = re.compile(r"^[A-Z]\.(?:DM|SP)\.[0-9]+(?:\.[0-9]+)?$")
EMAIL_FORMAT = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_FORMAT = re.compile(r"^\+?[0-9]{5,20}$")

# First code of each countdown family: first + attempts left (1..4) is the code to answer.
EMAIL_COUNTDOWN = 5582
PHONE_COUNTDOWN = 5578


def strip_bearer(value: str) -> str:
    """The token itself, without one leading `Bearer ` (any case) and surrounding blanks."""
    value = value.strip()
    if value[:6].lower() == "bearer" and (len(value) == 6 or value[6].isspace()):
        value = value[6:].strip()
    return value


def _live_token(cloud: Cloud, bare: str, kind: str) -> Token:
    """The token `bare` (already without `Bearer `) if it is a live one of `kind`, else 5032."""
    token = cloud.tokens.get(bare)
    if token is None or token.kind != kind or not token.is_live(cloud.now()):
        raise QuectelError(5032)
    return token


def authenticate(cloud: Cloud, authorization: str | None) -> tuple[User, Token]:
    """The caller of a request: 5106 without a token, 5032 for any token that is not live."""
    bare = strip_bearer(authorization or "")
    if not bare:
        raise QuectelError(5106)
    if cloud.settings.require_bearer and bare == authorization.strip():
        raise QuectelError(5032)
    token = _live_token(cloud, bare, "access")
    user = cloud.users.get(token.uid)
    if user is None:
        raise QuectelError(5032)
    return user, token


def issue_tokens(cloud: Cloud, user: User) -> dict:
    now = cloud.now()
    settings = cloud.settings
    access_exp = now + settings.access_token_ttl * 1000
    refresh_exp = now + settings.refresh_token_ttl * 1000
    access = crypto.issue_jwt(user.uid, "access", now, access_exp)
    refresh = crypto.issue_jwt(user.uid, "refresh", now, refresh_exp)
    cloud.add_token(Token(access, user.uid, "access", access_exp, partner=refresh))
    cloud.add_token(Token(refresh, user.uid, "refresh", refresh_exp, partner=access))
    return {
        "accessToken": {"token": "Bearer " + access, "expirationTime": access_exp // 1000},
        "refreshToken": {"token": "Bearer " + refresh, "expirationTime": refresh_exp // 1000},
    }


def _domain(cloud: Cloud, name: str) -> UserDomain:
    if not DOMAIN_FORMAT.match(name):
        raise QuectelError(5013)
    domain = cloud.domains.get(name)
    if domain is None:
        raise QuectelError(5015)
    if domain.disabled:
        raise QuectelError(5104)
    return domain


def _plain_password(pwd: str, random: str | None) -> str:
    plain = crypto.decrypt_password(pwd, random) if random else pwd.strip()
    if plain is None or not 6 <= len(plain) <= 20:
        raise QuectelError(5056)
    return plain


def _check_password(cloud: Cloud, user: User, plain: str, account: tuple[str, str], first: int) -> None:
    now = cloud.now()
    state = cloud.login_failures.get(account)
    if state is not None and state.frozen_until is not None:
        if now < state.frozen_until:
            raise QuectelError(5147)
        state = None
        cloud.login_failures.pop(account, None)
    if plain == user.password:
        cloud.login_failures.pop(account, None)
        return
    state = state or cloud.login_failures.setdefault(account, LoginFailures())
    state.count += 1
    left = cloud.settings.login_attempts - state.count
    if left <= 0:
        state.frozen_until = now + cloud.settings.login_freeze_minutes * 60_000
        raise QuectelError(5147)
    raise QuectelError(first + min(left, 4))


@dataclass(frozen=True)
class Credentials:
    """What a login sends besides its account: the signed, encrypted password."""

    pwd: str
    signature: str
    userDomain: str
    random: str | None = None


def _login(cloud: Cloud, user: User | None, domain: str, plain: str, account: tuple[str, str], first: int) -> dict:
    if user is None or user.user_domain != domain:
        raise QuectelError(5031 if account[0] == "email" else 5004)
    _check_password(cloud, user, plain, account, first)
    user.last_login_time = cloud.now()
    return issue_tokens(cloud, user)


def _verify(cloud: Cloud, given: Credentials, *signed: str) -> str:
    """Check the domain and signature; the plain password."""
    domain = _domain(cloud, given.userDomain)
    if domain.secret is not None and cloud.settings.check_signatures:
        expected = crypto.signature(*signed, given.pwd, given.random or "", domain.secret)
        if given.signature.lower() != expected:
            raise QuectelError(5420)
    return _plain_password(given.pwd, given.random)


def email_login(cloud: Cloud, *, email: str, **credentials: Any) -> dict:
    """POST emailPwdLogin."""
    given = Credentials(**credentials)
    if not EMAIL_FORMAT.match(email):
        raise QuectelError(5040)
    plain = _verify(cloud, given, email)
    user = cloud.users_by_email.get(email.lower())
    return _login(cloud, user, given.userDomain, plain, ("email", email.lower()), EMAIL_COUNTDOWN)


def phone_login(cloud: Cloud, *, phone: str, internationalCode: str | None = None, **credentials: Any) -> dict:
    """POST phonePwdLogin."""
    given = Credentials(**credentials)
    if not PHONE_FORMAT.match(phone):
        raise QuectelError(5019)
    plain = _verify(cloud, given, internationalCode or "", phone)
    user = cloud.users_by_phone.get(phone)
    return _login(cloud, user, given.userDomain, plain, ("phone", phone), PHONE_COUNTDOWN)


def refresh(cloud: Cloud, *, refreshToken: str) -> dict:
    """PUT refreshToken: spend the refresh token, issue a new pair; the old access token
    lives until its own expiry."""
    token = _live_token(cloud, strip_bearer(refreshToken), "refresh")
    user = cloud.users.get(token.uid)
    if user is None:
        raise QuectelError(5032)
    token.revoked = True
    return issue_tokens(cloud, user)


def logout(cloud: Cloud, token: Token) -> None:
    """POST userLogout: the access token and (unless the cloud says otherwise) the refresh
    token issued with it both die."""
    token.revoked = True
    if not cloud.settings.logout_revokes_refresh:
        return
    partner = cloud.tokens.get(token.partner) if token.partner else None
    if partner is not None:
        partner.revoked = True
