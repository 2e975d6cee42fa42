"""The simulated cloud's state: users, devices, families, shares and tokens, with the indexes
that keep each request's cost independent of how much it holds.

A `Cloud` is plain state plus the bookkeeping that keeps its indexes right. It reads the time
from a clock it is given (anything with `now_ms()`), and knows nothing of who sets that clock.
Callers hold `cloud.lock` for the whole of a request, so a request sees and leaves a
consistent state.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .events import Listeners
from .models import (
    Device,
    DeviceKey,
    FailureCause,
    Family,
    LoginFailures,
    Message,
    SentCode,
    Settings,
    Share,
    ShareStatus,
    Token,
    User,
    UserDomain,
)

if TYPE_CHECKING:
    from .things import Product


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    """Real time, for a cloud nobody bends."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)


class Timed(NamedTuple):
    """Something the cloud will do later on its clock, as data: `ACTIONS[kind](cloud, due, args)`
    runs it, so a state file keeps it. `order` breaks ties in scheduling order; `args` holds
    plain JSON values only."""

    due: int
    order: int
    kind: str
    args: dict[str, Any]


TimedAction = Callable[["Cloud", int, dict[str, Any]], None]
# What each kind of timeline entry does, filled by the modules that schedule them (a delayed
# write in cloud/control, a scripted step in the harness), so the cloud need not know them.
ACTIONS: dict[str, TimedAction] = {}


def timed_action(kind: str) -> Callable[[TimedAction], TimedAction]:
    """Register the function that runs timeline entries of `kind`."""

    def register(action: TimedAction) -> TimedAction:
        ACTIONS[kind] = action
        return action

    return register


