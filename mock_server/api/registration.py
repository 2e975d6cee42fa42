"""Verification codes, registration, password, profile and account endpoints: accounts from
nothing. The codes go to the world's outbox (GET /_mock/outbox), never outside."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from ..cloud import registration
from .context import current
from .dispatch import REGISTRY, Call, EndpointDoc, answer, endpoint
from .envelope import to_response
from .outbox import announce
from .schemas import DOMAIN, PWD, Choice, Params, Text, Timestamp, Verbatim, described

sms = Blueprint("sms_codes", __name__, url_prefix="/v2/sms/enduserapi/v2")
mail = Blueprint("mail_codes", __name__, url_prefix="/v2/mail/enduserapi/v2")
enduser_v2 = Blueprint("registration_v2", __name__, url_prefix="/v2/enduser/enduserapi/v2")
enduser = Blueprint("registration", __name__, url_prefix="/v2/enduser/enduserapi")

RANDOM_AES = "the random the password's AES key and iv are derived from (absent: pwd is plain text)"
SMS_TYPES = "1 password reset, 2 login, 3 registration, 4 account cancellation, 5 add push recipient"
EMAIL_TYPES = "1 registration, 2 password reset, 3 link e-mail, 4 unlink e-mail, 5 account cancellation"


def _domain() -> Text:
    return described(Text(missing=5023), DOMAIN, "C.DM.5903.1")


def _phone(missing: int = 5021) -> Text:
    return described(Text(missing=missing), "phone number", "13900000077")


def _email() -> Text:
    return described(Text(missing=5026), "e-mail address", "nina@example.com")


def _pwd(missing: int = 5022) -> Verbatim:
    return described(Verbatim(missing=missing), PWD, "nina-pass-1")


def _random() -> Text:
    return described(Text(), RANDOM_AES, "abcdef")


def _code() -> Text:
    return described(Text(missing=5064), "the verification code from the SMS or e-mail", "325187")


def _international(missing: int | None = None) -> Text:
    return described(Text(missing=missing), "country calling code (default 86)", "86")


def _ignored(what: str, example: Any) -> Text:
    return described(Text(), f"{what} (accepted and ignored)", example)


# ---- sending codes ---------------------------------------------------------------------------


class SmsCodeParams(Params):
    codeType = described(Choice((1, 2, 3, 4, 5), invalid=5000, missing=5000), SMS_TYPES, 3)
    internationalCode = _international(missing=5116)
    phone = _phone()
    random = described(Text(), "exactly 16 characters, signed with the rest", "76a6L647F02CAoN9")
    ts = described(Timestamp(invalid=5420), "the current time in epoch milliseconds, within 10 minutes", 1744773894369)
    userDomain = _domain()
    signature = described(
        Text(), "lower-hex SHA-256 of phone + codeType + random + ts + the user domain's secret", "2deb6518ca0e"
    )


@endpoint(sms, "POST", "sendPhoneSmsCode", SmsCodeParams, auth=False)
def send_phone_sms_code(call: Call) -> None:
    """Sends a verification code by SMS (into the simulator's outbox)."""
    announce(call.world, registration.send_sms_code(call.world, **call.params))


class EmailCodeParams(Params):
    email = _email()
    emailType = described(Choice((1, 2, 3, 4, 5), invalid=5000, missing=5000), EMAIL_TYPES, 1)
    userDomain = _domain()


@endpoint(mail, "POST", "sendEmail", EmailCodeParams, auth=False)
def send_email(call: Call) -> None:
    """Sends a verification code by e-mail (into the simulator's outbox)."""
    announce(call.world, registration.send_email(call.world, **call.params))


# ---- registering -----------------------------------------------------------------------------------


class PhoneRegisterParams(Params):
    phone = _phone()
    pwd = _pwd()
    smsCode = _code()
    userDomain = _domain()
    internationalCode = _international()
    random = _random()
    agreementList = described(
        Text(), "the privacy policy and service agreement versions agreed to (accepted and ignored)", ""
    )
    lang = _ignored("language id", 1)
    mcc = _ignored("mobile country code", "460")
    nationality = _ignored("country id", 1)
    timezone = _ignored("time zone id", 1)


def _profile_free(params: dict) -> dict:
    """The parameters registration uses (the profile ids and agreements are accepted only)."""
    return {k: v for k, v in params.items() if k not in ("agreementList", "lang", "mcc", "nationality", "timezone")}


def _alias(bp: Blueprint, name: str, method: str) -> None:
    """Answer `name` at `bp`'s path too, exactly as its declared form does (the pages and the
    integration guide give registration two paths)."""
    doc: EndpointDoc = next(d for d in reversed(REGISTRY) if d.name == name)
    bp.add_url_rule("/" + name, endpoint=name, view_func=lambda: to_response(answer(doc, current())), methods=[method])


@endpoint(enduser_v2, "POST", "phonePwdRegister", PhoneRegisterParams, auth=False, data="Registered", body="json")
def phone_register(call: Call) -> dict:
    """Registers an account by phone, with a codeType 3 SMS code; data is the new uid."""
    return registration.register_phone(call.world, **_profile_free(call.params))


_alias(enduser, "phonePwdRegister", "POST")


class EmailRegisterParams(Params):
    code = _code()
    email = _email()
    pwd = _pwd()
    userDomain = _domain()
    random = _random()
    agreementList = described(
        Text(), "the privacy policy and service agreement versions agreed to (accepted and ignored)", ""
    )
    lang = _ignored("language id", 1)
    mcc = _ignored("mobile country code", "460")
    nationality = _ignored("country id", 1)
    timezone = _ignored("time zone id", 1)


@endpoint(enduser_v2, "POST", "emailPwdRegister", EmailRegisterParams, auth=False, data="Registered", body="json")
def email_register(call: Call) -> dict:
    """Registers an account by e-mail, with an emailType 1 code; data is the new uid."""
    return registration.register_email(call.world, **_profile_free(call.params))


_alias(enduser, "emailPwdRegister", "POST")


# ---- passwords and profile ----------------------------------------------------------------------------


class ResetParams(Params):
    code = _code()
    userDomain = _domain()
    phone = described(Text(), "the account's phone (or give email)", "13900000077")
    email = described(Text(), "the account's e-mail (or give phone)", "nina@example.com")
    internationalCode = _international()
    pwd = described(Verbatim(), PWD + "; absent: the password becomes 12345678", "nina-pass-2")
    random = _random()


@endpoint(enduser, "PUT", "userPwdReset", ResetParams, auth=False)
def reset_password(call: Call) -> None:
    """Resets a forgotten password with a code sent to the phone (type 1) or e-mail (type 2)."""
    registration.reset_password(call.world, **call.params)


class SetPasswordParams(Params):
    oldPwd = described(Verbatim(missing=5505), "the current password, " + PWD, "nina-pass-1")
    newPwd = described(Verbatim(missing=5507), "the new password, " + PWD, "nina-pass-2")
    random = _random()


@endpoint(enduser, "PUT", "setUserPwd", SetPasswordParams)
def set_password(call: Call) -> None:
    """Changes the signed-in user's password."""
    registration.set_password(call.world, call.user, **call.params)


class UserInfoParams(Params):
    nikeName = described(Text(), "nickname, at most 50 characters (sic: nikeName)", "Nina")
    headImage = described(Text(), "avatar URL (userInfo answers it as headimg)", "https://example.com/nina.png")
    sex = described(Choice((0, 1, 2), invalid=5061), "0 male, 1 female, 2 private", 1)
    address = described(Text(), "address, at most 254 characters", "1 Harbour Road")
    city = described(Text(), "city", "Lisbon")
    province = described(Text(), "province", "Lisboa")
    signature = described(Text(), "personal signature", "Hello")
    remark = described(Text(), "remark", "")
    lang = described(Text(), "language id", "1")
    nationality = described(Text(), "country id", "1")
    timezone = described(Text(), "time zone id", "1")


@endpoint(enduser, "PUT", "setUserInfo", UserInfoParams)
def set_user_info(call: Call) -> None:
    """Changes the given profile fields of the signed-in user (read back by userInfo)."""
    registration.set_info(call.world, call.user, **call.params)


class DeleteUserParams(Params):
    type = described(Choice((1, 2), invalid=5152, default=2), "1 delete at once, 2 after 7 days (default)", 1)


@endpoint(enduser, "DELETE", "userDelete", DeleteUserParams)
def delete_user(call: Call) -> None:
    """Deletes the account: its devices are unbound, its shares end, its tokens die."""
    registration.delete_user(call.world, call.user, **call.params)


# ---- phone and e-mail links -----------------------------------------------------------------------------


class RelatePhoneParams(Params):
    code = _code()
    phone = _phone()
    internationalCode = _international()


@endpoint(enduser, "POST", "relationPhone", RelatePhoneParams)
def relate_phone(call: Call) -> None:
    """Links a phone to the account, with a codeType 3 SMS code sent to it."""
    registration.relate_phone(call.world, call.user, **call.params)


class RelateEmailParams(Params):
    code = _code()
    email = _email()


@endpoint(enduser, "POST", "relationEmail", RelateEmailParams)
def relate_email(call: Call) -> None:
    """Links an e-mail to the account, with an emailType 3 code sent to it."""
    registration.relate_email(call.world, call.user, **call.params)


class CodeOnlyParams(Params):
    code = _code()


@endpoint(enduser, "DELETE", "deletePhoneRelation", CodeOnlyParams)
def delete_phone_relation(call: Call) -> None:
    """Unlinks the account's phone, with a codeType 4 SMS code sent to it."""
    registration.delete_phone_relation(call.world, call.user, **call.params)


@endpoint(enduser, "DELETE", "deleteEmailRelation", CodeOnlyParams)
def delete_email_relation(call: Call) -> None:
    """Unlinks the account's e-mail, with an emailType 4 code sent to it."""
    registration.delete_email_relation(call.world, call.user, **call.params)


class SetPhoneParams(Params):
    newInternationalCode = described(Text(missing=5162), "the new phone's country calling code", "86")
    newPhone = described(Text(missing=5163), "the new phone number", "13900000088")
    newPhoneCode = described(Text(missing=5164), "a code sent to the new phone", "325187")
    oldInternationalCode = described(Text(missing=5165), "the current phone's country calling code", "86")
    oldPhone = described(Text(missing=5166), "the current phone number", "13900000077")
    oldPhoneCode = described(Text(missing=5167), "a code sent to the current phone", "118345")


@endpoint(enduser, "PUT", "setPhone", SetPhoneParams)
def set_phone(call: Call) -> None:
    """Moves the account's login phone, with a code sent to each number."""
    registration.set_phone(call.world, call.user, **call.params)


BLUEPRINTS = (sms, mail, enduser_v2, enduser)
