"""The upstream Kubernetes object schemas, read from the installed `kubernetes-validate`.

`kubernetes-validate` bundles the schemas that the Kubernetes project generates from its
Go types, one directory per release.  We read `_definitions.json` from the newest release
directory present at run time (never a copy in this repository), once, on first use.

Faithful: every definition with its descriptions, `x-kubernetes-patch-merge-key`,
`x-kubernetes-patch-strategy`, list types and `x-kubernetes-group-version-kind`, exactly as
the package ships them.

Gateway API (`gateway.networking.k8s.io/v1` GatewayClass, Gateway, HTTPRoute) is not in
`kubernetes-validate`, and no maintained PyPI package ships its CRDs (the npm
`@kubernetes-models/gateway-api` ships compiled validators, not schemas).  Those kinds
get a MINIMAL STRUCTURAL SCHEMA written here: the fields lessons use, typed and briefly
described in our own words, `required` where the CRDs require them, and every other
subtree (filters, TLS, status, ...) left open with `x-kubernetes-preserve-unknown-fields`.
So `kubectl explain httproute.spec.rules` works, strict validation rejects misspelt
fields in the modelled parts only, and the upstream CRD descriptions and CEL rules are
absent.

Not faithful: the package writes schemas as JSON Schema (draft 2020-12), so optional types
read `["string", "null"]` and `$ref` points at `#/$defs/...`; `openapi.py` converts that to
OpenAPI 3.0.  Types are not checked here: `unknown_fields` only finds names the schema
does not declare; the API server's typed decoding (types and unknown fields in one
walk) is `decoding.py`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from kubecourse.embedded.metrics import metrics_definitions

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
    """All definitions by their upstream name (`io.k8s.api.apps.v1.Deployment`).

    The package's built-in kinds, plus the Gateway API kinds' minimal structural
    schemas built in code (`gateway_definitions`; no maintained package ships them)
    and metrics-server's (`metrics.metrics_definitions`).
    """
    text = (_newest_release_dir() / "_definitions.json").read_text(encoding="utf-8")
    document = json.loads(text)
    defs: dict[str, SchemaDict] = document["$defs"]
    return {**defs, **gateway_definitions(), **metrics_definitions()}


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


# ---------------------------------------------------------------- Gateway API (minimal)

GATEWAY_GROUP = "gateway.networking.k8s.io"
_GATEWAY_PREFIX = "io.k8s.networking.gateway.v1."
_OBJECT_META = "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LIST_META = "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"


def _s(description: str, **extra: Any) -> SchemaDict:
    return {"type": "string", "description": description, **extra}


def _i(description: str, **extra: Any) -> SchemaDict:
    return {"type": "integer", "format": "int32", "description": description, **extra}


def _a(description: str, items: SchemaDict, **extra: Any) -> SchemaDict:
    return {"type": "array", "description": description, "items": items, **extra}


def _o(
    description: str, properties: SchemaDict, required: Sequence[str] = ()
) -> SchemaDict:
    schema: SchemaDict = {
        "type": "object",
        "description": description,
        "properties": properties,
    }
    if required:
        schema["required"] = list(required)
    return schema


def _open(description: str) -> SchemaDict:
    return {
        "type": "object",
        "description": description,
        "x-kubernetes-preserve-unknown-fields": True,
    }


def _parent_ref() -> SchemaDict:
    return _o(
        "A Gateway (or other parent) this route attaches to.",
        {
            "group": _s("API group of the parent; default gateway.networking.k8s.io."),
            "kind": _s("Kind of the parent; default Gateway."),
            "namespace": _s("Namespace of the parent; default the route's own."),
            "name": _s("Name of the parent."),
            "sectionName": _s("Name of one listener of the parent to attach to."),
            "port": _i("Port of the parent to attach to."),
        },
        ["name"],
    )


def _backend_ref() -> SchemaDict:
    return _o(
        "A backend (usually a Service) that matching requests are sent to.",
        {
            "group": _s("API group of the backend; empty for the core group."),
            "kind": _s("Kind of the backend; default Service."),
            "name": _s("Name of the backend."),
            "namespace": _s("Namespace of the backend; default the route's own."),
            "port": _i("Port of the backend; required when it is a Service."),
            "weight": _i("Share of requests for this backend, relative to others."),
            "filters": _a("Filters for this backend only.", _open("A filter.")),
        },
        ["name"],
    )


def _http_match() -> SchemaDict:
    path = _o(
        "What the request path must be.",
        {
            "type": _s(
                "Exact, PathPrefix or RegularExpression; default PathPrefix.",
                enum=["Exact", "PathPrefix", "RegularExpression"],
            ),
            "value": _s("The path to match; default /."),
        },
    )
    return _o(
        "Conditions a request must meet; all of them (AND).",
        {
            "path": path,
            "headers": _a("Header conditions.", _open("A header match.")),
            "queryParams": _a("Query parameter conditions.", _open("A query match.")),
            "method": _s("The HTTP method to match."),
        },
    )


def _listener() -> SchemaDict:
    return _o(
        "A port and protocol on which the Gateway accepts traffic.",
        {
            "name": _s("Name of the listener, unique in the Gateway."),
            "hostname": _s("Host name this listener accepts; any when empty."),
            "port": _i("Network port."),
            "protocol": _s("HTTP, HTTPS, TLS, TCP or UDP."),
            "tls": _open("TLS settings for HTTPS and TLS listeners."),
            "allowedRoutes": _open("Which routes may attach to this listener."),
        },
        ["name", "port", "protocol"],
    )


def _kind(
    kind: str, description: str, spec: SchemaDict, required: Sequence[str]
) -> SchemaDict:
    schema = _o(
        description,
        {
            "apiVersion": _s("The versioned schema of this object."),
            "kind": _s("The REST resource this object represents."),
            "metadata": {"$ref": _OBJECT_META, "description": "Standard metadata."},
            "spec": spec,
            "status": _open("The observed state, written by the controller."),
        },
        required,
    )
    gvk = [{"group": GATEWAY_GROUP, "kind": kind, "version": "v1"}]
    return {**schema, "x-kubernetes-group-version-kind": gvk}


def _list(kind: str) -> SchemaDict:
    schema = _o(
        f"A list of {kind} objects.",
        {
            "apiVersion": _s("The versioned schema of this object."),
            "kind": _s("The REST resource this object represents."),
            "metadata": {"$ref": _LIST_META, "description": "Standard list metadata."},
            "items": _a(f"The {kind} objects.", {"$ref": _REF_PREFIX + _gw(kind)}),
        },
        ["items"],
    )
    gvk = [{"group": GATEWAY_GROUP, "kind": f"{kind}List", "version": "v1"}]
    return {**schema, "x-kubernetes-group-version-kind": gvk}


def _gw(kind: str) -> str:
    return _GATEWAY_PREFIX + kind


def _gateway_class() -> SchemaDict:
    spec = _o(
        "Which controller implements Gateways of this class.",
        {
            "controllerName": _s("Domain-prefixed name of the controller."),
            "description": _s("Free text about the class."),
            "parametersRef": _open("Implementation-specific configuration."),
        },
        ["controllerName"],
    )
    return _kind(
        "GatewayClass",
        "A class of Gateways, implemented by one controller (cluster-scoped).",
        spec,
        ["spec"],
    )


def _gateway() -> SchemaDict:
    spec = _o(
        "The Gateway's class, listeners and addresses.",
        {
            "gatewayClassName": _s("Name of the GatewayClass to use."),
            "listeners": _a(
                "Where the Gateway accepts traffic.",
                _listener(),
                **{
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                },
            ),
            "addresses": _a("Requested network addresses.", _open("An address.")),
            "infrastructure": _open("Labels and annotations for generated resources."),
        },
        ["gatewayClassName", "listeners"],
    )
    return _kind(
        "Gateway",
        "A load balancer instance: listeners bound to a class.",
        spec,
        ["spec"],
    )


def _http_route() -> SchemaDict:
    rule = _o(
        "Matches, filters and the backends that matching requests go to.",
        {
            "name": _s("Name of the rule."),
            "matches": _a("Request conditions; any of them (OR).", _http_match()),
            "filters": _a("Processing applied to requests.", _open("A filter.")),
            "backendRefs": _a("Where matching requests are sent.", _backend_ref()),
            "timeouts": _open("Request and backend timeouts."),
        },
    )
    spec = _o(
        "Parents, host names and routing rules of the route.",
        {
            "parentRefs": _a("Gateways this route attaches to.", _parent_ref()),
            "hostnames": _a("Host names this route serves.", _s("A host name.")),
            "rules": _a("Routing rules.", rule),
        },
    )
    return _kind("HTTPRoute", "Routing rules for HTTP requests.", spec, [])


@lru_cache(maxsize=1)
def gateway_definitions() -> dict[str, SchemaDict]:
    """The Gateway API kinds' minimal structural schemas (see the module docstring)."""
    defs = {
        _gw("GatewayClass"): _gateway_class(),
        _gw("Gateway"): _gateway(),
        _gw("HTTPRoute"): _http_route(),
    }
    for kind in ("GatewayClass", "Gateway", "HTTPRoute"):
        defs[_gw(kind + "List")] = _list(kind)
    return defs