class Cloud:
    def __init__(self, settings: Settings | None = None, clock: Clock | None = None, seed: int = 0):
        self.lock = threading.RLock()
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        self.seed = seed
        # Share codes and generated records follow this generator, so a seed gives one cloud.
        self.rng = random.Random(seed)
        self.ticket_rng = random.Random(f"tickets/{seed}")  # apart, so commands do not move share codes
        self.domains: dict[str, UserDomain] = {}
        self.users: dict[str, User] = {}
        self.users_by_email: dict[str, User] = {}
        self.users_by_phone: dict[str, User] = {}
        self.devices: dict[DeviceKey, Device] = {}
        self.owned: defaultdict[str, dict[DeviceKey, Device]] = defaultdict(dict)
        self.families: dict[str, Family] = {}
        self.families_of: defaultdict[str, set[str]] = defaultdict(set)  # uid -> fids they are a member of
        self.families_holding: defaultdict[DeviceKey, set[str]] = defaultdict(set)  # device -> fids
        self.invited_to: defaultdict[str, set[str]] = defaultdict(set)  # uid -> fids with an invitation
        self.home_serial = 0  # numbers the ids of new families and rooms
        self.shares: dict[str, Share] = {}
        # Live (pending or active) shares only; a share leaves these when it ends.
        self.live_by_device: defaultdict[DeviceKey, dict[str, Share]] = defaultdict(dict)
        self.active_by_recipient: defaultdict[str, dict[str, Share]] = defaultdict(dict)
        self.tokens: dict[str, Token] = {}
        self.login_failures: dict[tuple[str, str], LoginFailures] = {}
        self.last_share_id = 0
        # Accounts from nothing, binding and the message centre (codes.py, registration.py,
        # messages.py): plain records, kept by state files like the rest.
        self.sent_codes: list[SentCode] = []
        self.messages: dict[str, Message] = {}
        self.messages_of: defaultdict[str, dict[str, Message]] = defaultdict(dict)
        self.push_settings: dict[str, dict] = {}  # uid -> {"setting": str, "addTime": ms}
        self.push_devices: dict[str, dict[str, dict]] = {}  # uid -> phone push id -> its language and type
        self.codes_sent = 0
        self.last_message_id = 0
        self.last_registered = 0
        self.products: dict[str, Product] = {}
        self.events = Listeners()
        # What devices will do later on the clock (apply a write, a scripted change): a heap of
        # Timed entries, run in time order once the clock has passed them.
        self._timeline: list[Timed] = []
        self._order = itertools.count()

    def now(self) -> int:
        return self.clock.now_ms()

    # ---- the timeline ------------------------------------------------------------------------

    def schedule(self, due_ms: int, kind: str, args: dict[str, Any]) -> None:
        """Run `ACTIONS[kind](self, due_ms, args)` once the clock reaches `due_ms`, after
        anything due earlier or scheduled earlier for the same moment."""
        if kind not in ACTIONS:
            raise KeyError(f"no timeline action {kind!r}")
        heapq.heappush(self._timeline, Timed(due_ms, next(self._order), kind, args))

    def pending(self) -> list[Timed]:
        """The timeline in the order it will run (what a state file keeps)."""
        return sorted(self._timeline)

    def run_due(self, until_ms: int | None = None, budget: int | None = None) -> int:
        """Run every scheduled action due by `until_ms` (default now), in time order; an action
        may schedule more (a script's next step), which runs too if it is due. At most
        `budget` of them when given (the rest stay due). How many ran."""
        until = self.now() if until_ms is None else until_ms
        ran = 0
        while self._timeline and self._timeline[0].due <= until and (budget is None or ran < budget):
            entry = heapq.heappop(self._timeline)
            ACTIONS[entry.kind](self, entry.due, entry.args)
            ran += 1
        return ran

    def behind(self) -> bool:
        """Whether something is due by now that has not run yet."""
        return bool(self._timeline) and self._timeline[0].due <= self.now()

    # ---- records ---------------------------------------------------------------------------

    def add_domain(self, domain: UserDomain) -> None:
        self.domains[domain.name] = domain

    def add_user(self, user: User) -> None:
        self.users[user.uid] = user
        if user.email:
            self.users_by_email[user.email.lower()] = user
        if user.phone:
            self.users_by_phone[user.phone] = user

    def remove_user(self, user: User) -> None:
        """Forget an account and its addresses (what it owned and held is ended by the caller)."""
        self.users.pop(user.uid, None)
        if user.email and self.users_by_email.get(user.email.lower()) is user:
            del self.users_by_email[user.email.lower()]
        if user.phone and self.users_by_phone.get(user.phone) is user:
            del self.users_by_phone[user.phone]
        for message in self.messages_of.pop(user.uid, {}).values():
            self.messages.pop(message.msg_id, None)
        self.push_settings.pop(user.uid, None)
        self.push_devices.pop(user.uid, None)

    def add_device(self, device: Device) -> None:
        self.devices[device.key] = device
        for uid in (device.owner_uid, *device.binders):
            if uid:
                self.owned[uid][device.key] = device

    def bind(self, device: Device, uid: str) -> None:
        """`uid` owns the device (the first owner, or a further one under binding mode 1)."""
        if device.owner_uid is None:
            device.owner_uid = uid
        elif uid != device.owner_uid and uid not in device.binders:
            device.binders.append(uid)
        self.owned[uid][device.key] = device

    def unbind_device(self, device: Device, uid: str | None = None) -> None:
        """Unbind the device from `uid` (default: from everyone). Under binding mode 1 the next
        binder becomes the owner when the owner leaves."""
        leaving = [device.owner_uid, *device.binders] if uid is None else [uid]
        for who in leaving:
            if who:
                self.owned[who].pop(device.key, None)
        if uid is None:
            device.owner_uid, device.binders = None, []
        elif uid == device.owner_uid:
            device.owner_uid = device.binders.pop(0) if device.binders else None
        elif uid in device.binders:
            device.binders.remove(uid)

    MESSAGES_KEPT = 5_000  # per user, the oldest going first, as device histories are bounded

    def add_message(self, message: Message) -> None:
        self.messages[message.msg_id] = message
        mine = self.messages_of[message.uid]
        mine[message.msg_id] = message
        if len(mine) > self.MESSAGES_KEPT:
            self.drop_message(next(iter(mine.values())))
        self.last_message_id = max(self.last_message_id, int(message.msg_id.lstrip("M") or 0))

    def drop_message(self, message: Message) -> None:
        self.messages.pop(message.msg_id, None)
        self.messages_of.get(message.uid, {}).pop(message.msg_id, None)

    def add_family(self, family: Family) -> None:
        """Store a family and index its members, devices and invitations (families.py keeps
        the indexes right as they change)."""
        self.families[family.fid] = family
        for uid in family.members:
            self.families_of[uid].add(family.fid)
        for held in family.devices:
            self.families_holding[(held.pk, held.dk)].add(family.fid)
        for invitation in family.invitations:
            self.invited_to[invitation.uid].add(family.fid)

    def same_family(self, a: str, b: str) -> bool:
        return bool(self.families_of.get(a, set()) & self.families_of.get(b, set()))

    def new_home_id(self, prefix: str) -> str:
        """A new family or room id: reproducible from the seed, never one used before."""
        self.home_serial += 1
        rng = random.Random(f"{self.seed}/home/{self.home_serial}")
        return prefix + "%032x" % rng.getrandbits(128)

    def add_token(self, token: Token) -> None:
        self.tokens[token.value] = token

    # ---- shares ----------------------------------------------------------------------------

    def next_share_id(self) -> int:
        self.last_share_id += 1
        return self.last_share_id

    def new_share_code(self) -> str:
        prefix = "share_dv_" + self.settings.region
        while True:
            code = prefix + "%036x" % self.rng.getrandbits(144)
            if code not in self.shares:
                return code

    def add_share(self, share: Share) -> None:
        """Store a share in its current state and index it."""
        self.shares[share.code] = share
        self.last_share_id = max(self.last_share_id, share.share_id)
        if share.status is not ShareStatus.ENDED:
            self.live_by_device[share.device_key][share.code] = share
        if share.status is ShareStatus.ACTIVE and share.recipient_uid:
            self.active_by_recipient[share.recipient_uid][share.code] = share

    def activate(self, share: Share, recipient_uid: str) -> None:
        now = self.now()
        share.status = ShareStatus.ACTIVE
        share.recipient_uid = recipient_uid
        share.accept_time = now
        share.update_time = now
        self.active_by_recipient[recipient_uid][share.code] = share

    def end(self, share: Share, cause: FailureCause, at: int | None = None) -> None:
        """End a live share for `cause`, at `at` (the moment its window closed) or now."""
        if share.status is ShareStatus.ENDED:
            return
        when = self.now() if at is None else at
        share.status = ShareStatus.ENDED
        share.failure_cause = cause
        share.delete_time = when
        share.update_time = when
        self._unindex(self.live_by_device, share.device_key, share.code)
        if share.recipient_uid:
            self._unindex(self.active_by_recipient, share.recipient_uid, share.code)

    @staticmethod
    def _unindex(index: defaultdict, key: object, code: str) -> None:
        bucket = index.get(key)
        if bucket is not None:
            bucket.pop(code, None)
            if not bucket:
                del index[key]

    def settle(self, share: Share) -> Share:
        """Apply lazy expiry: a share whose window has passed on the clock ends now."""
        if share.status is ShareStatus.ENDED:
            return share
        now = self.now()
        if share.status is ShareStatus.PENDING:
            deadline = share.accepting_expire_at
            if deadline is not None and deadline <= now:
                self.end(share, FailureCause.ACCEPT_WINDOW_PASSED, at=deadline)
        elif share.sharing_expire_at is not None and share.sharing_expire_at <= now:
            self.end(share, FailureCause.USAGE_WINDOW_PASSED, at=share.sharing_expire_at)
        return share

    def live_shares_of_device(self, key: DeviceKey) -> list[Share]:
        return self._settled(self.live_by_device.get(key))

    def active_shares_of(self, uid: str, device: DeviceKey | None = None) -> list[Share]:
        """The recipient's active shares, of one device when `device` is given."""
        bucket = self.active_by_recipient.get(uid)
        if device is None or not bucket:
            return self._settled(bucket)
        # The device's shares alone are settled: a recipient of many shares is asked this for
        # every message the realtime channel delivers to them (access.can_use).
        return self._settled({code: s for code, s in bucket.items() if s.device_key == device})

    def _settled(self, bucket: dict[str, Share] | None) -> list[Share]:
        if not bucket:
            return []
        return [s for s in list(bucket.values()) if self.settle(s).status is not ShareStatus.ENDED]

    def find_share(self, code: str) -> Share | None:
        share = self.shares.get(code)
        return None if share is None else self.settle(share)
