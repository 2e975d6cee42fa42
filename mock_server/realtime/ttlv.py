"""The binary TTLV frames apps send on `q/1/d/qd{pk}{dk}/bus`, decoded and
encoded with the product's thing model: field ids are TSL property ids, STRUCT members use
their member ids.

Frame: `AA AA`, 2-byte length of what follows, 1-byte checksum (sum of the following bytes
mod 256), 2-byte packet id, 2-byte command, then fields. Field: 2-byte header
`(id << 3) | type`; type 0/1 BOOL false/true (no value), 2 number (control byte: bit 7 sign,
bits 6-3 decimals, bits 2-0 byte count - 1; then the magnitude), 3 and 5 bytes/text (2-byte
length + bytes), 4 struct (2-byte member count + member fields). Everything big-endian.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..cloud.things import Feature, Product

MAGIC = b"\xaa\xaa"
READ_ALL = 0x0011
WRITE = 0x0013
T_FALSE, T_TRUE, T_NUMBER, T_BYTES, T_STRUCT, T_TEXT = 0, 1, 2, 3, 4, 5
NUMERIC = ("INT", "FLOAT", "DOUBLE", "ENUM", "DATE")


class TTLVError(ValueError):
    """A frame or field that cannot be read; the message says why, for people."""


@dataclass(frozen=True)
class Frame:
    packet_id: int
    cmd: int
    payload: bytes


def checksum(body: bytes) -> int:
    return sum(body) % 256


def encode_frame(packet_id: int, cmd: int, payload: bytes = b"") -> bytes:
    body = packet_id.to_bytes(2, "big") + cmd.to_bytes(2, "big") + payload
    return MAGIC + (len(body) + 1).to_bytes(2, "big") + bytes([checksum(body)]) + body


def decode_frame(data: bytes) -> Frame:
    """The frame in `data`, or TTLVError for a bad magic, length or checksum."""
    if len(data) < 9 or data[:2] != MAGIC:
        raise TTLVError("not a TTLV frame: it must start with AA AA and hold at least 9 bytes")
    length = int.from_bytes(data[2:4], "big")
    if length != len(data) - 4:
        raise TTLVError(f"frame length says {length} bytes follow, {len(data) - 4} do")
    body = data[5:]
    if checksum(body) != data[4]:
        raise TTLVError(f"bad checksum: {data[4]:#04x}, expected {checksum(body):#04x}")
    return Frame(int.from_bytes(body[0:2], "big"), int.from_bytes(body[2:4], "big"), bytes(body[4:]))


# ---- fields -----------------------------------------------------------------------------


def decode_fields(product: Product, payload: bytes) -> dict[str, Any]:
    """Property code -> native value. A payload of one byte is a one-byte BOOL header (what
    one published client sends for ids below 32)."""
    if len(payload) == 1:
        return dict([_bool_field(product.by_id, payload[0] >> 3, payload[0] & 7)])
    kv, pos = _read_fields(product.by_id, payload, 0, None)
    if pos != len(payload):
        raise TTLVError(f"{len(payload) - pos} bytes left over after the last field")
    return kv


def _bool_field(index: dict[int, Feature], fid: int, kind: int) -> tuple[str, bool]:
    feature = _feature(index, fid)
    if kind not in (T_FALSE, T_TRUE):
        raise TTLVError(f"id {fid} ({feature.code}): a one-byte field must be a BOOL")
    return feature.code, kind == T_TRUE


def _feature(index: dict[int, Feature], fid: int) -> Feature:
    feature = index.get(fid)
    if feature is None:
        raise TTLVError(f"id {fid}: no such property in the thing model")
    return feature


def _read_fields(index: dict[int, Feature], data: bytes, pos: int, count: int | None) -> tuple[dict, int]:
    kv: dict[str, Any] = {}
    while pos < len(data) and (count is None or len(kv) < count):
        if pos + 2 > len(data):
            raise TTLVError(f"truncated field header at byte {pos}")
        header = int.from_bytes(data[pos : pos + 2], "big")
        fid, kind = header >> 3, header & 7
        feature = _feature(index, fid)
        value, pos = _read_value(feature, kind, data, pos + 2)
        kv[feature.code] = value
    if count is not None and len(kv) < count:
        raise TTLVError(f"struct announces {count} members, holds {len(kv)}")
    return kv, pos


def _take(data: bytes, pos: int, n: int, what: str) -> bytes:
    if pos + n > len(data):
        raise TTLVError(f"truncated {what} at byte {pos}")
    return data[pos : pos + n]


def _read_value(feature: Feature, kind: int, data: bytes, pos: int) -> tuple[Any, int]:
    label = f"id {feature.id} ({feature.code})"
    if kind in (T_FALSE, T_TRUE):
        return kind == T_TRUE, pos
    if kind == T_NUMBER:
        control = _take(data, pos, 1, f"{label} number")[0]
        size = (control & 7) + 1
        magnitude = int.from_bytes(_take(data, pos + 1, size, f"{label} number"), "big")
        return _number(feature, control, magnitude), pos + 1 + size
    if kind in (T_BYTES, T_TEXT):
        size = int.from_bytes(_take(data, pos, 2, f"{label} length"), "big")
        raw = _take(data, pos + 2, size, f"{label} text")
        try:
            return raw.decode("utf-8"), pos + 2 + size
        except UnicodeDecodeError:
            raise TTLVError(f"{label}: text is not UTF-8") from None
    if kind == T_STRUCT:
        if not feature.members_by_id:
            raise TTLVError(f"{label}: a struct field for a {feature.data_type} property")
        count = int.from_bytes(_take(data, pos, 2, f"{label} member count"), "big")
        return _read_fields(feature.members_by_id, data, pos + 2, count)
    raise TTLVError(f"{label}: unknown field type {kind}")


def _number(feature: Feature, control: int, magnitude: int) -> int | float:
    decimals = (control >> 3) & 0x0F
    value = Decimal(magnitude).scaleb(-decimals)
    if control & 0x80:
        value = -value
    if feature.data_type in ("FLOAT", "DOUBLE"):
        return float(value)
    return int(value) if value == value.to_integral_value() else float(value)


# ---- encoding (for apps and tests that speak TTLV) --------------------------------------


def encode_fields(product: Product, kv: dict[str, Any]) -> bytes:
    """Fields for `kv` (property code -> native value), by the product's ids."""
    return b"".join(_field(_by_code(product.properties, code), value) for code, value in kv.items())


