"""The records a cloud holds. Plain data: the rules that change them live in shares.py,
accounts.py and devices.py, the indexes over them in store.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

DeviceKey = tuple[str, str]  # (pk, dk)


class ShareStatus(IntEnum):
    PENDING = 0
    ACTIVE = 1
    ENDED = 2


class FailureCause(IntEnum):
    ACCEPT_WINDOW_PASSED = 1
    USAGE_WINDOW_PASSED = 2
    CANCELLED_BY_OWNER = 3
    LEFT_BY_RECIPIENT = 4
    OVERRIDDEN = 5
    DEVICE_UNBOUND = 6


@dataclass(frozen=True)
class Settings:
    """Knobs a scenario may turn (`settings:` in camelCase); the defaults are the documented
    or decided values. The switches after `region` each reverse one behaviour decision."""

    access_token_ttl: int = 7200  # seconds
    refresh_token_ttl: int = 2_592_000  # seconds
    device_name_max: int = 64
    login_attempts: int = 5
    login_freeze_minutes: int = 20
    region: str = "C"
    hang_seconds: int = 120
    auth_error_http_status: int = 200
    require_bearer: bool = False
    parameter_sources: tuple[str, ...] = ("query", "form", "json")
    seconds_timestamps: str = "accept"  # or "reject" (5145) or "convert" (x1000)
    zero_expiry_is_lifelong: bool = True
    cover_mark_zero_is_default: bool = False
    share_by_uid_needs_acceptance: bool = False
    pending_code_preview: bool = True
    list_pending_shares: bool = False
    check_signatures: bool = True
    logout_revokes_refresh: bool = True
    owner_reads_active_code: bool = False  # deviceInfo?shareCode= of an active share: 5041 for its owner
    write_delay_ms: int = 0  # how long a device takes to apply a write (a product may say otherwise)
    default_family_name: str = "My Home"  # the family made when home mode first goes on

    @classmethod
    def from_spec(cls, spec: dict) -> Settings:
        snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): value for key, value in spec.items()}
        if "parameter_sources" in snake:
            snake["parameter_sources"] = tuple(snake["parameter_sources"])
        return cls(**snake)


@dataclass
class UserDomain:
    name: str
    secret: str | None = None
    disabled: bool = False


@dataclass(slots=True)
class User:
    uid: str
    user_domain: str
    password: str
    email: str | None = None
    phone: str | None = None
    international_code: str = "86"
    nickname: str = ""
    register_time: int = 0
    last_login_time: int | None = None
    sex: str = ""
    address: str = ""
    city: str = ""
    province: str = ""
    nationality: str = ""
    lang: str = "en-US"
    timezone: str = "UTC"
    head_img: str = ""
    status: int = 1
    home_mode: bool = False  # getFamilyModeConfig's enabledFamilyMode
    auto_switch: bool = False  # and its enabledAutoSwitch


@dataclass(slots=True)
class Device:
    pk: str
    dk: str
    name: str
    owner_uid: str | None
    verified: bool = True
    online: bool = False
    product_name: str = ""
    sn: str = ""
    auth_key: str = ""
    device_tag: str = ""
    create_time: int = 0
    bind_time: int = 0
    signal_strength: str = ""
    # Its values (shadows.DeviceState), made on first use by shadows.shadow_of: most devices
    # of a large world are never read, and need not carry values until they are.
    shadow: Any = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> DeviceKey:
        return (self.pk, self.dk)


class Role(IntEnum):
    CREATOR = 1
    ADMIN = 2
    REGULAR = 3


class FamilyDeviceType(IntEnum):
    """How a device is in a family (family setDeviceInfo's `type`)."""

    FAMILY = 1  # placed by its owner
    SHARED = 2  # placed by the recipient of an active share
    MULTI_BOUND = 3


@dataclass(slots=True)
class Member:
    uid: str
    role: int  # a Role
    name: str  # the member's name in this family
    accept_time: int  # when they joined (created, or accepted the invitation)
    invalid_time: int | None = None  # the expiry of the invitation they accepted


@dataclass(slots=True)
class Room:
    frid: str
    name: str
    sort: int
    add_time: int


@dataclass(slots=True)
class FamilyDevice:
    """A device in a family: placed by `placed_by` (its owner, or a share recipient), in a room
    or none, on the frequently used list or not. Valid only while `placed_by` may still place
    it (still its owner, or still holding the share): judged when asked."""

    pk: str
    dk: str
    placed_by: str
    type: int  # a FamilyDeviceType
    add_time: int
    frid: str | None = None
    common: bool = False
    share_code: str | None = None  # for type 2: the share that lets the recipient place it
    room_time: int = 0  # when it went into its room: a room lists its devices in that order


@dataclass(slots=True)
class Invitation:
    uid: str
    role: int
    name: str
    add_time: int
    invalid_time: int  # epoch ms on the world's clock


@dataclass(slots=True)
class Family:
    fid: str
    name: str
    owner_uid: str  # the creator (role 1), also in `members`
    members: dict[str, Member] = field(default_factory=dict)  # by uid, in joining order
    location: str = ""
    coordinates: str = ""
    add_time: int = 0
    rooms: list[Room] = field(default_factory=list)  # kept in roomSort order
    devices: list[FamilyDevice] = field(default_factory=list)  # in the order they joined
    invitations: list[Invitation] = field(default_factory=list)  # pending ones, oldest first


@dataclass(slots=True)
class Share:
    share_id: int
    code: str
    owner_uid: str
    pk: str
    dk: str
    cover_mark: int
    share_time: int
    accepting_expire_at: int | None = None
    sharing_expire_at: int | None = None  # None: lifelong
    recipient_uid: str | None = None
    invitee_uid: str | None = None  # shareByUid when invitations must be accepted
    device_name: str | None = None  # the recipient's own name for the device
    auth_key: str | None = None
    accept_time: int | None = None
    update_time: int | None = None
    delete_time: int | None = None
    status: ShareStatus = ShareStatus.PENDING
    failure_cause: FailureCause | None = None

    @property
    def device_key(self) -> DeviceKey:
        return (self.pk, self.dk)


@dataclass(slots=True)
class Token:
    value: str  # without the "Bearer " prefix
    uid: str
    kind: str  # "access" or "refresh"
    expires_ms: int | None  # None: never expires (fixed scenario tokens)
    partner: str | None = None  # the other token of the pair issued together
    revoked: bool = False

    def is_live(self, now_ms: int) -> bool:
        return not self.revoked and (self.expires_ms is None or self.expires_ms > now_ms)


@dataclass(slots=True)
class LoginFailures:
    count: int = 0
    frozen_until: int | None = None
