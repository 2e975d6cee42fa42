"""Verification codes, registration, password, profile and account endpoints: accounts from
nothing. The codes go to the world's outbox (GET /_mock/outbox), never outside."""

from __future__ import annotations

from typing import Any

from ...cloud import registration
from ..declare import Area, Call, UserCall
from ..outbox import announce
from ..schemas import DOMAIN, PWD, Choice, Params, Text, Timestamp, Verbatim, described, ignored

sms = Area("/v2/sms/enduserapi")
mail = Area("/v2/mail/enduserapi")
enduser = Area("/v2/enduser/enduserapi")

RANDOM_AES = "the random the password's AES key and iv are derived from (absent: pwd is plain text)"
SMS_TYPES = "1 password reset, 2 login, 3 registration, 4 account cancellation, 5 add push recipient"
EMAIL_TYPES = "1 registration, 2 password reset, 3 link e-mail, 4 unlink e-mail, 5 account cancellation"
# The user domain's checks, wherever a request names one.
DOMAIN_CODES = (5013, 5015, 5023, 5104)


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


def _accepted(what: str, example: Any) -> Text:
    return ignored(described(Text(), f"{what} (accepted and ignored)", example))


# ---- sending codes ---------------------------------------------------------------------------


class SmsCodeParams(Params):
    # 5000 (the parameter in extMsg): no code is documented for a codeType outside 1-5.
    codeType = described(Choice((1, 2, 3, 4, 5), invalid=5000, missing=5000), SMS_TYPES, 3)
    internationalCode = _international(missing=5116)
    phone = _phone()
    random = described(Text(), "exactly 16 characters, signed with the rest", "76a6L647F02CAoN9")
    ts = described(Timestamp(invalid=5420), "the current time in epoch milliseconds, within 10 minutes", 1744773894369)
    userDomain = _domain()
    signature = described(
        Text(), "lower-hex SHA-256 of phone + codeType + random + ts + the user domain's secret", "2deb6518ca0e"
    )


# 5550/5420: the signature, checked as login's is (5420 is the live service's answer).
@sms.endpoint(
    "POST", "v2/sendPhoneSmsCode", SmsCodeParams, auth=False, devices=None,
    codes=(5000, *DOMAIN_CODES, 5019, 5021, 5058, 5116, 5420, 5550),
)  # fmt: skip
def send_phone_sms_code(call: Call) -> None:
    """Sends a verification code by SMS (into the simulator's outbox)."""
    announce(call.world, registration.send_sms_code(call.world, **call.params))


class EmailCodeParams(Params):
    email = _email()
    emailType = described(Choice((1, 2, 3, 4, 5), invalid=5000, missing=5000), EMAIL_TYPES, 1)
    userDomain = _domain()


@mail.endpoint(
    "POST", "v2/sendEmail", EmailCodeParams, auth=False, devices=None,
    codes=(5000, *DOMAIN_CODES, 5026, 5040, 5058),
)  # fmt: skip
def send_email(call: Call) -> None:
    """Sends a verification code by e-mail (into the simulator's outbox)."""
    announce(call.world, registration.send_email(call.world, **call.params))


# ---- registering -----------------------------------------------------------------------------------


class _Profile(Params):
    """What registration accepts beside the account: agreements and profile ids."""

    agreementList = _accepted("the privacy policy and service agreement versions agreed to", "")
    lang = _accepted("language id", 1)
    mcc = _accepted("mobile country code", "460")
    nationality = _accepted("country id", 1)
    timezone = _accepted("time zone id", 1)


class PhoneRegisterParams(_Profile):
    phone = _phone()
    pwd = _pwd()
    smsCode = _code()
    userDomain = _domain()
    internationalCode = _international()
    random = _random()


PHONE_REGISTER_CODES = (*DOMAIN_CODES, 5002, 5019, 5021, 5022, 5037, 5056, 5064)
REGISTERED = {"uid": "C800001"}


def _register_phone(call: Call) -> dict:
    """Registers an account by phone, with a codeType 3 SMS code; data is the new uid."""
    return registration.register_phone(call.world, **call.params)


# Two paths each: the integration guide's (a JSON body) and the API page's (query parameters).
enduser.endpoint(
    "POST", "v2/phonePwdRegister", PhoneRegisterParams, auth=False, body="json", devices=None,
    codes=PHONE_REGISTER_CODES, data=REGISTERED, shape="Registered",
)(_register_phone)  # fmt: skip
enduser.endpoint(
    "POST", "phonePwdRegister", PhoneRegisterParams, auth=False, devices=None,
    codes=PHONE_REGISTER_CODES, data=REGISTERED, shape="Registered",
)(_register_phone)  # fmt: skip


class EmailRegisterParams(_Profile):
    code = _code()
    email = _email()
    pwd = _pwd()
    userDomain = _domain()
    random = _random()


EMAIL_REGISTER_CODES = (*DOMAIN_CODES, 5022, 5026, 5039, 5040, 5046, 5056, 5064)


def _register_email(call: Call) -> dict:
    """Registers an account by e-mail, with an emailType 1 code; data is the new uid."""
    return registration.register_email(call.world, **call.params)


