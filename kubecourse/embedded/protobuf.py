"""Decode Kubernetes protobuf request bodies into the JSON-shaped dicts the API uses.

kubectl >= 1.32 sends `Content-Type: application/vnd.kubernetes.protobuf` for its typed
generators (`create deployment|service|configmap|secret|namespace|job|cronjob|
poddisruptionbudget|serviceaccount|ingress|quota|priorityclass|token`, `autoscale`,
`auth can-i`).  The body
is the 4-byte magic `k8s\\0` and a `runtime.Unknown` envelope {1 typeMeta {1 apiVersion,
2 kind}, 2 raw, 3 contentEncoding, 4 contentType}; `raw` is the proto2 encoding of the
typed object.  `decode_request_body` turns it into the dict kubectl would have sent as
JSON, driven by `data/protobuf_fields.json` (field numbers from the upstream
`generated.proto` files, made by tools/gen_protobuf_table.py).

Decoded faithfully, for the kinds in the table's `roots`:
- every field of the messages reachable from those kinds: scalars, repeated fields
  (packed or not), maps (entries {1 key, 2 value}), nested and embedded (`inline`)
  messages; `bytes` (Secret.data, ConfigMap.binaryData) as base64 strings as in JSON;
- Time / MicroTime {seconds, nanos} as RFC 3339 UTC strings (a zero Time is left
  out when `+optional`, e.g. creationTimestamp, as kubectl's JSON does, and `null`
  otherwise), IntOrString as int or str, Quantity as its string;
- presence: a field absent from the wire stays absent, so server defaulting still
  applies.  Go writes non-pointer scalars even when zero; a zero scalar marked
  `+optional` upstream is dropped (Go's `omitempty`), unless the Go field is a
  pointer (table flag `p`, e.g. `replicas: 0`, `automountServiceAccountToken: false`),
  in which case the explicit zero is kept.

Not decoded: messages listed under `undecoded` in the table (cloud-provider volume
sources, EphemeralContainer, metav1.Condition in statuses): such fields are skipped
like unknown field numbers.  Kinds outside `roots`, `contentEncoding` other than
empty, and empty lists/`null`s that Go's JSON writes for non-omitempty nil slices
(e.g. TokenRequest `spec.audiences: null`) are not reproduced.  Malformed input
raises ValueError only.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAX_DEPTH = 64

Obj = dict[str, Any]
Field = list[Any]  # [json name, type, flags, ref]

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_WIRE = {"string": LEN, "bytes": LEN, "bool": VARINT, "int32": VARINT, "int64": VARINT}
_ZERO: dict[str, Any] = {
    "string": "",
    "bytes": "",
    "bool": False,
    "int32": 0,
    "int64": 0,
}


@lru_cache(maxsize=1)
def table() -> Obj:
    """The field table shipped in kubecourse/embedded/data/protobuf_fields.json."""
    text = resources.files("kubecourse.embedded").joinpath("data/protobuf_fields.json")
    loaded: Obj = json.loads(text.read_text(encoding="utf-8"))
    return loaded


# -- wire level ---------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint longer than 10 bytes")


def _read_value(buf: bytes, pos: int, wire: int) -> tuple[int | bytes, int]:
    if wire == VARINT:
        return _varint(buf, pos)
    if wire in (I64, I32):
        end = pos + (8 if wire == I64 else 4)
        if end > len(buf):
            raise ValueError("truncated fixed-width field")
        return int.from_bytes(buf[pos:end], "little"), end
    if wire == LEN:
        size, pos = _varint(buf, pos)
        if pos + size > len(buf):
            raise ValueError("length-delimited field runs past the end of the message")
        return buf[pos : pos + size], pos + size
    raise ValueError(f"unsupported wire type {wire}")


def iter_fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for every field of one message."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0 is invalid")
        value, pos = _read_value(buf, pos, wire)
        out.append((number, wire, value))
    return out


def _signed(value: int, bits: int) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32:
        value = ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    return value


# -- typed values -------------------------------------------------------------------


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"string field is not valid UTF-8: {err}") from err


def _scalar(kind: str, wire: int, value: int | bytes) -> Any:
    if wire != _WIRE[kind]:
        raise ValueError(f"wire type {wire} for a {kind} field")
    if kind == "string":
        assert isinstance(value, bytes)
        return _text(value)
    if kind == "bytes":
        assert isinstance(value, bytes)
        return base64.b64encode(value).decode("ascii")
    assert isinstance(value, int)
    if kind == "bool":
        return value != 0
    return _signed(value, 32 if kind == "int32" else 64)


def _packed(kind: str, raw: bytes) -> list[Any]:
    values: list[Any] = []
    pos = 0
    while pos < len(raw):
        value, pos = _varint(raw, pos)
        values.append(_scalar(kind, VARINT, value))
    return values


def _time(raw: bytes, micro: bool) -> str | None:
    seconds = nanos = 0
    for number, wire, value in iter_fields(raw):
        if number in (1, 2) and wire != VARINT:
            raise ValueError(f"wire type {wire} in a Time field")
        if number == 1:
            seconds = _signed(int(value), 64)
        elif number == 2:
            nanos = _signed(int(value), 32)
    if seconds == 0 and nanos == 0:
        return None
    try:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError) as err:
        raise ValueError(f"Time out of range: {seconds}") from err
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos // 1000:06d}Z" if micro else f"{stamp}Z"


def _int_or_string(raw: bytes) -> int | str:
    fields = _simple(raw, {1: "int64", 2: "int32", 3: "string"})
    if fields.get(1, 0) == 1:
        return str(fields.get(3, ""))
    return int(fields.get(2, 0))


def _simple(raw: bytes, kinds: dict[int, str]) -> dict[int, Any]:
    """Decode a flat message of scalars by field number (unknown numbers skipped)."""
    out: dict[int, Any] = {}
    for number, wire, value in iter_fields(raw):
        if number in kinds:
            out[number] = _scalar(kinds[number], wire, value)
    return out


def _special(kind: str, raw: bytes) -> Any:
    if kind in ("time", "microtime"):
        return _time(raw, kind == "microtime")
    if kind == "intorstring":
        return _int_or_string(raw)
    if kind == "quantity":
        return str(_simple(raw, {1: "string"}).get(1, ""))
    return _signed(int(_simple(raw, {1: "int64"}).get(1, 0)), 64)  # duration (ns)


# -- messages -----------------------------------------------------------------------


def _map_entry(field: Field, raw: bytes, depth: int) -> tuple[str, Any]:
    value_kind = field[3]
    key: Any = ""
    value: Any = _ZERO.get(value_kind)
    for number, wire, item in iter_fields(raw):
        if number == 1:
            key = _scalar("string", wire, item)
        elif number == 2:
            value = _value(value_kind, wire, item, depth)
    return key, value


def _value(kind: str, wire: int, value: int | bytes, depth: int) -> Any:
    """One value of a field whose type is `kind` (a scalar, special or message)."""
    if kind in _WIRE:
        return _scalar(kind, wire, value)
    if wire != LEN:
        raise ValueError(f"wire type {wire} for an embedded message")
    assert isinstance(value, bytes)
    if kind in ("time", "microtime", "intorstring", "quantity", "duration"):
        return _special(kind, value)
    return decode_message(kind, value, depth + 1)


def _is_zero(field: Field, value: Any) -> bool:
    """A zero that Go's JSON would omit: +optional, not a pointer (a zero Time too)."""
    kind, flags = field[1], field[2]
    if "o" not in flags or "p" in flags:
        return False
    if kind in ("time", "microtime"):
        return value is None
    return kind in _ZERO and value == _ZERO[kind]


