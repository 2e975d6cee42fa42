"""Request schemas: one per endpoint, each field carrying the Quectel code it fails with.

A field's error messages are the codes themselves ("5066"). `params.parse` loads a schema
and answers the first code in the documented check order: presence of each parameter in
declaration order, then each parameter's format in declaration order, then the schema-level
(cross-field) rules, which marshmallow only runs once every field is well formed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, validate, validates, validates_schema
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.types import ErrorMessages

from ..cloud.jsontext import read_json
from ..cloud.models import Settings

INT64_MAX = 2**63 - 1
SECONDS_BELOW = 10**12  # a smaller timestamp is most likely in seconds
EPOCH_MS = "epoch milliseconds"
F = TypeVar("F", bound=fields.Field)


def described(field: F, description: str, example: Any) -> F:
    """The field, with what the OpenAPI document says of it (every parameter of every
    endpoint has both: a test sees to it)."""
    field.metadata = {**field.metadata, "description": description, "example": example}
    return field


def _codes(missing: int | None, invalid: int | None) -> ErrorMessages:
    messages: ErrorMessages = {}
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

    # String promises a str; an optional string sent as an object or array reads as None here.
    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> str | None:
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


def whole_number(text: str) -> int | None:
    """The integer `text` spells in ASCII digits (an optional minus, at most 20 digits), else
    None. `isdigit()` alone passes `²` and `٣`, which int() refuses or reads, and int() of
    thousands of digits is slow, then fails."""
    text = text.strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
        return None
    return int(text)


class Timestamp(fields.Field):
    """Epoch milliseconds: a non-negative integer within int64, as a number or digits."""

    def __init__(
        self, missing: int | None = None, invalid: int = 5145, future: str | None = None, **kwargs: Any
    ) -> None:
        """`future`: what it means when the time has already passed (a warning says so)."""
        super().__init__(
            required=missing is not None,
            error_messages=_codes(missing, invalid),
            metadata={"missing": missing, "invalid": invalid, "timestamp": True, "future": future},
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            value = whole_number(value)
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
        messages: ErrorMessages = {"invalid": str(invalid), "null": str(invalid)}
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
        number = None if isinstance(value, bool) else whole_number(str(value))
        if number not in self.choices:
            raise self.make_error("invalid")
        return number


class Lenient(fields.Field):
    """A positive integer that falls back to its default when absent or malformed."""

    def __init__(self, default: int | None, **kwargs: Any) -> None:
        self.default = default
        super().__init__(load_default=default, metadata={"minimum": 1}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | None:
        number = None if isinstance(value, bool) else whole_number(str(value))
        if number is None or not 1 <= number <= INT64_MAX:
            return self.default
        return number


class CommaList(fields.Field):
    """A comma-separated list (or a JSON array) of strings."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]