def _by_code(index: dict[str, Feature], code: str) -> Feature:
    if code not in index:
        raise TTLVError(f"{code}: no such property in the thing model")
    return index[code]


def _field(feature: Feature, value: Any) -> bytes:
    def header(kind: int) -> bytes:
        return ((feature.id << 3) | kind).to_bytes(2, "big")

    if isinstance(value, bool):
        return header(T_TRUE if value else T_FALSE)
    if isinstance(value, int | float):
        return header(T_NUMBER) + encode_number(value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return header(T_TEXT) + len(raw).to_bytes(2, "big") + raw
    if isinstance(value, dict):
        members = b"".join(_field(_by_code(feature.members, c), v) for c, v in value.items())
        return header(T_STRUCT) + len(value).to_bytes(2, "big") + members
    raise TTLVError(f"{feature.code}: a {type(value).__name__} has no TTLV encoding")


def encode_number(value: int | float) -> bytes:
    """Control byte + big-endian magnitude, as few bytes as it takes (229.8 -> 09 08 FA)."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    decimals = max(0, -exact.normalize().as_tuple().exponent)
    if decimals > 15:
        raise TTLVError(f"{value}: more than 15 decimals")
    magnitude = int(abs(exact).scaleb(decimals))
    size = max(1, (magnitude.bit_length() + 7) // 8)
    if size > 8:
        raise TTLVError(f"{value}: too large for a TTLV number")
    control = (0x80 if exact < 0 else 0) | (decimals << 3) | (size - 1)
    return bytes([control]) + magnitude.to_bytes(size, "big")
