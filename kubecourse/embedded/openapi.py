"""OpenAPI v3 documents (`/openapi/v3` and `/openapi/v3/<api/v1|apis/g/v>`).

kubectl reads these to validate (`apply`, `create -f`), to compute client-side apply
patches and to `explain` fields, so every document carries the COMPLETE upstream
schemas of its kinds: every definition they reference, transitively, with descriptions
and `x-kubernetes-*` extensions.  A document with half a schema makes kubectl's
client-side apply fail with `unable to find api field` (reference finding 1).

Faithful: one path per collection, item, all-namespaces list and subresource, with
the verbs the registry serves (custom resources, the Gateway API kinds, without the
strategic-merge-patch type, as a CRD's document lists); writes carry `dryRun`, `fieldManager` and
`fieldValidation` (so kubectl leaves validation to the server); every operation carries
`x-kubernetes-action` and `x-kubernetes-group-version-kind`; PATCH accepts the four
patch media types.  Schemas are the upstream ones, converted from the JSON Schema form
`kubernetes-validate` ships to OpenAPI 3.0: `$ref` targets `#/components/schemas/...`,
`["string", "null"]` types become `string`, and a `$ref` with sibling keys becomes
`allOf: [{$ref}]` beside them, as upstream writes it.

Not faithful: parameter descriptions are our own short sentences; the `enum` that the
schema package adds to `apiVersion`/`kind` is dropped (upstream has none); protobuf and
YAML response types are not advertised; there is no `/openapi/v2`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Any

from kubecourse.embedded import schemas
from kubecourse.embedded.discovery import subresource_kind
from kubecourse.embedded.resources import (
    CONNECT_SUBRESOURCES,
    REGISTRY,
    SUBRESOURCE_VERBS,
    Registry,
    ResourceType,
)

_COMPONENTS = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)

# ---------------------------------------------------------------- schema conversion


def _openapi_type(value: Any) -> Any:
    if isinstance(value, list):
        concrete = [t for t in value if t != "null"]
        return concrete[0] if len(concrete) == 1 else concrete
    return value


def convert_schema(schema: Any, *, top_level: bool = False) -> Any:
    """A JSON Schema fragment from the package as OpenAPI 3.0, recursively."""
    if isinstance(schema, list):
        return [convert_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref":
            converted[key] = _COMPONENTS + schemas.ref_name(value)
        elif key == "type":
            converted[key] = _openapi_type(value)
        elif key == "properties":
            converted[key] = {
                name: _convert_property(name, prop, top_level)
                for name, prop in value.items()
            }
        elif key.startswith("x-kubernetes-") or key in ("enum", "required"):
            converted[key] = value
        else:
            converted[key] = convert_schema(value)
    if "$ref" in converted and len(converted) > 1:
        converted["allOf"] = [{"$ref": converted.pop("$ref")}]
    return converted


def _convert_property(name: str, prop: Any, top_level: bool) -> Any:
    converted = convert_schema(prop)
    if top_level and name in ("apiVersion", "kind") and isinstance(converted, dict):
        converted.pop("enum", None)
    return converted


def _references(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield schemas.ref_name(value)
            else:
                yield from _references(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _references(item)


def referenced_definitions(roots: list[str]) -> list[str]:
    """`roots` and every definition they reach through `$ref`, sorted by name."""
    definitions = schemas.definitions()
    seen: set[str] = set()
    pending = [name for name in roots if name in definitions]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(
            ref for ref in _references(definitions[name]) if ref in definitions
        )
    return sorted(seen)


def component_schemas(roots: list[str]) -> dict[str, Any]:
    definitions = schemas.definitions()
    return {
        name: convert_schema(definitions[name], top_level=True)
        for name in referenced_definitions(roots)
    }


# ---------------------------------------------------------------- parameters


def _query(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": type_, "uniqueItems": True},
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "description": description,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


PRETTY = _query("pretty", "If 'true', the output is pretty printed.")
DRY_RUN = _query(
    "dryRun", "When present (`All`), changes are validated but not persisted."
)
FIELD_MANAGER = _query(
    "fieldManager",
    "A name for the actor making these changes, recorded in managedFields.",
)
FIELD_VALIDATION = _query(
    "fieldValidation",
    "How the server treats unknown or duplicate fields in the request body: "
    "Ignore, Warn (the default) or Strict.",
)
FORCE = _query(
    "force", "Apply requests only: take ownership of conflicting fields.", "boolean"
)
_LIST_PARAMETERS = [
    _query("allowWatchBookmarks", "Ask for BOOKMARK watch events.", "boolean"),
    _query("continue", "The continue token of the previous page."),
    _query("fieldSelector", "Select objects by field values."),
    _query("labelSelector", "Select objects by labels."),
    _query("limit", "The largest number of objects to return.", "integer"),
    _query("resourceVersion", "List or watch from this resource version."),
    _query("resourceVersionMatch", "How resourceVersion applies to a list."),
    _query("sendInitialEvents", "Start a watch with the current state.", "boolean"),
    _query(
        "timeoutSeconds", "End the list or watch after this many seconds.", "integer"
    ),
    _query("watch", "Watch for changes instead of listing.", "boolean"),
]
_DELETE_PARAMETERS = [
    DRY_RUN,
    _query("gracePeriodSeconds", "Seconds before the object is deleted.", "integer"),
    _query("propagationPolicy", "Orphan, Background or Foreground."),
]
_WRITE_PARAMETERS = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION]


# ---------------------------------------------------------------- operations


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _COMPONENTS + name}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": _json_content(schema)}


@cache
def _definition(group: str, version: str, kind: str) -> str:
    found = schemas.definition_name(group, version, kind)
    if found is None:
        raise KeyError(f"no upstream schema for {group}/{version} {kind}")
    return found


def _operation(
    action: str,
    description: str,
    operation_id: str,
    gvk: tuple[str, str, str],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    responses: dict[str, Any],
) -> dict[str, Any]:
    group, version, kind = gvk
    operation: dict[str, Any] = {
        "description": description,
        "operationId": operation_id,
        "parameters": list(parameters or []),
        "responses": {**responses, "401": {"description": "Unauthorized"}},
        "tags": [_tag(group, version)],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": group,
            "kind": kind,
            "version": version,
        },
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


def _tag(group: str, version: str) -> str:
    prefix = group.split(".")[0] if group else "core"
    return f"{prefix}_{version}"


def _id(
    verb: str, rt: ResourceType, suffix: str = "", *, namespaced: bool = True
) -> str:
    group = "".join(
        part.capitalize() for part in (rt.group.split(".")[0] or "core").split("-")
    )
    scope = "Namespaced" if rt.namespaced and namespaced else ""
    return f"{verb}{group}{rt.version.capitalize()}{scope}{rt.kind}{suffix}"


def _body(name: str) -> dict[str, Any]:
    return {"content": _json_content(_ref(name)), "required": True}


def _patch_body(rt: ResourceType) -> dict[str, Any]:
    """The four patch types; custom resources take no strategic merge patch."""
    patch = _ref(_META + "Patch")
    media_types = [m for m in _PATCH_TYPES if not (rt.custom and "strategic" in m)]
    return {
        "content": {media: {"schema": patch} for media in media_types},
        "required": True,
    }


def _item_operations(
    rt: ResourceType, verbs: tuple[str, ...], gvk: tuple[str, str, str], suffix: str
) -> dict[str, Any]:
    """get / put / patch / delete (and post, for eviction and binding) on one object."""
    name = _definition(*gvk)
    ok = _response("OK", _ref(name))
    created = _response("Created", _ref(name))
    what = f"{rt.kind}{' ' + suffix.lower() if suffix else ''}"
    operations: dict[str, Any] = {}
    if "get" in verbs:
        operations["get"] = _operation(
            "get",
            f"read the specified {what}",
            _id("read", rt, suffix),
            gvk,
            responses={"200": ok},
        )
    if "update" in verbs:
        operations["put"] = _operation(
            "put",
            f"replace the specified {what}",
            _id("replace", rt, suffix),
            gvk,
            parameters=_WRITE_PARAMETERS,
            body=_body(name),
            responses={"200": ok, "201": created},
        )
    if "patch" in verbs:
        operations["patch"] = _operation(
            "patch",
            f"partially update the specified {what}",
            _id("patch", rt, suffix),
            gvk,
            parameters=[*_WRITE_PARAMETERS, FORCE],
            body=_patch_body(rt),
            responses={"200": ok, "201": created},
        )
    if "create" in verbs:
        operations["post"] = _operation(
            "post",
            f"create {what} of a {rt.kind}",
            _id("create", rt, suffix),
            gvk,
            parameters=_WRITE_PARAMETERS,
            body=_body(name),
            responses={
                "200": ok,
                "201": created,
                "202": _response("Accepted", _ref(name)),
            },
        )
    return operations


def _delete_operation(rt: ResourceType, gvk: tuple[str, str, str]) -> dict[str, Any]:
    status = _ref(_META + "Status")
    return _operation(
        "delete",
        f"delete a {rt.kind}",
        _id("delete", rt),
        gvk,
        parameters=_DELETE_PARAMETERS,
        body={"content": _json_content(_ref(_META + "DeleteOptions"))},
        responses={
            "200": _response(
                "OK", _ref(_definition(*gvk)) if rt.kind == "Pod" else status
            ),
            "202": _response("Accepted", status),
        },
    )


def _collection_operations(
    rt: ResourceType, gvk: tuple[str, str, str]
) -> dict[str, Any]:
    name = _definition(*gvk)
    operations: dict[str, Any] = {}
    if "list" in rt.verbs:
        listing = _ref(_definition(rt.group, rt.version, rt.list_kind))
        operations["get"] = _operation(
            "list",
            f"list or watch objects of kind {rt.kind}",
            _id("list", rt),
            gvk,
            parameters=_LIST_PARAMETERS,
            responses={"200": _response("OK", listing)},
        )
    if "create" in rt.verbs:
        operations["post"] = _operation(
            "post",
            f"create a {rt.kind}",
            _id("create", rt),
            gvk,
            parameters=_WRITE_PARAMETERS,
            body=_body(name),
            responses={
                "200": _response("OK", _ref(name)),
                "201": _response("Created", _ref(name)),
                "202": _response("Accepted", _ref(name)),
            },
        )
    if "deletecollection" in rt.verbs:
        operations["delete"] = _operation(
            "deletecollection",
            f"delete collection of {rt.kind}",
            _id("deleteCollection", rt),
            gvk,
            parameters=_DELETE_PARAMETERS,
            body={"content": _json_content(_ref(_META + "DeleteOptions"))},
            responses={"200": _response("OK", _ref(_META + "Status"))},
        )
    return operations


def _log_operation(rt: ResourceType, gvk: tuple[str, str, str]) -> dict[str, Any]:
    params = [
        _query("container", "The container to read logs from."),
        _query("follow", "Stream the log.", "boolean"),
        _query("previous", "The log of the previous, terminated container.", "boolean"),
        _query("sinceSeconds", "Only lines newer than this many seconds.", "integer"),
        _query("tailLines", "Only this many lines from the end.", "integer"),
        _query("timestamps", "Prefix every line with its timestamp.", "boolean"),
    ]
    return {
        "get": _operation(
            "get",
            f"read log of the specified {rt.kind}",
            _id("read", rt, "Log"),
            gvk,
            parameters=params,
            responses={
                "200": {
                    "description": "OK",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        )
    }


_STREAM_FLAGS = [
    _query("container", "The container to connect to; the Pod's only one by default."),
    _query("stderr", "Send the container's stderr.", "boolean"),
    _query("stdin", "Pass stdin to the container.", "boolean"),
    _query("stdout", "Send the container's stdout.", "boolean"),
    _query("tty", "Allocate a terminal (stderr then goes to stdout).", "boolean"),
]
_COMMAND = _query("command", "The command and its arguments, not run in a shell.")
_CONNECT_PARAMETERS = {
    "exec": [_COMMAND, *_STREAM_FLAGS],
    "attach": _STREAM_FLAGS,
    "portforward": [_query("ports", "The ports to forward (WebSockets).", "integer")],
    "proxy": [
        _query("path", "The path of the request to proxy to the Pod or Service.")
    ],
}
# The API server proxies every method of these (kube-apiserver's connect verbs).
_CONNECT_METHODS = {
    "proxy": ("get", "put", "post", "delete", "options", "head", "patch"),
}


def _connect_operations(
    rt: ResourceType, sub: str, gvk: tuple[str, str, str], suffix: str = ""
) -> dict[str, Any]:
    """The `connect` operations of a streaming or proxy subresource (exec, ...)."""
    scope = "Namespaced" if rt.namespaced else ""
    head, _, tail = _id("", rt, sub.capitalize() + suffix).partition(scope + rt.kind)
    streamed = {"description": "OK", "content": {"*/*": {"schema": {"type": "string"}}}}
    return {
        method: _operation(
            "connect",
            f"connect {method.upper()} requests to {sub} of {rt.kind}",
            f"connect{head}{method.capitalize()}{scope}{rt.kind}{tail}",
            gvk,
            parameters=_CONNECT_PARAMETERS[sub] if not suffix else [],
            responses={"200": streamed},
        )
        for method in _CONNECT_METHODS.get(sub, ("get", "post"))
    }


# ---------------------------------------------------------------- paths


def _roots(rt: ResourceType) -> tuple[str, str]:
    root = f"/apis/{rt.group}/{rt.version}" if rt.group else "/api/v1"
    scoped = (
        f"{root}/namespaces/{{namespace}}/{rt.plural}"
        if rt.namespaced
        else f"{root}/{rt.plural}"
    )
    return root, scoped


def _with_parameters(
    operations: dict[str, Any], parameters: list[dict[str, Any]]
) -> dict[str, Any]:
    return {**operations, "parameters": [*parameters, PRETTY]}


def resource_paths(rt: ResourceType) -> dict[str, Any]:
    """The paths of one resource: collection, item, all-namespaces list, subresources."""
    gvk = (rt.group, rt.version, rt.kind)
    root, collection = _roots(rt)
    namespace = (
        [
            _path(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            )
        ]
        if rt.namespaced
        else []
    )
    name = _path("name", f"name of the {rt.kind}")
    item_verbs = tuple(verb for verb in rt.verbs if verb != "create")
    item_ops = _item_operations(rt, item_verbs, gvk, "")
    if "delete" in rt.verbs:
        item_ops["delete"] = _delete_operation(rt, gvk)
    paths = {collection: _with_parameters(_collection_operations(rt, gvk), namespace)}
    if item_ops:  # create-only kinds (the reviews) have no item path
        paths[f"{collection}/{{name}}"] = _with_parameters(item_ops, [name, *namespace])
    if rt.namespaced and "list" in rt.verbs:
        listing = _collection_operations(rt, gvk)["get"]
        listing = {
            **listing,
            "operationId": _id("list", rt, "ForAllNamespaces", namespaced=False),
        }
        paths[f"{root}/{rt.plural}"] = _with_parameters({"get": listing}, [])
    for sub in rt.subresources:
        paths[f"{collection}/{{name}}/{sub}"] = _with_parameters(
            _subresource_operations(rt, sub),
            [_path("name", f"name of the {rt.kind}"), *namespace],
        )
        if sub == "proxy":
            operations = _connect_operations(
                rt, sub, subresource_kind(rt, sub), "WithPath"
            )
            paths[f"{collection}/{{name}}/{sub}/{{path}}"] = _with_parameters(
                operations,
                [name, *namespace, _path("path", "path to the resource")],
            )
    return paths


def _subresource_operations(rt: ResourceType, sub: str) -> dict[str, Any]:
    gvk = subresource_kind(rt, sub)
    if sub == "log":
        return _log_operation(rt, gvk)
    if sub in CONNECT_SUBRESOURCES:
        return _connect_operations(rt, sub, gvk)
    verbs = SUBRESOURCE_VERBS.get(sub, ("get",))
    return _item_operations(rt, verbs, gvk, sub.capitalize())


# ---------------------------------------------------------------- documents


def _root_definitions(resources: list[ResourceType]) -> list[str]:
    names = [
        _META + kind for kind in ("DeleteOptions", "Patch", "Status", "WatchEvent")
    ]
    for rt in resources:
        names.append(_definition(rt.group, rt.version, rt.kind))
        if "list" in rt.verbs:
            names.append(_definition(rt.group, rt.version, rt.list_kind))
        names.extend(
            _definition(*subresource_kind(rt, sub))
            for sub in rt.subresources
            if sub not in CONNECT_SUBRESOURCES  # options in the query, no schema
        )
    return names


def _build_document(registry: Registry, group: str, version: str) -> dict[str, Any]:
    resources = registry.in_group_version(group, version)
    if not resources:
        raise KeyError(f"group-version {group}/{version} is not served")
    paths: dict[str, Any] = {}
    for rt in resources:
        paths.update(resource_paths(rt))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": schemas.schema_release()},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": component_schemas(_root_definitions(resources)),
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "name": "authorization",
                    "in": "header",
                    "description": "Bearer Token authentication",
                }
            },
        },
    }


@lru_cache(maxsize=64)
def _cached(
    registry: Registry, group: str, version: str
) -> tuple[dict[str, Any], bytes]:
    document = _build_document(registry, group, version)
    return document, json.dumps(document, separators=(",", ":")).encode()


def openapi_v3_document(registry: Registry, group: str, version: str) -> dict[str, Any]:
    """The OpenAPI v3 document of one group-version (cached; treat as read-only)."""
    return _cached(registry, group, version)[0]


def openapi_v3_document_bytes(registry: Registry, group: str, version: str) -> bytes:
    """The same document, serialised once, ready to send."""
    return _cached(registry, group, version)[1]


@lru_cache(maxsize=64)
def document_hash(group: str, version: str, registry: Registry = REGISTRY) -> str:
    """A stable hash of the document (upper-case SHA-512 hex, like upstream's)."""
    return (
        hashlib.sha512(openapi_v3_document_bytes(registry, group, version))
        .hexdigest()
        .upper()
    )


def group_version_path(group: str, version: str) -> str:
    """`api/v1` or `apis/<group>/<version>`, the keys of the `/openapi/v3` index."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_root(
    registry: Registry,
    base_url_hash: Callable[[str, str], str] | None = None,
) -> dict[str, Any]:
    """`GET /openapi/v3`: where each group-version document is, with its hash.

    `base_url_hash(group, version)` gives the hash; by default `document_hash`.
    """

    def hashed(group: str, version: str) -> str:
        if base_url_hash is not None:
            return base_url_hash(group, version)
        return document_hash(group, version, registry)

    return {
        "paths": {
            group_version_path(g, v): {
                "serverRelativeURL": f"/openapi/v3/{group_version_path(g, v)}?hash={hashed(g, v)}"
            }
            for g, v in registry.group_versions()
        }
    }
