"""Accounts from nothing: sending verification codes, registering by phone or e-mail,
resetting and changing the password, the profile, linking and unlinking a phone or e-mail,
changing the login phone, and deleting the account with everything it owned or held.

Presence of parameters is checked by the request schemas; the format, state and code checks
are made here in the order the pages list them. A code is spent only when everything else
about the request has passed.
"""

from __future__ import annotations

from typing import Any

from . import codes, crypto, families
from .accounts import EMAIL_FORMAT, PHONE_FORMAT, plain_password, revoke_all, user_domain
from .codes import EMAIL, SMS
from .errors import QuectelError
from .models import FailureCause, SentCode, User
from .store import Cloud

TS_WINDOW_MS = 10 * 60_000  # sendPhoneSmsCode: ts within 10 minutes of the clock
RANDOM_LENGTH = 16
RESET_PASSWORD = "12345678"  # userPwdReset without pwd (documented)

# Which code type each consumer takes (SMS codeType / emailType).
SMS_RESET, SMS_REGISTER, SMS_CANCEL = 1, 3, 4
EMAIL_REGISTER, EMAIL_RESET, EMAIL_LINK, EMAIL_UNLINK = 1, 2, 3, 4


def _phone(phone: str) -> str:
    if not PHONE_FORMAT.match(phone):
        raise QuectelError(5019)
    return phone.lstrip("+")


def _email(email: str) -> str:
    if not EMAIL_FORMAT.match(email):
        raise QuectelError(5040)
    return email


# ---- sending codes -------------------------------------------------------------------------


def send_sms_code(
    cloud: Cloud,
    *,
    codeType: int,
    internationalCode: str,
    phone: str,
    userDomain: str,
    random: str | None = None,
    ts: int | None = None,
    signature: str | None = None,
) -> SentCode:
    """POST v2/sendPhoneSmsCode: a code of `codeType` by SMS to `phone`, into the outbox."""
    number = _phone(phone)
    domain = user_domain(cloud, userDomain)
    if domain.secret is not None and cloud.settings.check_signatures:
        if not signature:
            raise QuectelError(5550)
        if random is None or len(random) != RANDOM_LENGTH or ts is None or abs(ts - cloud.now()) > TS_WINDOW_MS:
            raise QuectelError(5420)
        if signature.lower() != crypto.signature(phone, str(codeType), random, str(ts), domain.secret):
            raise QuectelError(5420)
    return codes.send(cloud, SMS, number, codeType)


def send_email(cloud: Cloud, *, email: str, emailType: int, userDomain: str) -> SentCode:
    """POST v2/sendEmail: a code of `emailType` by e-mail, into the outbox."""
    address = _email(email)
    user_domain(cloud, userDomain)
    return codes.send(cloud, EMAIL, address.lower(), emailType)


# ---- registering -----------------------------------------------------------------------------


def _new_uid(cloud: Cloud) -> str:
    while True:
        cloud.last_registered += 1
        uid = f"{cloud.settings.region}{800000 + cloud.last_registered}"
        if uid not in cloud.users:
            return uid


def _register(cloud: Cloud, domain: str, plain: str, code: SentCode, **address: Any) -> dict:
    now = cloud.now()
    codes.spend(code, now)
    user = User(uid=_new_uid(cloud), user_domain=domain, password=plain, register_time=now, **address)
    cloud.add_user(user)
    return {"uid": user.uid}


def register_phone(
    cloud: Cloud,
    *,
    phone: str,
    pwd: str,
    smsCode: str,
    userDomain: str,
    internationalCode: str | None = None,
    random: str | None = None,
) -> dict:
    """POST (v2/)phonePwdRegister: a new account signed in by phone and password."""
    domain = user_domain(cloud, userDomain)
    number = _phone(phone)
    plain = plain_password(pwd, random)
    if number in cloud.users_by_phone:
        raise QuectelError(5002)
    code = codes.check(cloud, SMS, number, (SMS_REGISTER,), smsCode)
    return _register(cloud, domain.name, plain, code, phone=number, international_code=internationalCode or "86")


