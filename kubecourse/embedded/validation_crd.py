"""What a CustomResourceDefinition's structural schema checks beyond types, for the
custom resources served here (the Gateway API kinds, schemas.py).

Faithful to apiextensions-apiserver, with its paths and messages: `enum` (`spec.rules[0]
.matches[0].path.type: Unsupported value: "Regexish": supported values: "Exact",
"PathPrefix", "RegularExpression"`), and `x-kubernetes-list-type: map` items that
repeat their `x-kubernetes-list-map-keys` (`spec.listeners[1]: Duplicate value:
{"name":"http"}`, the keys rendered as JSON, as field errors are since 1.34) or `set`
items that repeat.

Simplified: only what the served schemas declare is checked; the CEL rules, patterns,
lengths and item limits of the real Gateway API CRDs are not part of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubecourse.embedded import schemas
from kubecourse.embedded.validation_meta import duplicate, not_supported

Causes = list[dict[str, str]]
Schema = Mapping[str, Any]


def causes(group: str, version: str, kind: str, obj: dict[str, Any]) -> Causes:
    root = schemas.kind_schema(group, version, kind)
    if root is None:
        return []
    found: Causes = []
    _walk(obj, schemas.merged(root), "", found)
    return found


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _walk(value: Any, schema: Schema, path: str, found: Causes) -> None:
    enum = schema.get("enum")
    if enum and isinstance(value, (str, int, float, bool)) and value not in enum:
        found.append(not_supported(path, value, tuple(enum)))
    if isinstance(value, dict):
        for key, child in value.items():
            child_schema = schemas.property_schema(schema, str(key))
            if child_schema is not None:
                _walk(child, child_schema, _join(path, str(key)), found)
    elif isinstance(value, list):
        found += _list_causes(value, schema, path)
        items = schemas.items_schema(schema)
        if items is not None:
            for i, child in enumerate(value):
                _walk(child, items, f"{path}[{i}]", found)


def _list_causes(items: list[Any], schema: Schema, path: str) -> Causes:
    list_type = schema.get("x-kubernetes-list-type")
    keys = list(schema.get("x-kubernetes-list-map-keys") or [])
    if list_type not in ("map", "set"):
        return []
    seen: list[Any] = []
    found: Causes = []
    for i, item in enumerate(items):
        if list_type == "map" and isinstance(item, dict):
            identity: Any = {key: item[key] for key in keys if key in item}
        else:
            identity = item
        if identity in seen:
            found.append(duplicate(f"{path}[{i}]", identity))
        seen.append(identity)
    return found