enduser.endpoint(
    "POST", "v2/emailPwdRegister", EmailRegisterParams, auth=False, body="json", devices=None,
    codes=EMAIL_REGISTER_CODES, data=REGISTERED, shape="Registered",
)(_register_email)  # fmt: skip
enduser.endpoint(
    "POST", "emailPwdRegister", EmailRegisterParams, auth=False, devices=None,
    codes=EMAIL_REGISTER_CODES, data=REGISTERED, shape="Registered",
)(_register_email)  # fmt: skip


# ---- passwords and profile ----------------------------------------------------------------------------


class ResetParams(Params):
    code = _code()
    userDomain = _domain()
    phone = described(Text(), "the account's phone (or give email)", "13900000077")
    email = described(Text(), "the account's e-mail (or give phone)", "nina@example.com")
    internationalCode = _international()
    pwd = described(Verbatim(), PWD + "; absent: the password becomes 12345678", "nina-pass-2")
    random = _random()


# 5040/5046: an e-mail address's format and code (the page lists only the phone's).
@enduser.endpoint(
    "PUT", "userPwdReset", ResetParams, auth=False, devices=None,
    codes=(*DOMAIN_CODES, 5004, 5019, 5031, 5037, 5040, 5044, 5046, 5056, 5064),
)  # fmt: skip
def reset_password(call: Call) -> None:
    """Resets a forgotten password with a code sent to the phone (type 1) or e-mail (type 2)."""
    registration.reset_password(call.world, **call.params)


class SetPasswordParams(Params):
    oldPwd = described(Verbatim(missing=5505), "the current password, " + PWD, "nina-pass-1")
    newPwd = described(Verbatim(missing=5507), "the new password, " + PWD, "nina-pass-2")
    random = _random()


@enduser.endpoint(
    "PUT", "setUserPwd", SetPasswordParams, devices=None,
    codes=(5008, 5043, 5063, 5505, 5506, 5507, 5508, 5509, 5510),
)  # fmt: skip
def set_password(call: UserCall) -> None:
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


@enduser.endpoint(
    "PUT", "setUserInfo", UserInfoParams, devices=None,
    codes=(5034, 5042, 5060, 5061, 5076, 5473, 5474, 5475, 5476),
)  # fmt: skip
def set_user_info(call: UserCall) -> None:
    """Changes the given profile fields of the signed-in user (read back by userInfo)."""
    registration.set_info(call.world, call.user, **call.params)


class DeleteUserParams(Params):
    type = described(Choice((1, 2), invalid=5152, default=2), "1 delete at once, 2 after 7 days (default)", 1)


@enduser.endpoint("DELETE", "userDelete", DeleteUserParams, codes=(5129, 5152), devices=None)
def delete_user(call: UserCall) -> None:
    """Deletes the account: its devices are unbound, its shares end, its tokens die."""
    registration.delete_user(call.world, call.user, **call.params)


# ---- phone and e-mail links -----------------------------------------------------------------------------


class RelatePhoneParams(Params):
    code = _code()
    phone = _phone()
    internationalCode = _international()


@enduser.endpoint("POST", "relationPhone", RelatePhoneParams, codes=(5002, 5019, 5021, 5037, 5064), devices=None)
def relate_phone(call: UserCall) -> None:
    """Links a phone to the account, with a codeType 3 SMS code sent to it."""
    registration.relate_phone(call.world, call.user, **call.params)


class RelateEmailParams(Params):
    code = _code()
    email = _email()


@enduser.endpoint("POST", "relationEmail", RelateEmailParams, codes=(5026, 5039, 5040, 5046, 5064), devices=None)
def relate_email(call: UserCall) -> None:
    """Links an e-mail to the account, with an emailType 3 code sent to it."""
    registration.relate_email(call.world, call.user, **call.params)


class CodeOnlyParams(Params):
    code = _code()


@enduser.endpoint("DELETE", "deletePhoneRelation", CodeOnlyParams, codes=(5037, 5064, 5384, 5396), devices=None)
def delete_phone_relation(call: UserCall) -> None:
    """Unlinks the account's phone, with a codeType 4 SMS code sent to it."""
    registration.delete_phone_relation(call.world, call.user, **call.params)


@enduser.endpoint("DELETE", "deleteEmailRelation", CodeOnlyParams, codes=(5046, 5064, 5385, 5396), devices=None)
def delete_email_relation(call: UserCall) -> None:
    """Unlinks the account's e-mail, with an emailType 4 code sent to it."""
    registration.delete_email_relation(call.world, call.user, **call.params)


class SetPhoneParams(Params):
    newInternationalCode = described(Text(missing=5162), "the new phone's country calling code", "86")
    newPhone = described(Text(missing=5163), "the new phone number", "13900000088")
    newPhoneCode = described(Text(missing=5164), "a code sent to the new phone", "325187")
    oldInternationalCode = described(Text(missing=5165), "the current phone's country calling code", "86")
    oldPhone = described(Text(missing=5166), "the current phone number", "13900000077")
    oldPhoneCode = described(Text(missing=5167), "a code sent to the current phone", "118345")


@enduser.endpoint(
    "PUT", "setPhone", SetPhoneParams, devices=None, codes=(5033, *range(5162, 5171), 5174, 5175, 5176, 5177)
)
def set_phone(call: UserCall) -> None:
    """Moves the account's login phone, with a code sent to each number."""
    registration.set_phone(call.world, call.user, **call.params)