def register_email(
    cloud: Cloud, *, code: str, email: str, pwd: str, userDomain: str, random: str | None = None
) -> dict:
    """POST (v2/)emailPwdRegister: a new account signed in by e-mail and password."""
    domain = user_domain(cloud, userDomain)
    address = _email(email)
    plain = plain_password(pwd, random)
    if address.lower() in cloud.users_by_email:
        raise QuectelError(5039)
    sent = codes.check(cloud, EMAIL, address.lower(), (EMAIL_REGISTER,), code)
    return _register(cloud, domain.name, plain, sent, email=address)


# ---- passwords ---------------------------------------------------------------------------------


def reset_password(
    cloud: Cloud,
    *,
    code: str,
    userDomain: str,
    phone: str | None = None,
    email: str | None = None,
    internationalCode: str | None = None,
    pwd: str | None = None,
    random: str | None = None,
) -> None:
    """PUT userPwdReset: a new password (12345678 when none is given) with a code sent to the
    account's phone (codeType 1) or e-mail (emailType 2); every token of the user dies."""
    user_domain(cloud, userDomain)
    if phone:
        number = _phone(phone)
        user = cloud.users_by_phone.get(number)
        channel, to, kind, unknown = SMS, number, SMS_RESET, 5004
    elif email:
        address = _email(email).lower()
        user = cloud.users_by_email.get(address)
        channel, to, kind, unknown = EMAIL, address, EMAIL_RESET, 5031
    else:
        raise QuectelError(5044)
    if user is None or user.user_domain != userDomain:
        raise QuectelError(unknown)
    plain = plain_password(pwd, random) if pwd else RESET_PASSWORD
    sent = codes.check(cloud, channel, to, (kind,), code)
    codes.spend(sent, cloud.now())
    user.password = plain
    revoke_all(cloud, user.uid)
    for key in [k for k in cloud.login_failures if k[1] in (user.phone, (user.email or "").lower())]:
        del cloud.login_failures[key]  # a new password lifts a freeze


def set_password(cloud: Cloud, user: User, *, oldPwd: str, newPwd: str, random: str | None = None) -> None:
    """PUT setUserPwd: the signed-in user changes their password (their tokens stay valid)."""
    old = plain_password(oldPwd, random, undecryptable=5506, malformed=5509)
    new = plain_password(newPwd, random, undecryptable=5508, malformed=5510)
    if old != user.password:
        raise QuectelError(5008)
    if new == old:
        raise QuectelError(5063)
    user.password = new


# ---- the profile ---------------------------------------------------------------------------------

# setUserInfo parameter -> (User attribute, longest value, code when longer).
PROFILE_TEXT = {
    "nikeName": ("nickname", 50, 5060),
    "address": ("address", 254, 5076),
    "province": ("province", 254, 5473),
    "city": ("city", 254, 5474),
    "signature": ("signature", 254, 5475),
    "remark": ("remark", 254, 5476),
    "headImage": ("head_img", 1024, 5034),
}
PROFILE_IDS = {"lang": "lang", "nationality": "nationality", "timezone": "timezone"}


def set_info(cloud: Cloud, user: User, **changes: Any) -> None:
    """PUT setUserInfo: the given profile fields change (read back by userInfo); all are
    checked before any is written."""
    updates: dict[str, Any] = {}
    for name, (attribute, longest, code) in PROFILE_TEXT.items():
        value = changes.get(name)
        if value is not None:
            if len(value) > longest:
                raise QuectelError(code)
            updates[attribute] = value
    if changes.get("sex") is not None:
        updates["sex"] = str(changes["sex"])
    for name, attribute in PROFILE_IDS.items():
        if changes.get(name) is not None:
            updates[attribute] = str(changes[name])
    for attribute, value in updates.items():
        setattr(user, attribute, value)


# ---- linking a phone or an e-mail ------------------------------------------------------------------


def relate_phone(cloud: Cloud, user: User, *, code: str, phone: str, internationalCode: str | None = None) -> None:
    """POST relationPhone: the user's account gains (or changes) its phone, with a code sent to
    it (codeType 3, as for registration: the samples send that type for a new phone)."""
    number = _phone(phone)
    if number in cloud.users_by_phone:
        raise QuectelError(5002)
    sent = codes.check(cloud, SMS, number, (SMS_REGISTER,), code)
    codes.spend(sent, cloud.now())
    _set_phone(cloud, user, number, internationalCode)