def coded(code: int | None, default: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A field's arguments when one `code` answers it absent and malformed alike; without a
    code it is optional and takes `default`."""
    messages: ErrorMessages = {"invalid": str(code), "null": str(code), "required": str(code)} if code else {}
    if code is None:
        kwargs["load_default"] = default
    return {"required": code is not None, "error_messages": messages, "metadata": {"missing": code, "invalid": code},
            **kwargs}  # fmt: skip


class Flag(fields.Field):
    """A boolean parameter: true/false, 1/0 (as text or JSON); `code` when absent or otherwise."""

    TRUE, FALSE = ("true", "1"), ("false", "0")

    def __init__(self, code: int | None = None, default: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**coded(code, default, kwargs))
        self.fallback = default

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool | None:
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        if self.metadata["invalid"] is None:
            return self.fallback  # an optional flag sent as nonsense is ignored
        raise self.make_error("invalid")


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
        self.future_fields = [n for n, f in self.fields.items() if f.metadata.get("future")]
        # Accepted but meaning nothing here: checked like the rest, never handed to the cloud.
        self.ignored = [n for n, f in self.fields.items() if f.metadata.get("ignored")]
        self.page_aliases = [n for n in PAGE_ALIASES if n in self.fields]
        self.quick_plan = _quick_plan(self)

    def load(self, data: Any, **kwargs: Any) -> Any:
        # The steps before and after marshmallow's own are done here rather than as
        # pre_load/post_load hooks: same effect, a fifth of the cost on every request.
        plain = self._drop_blank(data)
        loaded = None if kwargs else self._quick_load(plain)
        if loaded is None:
            loaded = super().load(plain, **kwargs)
        loaded = self._timestamps(loaded)
        for name in self.ignored:
            loaded.pop(name, None)
        if self.page_aliases:  # one page number for the cloud, whichever name the client used
            pages = [loaded.pop(name, None) for name in self.page_aliases]
            loaded["page"] = next((p for p in [loaded.get("page"), *pages] if p), 1)
        return loaded

    def _quick_load(self, data: dict) -> dict | None:
        """What marshmallow's load answers for `data` when it is valid, by the same fields and
        validators without its machinery (error stores, per-field closures: half of a
        request's parsing); None when anything fails, or the schema uses what this does not
        do (hooks around loading, data keys, nesting): marshmallow then loads it, and says
        what is wrong. Every step is a pure function of `data`, so a second run is safe."""
        plan = self.quick_plan
        if plan is None:
            return None
        fields_, field_checks, schema_checks = plan
        loaded: dict = {}
        try:
            for name, field_ in fields_:
                raw = data.get(name, missing)
                if raw is missing:
                    if field_.required:
                        return None
                    default = field_.load_default
                    if default is not missing:
                        loaded[name] = default() if callable(default) else default
                    continue
                if raw is None:
                    return None
                kind = type(field_)
                value: Any
                if kind is Text and type(raw) is str:  # what Text._deserialize makes of a text
                    value = raw.strip()
                elif kind is Timestamp and type(raw) is str and raw.isdigit() and raw.isascii() and len(raw) <= 20:
                    value = int(raw)  # whole_number's answer for plain digits, checked as it checks
                    if value > INT64_MAX:
                        return None
                else:
                    value = field_._deserialize(raw, name, data)
                if value is missing:
                    continue
                for validator in field_.validators:
                    if validator(value) is False:
                        return None
                loaded[name] = value
            for method, names in field_checks:
                for name in names:
                    if name in loaded and getattr(self, method)(loaded[name], data_key=name) is missing:
                        return None
            for method, pass_original in schema_checks:
                check = getattr(self, method)
                if pass_original:
                    check(loaded, data, partial=None, many=False, unknown=self.unknown)
                else:
                    check(loaded, partial=None, many=False, unknown=self.unknown)
        except ValidationError:
            return None
        return loaded

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

    def _check_name_length(self, value: str | None) -> None:
        # None: an object or array where an optional name belongs, which Text ignores.
        if value is not None and len(value) > self.device_name_max:
            raise ValidationError("5333")


PAGE_ALIASES = ("pageNumber", "pageNum")  # other names clients give `page`

# A schema's fields in load order, its field validators (method, field names) and its schema
# validators (method, pass_original), in the order marshmallow runs them.
QuickPlan = tuple[list[tuple[str, fields.Field]], list[tuple[str, list[str]]], list[tuple[str, bool]]]


def _quick_plan(schema: Params) -> QuickPlan | None:
    """Params._quick_load's plan for a schema; None when it cannot follow marshmallow's
    load exactly (marshmallow's `_hooks` is how its own load finds them)."""
    hooks = schema._hooks
    plan: QuickPlan | None = None
    simple = all(
        field_.data_key is None and field_.attribute is None and "." not in name
        for name, field_ in schema.load_fields.items()
    )
    schema_hooks = hooks[VALIDATES_SCHEMA]
    if simple and not (hooks[PRE_LOAD] or hooks[POST_LOAD] or schema.many or schema.partial):
        plan = (
            list(schema.load_fields.items()),
            [(method, list(kwargs["field_names"])) for method, _, kwargs in hooks[VALIDATES]],
            [(method, bool(kwargs.get("pass_original")))
             for collection in (True, False) for method, many, kwargs in schema_hooks if many == collection],
        )  # fmt: skip
    return plan


class NamedParams(Params):
    """Schemas with a `deviceName` limited to the world's device-name length."""

    @validates("deviceName")
    def _name_length(self, value: str, **kwargs: Any) -> None:
        self._check_name_length(value)


# ---- sharing -------------------------------------------------------------------------------
# The parameters many endpoints share, described once.

CODE_EXAMPLE = "share_dv_C0123456789abcdef0123456789abcdef0123"


def _pk(missing: int | None = 5066) -> Text:
    return described(Text(missing=missing), "Product Key of the device", "p11u5w")


def _dk(missing: int | None = 5067) -> Text:
    return described(Text(missing=missing), "Device Key of the device", "LAMP00000001")


def _share_code(missing: int | None = 5136) -> Text:
    return described(Text(missing=missing), "the share code shareInfo or shareByUid returned", CODE_EXAMPLE)


def _sharing_expire_at(missing: int | None = None) -> Timestamp:
    return described(
        Timestamp(missing=missing),
        f"when the recipient's use of the device ends, {EPOCH_MS}; absent or 0: lifelong",
        1_769_904_000_000,
    )


def _cover_mark() -> Choice:
    return described(
        Choice((1, 2, 3), invalid=5133, default=1),
        "when the recipient already holds a share of the device: 1 the new one replaces it, 2 both are kept, "
        "3 it replaces it only if it lasts at least as long",
        1,
    )


def _auth_key() -> Text:
    return described(Text(), "the device's authKey, as the app knows it (accepted, not checked)", "")


def _device_name(missing: int | None = None, what: str = "the recipient's own name for the device") -> Text:
    return described(Text(missing=missing), f"{what}, at most 64 characters", "Living room lamp")


def ignored(field: F) -> F:
    """The field, accepted (and described) but not given to the cloud."""
    field.metadata = {**field.metadata, "ignored": True}
    return field


def _ignored(example: Any = "") -> Text:
    return ignored(described(Text(), "sent by some clients; accepted and ignored", example))


def _page(what: str = "page number, from 1 (default 1)") -> Lenient:
    return described(Lenient(default=None), what, 1)


def _page_size() -> Lenient:
    return described(Lenient(default=10), "rows per page", 10)


class ShareInfoParams(Params):
    pk = _pk()
    dk = _dk()
    acceptingExpireAt = described(
        Timestamp(missing=5132, future="the share code it makes can never be accepted"),
        f"until when the code can be accepted, {EPOCH_MS}",
        1_767_225_600_000,
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
    shareUid = described(Text(), "the recipient's uid (looked up first)", "C1002")
    email = described(Text(), "the recipient's e-mail, when no shareUid is given", "recipient@example.com")
    phone = described(Text(), "the recipient's phone, when neither shareUid nor email is given", "13800000002")
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
    dk = described(Text(), "only the device with this Device Key", "LAMP00000001")
    pkList = described(CommaList(), "only devices of these Product Keys, comma-separated", "p11u5w,p11u6t")
    page = _page()
    pageNumber = _page("page number, from 1, when page is absent")
    pageNum = _page("page number, from 1, when page and pageNumber are absent")
    pageSize = _page_size()
    isAssociation = _ignored()
    isGroupDeviceShow = _ignored()
    secondItemCode = _ignored()


class UnbindParams(DeviceKeyParams):
    isInit = _ignored("false")
    pureBtResetCredentials = _ignored()
    random = _ignored()


# ---- accounts ------------------------------------------------------------------------------

PWD = "the password, AES-128-CBC with key and iv derived from random, Base64 (plain text when random is absent)"
DOMAIN = "the app's user domain, such as C.DM.5903.1 or U.SP.8589934603"
RANDOM = "16 characters from which the password's AES key and iv are derived"
MCC = "mobile country code (accepted and ignored: there is one data centre)"


def _pwd() -> Verbatim:
    return described(Verbatim(missing=5022), PWD, "lkZMvj0KDSJXlp66jBieHA==")


def _user_domain() -> Text:
    return described(Text(missing=5023), DOMAIN, "C.DM.5903.1")


class EmailLoginParams(Params):
    email = described(Text(missing=5026), "the account's e-mail", "owner@example.com")
    pwd = _pwd()
    signature = described(
        Text(missing=5550), "hex SHA-256 of email + pwd + random + the user domain's secret", "9f86d081884c7d65"
    )
    userDomain = _user_domain()
    random = described(Text(), RANDOM, "j1acpdj2bmtqZXVb")
    mcc = ignored(described(Text(), MCC, "460"))


class PhoneLoginParams(Params):
    phone = described(Text(missing=5021), "the account's phone number", "13800000001")
    pwd = _pwd()
    signature = described(
        Text(missing=5550),
        "hex SHA-256 of internationalCode + phone + pwd + random + the user domain's secret",
        "9f86d081884c7d65",
    )
    userDomain = _user_domain()
    internationalCode = described(Text(), "country calling code (default 86)", "86")
    random = described(Text(), RANDOM, "j1acpdj2bmtqZXVb")
    mcc = ignored(described(Text(), MCC, "460"))


class RefreshParams(Params):
    refreshToken = described(
        Text(missing=5106), "the refresh token from login, with or without Bearer", "Bearer eyJhbGciOi"
    )


# ---- devices in use: thing models, values, control -------------------------------------------

CACHE_SECONDS = (1, 7_776_000)
MAX_COMMAND = 4096


GATEWAY = "the gateway's {} when the device is a sub-device behind it"


class ProductKeyParams(Params):
    pk = _pk()
    gatewayPk = ignored(described(Text(), GATEWAY.format("Product Key"), ""))


class BusinessAttributesParams(DeviceKeyParams):
    type = described(CommaList(), "blocks, comma-separated: 1 device data, 2 thing-model properties, 3 location", "2")
    typeList = described(CommaList(), "an old Android SDK's name for type", "2")
    codeList = described(CommaList(), "only these property codes, comma-separated (needs type)", "switch,brightness")
    gatewayPk = ignored(described(Text(), GATEWAY.format("Product Key"), ""))
    gatewayDk = ignored(described(Text(), GATEWAY.format("Device Key"), ""))

    @validates_schema
    def _codes_need_a_type(self, data: dict, **kwargs: Any) -> None:
        if data.get("codeList") and not (data.get("type") or data.get("typeList")):
            raise ValidationError("5471")


class Loose(fields.Field):
    """A number a cross-field rule judges: an int when it reads as one, else the text as sent."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | str:
        text = str(value).strip()
        number = None if isinstance(value, bool) else whole_number(text)
        return text if number is None else number


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
                value = read_json(value)
            except ValueError:
                raise self.make_error("invalid") from None
        if not isinstance(value, list) or not value:
            raise self.make_error("invalid")
        if len(value) > 100:
            raise self.make_error("too_many")
        return [item if isinstance(item, dict) else {} for item in value]


class BatchControlParams(Params):
    type = described(Choice((1, 2, 3), invalid=5071, missing=5070), "1 passthrough, 2 property, 3 service", 2)
    data = described(
        Text(missing=5074, validate=validate.Length(max=MAX_COMMAND, error="5075")),
        "the command: for properties, the JSON text of an array of one-key objects; at most 4096 characters",
        '[{"switch":true},{"brightness":80}]',
    )
    deviceList = described(
        DeviceList(),
        "the devices, 1 to 100: {productKey, deviceKey, gatewayProductKey, gatewayDeviceKey}",
        [{"productKey": "p11u5w", "deviceKey": "LAMP00000001"}],
    )
    dataFormat = described(Loose(), "1 hex, 2 text; needed for passthrough (type 1)", 2)
    cacheTime = described(Loose(), "seconds the command waits for an offline device, 1 to 7776000 (isCache 1)", 60)
    isCache = described(Choice((1, 2), invalid=5330, default=2), "1 queue for an offline device, 2 do not", 2)
    isCover = described(Choice((1, 2), invalid=5331, default=2), "1 replace an identical queued command, 2 keep", 2)
    qos = described(Lenient(default=1), "MQTT QoS of the delivery, 0 or 1", 1)

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
    pk = _pk()
    dk = _dk(missing=None)
    checkExistInCloud = ignored(
        described(Text(), "whether to check that the device exists in the cloud (default true)", "true")
    )
    fid = ignored(described(Text(), "the family the device would be bound in", "F1001"))


class ProductListParams(Params):
    page = _page()
    pageNumber = _page("page number, from 1, when page is absent")
    pageNum = _page("page number, from 1, when page and pageNumber are absent")
    pageSize = _page_size()


# ---- history and statistics --------------------------------------------------------------------

COUNT_TYPES = "1 maximum, 2 minimum, 3 average (default), 4 difference (last - first), 5 total"
T0 = 1_800_000_000_000  # the examples' period: 2027-01-15 08:00 UTC and the day after


class Codes(CommaList):
    """A comma list (or JSON array) of codes that must name at least one; else `missing`."""

    def __init__(self, missing: int) -> None:
        super().__init__(
            required=True, error_messages=_codes(missing, missing), metadata={"missing": missing, "invalid": missing}
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        items = super()._deserialize(value, attr, data, **kwargs)
        if not items:
            raise self.make_error("invalid")
        return items


class CodeArray(Codes):
    """Codes sent as a JSON array of strings (a comma list is taken too)."""


def _ignored_text(description: str) -> Text:
    return ignored(described(Text(), description, ""))


class HistoryExtras(Params):
    """What every history page also takes, and the simulator accepts and ignores."""

    gatewayPk = _ignored_text("Product Key of the gateway of a sub-device; accepted and ignored")
    gatewayDk = _ignored_text("Device Key of the gateway of a sub-device; accepted and ignored")
    timeStr = _ignored_text("query date (format not documented); accepted and ignored")


def _since() -> Timestamp:
    return described(Timestamp(missing=5145), f"start of the period, inclusive, {EPOCH_MS}", T0)


def _until() -> Timestamp:
    return described(Timestamp(missing=5145), f"end of the period, inclusive, {EPOCH_MS}", T0 + 86_400_000)


def _count_type() -> Choice:
    return described(Choice((1, 2, 3, 4, 5), invalid=5000, default=3), f"aggregation: {COUNT_TYPES}", 3)


class PropertyParams(HistoryExtras, DeviceKeyParams):
    """The property history pages: pk, dk, then the property codes (`codeList` is an alias)."""

    attributeCode = described(Codes(missing=5000), "property code(s) of the thing model, comma-separated", "brightness")
    codeList = ignored(described(CommaList(), "another name for attributeCode, used when it is absent", "brightness"))

    def load(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and data.get("codeList") and not data.get("attributeCode"):
            data = {**data, "attributeCode": data["codeList"]}
        return super().load(data, **kwargs)


class WindowParams(PropertyParams):
    startTimestamp = _since()
    endTimestamp = _until()


class PageParams(Params):
    page = _page()
    pageNumber = _page("page number, from 1, when page is absent")
    pageNum = _page("page number, from 1, when page and pageNumber are absent")
    pageSize = _page_size()


class PropertyDataParams(PageParams, WindowParams):
    pass


class ChartParams(WindowParams):
    countType = _count_type()
    timeGranularity = described(
        Choice((1, 2, 3), invalid=5000, default=2), "bucket size: 1 month, 2 day (default), 3 hour (UTC)", 2
    )


class StatisticsParams(PropertyParams):
    countType = _count_type()
    currentTimestamp = described(Timestamp(), f"a moment in the current period, {EPOCH_MS} (default now)", T0)
    timeGranularities = described(
        CommaList(), "periods, comma-separated: 1 day (default), 2 week, 3 month, 4 year (UTC calendar)", "1,2"
    )


class EventListParams(Params):
    """deviceEventList's JSON body (a default on each number: a JSON body schema cannot say null)."""

    productKey = described(Text(missing=5066), "Product Key of the device", "p11u5w")
    deviceKey = described(Text(missing=5067), "Device Key of the device", "LAMP00000001")
    codeList = described(CodeArray(missing=5000), "event codes of the thing model (or a comma list)", ["overheat"])
    startTime = _since()
    endTime = _until()
    timezone = described(Text(), "offset applied to createTime, +hh:mm or -hh:mm (default +00:00)", "+08:00")
    page = described(Lenient(default=1), "page number, from 1 (default 1)", 1)
    pageSize = _page_size()


class LocationParams(HistoryExtras, DeviceKeyParams):
    startTimestamp = _since()
    endTimestamp = _until()
    locateTypes = described(
        CommaList(), "location kinds, comma-separated: GP, GL, GA, GN, BD, PQ, LBS (default all)", "GP,LBS"
    )
