"""Request schemas: one per endpoint, each field carrying the Quectel code it fails with.

A field's error messages are the codes themselves ("5066"). `params.parse` loads a schema
and answers the first code in the documented check order: presence of each parameter in
declaration order, then each parameter's format in declaration order, then the schema-level
(cross-field) rules, which marshmallow only runs once every field is well formed.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates, validates_schema

from ..cloud.models import Settings

INT64_MAX = 2**63 - 1
SECONDS_BELOW = 10**12  # a smaller timestamp is most likely in seconds


def _doc(description: str, example: Any) -> dict[str, Any]:
    """What the OpenAPI document says of a parameter (every one has both: a test sees to it)."""
    return {"description": description, "example": example} if description else {}


def _codes(missing: int | None, invalid: int | None) -> dict[str, str]:
    messages = {}
    if missing is not None:
        messages.update(required=str(missing), null=str(missing))
    if invalid is not None or missing is not None:
        messages.update(invalid=str(invalid if invalid is not None else missing))
    return messages


class Text(fields.String):
    """A string parameter; numbers (from a JSON body) are taken as their text."""

    def __init__(
        self,
        missing: int | None = None,
        invalid: int | None = None,
        description: str = "",
        example: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            required=missing is not None,
            error_messages=_codes(missing, invalid),
            metadata={"missing": missing, "invalid": invalid, **_doc(description, example)},
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) and self.metadata["missing"] is None and self.metadata["invalid"] is None:
            return None  # an object or array where an optional string belongs: ignored
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Timestamp(fields.Field):
    """Epoch milliseconds: a non-negative integer within int64, as a number or digits."""

    def __init__(
        self, missing: int | None = None, invalid: int = 5145, description: str = "", example: Any = None
    ) -> None:
        super().__init__(
            required=missing is not None,
            error_messages=_codes(missing, invalid),
            metadata={"missing": missing, "invalid": invalid, "timestamp": True, **_doc(description, example)},
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or not 0 <= value <= INT64_MAX:
            raise self.make_error("invalid")
        return value


class Choice(fields.Field):
    """A small integer from a fixed set, defaulting when absent."""

    def __init__(
        self, choices: tuple[int, ...], invalid: int, default: int, description: str = "", example: Any = None
    ) -> None:
        self.choices = choices
        super().__init__(
            load_default=default,
            error_messages={"invalid": str(invalid), "null": str(invalid)},
            metadata={"invalid": invalid, "enum": list(choices), **_doc(description, example)},
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not text.lstrip("-").isdigit() or int(text) not in self.choices:
            raise self.make_error("invalid")
        return int(text)


class Lenient(fields.Field):
    """A positive integer that falls back to its default when absent or malformed."""

    def __init__(self, default: int | None, description: str = "", example: Any = None) -> None:
        self.default = default
        super().__init__(load_default=default, metadata={"minimum": 1, **_doc(description, example)})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | None:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or int(text) < 1 or int(text) > INT64_MAX:
            return self.default
        return int(text)


class CommaList(fields.Field):
    """A comma-separated list (or a JSON array) of strings."""

    def __init__(self, description: str = "", example: Any = None) -> None:
        super().__init__(metadata=_doc(description, example))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]


class Params(Schema):
    """Base: unknown parameters are ignored, and a blank value counts as absent.

    An instance is made per world settings (see `params.schema_for`), because a few
    behaviour switches change what a parameter means.
    """

    class Meta:
        unknown = EXCLUDE

    settings = Settings()

    @property
    def device_name_max(self) -> int:
        return self.settings.device_name_max

    def is_lifelong(self, usage: int | None) -> bool:
        return usage is None or (usage == 0 and self.settings.zero_expiry_is_lifelong)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timestamp_fields = [n for n, f in self.fields.items() if f.metadata.get("timestamp")]

    def load(self, data: Any, **kwargs: Any) -> Any:
        # The steps before and after marshmallow's own are done here rather than as
        # pre_load/post_load hooks: same effect, a fifth of the cost on every request.
        return self._timestamps(super().load(self._drop_blank(data), **kwargs))

    def _drop_blank(self, data: dict) -> dict:
        data = {k: v for k, v in data.items() if v is not None and not (isinstance(v, str) and not v.strip())}
        if self.settings.cover_mark_zero_is_default and str(data.get("coverMark", "")).strip() == "0":
            del data["coverMark"]  # old Android SDKs send 0 for "default"
        return data

    def _timestamps(self, data: dict) -> dict:
        """sharingExpireAt 0 means lifelong; values below 10^12 are handled as the world says."""
        if "sharingExpireAt" in data and self.is_lifelong(data["sharingExpireAt"]):
            data["sharingExpireAt"] = None
        mode = self.settings.seconds_timestamps
        if mode == "accept":
            return data
        for name in self.timestamp_fields:
            value = data.get(name)
            if value and value < SECONDS_BELOW:
                if mode == "reject":
                    raise ValidationError({"_schema": ["5145"]})
                data[name] = value * 1000
        return data

    def _check_name_length(self, value: str) -> None:
        if len(value) > self.device_name_max:
            raise ValidationError("5333")


class NamedParams(Params):
    """Schemas with a `deviceName` limited to the world's device-name length."""

    @validates("deviceName")
    def _name_length(self, value: str, **kwargs: Any) -> None:
        self._check_name_length(value)