def _add(out: Obj, field: Field, wire: int, value: int | bytes, depth: int) -> None:
    name, kind, flags, ref = field
    if kind in ("map", "message") and ref == "":
        return  # a message type the table does not decode: skipped like unknown
    if kind == "map":
        if not isinstance(value, bytes):
            raise ValueError(f"wire type {wire} for map field {name}")
        key, item = _map_entry(field, value, depth)
        out.setdefault(name, {})[key] = item
    elif "r" in flags and kind in ("bool", "int32", "int64") and wire == LEN:
        assert isinstance(value, bytes)
        out.setdefault(name, []).extend(_packed(kind, value))
    else:
        decoded = _value(ref if kind == "message" else kind, wire, value, depth)
        if "r" in flags:
            out.setdefault(name, []).append(decoded)
        elif "i" in flags and isinstance(decoded, dict):
            out.update(decoded)
        elif not _is_zero(field, decoded):
            out[name] = decoded


def decode_message(message: str, raw: bytes, depth: int = 0) -> Obj:
    """Decode the proto2 bytes of `message` (a full name in the table) to a dict."""
    if depth > MAX_DEPTH:
        raise ValueError("message nesting is too deep")
    fields: dict[str, Field] | None = table()["messages"].get(message)
    if fields is None:
        raise ValueError(f"no protobuf field table for {message}")
    out: Obj = {}
    for number, wire, value in iter_fields(raw):
        field = fields.get(str(number))
        if field is not None:
            _add(out, field, wire, value, depth)
    return out


# -- envelope -----------------------------------------------------------------------


def decode_unknown(body: bytes) -> tuple[str, str, bytes]:
    """Split a `k8s\\0` + runtime.Unknown body into (apiVersion, kind, raw)."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf body (missing the k8s\\0 prefix)")
    meta: dict[int, Any] = {}
    raw = b""
    for number, wire, value in iter_fields(body[len(MAGIC) :]):
        if number in (1, 2, 3) and wire != LEN:
            raise ValueError(f"wire type {wire} in the runtime.Unknown envelope")
        if number == 1:
            assert isinstance(value, bytes)
            meta = _simple(value, {1: "string", 2: "string"})
        elif number == 2:
            assert isinstance(value, bytes)
            raw = value
        elif number == 3 and value:
            raise ValueError(f"unsupported contentEncoding {_text(bytes(value))!r}")
    return str(meta.get(1, "")), str(meta.get(2, "")), raw


def decode_request_body(raw: bytes) -> Obj:
    """The JSON-shaped object of a protobuf request body; ValueError if it is not one.

    Call it for `Content-Type: application/vnd.kubernetes.protobuf` bodies.
    """
    try:
        api_version, kind, payload = decode_unknown(raw)
        message = table()["roots"].get(f"{api_version}/{kind}")
        if message is None:
            raise ValueError(
                f"protobuf bodies of {api_version or '?'}/{kind or '?'} are not "
                "supported; send JSON (application/json) instead"
            )
        obj = decode_message(message, payload)
    except RecursionError as err:
        raise ValueError("message nesting is too deep") from err
    return {"apiVersion": api_version, "kind": kind, **obj}
