"""kube-apiserver's RequestInfo: the verb, resource, subresource, namespace and name a
request path asks for, as the authorizer sees them.

Faithful (`k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory`): paths under
`/api/v1` and `/apis/<group>/<version>` are resource requests, anything else is a
non-resource path; GET is `get` on an item and `list` (or `watch` with `watch=true`)
on a collection, whose name then comes from a `metadata.name=` field selector (a
GET of one object stays `get`, `watch=true` or not); DELETE
of a collection is `deletecollection`; POST `create`, PUT `update`, PATCH `patch`;
`/namespaces/<ns>` is the namespace `<ns>` itself (so a Role in it may grant reading
its own Namespace), and `/namespaces/<ns>/status|finalize` its subresources.
"""

from __future__ import annotations

from collections.abc import Mapping

from kubecourse.embedded.rbac.rules import Attributes

_VERBS = {
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "HEAD": "get",
    "GET": "get",
}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


def _truthy(value: str | None) -> bool:
    return value in ("true", "1", "True")


def _name_from_field_selector(selector: str | None) -> str:
    """`metadata.name=x` (or `==`) among the requirements, when it is a path segment."""
    for requirement in (selector or "").split(","):
        key, op, value = requirement.partition("==")
        if not op:
            key, op, value = requirement.partition("=")
        if op and key.strip() == "metadata.name" and not key.endswith("!"):
            name = value.strip()
            if name and name not in (".", "..") and "/" not in name and "%" not in name:
                return name
    return ""


def _split(path: str) -> tuple[str, list[str]] | None:
    """(group, the parts after the version), or None for a non-resource path."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) > 2:
        return "", parts[2:]
    if parts[:1] == ["apis"] and len(parts) > 3:
        return parts[1], parts[3:]
    return None


def request_attributes(
    method: str, path: str, query: Mapping[str, str] | None = None
) -> Attributes:
    """The authorizer's attributes of one HTTP request."""
    query = query or {}
    verb = _VERBS.get(method, method.lower())
    split = _split(path)
    if split is None:
        return Attributes(verb=verb, path=path)
    group, rest = split

    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""

    if method in ("GET", "HEAD") and not name:
        verb = "watch" if _truthy(query.get("watch")) else "list"
        name = _name_from_field_selector(query.get("fieldSelector"))
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    return Attributes(verb, path, resource, subresource, group, namespace, name)