# ---- sharing -------------------------------------------------------------------------------
# The parameters most endpoints share, described once.

EPOCH_MS = "epoch milliseconds"
CODE_EXAMPLE = "share_dv_C0123456789abcdef0123456789abcdef0123"


def _pk(missing: int | None = 5066) -> Text:
    return Text(missing=missing, description="Product Key of the device", example="p11u5w")


def _dk(missing: int | None = 5067) -> Text:
    return Text(missing=missing, description="Device Key of the device", example="LAMP00000001")


def _share_code(missing: int | None = 5136) -> Text:
    return Text(missing=missing, description="the share code shareInfo or shareByUid returned", example=CODE_EXAMPLE)


def _sharing_expire_at(missing: int | None = None) -> Timestamp:
    return Timestamp(
        missing=missing,
        description=f"when the recipient's use of the device ends, {EPOCH_MS}; absent or 0: lifelong",
        example=1_769_904_000_000,
    )


def _cover_mark() -> Choice:
    return Choice(
        (1, 2, 3),
        invalid=5133,
        default=1,
        description="when the recipient already holds a share of the device: 1 the new one replaces it, "
        "2 both are kept, 3 replaces it only if the new one lasts at least as long",
        example=1,
    )


def _auth_key() -> Text:
    return Text(description="the device's authKey, as the app knows it (accepted, not checked)", example="")


def _device_name(missing: int | None = None, what: str = "the recipient's own name for the device") -> Text:
    return Text(missing=missing, description=f"{what}, at most 64 characters", example="Living room lamp")


def _ignored(example: Any = "") -> Text:
    return Text(description="sent by some clients; accepted and ignored", example=example)


class ShareInfoParams(Params):
    pk = _pk()
    dk = _dk()
    acceptingExpireAt = Timestamp(
        missing=5132, description=f"until when the code can be accepted, {EPOCH_MS}", example=1_767_225_600_000
    )
    sharingExpireAt = _sharing_expire_at()
    coverMark = _cover_mark()
    authKey = _auth_key()

    @validates_schema
    def _usage_after_accept(self, data: dict, **kwargs: Any) -> None:
        usage = data.get("sharingExpireAt")
        if not self.is_lifelong(usage) and usage <= data["acceptingExpireAt"]:
            raise ValidationError("5153")