def relate_email(cloud: Cloud, user: User, *, code: str, email: str) -> None:
    """POST relationEmail: the account gains (or changes) its e-mail, with an emailType 3 code."""
    address = _email(email)
    if address.lower() in cloud.users_by_email:
        raise QuectelError(5039)
    sent = codes.check(cloud, EMAIL, address.lower(), (EMAIL_LINK,), code)
    codes.spend(sent, cloud.now())
    _set_email(cloud, user, address)


def delete_phone_relation(cloud: Cloud, user: User, *, code: str) -> None:
    """DELETE deletePhoneRelation: unlink the phone (an SMS codeType 4 code sent to it); not
    when it is the account's only way to sign in."""
    if not user.phone:
        raise QuectelError(5384)
    if not user.email:
        raise QuectelError(5396)
    sent = codes.check(cloud, SMS, user.phone, (SMS_CANCEL,), code)
    codes.spend(sent, cloud.now())
    _set_phone(cloud, user, None, None)


def delete_email_relation(cloud: Cloud, user: User, *, code: str) -> None:
    """DELETE deleteEmailRelation: unlink the e-mail (an emailType 4 code sent to it)."""
    if not user.email:
        raise QuectelError(5385)
    if not user.phone:
        raise QuectelError(5396)
    sent = codes.check(cloud, EMAIL, user.email.lower(), (EMAIL_UNLINK,), code)
    codes.spend(sent, cloud.now())
    _set_email(cloud, user, None)


def set_phone(
    cloud: Cloud,
    user: User,
    *,
    newInternationalCode: str,
    newPhone: str,
    newPhoneCode: str,
    oldInternationalCode: str,
    oldPhone: str,
    oldPhoneCode: str,
) -> None:
    """PUT setPhone: move the login phone, with a code sent to each number. The official
    samples disagree on the code types, so a valid code of any type is taken."""
    old, new = oldPhone.lstrip("+"), newPhone.lstrip("+")
    if not user.phone or old != user.phone:
        raise QuectelError(5174)
    if new == old:
        raise QuectelError(5177)
    if not PHONE_FORMAT.match(newPhone):
        raise QuectelError(5169)
    if new in cloud.users_by_phone:
        raise QuectelError(5176)
    old_code = _code_or(cloud, old, oldPhoneCode, 5168)
    new_code = _code_or(cloud, new, newPhoneCode, 5169)
    now = cloud.now()
    codes.spend(old_code, now)
    codes.spend(new_code, now)
    _set_phone(cloud, user, new, newInternationalCode)


def _code_or(cloud: Cloud, phone: str, code: str, failure: int) -> SentCode:
    try:
        return codes.check(cloud, SMS, phone, None, code)
    except QuectelError:
        raise QuectelError(failure) from None


def _set_phone(cloud: Cloud, user: User, phone: str | None, international: str | None) -> None:
    if user.phone and cloud.users_by_phone.get(user.phone) is user:
        del cloud.users_by_phone[user.phone]
    user.phone = phone
    if international:
        user.international_code = international
    if phone:
        cloud.users_by_phone[phone] = user


def _set_email(cloud: Cloud, user: User, email: str | None) -> None:
    if user.email and cloud.users_by_email.get(user.email.lower()) is user:
        del cloud.users_by_email[user.email.lower()]
    user.email = email
    if email:
        cloud.users_by_email[email.lower()] = user


# ---- deleting the account ----------------------------------------------------------------------


def delete_user(cloud: Cloud, user: User, *, type: int = 2) -> None:  # noqa: A002 - the documented name
    """DELETE userDelete: the account goes with what it owned and held. Type 1 (at once) and
    type 2 (after 7 days) both take effect at once here: the simulator keeps no pending-deletion
    state (a scenario wanting the 7 days can move the clock)."""
    for device in list(cloud.owned.get(user.uid, {}).values()):
        for share in cloud.live_shares_of_device(device.key):
            if share.owner_uid == user.uid or not device.binders:
                cloud.end(share, FailureCause.DEVICE_UNBOUND)
        cloud.unbind_device(device, user.uid)
    for share in cloud.active_shares_of(user.uid):
        cloud.end(share, FailureCause.LEFT_BY_RECIPIENT)
    families.forget_user(cloud, user.uid)
    revoke_all(cloud, user.uid)
    cloud.remove_user(user)
