"""The gnostic `openapi_v2.Document` protobuf of a Swagger 2.0 document, both ways.

kube-apiserver answers `GET /openapi/v2` with
`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` with this
encoding, and kubectl (`explain --output=plaintext-openapiv2`, the v2 fallback of
validation) parses it with gnostic.  Field numbers are those of gnostic's
`openapiv2/OpenAPIv2.proto` (proto3: zero values are not written, repeated strings
are not packed).  Vendor extensions (`x-kubernetes-*`), `enum` values and defaults
are `Any` messages carrying the value as YAML text, as gnostic writes them.

Encoded: everything openapi_v2.py puts in a document (info, paths with get / put /
post / delete / patch operations, body, query and path parameters, responses,
definitions with every schema keyword the upstream schemas use, the bearer-token
security definition and requirement).  Anything else raises ValueError, so a new
keyword cannot be dropped silently.  No protobuf package is needed: the message set
is small and fixed, and the wire format is a few lines (varints and length prefixes).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from kubecourse.embedded.protobuf import LEN, VARINT, iter_fields

Obj = dict[str, Any]

# -- writing ------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes(number: int, data: bytes) -> bytes:
    return _key(number, LEN) + _varint(len(data)) + data


def _string(number: int, text: Any) -> bytes:
    return _bytes(number, str(text).encode()) if text not in (None, "") else b""


def _strings(number: int, values: Iterable[Any]) -> bytes:
    return b"".join(_bytes(number, str(v).encode()) for v in values)


def _bool(number: int, value: Any) -> bytes:
    return _key(number, VARINT) + b"\x01" if value else b""


def _int(number: int, value: Any) -> bytes:
    return _key(number, VARINT) + _varint(int(value)) if value else b""


def _double(number: int, value: Any) -> bytes:
    return _key(number, 1) + struct.pack("<d", float(value)) if value else b""


def _message(number: int, data: bytes) -> bytes:
    return _bytes(number, data)


def _yaml(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=False)
    return text.removesuffix("...\n")


def _any(number: int, value: Any) -> bytes:
    return _message(number, _string(2, _yaml(value)))


def _named(number: int, items: Iterable[tuple[str, bytes]]) -> bytes:
    return b"".join(
        _message(number, _string(1, name) + _message(2, value)) for name, value in items
    )


def _extensions(number: int, obj: Obj) -> bytes:
    items = [(k, _string(2, _yaml(v))) for k, v in obj.items() if k.startswith("x-")]
    return _named(number, items)


# -- Schema -------------------------------------------------------------------------

# keyword -> (field number, writer) for Schema's plain fields.
_SCHEMA_FIELDS: dict[str, tuple[int, Callable[[int, Any], bytes]]] = {
    "$ref": (1, _string),
    "format": (2, _string),
    "title": (3, _string),
    "description": (4, _string),
    "default": (5, _any),
    "multipleOf": (6, _double),
    "maximum": (7, _double),
    "exclusiveMaximum": (8, _bool),
    "minimum": (9, _double),
    "exclusiveMinimum": (10, _bool),
    "maxLength": (11, _int),
    "minLength": (12, _int),
    "pattern": (13, _string),
    "maxItems": (14, _int),
    "minItems": (15, _int),
    "uniqueItems": (16, _bool),
    "maxProperties": (17, _int),
    "minProperties": (18, _int),
    "required": (19, _strings),
    "discriminator": (26, _string),
    "readOnly": (27, _bool),
    "example": (30, _any),
}


def encode_schema(schema: Obj) -> bytes:
    out = bytearray()
    for key, value in schema.items():
        if key in _SCHEMA_FIELDS:
            number, write = _SCHEMA_FIELDS[key]
            out += write(number, value)
        elif key == "enum":
            out += b"".join(_any(20, v) for v in value)
        elif key == "additionalProperties":
            item = (
                _bool(2, value)
                if isinstance(value, bool)
                else _message(1, encode_schema(value))
            )
            out += _message(21, item)
        elif key == "type":
            out += _message(
                22, _strings(1, value if isinstance(value, list) else [value])
            )
        elif key == "items":
            listed = value if isinstance(value, list) else [value]
            out += _message(23, b"".join(_message(1, encode_schema(s)) for s in listed))
        elif key == "allOf":
            out += b"".join(_message(24, encode_schema(s)) for s in value)
        elif key == "properties":
            out += _message(
                25, _named(1, ((k, encode_schema(v)) for k, v in value.items()))
            )
        elif not key.startswith("x-"):
            raise ValueError(f"schema keyword {key!r} has no openapi_v2.Schema field")
    out += _extensions(31, schema)
    return bytes(out)


# -- operations ---------------------------------------------------------------------


def _parameter(param: Obj) -> bytes:
    """A ParametersItem holding a body, query or path Parameter."""
    known = {"name", "in", "description", "required", "schema", "type", "uniqueItems"}
    unknown = set(param) - known
    if unknown:
        raise ValueError(f"parameter keywords {sorted(unknown)} are not encoded")
    place = param.get("in")
    common = (
        _bool(1, param.get("required"))
        + _string(2, place)
        + _string(3, param.get("description"))
        + _string(4, param.get("name"))
    )
    if place == "body":
        body = (
            _string(1, param.get("description"))
            + _string(2, param.get("name"))
            + _string(3, place)
        )
        body += _bool(4, param.get("required")) + _message(
            5, encode_schema(param.get("schema") or {})
        )
        parameter = _message(1, body)
    elif place == "query":
        sub = (
            common + _string(6, param.get("type")) + _bool(20, param.get("uniqueItems"))
        )
        parameter = _message(2, _message(3, sub))
    elif place == "path":
        sub = (
            common + _string(5, param.get("type")) + _bool(19, param.get("uniqueItems"))
        )
        parameter = _message(2, _message(4, sub))
    else:
        raise ValueError(f"parameters in {place!r} are not encoded")
    return _message(1, parameter)


def _response(response: Obj) -> bytes:
    out = _string(1, response.get("description"))
    if "schema" in response:
        out += _message(2, _message(1, encode_schema(response["schema"])))
    return _message(1, out)  # ResponseValue.response


def _operation(op: Obj) -> bytes:
    out = (
        _strings(1, op.get("tags", []))
        + _string(2, op.get("summary"))
        + _string(3, op.get("description"))
    )
    out += (
        _string(5, op.get("operationId"))
        + _strings(6, op.get("produces", []))
        + _strings(7, op.get("consumes", []))
    )
    out += b"".join(_message(8, _parameter(p)) for p in op.get("parameters", []))
    responses = _named(
        1, ((code, _response(r)) for code, r in op.get("responses", {}).items())
    )
    out += (
        _message(9, responses)
        + _strings(10, op.get("schemes", []))
        + _bool(11, op.get("deprecated"))
    )
    return out + _extensions(13, op)


_METHODS = {
    "get": 2,
    "put": 3,
    "post": 4,
    "delete": 5,
    "options": 6,
    "head": 7,
    "patch": 8,
}


def _path_item(item: Obj) -> bytes:
    out = bytearray()
    for key, value in item.items():
        if key in _METHODS:
            out += _message(_METHODS[key], _operation(value))
        elif key == "parameters":
            out += b"".join(_message(9, _parameter(p)) for p in value)
        elif not key.startswith("x-"):
            raise ValueError(f"path item keyword {key!r} is not encoded")
    return bytes(out) + _extensions(10, item)


# -- the document -------------------------------------------------------------------


def _security_definitions(definitions: Obj) -> bytes:
    items = []
    for name, scheme in definitions.items():
        if scheme.get("type") != "apiKey":
            raise ValueError(
                f"security scheme {name!r} of type {scheme.get('type')!r} is not encoded"
            )
        api_key = (
            _string(1, "apiKey")
            + _string(2, scheme.get("name"))
            + _string(3, scheme.get("in"))
            + _string(4, scheme.get("description"))
        )
        items.append((name, _message(2, api_key)))
    return _named(1, items)


def _security(requirement: Obj) -> bytes:
    return _named(
        1, ((name, _strings(1, scopes)) for name, scopes in requirement.items())
    )


def encode_document(document: Obj) -> bytes:
    """`openapi_v2.Document` bytes of a Swagger 2.0 document."""
    info = document.get("info") or {}
    out = _string(1, document.get("swagger")) + _message(
        2, _string(1, info.get("title")) + _string(2, info.get("version"))
    )
    out += (
        _strings(5, document.get("schemes", []))
        + _strings(6, document.get("consumes", []))
        + _strings(7, document.get("produces", []))
    )
    out += _message(
        8,
        _named(
            2,
            (
                (path, _path_item(item))
                for path, item in document.get("paths", {}).items()
            ),
        ),
    )
    out += _message(
        9,
        _named(
            1,
            (
                (name, encode_schema(s))
                for name, s in document.get("definitions", {}).items()
            ),
        ),
    )
    out += b"".join(_message(12, _security(r)) for r in document.get("security", []))
    if "securityDefinitions" in document:
        out += _message(13, _security_definitions(document["securityDefinitions"]))
    return out


# -- reading (to prove the encoding; what gnostic does on the client) -----------------


def _fields(raw: bytes) -> list[tuple[int, Any]]:
    return [(number, value) for number, _, value in iter_fields(raw)]


def _text(value: Any) -> str:
    return bytes(value).decode()


def _named_pairs(raw: bytes, number: int) -> list[tuple[str, bytes]]:
    pairs = []
    for field, value in _fields(raw):
        if field == number:
            parts = dict(_fields(value))
            pairs.append((_text(parts.get(1, b"")), bytes(parts.get(2, b""))))
    return pairs


def _any_value(raw: bytes) -> Any:
    return yaml.safe_load(_text(dict(_fields(raw)).get(2, b"")))


def _put_extensions(out: Obj, raw: bytes, number: int) -> None:
    for name, value in _named_pairs(raw, number):
        out[name] = yaml.safe_load(_text(dict(_fields(value)).get(2, b"")))


_SCHEMA_BY_NUMBER = {
    number: (key, write) for key, (number, write) in _SCHEMA_FIELDS.items()
}


def decode_schema(raw: bytes) -> Obj:
    out: Obj = {}
    for number, value in _fields(raw):
        key, write = _SCHEMA_BY_NUMBER.get(number, ("", None))
        if write is _string:
            out[key] = _text(value)
        elif write is _strings:
            out.setdefault(key, []).append(_text(value))
        elif write in (_bool, _int):
            out[key] = bool(value) if write is _bool else int(value)
        elif write is _double:
            out[key] = struct.unpack("<d", int(value).to_bytes(8, "little"))[0]
        elif write is _any:
            out[key] = _any_value(value)
        elif number == 20:
            out.setdefault("enum", []).append(_any_value(value))
        elif number == 21:
            item = dict(_fields(value))
            out["additionalProperties"] = (
                bool(item[2]) if 2 in item else decode_schema(item[1])
            )
        elif number == 22:
            types = [_text(v) for _, v in _fields(value)]
            out["type"] = types[0] if len(types) == 1 else types
        elif number == 23:
            listed = [decode_schema(v) for _, v in _fields(value)]
            out["items"] = listed[0] if len(listed) == 1 else listed
        elif number == 24:
            out.setdefault("allOf", []).append(decode_schema(value))
        elif number == 25:
            out["properties"] = {k: decode_schema(v) for k, v in _named_pairs(value, 1)}
    _put_extensions(out, raw, 31)
    return out


def _decode_parameter(raw: bytes) -> Obj:
    kind, inner = _fields(dict(_fields(raw))[1])[0]
    if kind == 1:
        parts = dict(_fields(inner))
        body: Obj = {"name": _text(parts.get(2, b"")), "in": _text(parts.get(3, b""))}
        if 1 in parts:
            body["description"] = _text(parts[1])
        body["required"] = bool(parts.get(4, 0))
        body["schema"] = decode_schema(parts.get(5, b""))
        return body
    where, sub = _fields(inner)[0]
    type_field, unique_field = (6, 20) if where == 3 else (5, 19)
    parts = dict(_fields(sub))
    param: Obj = {"name": _text(parts.get(4, b"")), "in": _text(parts.get(2, b""))}
    if 3 in parts:
        param["description"] = _text(parts[3])
    if parts.get(1):
        param["required"] = True
    if type_field in parts:
        param["type"] = _text(parts[type_field])
    if parts.get(unique_field):
        param["uniqueItems"] = True
    return param


def _decode_operation(raw: bytes) -> Obj:
    op: Obj = {}
    names = {1: "tags", 6: "produces", 7: "consumes", 10: "schemes"}
    for number, value in _fields(raw):
        if number in names:
            op.setdefault(names[number], []).append(_text(value))
        elif number in (2, 3, 5):
            op[{2: "summary", 3: "description", 5: "operationId"}[number]] = _text(
                value
            )
        elif number == 8:
            op.setdefault("parameters", []).append(_decode_parameter(value))
        elif number == 9:
            op["responses"] = {
                code: _decode_response(v) for code, v in _named_pairs(value, 1)
            }
    _put_extensions(op, raw, 13)
    return op


def _decode_response(raw: bytes) -> Obj:
    parts = dict(_fields(dict(_fields(raw))[1]))
    response: Obj = {"description": _text(parts.get(1, b""))}
    if 2 in parts:
        response["schema"] = decode_schema(dict(_fields(parts[2]))[1])
    return response


def decode_document(raw: bytes) -> Obj:
    """The document back from its bytes (the fields encode_document writes)."""
    parts: dict[int, list[Any]] = {}
    for number, value in _fields(raw):
        parts.setdefault(number, []).append(value)
    info = dict(_fields(parts[2][0]))
    document: Obj = {
        "swagger": _text(parts[1][0]),
        "info": {"title": _text(info[1]), "version": _text(info[2])},
    }
    methods = {number: name for name, number in _METHODS.items()}
    paths: Obj = {}
    for path, raw_item in _named_pairs(parts[8][0], 2):
        item: Obj = {}
        for number, value in _fields(raw_item):
            if number in methods:
                item[methods[number]] = _decode_operation(value)
            elif number == 9:
                item.setdefault("parameters", []).append(_decode_parameter(value))
        paths[path] = item
    document["paths"] = paths
    document["definitions"] = {
        k: decode_schema(v) for k, v in _named_pairs(parts[9][0], 1)
    }
    return document
