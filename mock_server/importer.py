"""`mock-server import`: sign in to a cloud of this API, read what the user can see, and write
it as a scenario that answers the same userDeviceList, productTSL and
getDeviceBusinessAttributes to the same user.

HTTP goes through urllib: `requests` is not a dependency of the package, and a handful of GET
and POST calls do not justify one.
"""

from __future__ import annotations

import json
import secrets
import ssl
import string
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from .cloud import crypto, things

BINDING = "/v2/binding/enduserapi/"
ENDUSER = "/v2/enduser/enduserapi/"
FAMILY = "/v2/family/enduserapi/"
PAGE_SIZE = 100
TIMEOUT = 30


class ImportFailed(Exception):
    """One line for the user: why the import stopped."""


@dataclass
class Login:
    base: str
    user_domain: str
    password: str
    email: str | None = None
    phone: str | None = None
    international_code: str | None = None
    domain_secret: str = ""
    ca_file: str | None = None


class Client:
    """The cloud as the user's app sees it: one token, JSON envelopes, clear failures."""

    def __init__(self, base: str, ca_file: str | None = None) -> None:
        self.base = base.rstrip("/")
        parts = urllib.parse.urlsplit(self.base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ImportFailed(f"--from {base}: not an http:// or https:// URL")
        self.host = parts.netloc
        try:
            self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        except (OSError, ssl.SSLError) as err:
            raise ImportFailed(f"--ca-file {ca_file}: {_reason(err)}") from None
        self.token: str | None = None
        self.calls = 0

    def call(self, method: str, path: str, **params: Any) -> dict:
        """The envelope of one call; ImportFailed when the host cannot be reached, TLS fails,
        or the answer is not an envelope."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.base}{path}" + (f"?{query}" if query else "")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = self.token
        req = urllib.request.Request(url, method=method, headers=headers, data=b"" if method != "GET" else None)
        self.calls += 1
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT, context=self.context) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        except urllib.error.URLError as err:
            raise ImportFailed(self._unreachable(err.reason)) from None
        except ssl.SSLError as err:
            raise ImportFailed(f"TLS failure talking to {self.host}: {_reason(err)}") from None
        except (TimeoutError, ConnectionError, OSError) as err:
            raise ImportFailed(f"cannot reach {self.host}: {_reason(err)}") from None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:
            raise ImportFailed(f"{method} {path}: HTTP {status} from {self.host}, not an answer of this API")
        body["httpStatus"] = status
        return body

    def _unreachable(self, reason: Any) -> str:
        if isinstance(reason, ssl.SSLError):
            return f"TLS failure talking to {self.host}: {_reason(reason)}"
        return f"cannot reach {self.host}: {_reason(reason)}"

    def data(self, method: str, path: str, **params: Any) -> Any:
        """`data` of a successful call; ImportFailed with the code and message otherwise."""
        body = self.call(method, path, **params)
        if body["code"] != 200:
            name = path.rsplit("/", 1)[-1]
            raise ImportFailed(f"{name} answered {body['code']} {body.get('msg') or ''}".rstrip())
        return body.get("data")

    def pages(self, path: str, **params: Any) -> list:
        """Every item of a paged (PageInfo) list, page after page."""
        items: list = []
        page = 1
        while True:
            info = self.data("GET", path, page=page, pageSize=PAGE_SIZE, **params) or {}
            chunk = info.get("list") or []
            items += chunk
            total = info.get("total")
            if not chunk or (total is not None and len(items) >= total) or info.get("isLastPage"):
                return items
            page += 1


def _reason(err: Any) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"{err.verify_message or err} (a CA of your own: --ca-file)"
    if isinstance(err, ssl.SSLError):
        return err.reason or str(err)
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def sign_in(client: Client, login: Login) -> dict:
    """The documented password login; its token data. A refusal is ImportFailed with the code."""
    random = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
    pwd = crypto.encrypt_password(login.password, random)
    common = {"pwd": pwd, "random": random, "userDomain": login.user_domain}
    if login.email:
        signature = crypto.signature(login.email, pwd, random, login.domain_secret)
        body = client.call("POST", ENDUSER + "emailPwdLogin", email=login.email, signature=signature, **common)
    else:
        code = login.international_code or ""
        signature = crypto.signature(code, login.phone or "", pwd, random, login.domain_secret)
        body = client.call("POST", ENDUSER + "phonePwdLogin", phone=login.phone, internationalCode=code or None,
                           signature=signature, **common)  # fmt: skip
    if body["code"] != 200:
        raise ImportFailed(f"login refused: {body['code']} {body.get('msg') or ''}".rstrip())
    tokens = body.get("data") or {}
    client.token = (tokens.get("accessToken") or {}).get("token")
    if not client.token:
        raise ImportFailed("login answered 200 without an access token")
    return tokens


# ---- reading the account ---------------------------------------------------------------------


@dataclass
class Account:
    """What the user can see, as the cloud answered it."""

    profile: dict
    devices: list[dict] = field(default_factory=list)  # deviceInfo over the list row
    products: dict[str, dict] = field(default_factory=dict)  # pk -> productTSL data
    attributes: dict[tuple[str, str], dict] = field(default_factory=dict)  # getDeviceBusinessAttributes
    share_rows: dict[tuple[str, str], list[dict]] = field(default_factory=dict)  # deviceShareUserList
    families: list[dict] = field(default_factory=list)  # {family, members, rooms}
    notes: list[str] = field(default_factory=list)  # what could not be imported, said in the file


def read_account(client: Client, progress) -> Account:
    account = Account(profile=client.data("GET", ENDUSER + "userInfo") or {})
    progress(f"signed in as {account.profile.get('uid')} ({account.profile.get('nikeName') or 'no nickname'})")
    rows = [r for r in client.pages(BINDING + "userDeviceList") if r.get("productKey") and r.get("deviceKey")]
    progress(f"{len(rows)} device(s)")
    for i, row in enumerate(rows, start=1):
        pk, dk = row["productKey"], row["deviceKey"]
        progress(f"device {i}/{len(rows)}: {pk}/{dk}")
        key = {"pk": pk, "dk": dk}
        info = client.data("GET", BINDING + "deviceInfo", **key) or {}
        device = {**row, **info, "deviceName": row.get("deviceName"), "deviceType": row.get("deviceType")}
        account.devices.append(device)
        if pk not in account.products:
            account.products[pk] = client.data("GET", BINDING + "productTSL", pk=pk) or {}
        account.attributes[(pk, dk)] = client.data("GET", BINDING + "getDeviceBusinessAttributes", **key) or {}
        if row.get("deviceType") != 2:
            account.share_rows[(pk, dk)] = client.data("GET", BINDING + "deviceShareUserList", **key) or []
    progress(f"{len(account.products)} product(s), {sum(map(len, account.share_rows.values()))} active share(s)")
    account.families = read_families(client, progress, account.notes)
    return account


def read_families(client: Client, progress, notes: list[str]) -> list[dict]:
    """Home-mode families with their members and rooms; none where the cloud has no home mode
    (the family endpoints answer 404, or 5635 "Home mode not enabled")."""
    body = client.call("GET", FAMILY + "getFamilyList", page=1, pageSize=PAGE_SIZE)
    if body["httpStatus"] != 200 or body["code"] != 200:
        why = f"HTTP {body['httpStatus']}" if body["httpStatus"] != 200 else f"{body['code']} {body.get('msg') or ''}"
        progress(f"families: skipped ({why.strip()})")
        return []
    families = []
    for family in client.pages(FAMILY + "getFamilyList"):
        fid = family.get("fid")
        members = client.pages(FAMILY + "getFamilyMemberList", fid=fid)
        rooms = client.pages(FAMILY + "getFamilyRoomList", fid=fid)
        devices = client.pages(FAMILY + "getFamilyDeviceList", fid=fid)
        families.append({"family": family, "members": members, "rooms": rooms, "devices": devices})
    progress(f"{len(families)} family(ies)")
    return families


# ---- writing the scenario --------------------------------------------------------------------


def _password() -> str:
    return "sim-" + secrets.token_urlsafe(9)  # 16 characters: within the 6-20 a login accepts


@dataclass
class Credentials:
    password: str
    token: str
    token_expires_at: int | None = None
    domain_secret: str | None = None


def own_credentials(login: Login, tokens: dict, keep: bool) -> Credentials:
    """The imported user's password and token: the simulator's own, or the real ones (`keep`)."""
    if not keep:
        return Credentials(_password(), "import-" + secrets.token_hex(12))
    access = tokens.get("accessToken") or {}
    bare = str(access.get("token", "")).removeprefix("Bearer ").strip()
    expires = access.get("expirationTime")
    return Credentials(login.password, bare, int(expires) * 1000 if expires else None, login.domain_secret or None)


class Builder:
    """The scenario, section by section, from an Account."""

    def __init__(self, account: Account, login: Login, creds: Credentials) -> None:
        self.account = account
        self.login = login
        self.creds = creds
        self.uid = account.profile["uid"]
        self.users: dict[str, dict] = {}
        self.domains: list[str] = [login.user_domain]
        self.products: dict[str, things.Product] = {}
        self.warnings: list[str] = []

    def build(self) -> dict:
        self._me()
        product_specs = self._products()
        devices, shares = [], []
        received = [d for d in self.account.devices if d.get("deviceType") == 2]
        for device in self.account.devices:
            devices.append(self._device(device))
            if device.get("deviceType") == 2:
                shares.append(self._received_share(device, received.index(device), len(received)))
            else:
                shares += self._given_shares(device)
        families = self._families()  # before the users: members are users too
        spec: dict[str, Any] = {
            "name": f"imported-{self.uid}",
            "description": f"The account {self.login.email or self.login.phone} ({self.uid}) as "
            f"{self.login.base} showed it on {_now_text()}, made by mock-server import.",
            "seed": 1,
            "userDomains": [self._domain(d) for d in self.domains],
            "users": list(self.users.values()),
        }
        for name, section in (("families", families), ("products", product_specs), ("devices", devices),
                              ("shares", shares)):  # fmt: skip
            if section:
                spec[name] = section
        return spec

    def _domain(self, name: str) -> dict:
        entry = {"domain": name}
        if name == self.login.user_domain and self.creds.domain_secret:
            entry["secret"] = self.creds.domain_secret
        return entry

    def _me(self) -> None:
        profile = self.account.profile
        me = _user(profile)
        if self.login.phone and self.login.international_code:
            me["internationalCode"] = self.login.international_code
        me["password"] = self.creds.password
        me["token"] = self.creds.token
        if self.creds.token_expires_at:
            me["tokenExpiresAt"] = self.creds.token_expires_at
        self.users[self.uid] = me

    def _other(self, uid: str | None, info: dict) -> None:
        """Another user the account shows (a device's owner, a share's recipient, a family
        member): what was seen of them, merged; no password of theirs is ever known."""
        if not uid or uid == self.uid:
            return
        entry = self.users.setdefault(uid, {"uid": uid})
        for key, value in _user(info).items():
            entry.setdefault(key, value)
        domain = info.get("userDomain")
        if domain and domain not in self.domains:
            self.domains.append(domain)
        if domain and domain != self.login.user_domain:
            entry["userDomain"] = domain

    def _products(self) -> list[dict]:
        specs = []
        names = {d["productKey"]: d.get("productName") for d in self.account.devices}
        for pk, tsl in self.account.products.items():
            tsl = {k: v for k, v in (tsl or {}).items() if k in ("profile", "properties", "events", "services")}
            problems = things.tsl_problems(tsl)
            if problems:
                path, message = problems[0]
                self.warn(f"product {pk}: thing model left out ({path}: {message}); its devices keep no values")
                continue
            spec = {"pk": pk, "name": names.get(pk) or pk, "tsl": tsl}
            self.products[pk] = things.Product.from_tsl(pk, spec["name"], tsl)
            specs.append(spec)
        return specs

    def _device(self, row: dict) -> dict:
        pk, dk = row["productKey"], row["deviceKey"]
        shared = row.get("deviceType") == 2
        owner = (row.get("ownerUid") or row.get("uid")) if shared else self.uid
        if shared:
            self._other(owner, {"nikeName": row.get("userName"), "phone": row.get("phone")})
        entry: dict[str, Any] = {"pk": pk, "dk": dk, "name": row.get("deviceName") or dk, "owner": owner}
        entry["online"] = row.get("onlineStatus") == 1
        entry["verified"] = row.get("verified", 1) == 1
        for key, name in (("productName", "productName"), ("sn", "sn"), ("authKey", "authKey"),
                          ("deviceTag", "deviceTag"), ("signalStrength", "signalStrength")):  # fmt: skip
            if row.get(name) not in (None, ""):
                entry[key] = str(row[name])
        for key, name in (("created", "deviceCreateTimeTs"), ("bound", "deviceBindTimeTs")):
            if isinstance(row.get(name), int):
                entry[key] = row[name]
        entry.update(self._state(pk, dk, self.account.attributes.get((pk, dk)) or {}))
        # A value reported when the device was bound needs no time of its own (the default).
        times = {c: at for c, at in entry.pop("reportedAt", {}).items() if at != entry.get("bound")}
        if times:
            entry["reportedAt"] = times
        return entry

    def _state(self, pk: str, dk: str, attributes: dict) -> dict:
        """values (native, checked against the thing model), their report times, module data
        and location, from getDeviceBusinessAttributes."""
        out: dict[str, Any] = {}
        product = self.products.get(pk)
        values, reported_at = {}, {}
        for item in attributes.get("customizeTslInfo") or [] if product else []:
            code = item.get("resourceCode")
            feature = product.properties.get(code)
            try:
                if feature is None:
                    raise things.ValueProblem("not in the thing model")
                values[code] = feature.check(_decoded(feature, item.get("resourceValce")))
            except (things.ValueProblem, ValueError) as problem:
                self.warn(f"{pk}/{dk}: value of {code} left out ({problem})")
                continue
            if str(item.get("createTime", "")).isdigit():
                reported_at[code] = int(item["createTime"])
        if values:
            out["values"] = values
        if reported_at:
            out["reportedAt"] = reported_at
        # Always stated, even empty: a device whose scenario states nothing gets generated values.
        out["deviceData"] = dict(attributes.get("deviceData") or {})
        located = attributes.get("deviceLocateInfo")
        if located and located.get("lat") not in (None, ""):
            out["location"] = _location(located)
        return out

    def _received_share(self, row: dict, index: int, count: int) -> dict:
        share: dict[str, Any] = {
            "device": {"pk": row["productKey"], "dk": row["deviceKey"]},
            "recipient": self.uid,
            "state": "active",
            # The list shows shared devices by acceptance: keep the cloud's order.
            "acceptTime": f"-{count - index}m",
        }
        if row.get("shareCode"):
            share["code"] = row["shareCode"]
        if isinstance(row.get("sharingExpireTimeTs"), int):
            share["sharingExpireAt"] = row["sharingExpireTimeTs"]
        return share

    def _given_shares(self, device: dict) -> list[dict]:
        out = []
        for row in self.account.share_rows.get((device["productKey"], device["deviceKey"])) or []:
            info, user = row.get("shareInfo") or {}, row.get("userInfo") or {}
            recipient = info.get("shareUid") or user.get("uid")
            if info.get("shareStatus", 1) != 1 or not recipient:
                continue
            self._other(recipient, user)
            share: dict[str, Any] = {
                "device": {"pk": device["productKey"], "dk": device["deviceKey"]},
                "recipient": recipient,
                "state": "active",
            }
            if info.get("shareCode"):
                share["code"] = info["shareCode"]
            if info.get("coverMark") in (1, 2, 3):
                share["coverMark"] = info["coverMark"]
            for key in ("shareTime", "acceptTime", "acceptingExpireAt", "sharingExpireAt"):
                value = info.get(key + "Ts", info.get(key))
                if isinstance(value, int):
                    share[key] = value
            if info.get("deviceName") and info["deviceName"] != device.get("deviceName"):
                share["deviceName"] = info["deviceName"]
            out.append(share)
        return out

    def _families(self) -> list[dict]:
        out = []
        for entry_of in self.account.families:
            family, members = entry_of["family"], entry_of["members"]
            creator = next((m.get("uid") for m in members if m.get("memberRole") == 1), None)
            if creator is None and family.get("memberRole") == 1:
                creator = self.uid
            if creator is None:
                self.warn(f"family {family.get('fid')}: no creator among its members; left out")
                continue
            for member in members:
                self._other(member.get("uid"), member)
            fid = str(family.get("fid"))
            entry: dict[str, Any] = {"fid": fid, "name": family.get("familyName") or fid, "owner": creator}
            for name, key in (("location", "familyLocation"), ("coordinates", "familyCoordinates")):
                if family.get(key):
                    entry[name] = family[key]
            rooms = sorted(entry_of.get("rooms", []), key=lambda r: r.get("roomSort") or 0)
            entry["rooms"] = [{"frid": str(r["frid"]), "name": r.get("roomName") or str(r["frid"])} for r in rooms]
            entry["members"] = [_member(m) for m in members if m.get("uid") not in (None, creator)]
            entry["devices"] = self._family_devices(fid, entry_of.get("devices", []), {creator, *_uids(members)})
            out.append({k: v for k, v in entry.items() if v != []})
        if out:  # the family endpoints answered: the account is in home mode
            self.users[self.uid]["homeMode"] = True
        return out

    def _family_devices(self, fid: str, rows: list[dict], members: set[str]) -> list[dict]:
        """The family's devices the file holds (imported devices owned by a member); the rest
        are named in the file's header."""
        owners = {(d.get("productKey"), d.get("deviceKey")): _owner_of(d, self.uid) for d in self.account.devices}
        out, left = [], []
        for row in rows:
            key = (row.get("productKey"), row.get("deviceKey"))
            if owners.get(key) not in members or row.get("type") == 2:
                left.append(f"{key[0]}/{key[1]}")
                continue
            item: dict[str, Any] = {"pk": key[0], "dk": key[1]}
            if row.get("frid"):
                item["room"] = str(row["frid"])
            if row.get("isCommonUsed"):
                item["commonUsed"] = True
            out.append(item)
        if left:
            self.account.notes.append(f"family {fid} holds devices of other users: {', '.join(left)}")
        return out

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _member(info: dict) -> dict:
    """A family member as the scenario file holds one: uid, role, name in the family."""
    member: dict[str, Any] = {"uid": info["uid"]}
    if info.get("memberRole") in (2, 3):
        member["role"] = info["memberRole"]
    if info.get("memberName"):
        member["name"] = info["memberName"]
    return member


def _uids(members: list[dict]) -> set[str]:
    return {m["uid"] for m in members if m.get("uid")}


def _owner_of(row: dict, me: str) -> str | None:
    """Whose a device of the account's list is: the caller's own (deviceType 1) or its owner's."""
    return me if row.get("deviceType") != 2 else row.get("ownerUid")


def _user(info: dict) -> dict:
    """A users entry from what a profile (userInfo, a share row's userInfo, a member) shows."""
    entry: dict[str, Any] = {}
    if info.get("uid"):
        entry["uid"] = info["uid"]
    nickname = info.get("nikeName") or info.get("nickname")
    if nickname:
        entry["nickname"] = nickname
    for key in ("email", "phone"):
        if info.get(key):
            entry[key] = str(info[key])
    registered = info.get("registerTimeTs")
    if isinstance(registered, int):
        entry["registered"] = registered
    return entry


def _decoded(feature: things.Feature, text: Any) -> Any:
    """A customizeTslInfo value (text; STRUCT and ARRAY as JSON text) as checkable data."""
    if feature.data_type in ("STRUCT", "ARRAY") and isinstance(text, str):
        return json.loads(text)
    return text


def _location(info: dict) -> dict:
    lat, lng = float(info["lat"]), float(info.get("lng") or 0)
    out: dict[str, Any] = {
        "lat": -lat if info.get("latType") == "S" else lat,
        "lng": -lng if info.get("lngType") == "W" else lng,
    }
    for key in ("locateType", "hdop", "satellites"):
        if info.get(key):
            out[key] = str(info[key])
    return out


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(spec: dict, builder: Builder, creds: Credentials, keep: bool) -> str:
    me = builder.users[builder.uid]
    account = me.get("email") or me.get("phone") or builder.uid
    kind = "the account's real password and token (--keep-password)" if keep else "the simulator's own"
    head = [
        f"Imported by `mock-server import` from {builder.login.base} on {_now_text()}.",
        f"Sign in as {account} with the password {creds.password!r} ({kind}),",
        f"or send Authorization: {creds.token}",
    ]
    if not keep:
        head.append("The real password, tokens and the domain secret are not in this file: login signatures")
        head.append("are not checked for the imported user domain.")
    head += [f"Not imported: {note}" for note in builder.account.notes + builder.warnings]
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=120)
    return "".join(f"# {line}\n" for line in head) + text


