"""The one schema of scenario files, rules included, with messages meant for people.

`validate(data, source)` returns every problem as `source: path.to.field: message`; the
command line, the control API and the JSON Schema export all use these classes.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from marshmallow.types import ErrorMessages

from ..cloud import things
from ..cloud.accounts import DOMAIN_FORMAT
from . import scripts
from .patterns import PatternError, PatternTooLong, compile_pattern
from .rules import FAULTS
from .timeparse import DURATION_RULE, parse_duration, parse_instant

REQUIRED: ErrorMessages = {"required": "is required", "null": "must not be null"}
MQTT_EVENTS = ("connect", "subscribe", "publish", "deliver")
SHARE_STATES = ("pending", "active", "ended")


class Str(fields.String):
    default_error_messages = {**REQUIRED, "invalid": "must be a string"}


class Int(fields.Integer):
    default_error_messages = {**REQUIRED, "invalid": "must be an integer"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)


class Num(fields.Float):
    default_error_messages = {**REQUIRED, "invalid": "must be a number"}


class Bool(fields.Boolean):
    default_error_messages = {**REQUIRED, "invalid": "must be true or false"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):  # 1, "yes" and "true" are refused: YAML has true
            raise self.make_error("invalid")
        return value


class Listing(fields.List):
    default_error_messages = {**REQUIRED, "invalid": "must be a list"}


class Mapping(fields.Dict):
    default_error_messages = {**REQUIRED, "invalid": "must be a mapping"}


class Instant(fields.Field):
    """A point in time: epoch milliseconds, ISO 8601, or relative to the clock's start."""

    default_error_messages = {
        **REQUIRED,
        "invalid": "must be epoch milliseconds, ISO 8601, or relative such as +10m",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            parse_instant(value, 0)
        except (ValueError, TypeError):
            raise self.make_error("invalid") from None
        return value


class Duration(fields.Field):
    """A length of time in timeparse's one grammar: `90s`, `4m59s`, `1.5h`, `90 minutes`, or milliseconds."""

    default_error_messages = {**REQUIRED, "invalid": DURATION_RULE}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            if parse_duration(value) < 0:
                raise ValueError
        except (ValueError, TypeError):
            raise self.make_error("invalid") from None
        return value


class Matcher(fields.Field):
    """A parameter or header condition: a value to equal, or {regex}, {present}, {equals}."""

    default_error_messages = {
        **REQUIRED,
        "invalid": "must be a value, or a mapping with one of regex, present, equals",
        "regex": "is not a valid regular expression",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, (str, int, float, bool)):
            return value
        if not isinstance(value, dict) or len(value) != 1 or not {"regex", "present", "equals"} >= set(value):
            raise self.make_error("invalid")
        if "regex" in value:
            try:
                compile_pattern(str(value["regex"]))
            except PatternTooLong as too_long:
                raise ValidationError(str(too_long)) from None
            except PatternError:
                raise self.make_error("regex") from None
        if "present" in value and not isinstance(value["present"], bool):
            raise self.make_error("invalid")
        return value


class Strict(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "unknown field", "type": "must be a mapping"}


def one_of(choices: tuple) -> validate.OneOf:
    return validate.OneOf(choices, error="must be one of: " + ", ".join(map(str, choices)))


def at_least(n: int) -> validate.Range:
    return validate.Range(min=n, error=f"must be at least {n}")


# ---- world ---------------------------------------------------------------------------------


class ClockSpec(Strict):
    start = Instant(metadata={"description": "epoch ms or ISO 8601; default: the moment the world is built"})
    frozen = Bool(metadata={"description": "true: time moves only when set or advanced"})


class SettingsSpec(Strict):
    accessTokenTtl = Int(validate=at_least(1), metadata={"description": "seconds (default 7200)"})
    refreshTokenTtl = Int(validate=at_least(1), metadata={"description": "seconds (default 2592000)"})
    deviceNameMax = Int(validate=at_least(1), metadata={"description": "characters (default 64)"})
    loginAttempts = Int(validate=at_least(1), metadata={"description": "wrong passwords before 5147 (default 5)"})
    loginFreezeMinutes = Int(validate=at_least(0), metadata={"description": "default 20"})
    region = Str(validate=validate.Regexp(r"^[A-Z]$", error="must be one capital letter"))
    hangSeconds = Int(validate=at_least(1), metadata={"description": "how long a hang fault holds (default 120)"})
    # Switches, one per behaviour decision a team may want otherwise.
    authErrorHttpStatus = Int(validate=one_of((200, 401, 403)), metadata={"description": "HTTP status of 5106/5032"})
    requireBearer = Bool(metadata={"description": "refuse tokens without the Bearer prefix (5032)"})
    parameterSources = Listing(Str(validate=one_of(("query", "form", "json"))), validate=validate.Length(min=1))
    secondsTimestamps = Str(validate=one_of(("accept", "reject", "convert")))
    zeroExpiryIsLifelong = Bool()
    coverMarkZeroIsDefault = Bool()
    shareByUidNeedsAcceptance = Bool()
    pendingCodePreview = Bool()
    listPendingShares = Bool()
    checkSignatures = Bool()
    logoutRevokesRefresh = Bool()
    ownerReadsActiveCode = Bool(metadata={"description": "the owner may read deviceInfo by an active share's code"})
    writeDelay = Duration(metadata={"description": "how long devices take to apply a write (default 0: at once)"})
    codeValidMinutes = Int(validate=at_least(1), metadata={"description": "how long a verification code lasts (5)"})
    codeSendsPerMinute = Int(validate=at_least(1), metadata={"description": "codes to one address a minute (5)"})
    defaultFamilyName = Str(metadata={"description": "the family made when home mode first goes on (My Home)"})


# A user domain as the live cloud writes them, for declared domains and users' own alike.
A_DOMAIN = validate.Regexp(DOMAIN_FORMAT, error="must look like C.DM.5903.1 or U.SP.8589934603")


class UserDomainSpec(Strict):
    domain = Str(
        required=True,
        validate=A_DOMAIN,
    )
    secret = Str(metadata={"description": "when given, login signatures are checked"})
    disabled = Bool()


class UserSpec(Strict):
    generate = Int(validate=at_least(1), metadata={"description": "make N users with Faker instead"})
    uid = Str()
    email = Str()
    phone = Str()
    internationalCode = Str()
    password = Str(validate=validate.Length(min=6, max=20, error="must be 6 to 20 characters"))
    nickname = Str()
    userDomain = Str(
        validate=A_DOMAIN,
        metadata={"description": "default: the first of userDomains"},
    )
    token = Str(metadata={"description": "a fixed access token for this user"})
    tokenExpiresAt = Instant()
    registered = Instant()
    homeMode = Bool(metadata={"description": "home mode is on (default off)"})
    autoSwitch = Bool(metadata={"description": "home mode's automatic family switching is on"})

    @validates_schema
    def _uid_or_generate(self, data: dict, **kwargs: Any) -> None:
        if "generate" not in data and not data.get("uid"):
            raise ValidationError("is required", "uid")


class MemberSpec(Strict):
    uid = Str(required=True, error_messages=REQUIRED)
    role = Int(validate=one_of((1, 2, 3)), metadata={"description": "1 creator, 2 admin, 3 regular (default)"})
    name = Str(metadata={"description": "the member's name in the family (default: their nickname)"})
    joined = Instant(metadata={"description": "when they joined (default: the start)"})


class MemberField(fields.Field):
    """A member: a uid (a regular member), or {uid, role, name, joined}."""

    default_error_messages = {**REQUIRED, "invalid": "must be a uid or a mapping with uid"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value:
            return {"uid": value}
        if isinstance(value, dict):
            return MemberSpec().load(value)
        raise self.make_error("invalid")


class RoomField(fields.Field):
    """A room: its name, or {name, frid}."""

    default_error_messages = {**REQUIRED, "invalid": "must be a room name or a mapping with name"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value:
            return {"name": value}
        if isinstance(value, dict) and isinstance(value.get("name"), str) and set(value) <= {"name", "frid"}:
            return value
        raise self.make_error("invalid")


class FamilyDeviceSpec(Strict):
    pk = Str(required=True, error_messages=REQUIRED)
    dk = Str(required=True, error_messages=REQUIRED)
    room = Str(metadata={"description": "the name (or frid) of one of the family's rooms; default: no room"})
    commonUsed = Bool(metadata={"description": "on the family's frequently used list"})


class InvitationSpec(Strict):
    uid = Str(required=True, error_messages=REQUIRED)
    role = Int(validate=one_of((2, 3)), metadata={"description": "2 admin, 3 regular (default)"})
    name = Str(metadata={"description": "the name offered in the family (default: their nickname)"})
    invited = Instant(metadata={"description": "when it was sent (default: the start)"})
    expiresAt = Instant(required=True, error_messages=REQUIRED)


class FamilySpec(Strict):
    fid = Str()
    name = Str()
    owner = Str(metadata={"description": "the creator (role 1); or give a member role 1"})
    location = Str()
    coordinates = Str(
        validate=validate.Regexp(r"^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*$", error="must be lat,lng"),
        metadata={"description": "WGS84 lat,lng"},
    )
    created = Instant()
    rooms = Listing(RoomField(), metadata={"description": "in display order"})
    members = Listing(MemberField())
    devices = Listing(fields.Nested(FamilyDeviceSpec), metadata={"description": "in the order they joined"})
    invitations = Listing(fields.Nested(InvitationSpec), metadata={"description": "pending invitations"})


class DeviceSpec(Strict):
    generate = Int(validate=at_least(1), metadata={"description": "make N devices with Faker instead"})
    pk = Str()
    dk = Str()
    name = Str()
    owner = Str(allow_none=True, metadata={"description": "uid; null: bound to nobody"})
    verified = Bool()
    online = Bool()
    productName = Str(metadata={"description": "for a device of a product the scenario lacks (else the product's)"})
    sn = Str(metadata={"description": "serial number, for bindDeviceSn"})
    bindingCode = Str(metadata={"description": "the code it reports while provisioned, for v2/deviceBindingByWifi"})
    authKey = Str()
    deviceTag = Str()
    signalStrength = Str()
    created = Instant()
    bound = Instant()
    values = Mapping(metadata={"description": "property code -> value, checked against the product's thing model"})
    reportedAt = Mapping(
        keys=Str(),
        values=Instant(),
        metadata={"description": "property code -> when that value was reported (default: bound)"},
    )
    deviceData = Mapping(metadata={"description": "module facts for getDeviceBusinessAttributes: version, ..."})
    location = Mapping(metadata={"description": "lat, lng (numbers) and optional locateType, hdop, satellites"})

    @validates_schema
    def _keys_or_generate(self, data: dict, **kwargs: Any) -> None:
        if "generate" not in data:
            missing = [k for k in ("pk", "dk") if not data.get(k)]
            if missing:
                raise ValidationError({k: ["is required"] for k in missing})


class ProductSpec(Strict):
    pk = Str(required=True)
    name = Str(metadata={"description": "productName"})
    bindingMode = Int(validate=one_of((1, 2, 3)), metadata={"description": "1 multi-user, 2 owner, 3 rotation"})
    logo = Str()
    writeDelay = Duration(metadata={"description": "how long its devices take to apply a write"})
    tsl = Mapping(required=True, metadata={"description": "the thing model as productTSL answers it"})

    @validates_schema
    def _tsl(self, data: dict, **kwargs: Any) -> None:
        problems: dict = {}
        for path, message in things.tsl_problems(data.get("tsl")):
            problems.setdefault(path or "(tsl)", []).append(message)
        if problems:
            raise ValidationError({"tsl": problems})


class TokenSpec(Strict):
    token = Str(required=True, metadata={"description": "the access token, without Bearer"})
    uid = Str(required=True)
    expiresAt = Instant(metadata={"description": "default: never"})


class DeviceRef(Strict):
    pk = Str(required=True)
    dk = Str(required=True)


class ShareSpec(Strict):
    generate = Int(
        validate=at_least(1),
        metadata={"description": "make N shares of random owned devices for random generated users"},
    )
    device = fields.Nested(DeviceRef, error_messages=REQUIRED)
    owner = Str()
    recipient = Str()
    code = Str()
    state = Str(validate=one_of(SHARE_STATES))
    coverMark = Int(validate=one_of((1, 2, 3)))
    acceptingExpireAt = Instant()
    sharingExpireAt = Instant()
    shareTime = Instant()
    acceptTime = Instant()
    deleteTime = Instant()
    failureCause = Int(validate=one_of((1, 2, 3, 4, 5, 6)))
    deviceName = Str()

    @validates_schema
    def _recipient_when_accepted(self, data: dict, **kwargs: Any) -> None:
        if "generate" in data:
            return
        if "device" not in data:
            raise ValidationError("is required", "device")
        if data.get("state") == "active" and not data.get("recipient"):
            raise ValidationError("is required when state is active", "recipient")


# ---- rules ---------------------------------------------------------------------------------


# `from` is a Python keyword, so the window's fields are declared by name: a loaded rule keeps
# the key its author wrote, and a stored world's scenario validates again when restored.
WindowSpec = Strict.from_dict({"from": Instant(), "until": Instant()}, name="WindowSpec")


class MatchSpec(Strict):
    endpoint = Str(metadata={"description": "endpoint name (shareDevice) or an exact path"})
    path = Str(metadata={"description": "regular expression searched in the path"})
    method = fields.Raw(metadata={"description": "a method or a list of methods"})
    params = Mapping(keys=Str(), values=Matcher())
    headers = Mapping(keys=Str(), values=Matcher())
    uid = Str(metadata={"description": "the caller's uid, from the Authorization token"})
    token = Str(metadata={"description": "the caller's token, with or without Bearer"})
    nth = Int(validate=at_least(1), metadata={"description": "only the n-th call that matches the rest"})
    every = Int(validate=at_least(1), metadata={"description": "every n-th call that matches the rest"})
    chance = Num(validate=validate.Range(min=0, max=1, error="must be between 0 and 1"))
    window = fields.Nested(WindowSpec, error_messages=REQUIRED)
    pk = Str(metadata={"description": "the request's pk, or a productKey in its deviceList"})
    dk = Str(metadata={"description": "the request's dk, or a deviceKey in its deviceList"})
    property = Str(metadata={"description": "a property or service code the request writes or asks for"})
    mqtt = Str(
        validate=one_of(MQTT_EVENTS),
        metadata={"description": "a realtime event instead of a request: connect, subscribe, publish or deliver"},
    )
    topic = Str(metadata={"description": "regular expression searched in the MQTT topic (or filter)"})

    @validates_schema
    def _methods(self, data: dict, **kwargs: Any) -> None:
        method = data.get("method")
        methods = method if isinstance(method, list) else [method] if method is not None else []
        if not all(isinstance(m, str) and m.isalpha() for m in methods):
            raise ValidationError("must be an HTTP method or a list of them", "method")
        for name in ("path", "topic"):
            try:
                compile_pattern(data.get(name, ""))
            except PatternTooLong as too_long:
                raise ValidationError(str(too_long), name) from None
            except PatternError:
                raise ValidationError("is not a valid regular expression", name) from None
        if "topic" in data and "mqtt" not in data:
            raise ValidationError("needs mqtt: connect, subscribe, publish or deliver", "topic")


class DelaySpec(Strict):
    min = Duration(required=True)
    max = Duration(required=True)


class DelayField(fields.Field):
    """A fixed duration, or {min, max} for a random delay in that range."""

    default_error_messages = {**REQUIRED, "invalid": "must be a duration or a mapping with min and max"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, dict):
            return DelaySpec().load(value)
        return Duration()._deserialize(value, attr, data, **kwargs)


class ActionSpec(Strict):
    code = Int(metadata={"description": "answer with this business code"})
    msg = Str(metadata={"description": "default: the documented message of code"})
    data = fields.Raw(allow_none=True)
    extMsg = fields.Raw(allow_none=True)
    status = Int(validate=validate.Range(min=100, max=599, error="must be an HTTP status"))
    delay = DelayField()
    fault = Str(validate=one_of(FAULTS))
    expireShare = Bool(metadata={"description": "the share named by shareCode ends now (cause 2)"})
    expireAcceptWindow = Bool(metadata={"description": "the pending share named by shareCode ends now (cause 1)"})
    expireInvitation = Bool(
        metadata={"description": "the caller's open invitation to the family named by fid expires now"}
    )
    advanceClock = Duration()
    revokeToken = Bool(metadata={"description": "the caller's token is revoked"})
    controlFailure = Str(
        validate=validate.Length(min=1, error="must not be empty"),
        metadata={"description": "batchControlDevice: the matching devices land in failureList with this msg"},
    )
    disconnect = Bool(metadata={"description": "realtime: the client's connection is cut (after this message)"})

    @validates_schema
    def _does_something(self, data: dict, **kwargs: Any) -> None:
        if not data:
            raise ValidationError("must do something: code, delay, fault or an effect")
        if "fault" in data and ("code" in data or "status" in data):
            raise ValidationError("cannot be combined with code or status", "fault")
        if "controlFailure" in data and ({"code", "status", "fault"} & set(data)):
            raise ValidationError("cannot be combined with code, status or fault", "controlFailure")


RULE_ID = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$"


class RuleSpec(Strict):
    # An id goes into URLs (DELETE /_mock/rules/ID, the dashboard's remove button): `../world`
    # made that button delete the world instead.
    id = Str(validate=validate.Regexp(RULE_ID, error="must be 1 to 64 letters, digits, '.', '_' or '-', not first '.'"))
    description = Str()
    match = fields.Nested(MatchSpec, load_default=dict, error_messages=REQUIRED)
    action = fields.Nested(ActionSpec, required=True, error_messages=REQUIRED)
    times = Int(validate=at_least(1), metadata={"description": "fire at most N times"})

    @validates_schema
    def _realtime(self, data: dict, **kwargs: Any) -> None:
        match, action = data.get("match") or {}, data.get("action") or {}
        if "mqtt" not in match:
            if action.get("disconnect"):
                raise ValidationError({"disconnect": ["needs match.mqtt"]}, "action")
            return
        rest_only = [k for k in ("endpoint", "path", "method", "headers") if k in match]
        if rest_only:
            raise ValidationError({rest_only[0]: ["does not apply to mqtt events"]}, "match")
        if match["mqtt"] == "connect" and action.get("code", 5) not in (1, 2, 3, 4, 5):
            raise ValidationError({"code": ["a refused CONNECT answers a CONNACK code from 1 to 5"]}, "action")


# ---- scripts: device behaviour on the clock -------------------------------------------------


def _at_least_a_second(value: Any) -> None:
    if parse_duration(value) < 1000:
        raise ValidationError("must be at least 1s")


class ScriptTarget(Strict):
    pk = Str(required=True)
    dk = Str(metadata={"description": "absent: every device of the product, generated ones included"})


class RampSpec(Strict):
    by = Num(required=True, metadata={"description": "added at every step (negative to fall)"})
    to = Num(metadata={"description": "where it stops; the property's min and max always bound it"})


class SineSpec(Strict):
    mean = Num(required=True)
    amplitude = Num(required=True)
    period = Duration(required=True, validate=_at_least_a_second)
    phase = Duration(metadata={"description": "shifts the wave by this much time"})


class DecaySpec(Strict):
    to = Num(required=True, metadata={"description": "the value it settles at"})
    halfLife = Duration(required=True, validate=_at_least_a_second)


class WalkSpec(Strict):
    by = Num(required=True, validate=validate.Range(min=0, error="must not be negative"),
             metadata={"description": "the largest change in one step"})  # fmt: skip
    min = Num()
    max = Num()


class ReplaySpec(Strict):
    file = Str(required=True, metadata={"description": "CSV: time, then one column per property code"})
    loop = Bool(metadata={"description": "start again after the last row"})


class ReplayField(fields.Field):
    """A CSV file name, or {file, loop}."""

    default_error_messages = {**REQUIRED, "invalid": "must be a CSV file name or a mapping with file"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            return ReplaySpec().load(value)
        raise self.make_error("invalid")


class OnlineField(fields.Field):
    default_error_messages = {**REQUIRED, "invalid": "must be true, false or toggle"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or value == "toggle":
            return value
        raise self.make_error("invalid")


class ScriptSpec(Strict):
    description = Str()
    device = fields.Nested(ScriptTarget, required=True, error_messages=REQUIRED)
    property = Str(metadata={"description": "the property code it changes (code.member for a STRUCT member)"})
    at = Instant(metadata={"description": "the first (or only) step; default: the start, or one `every` after it"})
    every = Duration(validate=_at_least_a_second, metadata={"description": "repeat this often"})
    until = Instant(metadata={"description": "no steps after this time"})
    times = Int(validate=at_least(1), metadata={"description": "at most N steps"})
    while_ = Mapping(data_key="while", attribute="while", metadata={"description": "steps apply only while the "
                     "device's values are these (property code -> value)"})  # fmt: skip
    set = fields.Raw(metadata={"description": "a step: the property takes this value"})
    ramp = fields.Nested(RampSpec, error_messages=REQUIRED)
    sine = fields.Nested(SineSpec, error_messages=REQUIRED)
    decay = fields.Nested(DecaySpec, error_messages=REQUIRED)
    walk = fields.Nested(WalkSpec, error_messages=REQUIRED, metadata={"description": "a random walk within specs"})
    pick = Listing(fields.Raw(), validate=validate.Length(min=1, error="must list at least one value"))
    replay = ReplayField(metadata={"description": "a CSV of timestamped values, beside the scenario or in the library"})
    online = OnlineField(metadata={"description": "the device connects (true), disconnects (false) or toggles"})

    @validates_schema
    def _one_generator(self, data: dict, **kwargs: Any) -> None:
        given = [k for k in scripts.GENERATORS if k in data]
        if len(given) != 1:
            raise ValidationError("needs exactly one of: " + ", ".join(scripts.GENERATORS))
        problems = scripts.timing_problems(data, given[0])
        if problems:
            raise ValidationError({path: [message] for path, message in problems})


# ---- the file ------------------------------------------------------------------------------


class ScenarioSpec(Strict):
    extends = Str(metadata={"description": "a scenario whose sections come first (lists) or merge (mappings)"})
    name = Str()
    description = Str()
    seed = Int()
    clock = fields.Nested(ClockSpec, error_messages=REQUIRED)
    settings = fields.Nested(SettingsSpec, error_messages=REQUIRED)
    userDomains = Listing(fields.Nested(UserDomainSpec))
    users = Listing(fields.Nested(UserSpec))
    families = Listing(fields.Nested(FamilySpec))
    tokens = Listing(fields.Nested(TokenSpec))
    products = Listing(fields.Nested(ProductSpec))
    devices = Listing(fields.Nested(DeviceSpec))
    shares = Listing(fields.Nested(ShareSpec))
    rules = Listing(fields.Nested(RuleSpec))
    scripts = Listing(fields.Nested(ScriptSpec))

    @validates_schema(skip_on_field_errors=False)
    def _references(self, data: dict, **kwargs: Any) -> None:
        problems = _reference_problems(data)
        if problems:
            raise ValidationError(problems)


def generated_uid(region: str, n: int) -> str:
    """The uid of the n-th generated user (from 1): the scenario builder makes them so, and
    references to them are checked so."""
    return f"{region}{900000 + n}"


def _generated_uids(data: dict) -> set[str]:
    region = data.get("settings", {}).get("region", "C")
    total = sum(u.get("generate", 0) for u in data.get("users", []))
    return {generated_uid(region, n) for n in range(1, total + 1)}


def _reference_problems(data: dict) -> dict:
    """Problems as a marshmallow error dict: unknown users and devices, duplicates."""
    problems: dict = {}

    def add(section: str, index: int, field_name: str, message: str) -> None:
        problems.setdefault(section, {}).setdefault(index, {}).setdefault(field_name, []).append(message)

    uids: set[str] = set()
    for i, user in enumerate(data.get("users", [])):
        if "uid" in user:
            if user["uid"] in uids:
                add("users", i, "uid", f"duplicate uid {user['uid']}")
            uids.add(user["uid"])
    known = uids | _generated_uids(data)
    owners = {(d["pk"], d["dk"]): d.get("owner") for d in data.get("devices", []) if d.get("pk") and d.get("dk")}
    for i, fam in enumerate(data.get("families", [])):
        for path, message in family_problems(fam, known, owners):
            add("families", i, path, message)
    for i, token in enumerate(data.get("tokens", [])):
        if token.get("uid") and token["uid"] not in known:
            add("tokens", i, "uid", f"unknown user {token['uid']}")
    keys: set[tuple[str, str]] = set()
    products = _products(data)
    for i, dev in enumerate(data.get("devices", [])):
        for path, message in _value_problems(dev, products):
            add("devices", i, path, message)
        if "generate" in dev or not (dev.get("pk") and dev.get("dk")):
            continue
        if (dev["pk"], dev["dk"]) in keys:
            add("devices", i, "dk", f"duplicate device {dev['pk']}/{dev['dk']}")
        keys.add((dev["pk"], dev["dk"]))
        if dev.get("owner") is not None and dev["owner"] not in known:
            add("devices", i, "owner", f"unknown user {dev['owner']}")
    for i, script in enumerate(data.get("scripts", [])):
        for path, message in scripts.script_problems(script, products, keys):
            add("scripts", i, path, message)
    codes: set[str] = set()
    for i, share in enumerate(data.get("shares", [])):
        if "generate" in share:
            continue
        ref = (share.get("device", {}).get("pk"), share.get("device", {}).get("dk"))
        if None not in ref and ref not in keys:
            add("shares", i, "device", f"unknown device {ref[0]}/{ref[1]}")
        elif ref in keys and not share.get("owner") and owners.get(ref) is None:
            add("shares", i, "owner", "the device is bound to nobody: give the share an owner")
        for role in ("owner", "recipient"):
            if share.get(role) and share[role] not in known:
                add("shares", i, role, f"unknown user {share[role]}")
        if share.get("code"):
            if share["code"] in codes:
                add("shares", i, "code", f"duplicate code {share['code']}")
            codes.add(share["code"])
    return problems


def family_creator(fam: dict) -> str | None:
    """The creator: `owner`, else the member with role 1."""
    return fam.get("owner") or next((m["uid"] for m in fam.get("members", []) if m.get("role") == 1), None)


def family_problems(fam: dict, known: set[str], owners: dict) -> list[tuple[str, str]]:
    """A family's references as (path, message): users, creator, rooms, devices, invitations."""
    problems = []
    if fam.get("owner") and fam["owner"] not in known:
        problems.append(("owner", f"unknown user {fam['owner']}"))
    creator = family_creator(fam)
    if creator is None:
        problems.append(("owner", "the family has no creator: give owner, or a member with role 1"))
    members = {creator} if creator else set()
    for j, member in enumerate(fam.get("members", [])):
        uid, role = member["uid"], member.get("role", 3 if member["uid"] != creator else 1)
        if uid not in known:
            problems.append((f"members[{j}].uid", f"unknown user {uid}"))
        elif role == 1 and uid != creator:
            problems.append((f"members[{j}].role", f"two creators: {creator} and {uid}"))
        elif uid == creator and role != 1:
            problems.append((f"members[{j}].role", f"{uid} is the creator, who is a member with role 1"))
        elif uid in members and uid != creator:
            problems.append((f"members[{j}].uid", f"{uid} is listed twice"))
        members.add(uid)
    rooms = {r["name"] for r in fam.get("rooms", [])} | {r["frid"] for r in fam.get("rooms", []) if r.get("frid")}
    for j, device in enumerate(fam.get("devices", [])):
        key = (device["pk"], device["dk"])
        if key not in owners:
            problems.append((f"devices[{j}]", f"unknown device {key[0]}/{key[1]}"))
        elif owners[key] not in members:
            problems.append((f"devices[{j}]", f"device {key[0]}/{key[1]} is owned by {owners[key]}, not a member"))
        if device.get("room") and device["room"] not in rooms:
            problems.append((f"devices[{j}].room", f"unknown room {device['room']}"))
    for j, invitation in enumerate(fam.get("invitations", [])):
        if invitation["uid"] not in known:
            problems.append((f"invitations[{j}].uid", f"unknown user {invitation['uid']}"))
        elif invitation["uid"] in members:
            problems.append((f"invitations[{j}].uid", f"{invitation['uid']} is already a member"))
    return problems


def _products(data: dict) -> dict[str, things.Product]:
    """The scenario's usable products by pk (a later entry replaces an earlier one)."""
    out = {}
    for spec in data.get("products", []):
        if "pk" in spec and not things.tsl_problems(spec.get("tsl")):
            out[spec["pk"]] = things.Product.from_tsl(spec["pk"], spec.get("name", ""), spec["tsl"])
    return out


def _value_problems(dev: dict, products: dict[str, things.Product]) -> list[tuple[str, str]]:
    values = dev.get("values") or {}
    unstated = [(f"reportedAt.{code}", "states no value of this code") for code in dev.get("reportedAt") or {}
                if code not in values]  # fmt: skip
    if not values:
        return unstated
    product = products.get(dev.get("pk", ""))
    if product is None:
        return [("values", f"product {dev.get('pk')} has no thing model in products")]
    problems = []
    for code, value in values.items():
        feature = product.properties.get(code)
        try:
            if feature is None:
                known = ", ".join(product.properties)
                raise things.ValueProblem(f"unknown property code {code} (the thing model has {known})")
            feature.check(value)
        except things.ValueProblem as problem:
            problems.append((f"values.{code}", str(problem).removeprefix(f"{code}: ")))
    return problems + unstated


def flatten(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict as `path.to.field: message` lines."""
    if isinstance(messages, str):
        return [f"{prefix or '(file)'}: {messages}"]
    if isinstance(messages, list):
        return [line for item in messages for line in flatten(item, prefix)]
    lines = []
    for key, value in messages.items():
        if key in ("_schema", "value"):  # "value": marshmallow's slot for a mapping's value
            path = prefix
        elif isinstance(key, int):
            path = f"{prefix}[{key}]"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        lines += flatten(value, path)
    return lines


def validate_spec(data: Any, source: str = "<inline>") -> tuple[dict, list[str]]:
    """The validated scenario and the problems, each as `source: path: message`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return {}, [f"{source}: (file): must be a mapping"]
    if data and not set(data) & set(ScenarioSpec().fields):
        # Not a scenario at all (a config file named by mistake, or on purpose): its keys,
        # which may be secrets' names, are nobody's business.
        return {}, [f"{source}: (file): not a scenario file (none of its keys is a scenario section)"]
    try:
        return ScenarioSpec().load(data), []
    except ValidationError as err:
        return {}, [f"{source}: {line}" for line in flatten(err.messages)]


def validate_rule(data: Any) -> tuple[dict, list[str]]:
    if not isinstance(data, dict):
        return {}, ["(rule): must be a mapping"]
    try:
        return RuleSpec().load(data), []
    except ValidationError as err:
        return {}, flatten(err.messages)
