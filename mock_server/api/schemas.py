"""Request schemas: one per endpoint, each field carrying the Quectel code it fails with.

A field's error messages are the codes themselves ("5066"). `params.parse` loads a schema
and answers the first code in the documented check order: presence of each parameter in
declaration order, then each parameter's format in declaration order, then the schema-level
(cross-field) rules, which marshmallow only runs once every field is well formed.
"""

from __future__ import annotations

import json
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates, validates_schema

from ..cloud.models import Settings

INT64_MAX = 2**63 - 1
SECONDS_BELOW = 10**12  # a smaller timestamp is most likely in seconds


def _codes(missing: int | None, invalid: int | None) -> dict[str, str]:
    messages = {}
    if missing is not None:
        messages.update(required=str(missing), null=str(missing))
    if invalid is not None or missing is not None:
        messages.update(invalid=str(invalid if invalid is not None else missing))
    return messages


class Text(fields.String):
    """A string parameter; numbers (from a JSON body) are taken as their text."""

    def __init__(self, missing: int | None = None, invalid: int | None = None, **kwargs: Any) -> None:
        super().__init__(
            required=missing is not None,
            error_messages=_codes(missing, invalid),
            metadata={"missing": missing, "invalid": invalid},
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) and self.metadata["missing"] is None and self.metadata["invalid"] is None:
            return None  # an object or array where an optional string belongs: ignored
        return self._text(super()._deserialize(value, attr, data, **kwargs))

    def _text(self, value: str) -> str:
        return value.strip()


class Verbatim(Text):
    """A string kept exactly as sent, because it was signed so: Android clients append a
    newline to the base64 `pwd` and sign that very string."""

    def _text(self, value: str) -> str:
        return value


