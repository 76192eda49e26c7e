"""The upstream Kubernetes object schemas, read from the installed `kubernetes-validate`.

`kubernetes-validate` bundles the schemas that the Kubernetes project generates from its
Go types, one directory per release.  We read `_definitions.json` from the newest release
directory present at run time (never a copy in this repository), once, on first use.

Faithful: every definition with its descriptions, `x-kubernetes-patch-merge-key`,
`x-kubernetes-patch-strategy`, list types and `x-kubernetes-group-version-kind`, exactly as
the package ships them.

Not faithful: the package writes schemas as JSON Schema (draft 2020-12), so optional types
read `["string", "null"]` and `$ref` points at `#/$defs/...`; `openapi.py` converts that to
OpenAPI 3.0.  Types are not checked here: `unknown_fields` only finds names the schema
does not declare, which is what the API server's strict decoding reports.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

SchemaDict = dict[str, Any]

_PACKAGE = "kubernetes_validate"
_SCHEMA_DIR = "kubernetes-json-schema"
_RELEASE_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local$")
_REF_PREFIX = "#/$defs/"


def _package_dir() -> Path:
    # find_spec locates the package without importing it: importing
    # kubernetes_validate pulls in jsonschema, which costs most of a second.
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {_PACKAGE} package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _newest_release_dir() -> Path:
    root = _package_dir() / _SCHEMA_DIR
    releases = []
    for entry in root.iterdir():
        match = _RELEASE_DIR.match(entry.name)
        if match and (entry / "_definitions.json").is_file():
            releases.append((tuple(int(part) for part in match.groups()), entry))
    if not releases:
        raise RuntimeError(f"no schema release found under {root}")
    return max(releases, key=lambda release: release[0])[1]


@lru_cache(maxsize=1)
def schema_release() -> str:
    """The Kubernetes release the schemas come from, e.g. `v1.37.0`."""
    return _newest_release_dir().name.removesuffix("-local")


@lru_cache(maxsize=1)
def definitions() -> dict[str, SchemaDict]:
    """All definitions by their upstream name (`io.k8s.api.apps.v1.Deployment`)."""
    text = (_newest_release_dir() / "_definitions.json").read_text(encoding="utf-8")
    document = json.loads(text)
    defs: dict[str, SchemaDict] = document["$defs"]
    return defs


@lru_cache(maxsize=1)
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
            index.setdefault(key, name)
    return index


def definition_name(group: str, version: str, kind: str) -> str | None:
    """The definition that declares this group/version/kind, or None."""
    return _gvk_index().get((group, version, kind))


def ref_name(ref: str) -> str:
    """`#/$defs/io.k8s.api.core.v1.Pod` → `io.k8s.api.core.v1.Pod`."""
    return ref.removeprefix(_REF_PREFIX)


def resolve(schema: Mapping[str, Any]) -> SchemaDict:
    """Follow `$ref` (repeatedly); the schema itself when it has none."""
    current = dict(schema)
    seen: set[str] = set()
    while "$ref" in current:
        name = ref_name(current["$ref"])
        if name in seen or name not in definitions():
            break
        seen.add(name)
        current = definitions()[name]
    return current


def merged(schema: Mapping[str, Any]) -> SchemaDict:
    """The referenced schema overlaid with the referring schema's own keys.

    A property such as `spec.strategy` carries its description and patch strategy
    beside its `$ref`; callers want both those and the target's properties.
    """
    own = {key: value for key, value in schema.items() if key != "$ref"}
    return {**resolve(schema), **own}


def property_schema(schema: Mapping[str, Any], name: str) -> SchemaDict | None:
    """The merged schema of property `name` of an object schema, or None."""
    properties = resolve(schema).get("properties") or {}
    child = properties.get(name)
    return merged(child) if child is not None else None


def items_schema(schema: Mapping[str, Any]) -> SchemaDict | None:
    """The merged schema of a list's items, or None if not a list schema."""
    items = resolve(schema).get("items")
    return merged(items) if isinstance(items, Mapping) else None


def map_value_schema(schema: Mapping[str, Any]) -> SchemaDict | None:
    """The merged schema of a map's values (`additionalProperties`), or None."""
    values = resolve(schema).get("additionalProperties")
    return merged(values) if isinstance(values, Mapping) else None


def kind_schema(group: str, version: str, kind: str) -> SchemaDict | None:
    name = definition_name(group, version, kind)
    return definitions()[name] if name else None


def field_schema(
    group: str, version: str, kind: str, path: Sequence[str]
) -> SchemaDict | None:
    """The schema at a field path such as `["spec", "template", "spec", "containers"]`.

    List items are entered by an index, `[]`, or simply by naming a field of the item
    (`containers`, `image`), as `kubectl explain` does.  Map values are entered by any
    key.  The result merges the field's own keys (description, patch strategy) with the
    schema it refers to.  None when the path leaves the schema.
    """
    current = kind_schema(group, version, kind)
    for segment in path:
        if current is None:
            return None
        current = _step(current, segment)
    return merged(current) if current is not None else None


def _step(schema: SchemaDict, segment: str) -> SchemaDict | None:
    resolved = resolve(schema)
    if "items" in resolved:
        items = items_schema(resolved)
        if segment.isdigit() or segment in ("[]", "*") or items is None:
            return items
        return property_schema(items, segment)
    child = property_schema(resolved, segment)
    if child is None:
        return map_value_schema(resolved)
    return child


def unknown_fields(
    obj: Mapping[str, Any], group: str, version: str, kind: str
) -> list[str]:
    """Dotted paths of fields the schema does not declare, in document order.

    `["spec.foo", "spec.template.spec.containers[0].imagee"]`, the way the API server
    names them in `strict decoding error: unknown field "..."`.  Free-form objects
    (no properties declared), maps (`additionalProperties`) and
    `x-kubernetes-preserve-unknown-fields` subtrees accept any names.
    """
    schema = kind_schema(group, version, kind)
    if schema is None:
        return []
    found: list[str] = []
    _collect_unknown(obj, schema, "", found)
    return found


def _collect_unknown(
    value: Any, schema: SchemaDict, path: str, found: list[str]
) -> None:
    resolved = merged(schema)
    if resolved.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, Mapping):
        _collect_unknown_in_object(value, resolved, path, found)
    elif isinstance(value, list):
        items = items_schema(resolved)
        if items is not None:
            for index, item in enumerate(value):
                _collect_unknown(item, items, f"{path}[{index}]", found)


def _collect_unknown_in_object(
    value: Mapping[str, Any], schema: SchemaDict, path: str, found: list[str]
) -> None:
    properties = schema.get("properties")
    values = map_value_schema(schema)
    for key, child in value.items():
        child_path = f"{path}.{key}" if path else str(key)
        if properties is not None and key in properties:
            _collect_unknown(child, merged(properties[key]), child_path, found)
        elif values is not None:
            _collect_unknown(child, values, child_path, found)
        elif properties is not None:
            found.append(child_path)