# ---- the command -----------------------------------------------------------------------------


def run_import(login: Login, keep_password: bool = False, progress=None) -> tuple[str, Builder]:
    """The scenario text for the account `login` names; ImportFailed with one line otherwise."""
    progress = progress or (lambda line: None)
    client = Client(login.base, login.ca_file)
    started = time.monotonic()
    tokens = sign_in(client, login)
    try:
        account = read_account(client, progress)
        if not account.profile.get("uid"):
            raise ImportFailed("userInfo answered no uid")
        creds = own_credentials(login, tokens, keep_password)
        builder = Builder(account, login, creds)
        spec = builder.build()
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # An answer of another shape than this API's (a proxy, another service at that URL).
        raise ImportFailed(f"an answer of an unexpected shape ({type(exc).__name__}: {exc})") from None
    for line in builder.warnings:
        progress(f"warning: {line}")
    progress(f"read in {time.monotonic() - started:.2f} s with {client.calls} calls")
    return render(spec, builder, creds, keep_password), builder


def main(args) -> int:
    """`mock-server import`: the file (or standard output), progress on standard error."""
    login = Login(
        base=args.from_url,
        user_domain=args.user_domain,
        password=args.password,
        email=args.email,
        phone=args.phone,
        international_code=args.international_code,
        domain_secret=args.domain_secret or "",
        ca_file=args.ca_file,
    )

    def progress(line: str) -> None:
        print(f"import: {line}", file=sys.stderr, flush=True)

    try:
        text, _ = run_import(login, args.keep_password, progress)
    except ImportFailed as failed:
        print(f"mock-server import: {failed}", file=sys.stderr)
        return 1
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            print(f"mock-server import: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        progress(f"wrote {args.out} ({len(text.encode())} bytes)")
    else:
        sys.stdout.write(text)
    return 0