class Timestamp(fields.Field):
    """Epoch milliseconds: a non-negative integer within int64, as a number or digits."""

    def __init__(self, missing: int | None = None, invalid: int = 5145, **kwargs: Any) -> None:
        super().__init__(
            required=missing is not None,
            error_messages=_codes(missing, invalid),
            metadata={"missing": missing, "invalid": invalid, "timestamp": True},
            **kwargs,
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
    """A small integer from a fixed set: defaulting when absent, or required with code `missing`."""

    def __init__(
        self,
        choices: tuple[int, ...],
        invalid: int,
        default: int | None = None,
        missing: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.choices = choices
        messages = {"invalid": str(invalid), "null": str(invalid)}
        if missing is not None:
            kwargs["required"] = True
            messages["required"] = str(missing)
        else:
            kwargs["load_default"] = default
        super().__init__(
            error_messages=messages,
            metadata={"invalid": invalid, "missing": missing, "enum": list(choices)},
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not text.lstrip("-").isdigit() or int(text) not in self.choices:
            raise self.make_error("invalid")
        return int(text)


class Lenient(fields.Field):
    """A positive integer that falls back to its default when absent or malformed."""

    def __init__(self, default: int | None, **kwargs: Any) -> None:
        self.default = default
        super().__init__(load_default=default, metadata={"minimum": 1}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | None:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or int(text) < 1 or int(text) > INT64_MAX:
            return self.default
        return int(text)


class CommaList(fields.Field):
    """A comma-separated list (or a JSON array) of strings."""

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


class ShareInfoParams(Params):
    pk = Text(missing=5066)
    dk = Text(missing=5067)
    acceptingExpireAt = Timestamp(missing=5132)
    sharingExpireAt = Timestamp()
    coverMark = Choice((1, 2, 3), invalid=5133, default=1)
    authKey = Text()

    @validates_schema
    def _usage_after_accept(self, data: dict, **kwargs: Any) -> None:
        usage = data.get("sharingExpireAt")
        if not self.is_lifelong(usage) and usage <= data["acceptingExpireAt"]:
            raise ValidationError("5153")


class ShareByUidParams(Params):
    pk = Text(missing=5066)
    dk = Text(missing=5067)
    sharingExpireAt = Timestamp()
    coverMark = Choice((1, 2, 3), invalid=5133, default=1)
    shareUid = Text()
    email = Text()
    phone = Text()
    authKey = Text()

    @validates_schema
    def _someone(self, data: dict, **kwargs: Any) -> None:
        if not any(data.get(k) for k in ("shareUid", "email", "phone")):
            raise ValidationError("5891")


class ShareCodeParams(Params):
    shareCode = Text(missing=5136)


class SetShareTimeParams(Params):
    shareCode = Text(missing=5136)
    sharingExpireAt = Timestamp(missing=5145)


class AcceptParams(NamedParams):
    shareCode = Text(missing=5136)
    deviceName = Text()


class RenameParams(NamedParams):
    shareCode = Text(missing=5136)
    deviceName = Text(missing=5068)


class DeviceKeyParams(Params):
    pk = Text(missing=5066)
    dk = Text(missing=5067)


# ---- devices -------------------------------------------------------------------------------


class DeviceInfoParams(Params):
    pk = Text()
    dk = Text()
    shareCode = Text()

    @validates_schema
    def _which_device(self, data: dict, **kwargs: Any) -> None:
        if not data.get("shareCode") and not (data.get("pk") and data.get("dk")):
            raise ValidationError("5140")


class UserDeviceListParams(NamedParams):
    deviceName = Text()
    dk = Text()
    pkList = CommaList()
    page = Lenient(default=None)
    pageNumber = Lenient(default=None)
    pageNum = Lenient(default=None)
    pageSize = Lenient(default=10)
    isAssociation = Text()
    isGroupDeviceShow = Text()
    secondItemCode = Text()


class UnbindParams(DeviceKeyParams):
    isInit = Text()
    pureBtResetCredentials = Text()
    random = Text()


# ---- accounts ------------------------------------------------------------------------------


class EmailLoginParams(Params):
    email = Text(missing=5026)
    pwd = Verbatim(missing=5022)
    signature = Text(missing=5550)
    userDomain = Text(missing=5023)
    random = Text()
    mcc = Text()


class PhoneLoginParams(Params):
    phone = Text(missing=5021)
    pwd = Verbatim(missing=5022)
    signature = Text(missing=5550)
    userDomain = Text(missing=5023)
    internationalCode = Text()
    random = Text()
    mcc = Text()


class RefreshParams(Params):
    refreshToken = Text(missing=5106)


# ---- devices in use: thing models, values, control -------------------------------------------

CACHE_SECONDS = (1, 7_776_000)
MAX_COMMAND = 4096


class ProductKeyParams(Params):
    pk = Text(missing=5066)
    gatewayPk = Text()


class BusinessAttributesParams(DeviceKeyParams):
    type = CommaList()
    typeList = CommaList()  # an old Android SDK's name for `type`
    codeList = CommaList()
    gatewayPk = Text()
    gatewayDk = Text()

    @validates_schema
    def _codes_need_a_type(self, data: dict, **kwargs: Any) -> None:
        if data.get("codeList") and not (data.get("type") or data.get("typeList")):
            raise ValidationError("5471")


class Loose(fields.Field):
    """A number a cross-field rule judges: an int when it reads as one, else the text as sent."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        text = str(value).strip()
        if isinstance(value, bool) or not text.lstrip("-").isdigit():
            return text
        return int(text)


class DeviceList(fields.Field):
    """batchControlDevice's deviceList: a JSON array of {productKey, deviceKey, ...}, or its text."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=True,
            error_messages={"required": "5311", "null": "5311", "invalid": "5311", "too_many": "5312"},
            metadata={"missing": 5311, "invalid": 5311},
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[dict]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise self.make_error("invalid") from None
        if not isinstance(value, list) or not value:
            raise self.make_error("invalid")
        if len(value) > 100:
            raise self.make_error("too_many")
        return [item if isinstance(item, dict) else {} for item in value]


class BatchControlParams(Params):
    type = Choice((1, 2, 3), invalid=5071, missing=5070)
    data = Text(missing=5074, validate=validate.Length(max=MAX_COMMAND, error="5075"))
    deviceList = DeviceList()
    dataFormat = Loose()
    cacheTime = Loose()
    isCache = Choice((1, 2), invalid=5330, default=2)
    isCover = Choice((1, 2), invalid=5331, default=2)
    qos = Lenient(default=1)

    @validates_schema
    def _formats(self, data: dict, **kwargs: Any) -> None:
        # Live clients send dataFormat 0 with property writes: only passthrough needs it.
        if data["type"] == 1:
            if data.get("dataFormat") is None:
                raise ValidationError("5072")
            if data["dataFormat"] not in (1, 2):
                raise ValidationError("5073")
        if data["isCache"] == 1:
            seconds = data.get("cacheTime")
            if seconds is None:
                raise ValidationError("5328")
            if not isinstance(seconds, int) or not CACHE_SECONDS[0] <= seconds <= CACHE_SECONDS[1]:
                raise ValidationError("5329")


class BindingCheckParams(Params):
    pk = Text(missing=5066)
    dk = Text()
    checkExistInCloud = Text()
    fid = Text()


class ProductListParams(Params):
    page = Lenient(default=None)
    pageNumber = Lenient(default=None)
    pageNum = Lenient(default=None)
    pageSize = Lenient(default=10)
