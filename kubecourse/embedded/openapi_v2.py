"""`GET /openapi/v2`: the whole API as one Swagger 2.0 document, JSON or protobuf.

kubectl >= 1.27 reads OpenAPI v3 (openapi.py), but older clients, helm and
`kubectl explain --output=plaintext-openapiv2` read v2, which kube-apiserver serves as
JSON (`Accept: application/json`) and as the gnostic `openapi_v2.Document` protobuf
(`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, openapi_v2_proto.py;
answered as `...spec.v2.v1.0+protobuf`, as kube-openapi does, since Go's media-type
parser refuses the `@`).

Built from the same sources as the v3 documents, lazily on the first request and once
(then served as the cached bytes, with a strong `ETag` and `304 Not Modified` for a
matching `If-None-Match`, as upstream): `paths` are the v3 paths of every served
group-version rewritten as Swagger 2.0 operations (query and path parameters flat,
the request body a `body` parameter, `consumes`/`produces`, `schemes: [https]`), and
`definitions` are every upstream schema those operations reach, from
`kubernetes-validate`, with descriptions and the `x-kubernetes-*` extensions
(`x-kubernetes-group-version-kind`, `x-kubernetes-patch-merge-key`, list types ...):
`$ref` targets `#/definitions/...`, `["string", "null"]` types become `string`, a
`$ref` keeps its sibling `description` (as upstream's swagger.json writes it), and
IntOrString and Quantity become `type: string` (IntOrString with
`format: int-or-string`).

Not faithful: the package's schemas lack the descriptions of IntOrString and
Quantity; operations carry our short parameter descriptions; responses are JSON only.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from kubecourse.embedded import openapi, schemas
from kubecourse.embedded.resources import Registry

JSON = "application/json"
PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# What kube-openapi answers with: `@` is no token character of a media type, and Go's
# mime.ParseMediaType (kubectl) rejects the canonical name, so the reply uses dots.
PROTOBUF_REPLY = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_DEFINITIONS = "#/definitions/"
_COMPONENTS = "#/components/schemas/"

# ---------------------------------------------------------------- definitions


def _type(value: Any) -> Any:
    if isinstance(value, list):
        concrete = [t for t in value if t != "null"]
        return concrete[0] if len(concrete) == 1 else concrete
    return value


def _one_of(alternatives: list[Any]) -> dict[str, Any]:
    """IntOrString and Quantity: a string on the wire, as upstream's v2 writes them."""
    types = {_type(a.get("type")) for a in alternatives if isinstance(a, dict)}
    schema: dict[str, Any] = {"type": "string"}
    if "integer" in types:
        schema["format"] = "int-or-string"
    return schema


def convert_schema(schema: Any, *, top_level: bool = False) -> Any:
    """A JSON Schema fragment from the package as Swagger 2.0, recursively."""
    if isinstance(schema, list):
        return [convert_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref":
            converted[key] = _DEFINITIONS + schemas.ref_name(value)
        elif key == "type":
            converted[key] = _type(value)
        elif key == "oneOf":
            converted.update(_one_of(value))
        elif key == "properties":
            converted[key] = {
                name: _property(name, prop, top_level) for name, prop in value.items()
            }
        elif key.startswith("x-kubernetes-") or key in ("enum", "required"):
            converted[key] = value
        else:
            converted[key] = convert_schema(value)
    return converted


def _property(name: str, prop: Any, top_level: bool) -> Any:
    converted = convert_schema(prop)
    if top_level and name in ("apiVersion", "kind") and isinstance(converted, dict):
        converted.pop("enum", None)  # the package adds it; upstream has none
    return converted


def _definitions(names: list[str]) -> dict[str, Any]:
    found = schemas.definitions()
    return {
        name: convert_schema(found[name], top_level=True)
        for name in openapi.referenced_definitions(names)
    }


# ---------------------------------------------------------------- operations


def _ref(schema: Any) -> Any:
    """v3 `#/components/schemas/X` references as v2 `#/definitions/X`."""
    if isinstance(schema, dict):
        return {
            k: (_DEFINITIONS + v.removeprefix(_COMPONENTS) if k == "$ref" else _ref(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_ref(item) for item in schema]
    return schema


def _parameter(v3: dict[str, Any]) -> dict[str, Any]:
    parameter = {k: v for k, v in v3.items() if k != "schema"}
    parameter.update(v3.get("schema") or {})
    return parameter


def _response(v3: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": v3["description"]}
    content = v3.get("content") or {}
    if content:
        response["schema"] = _ref(next(iter(content.values()))["schema"])
    return response


def _operation(v3: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"description": v3["description"]}
    body = v3.get("requestBody")
    if body is not None:
        operation["consumes"] = list(body["content"])
    produces = {
        media for r in v3["responses"].values() for media in (r.get("content") or {})
    }
    operation["produces"] = sorted(produces) or [JSON]
    operation["schemes"] = ["https"]
    operation["tags"] = v3["tags"]
    operation["operationId"] = v3["operationId"]
    parameters = [_parameter(p) for p in v3.get("parameters", [])]
    if body is not None:
        schema = next(iter(body["content"].values()))["schema"]
        parameters.insert(
            0,
            {
                "name": "body",
                "in": "body",
                "required": bool(body.get("required")),
                "schema": _ref(schema),
            },
        )
    if parameters:
        operation["parameters"] = parameters
    operation["responses"] = {code: _response(r) for code, r in v3["responses"].items()}
    operation.update({k: v for k, v in v3.items() if k.startswith("x-kubernetes-")})
    return operation


def _path_item(v3: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for method, value in v3.items():
        if method == "parameters":
            item["parameters"] = [_parameter(p) for p in value]
        else:
            item[method] = _operation(value)
    return item


# ---------------------------------------------------------------- the document


def build_document(registry: Registry) -> dict[str, Any]:
    """The Swagger 2.0 document of everything `registry` serves."""
    paths: dict[str, Any] = {}
    roots: list[str] = []
    for group, version in registry.group_versions():
        document = openapi.openapi_v3_document(registry, group, version)
        for path, item in document["paths"].items():
            paths[path] = _path_item(item)
        roots.extend(document["components"]["schemas"])
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": schemas.schema_release()},
        "paths": dict(sorted(paths.items())),
        "definitions": _definitions(sorted(set(roots))),
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
            }
        },
        "security": [{"BearerToken": []}],
    }


class Served:
    """The document, its two encodings and their ETags, made once."""

    def __init__(self, registry: Registry) -> None:
        from kubecourse.embedded.openapi_v2_proto import encode_document

        self.document = build_document(registry)
        self.json = json.dumps(self.document, separators=(",", ":")).encode()
        self.protobuf = encode_document(self.document)
        self.etags = {JSON: _etag(self.json), PROTOBUF: _etag(self.protobuf)}

    def body(self, media_type: str) -> bytes:
        return self.protobuf if media_type == PROTOBUF else self.json


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha512(body).hexdigest().upper() + '"'


@lru_cache(maxsize=4)
def served(registry: Registry) -> Served:
    """Built on first use (not at start-up), then cached."""
    return Served(registry)


def negotiate(accept: str) -> str | None:
    """The media type to answer an `Accept` header with, or None (406)."""
    offered = (
        [part.split(";")[0].strip() for part in accept.split(",")]
        if accept
        else ["*/*"]
    )
    for media in offered:
        if media in (PROTOBUF, PROTOBUF_REPLY):
            return PROTOBUF
        if media in (JSON, "application/*", "*/*", ""):
            return JSON
    return None