class ShareByUidParams(Params):
    pk = _pk()
    dk = _dk()
    sharingExpireAt = _sharing_expire_at()
    coverMark = _cover_mark()
    shareUid = Text(description="the recipient's uid (looked up first)", example="C1002")
    email = Text(description="the recipient's e-mail, when no shareUid is given", example="recipient@example.com")
    phone = Text(description="the recipient's phone, when neither shareUid nor email is given", example="13800000002")
    authKey = _auth_key()

    @validates_schema
    def _someone(self, data: dict, **kwargs: Any) -> None:
        if not any(data.get(k) for k in ("shareUid", "email", "phone")):
            raise ValidationError("5891")


class ShareCodeParams(Params):
    shareCode = _share_code()


class SetShareTimeParams(Params):
    shareCode = _share_code()
    sharingExpireAt = _sharing_expire_at(missing=5145)


class AcceptParams(NamedParams):
    shareCode = _share_code()
    deviceName = _device_name()


class RenameParams(NamedParams):
    shareCode = _share_code()
    deviceName = _device_name(missing=5068)


class DeviceKeyParams(Params):
    pk = _pk()
    dk = _dk()


# ---- devices -------------------------------------------------------------------------------


class DeviceInfoParams(Params):
    pk = _pk(missing=None)
    dk = _dk(missing=None)
    shareCode = _share_code(missing=None)

    @validates_schema
    def _which_device(self, data: dict, **kwargs: Any) -> None:
        if not data.get("shareCode") and not (data.get("pk") and data.get("dk")):
            raise ValidationError("5140")


class UserDeviceListParams(NamedParams):
    deviceName = _device_name(what="only devices whose name contains this (any case)")
    dk = Text(description="only the device with this Device Key", example="LAMP00000001")
    pkList = CommaList(description="only devices of these Product Keys, comma-separated", example="p11u5w,p11u6t")
    page = Lenient(default=None, description="page number, from 1 (default 1)", example=1)
    pageNumber = Lenient(default=None, description="page number, from 1, when page is absent", example=1)
    pageSize = Lenient(default=10, description="rows per page", example=10)
    isAssociation = _ignored()
    isGroupDeviceShow = _ignored()
    secondItemCode = _ignored()


class UnbindParams(DeviceKeyParams):
    isInit = _ignored(example="false")
    pureBtResetCredentials = _ignored()
    random = _ignored()


# ---- accounts ------------------------------------------------------------------------------

PWD = "the password, AES-128-CBC with key and iv derived from random, Base64 (plain text when random is absent)"
DOMAIN = "the app's user domain, such as C.DM.5903.1 or U.SP.8589934603"
RANDOM = "16 characters from which the password's AES key and iv are derived"


class EmailLoginParams(Params):
    email = Text(missing=5026, description="the account's e-mail", example="owner@example.com")
    pwd = Text(missing=5022, description=PWD, example="lkZMvj0KDSJXlp66jBieHA==")
    signature = Text(
        missing=5550, description="hex SHA-256 of email + pwd + random + the user domain's secret", example="9f86d0"
    )
    userDomain = Text(missing=5023, description=DOMAIN, example="C.DM.5903.1")
    random = Text(description=RANDOM, example="j1acpdj2bmtqZXVb")
    mcc = Text(description="mobile country code (accepted and ignored: one data centre)", example="460")


class PhoneLoginParams(Params):
    phone = Text(missing=5021, description="the account's phone number", example="13800000001")
    pwd = Text(missing=5022, description=PWD, example="lkZMvj0KDSJXlp66jBieHA==")
    signature = Text(
        missing=5550,
        description="hex SHA-256 of internationalCode + phone + pwd + random + the user domain's secret",
        example="9f86d0",
    )
    userDomain = Text(missing=5023, description=DOMAIN, example="C.DM.5903.1")
    internationalCode = Text(description="country calling code (default 86)", example="86")
    random = Text(description=RANDOM, example="j1acpdj2bmtqZXVb")
    mcc = Text(description="mobile country code (accepted and ignored: one data centre)", example="460")


class RefreshParams(Params):
    refreshToken = Text(
        missing=5106, description="the refresh token from login, with or without Bearer", example="Bearer eyJhbGciOi"
    )
