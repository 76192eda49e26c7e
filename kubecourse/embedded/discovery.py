"""API discovery documents: `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`.

Faithful: the legacy documents (`APIVersions`, `APIGroupList`, `APIResourceList`) with
one entry per resource and per subresource, sorted by name as a real server lists them;
subresources carry an empty `singularName` and, when they speak another group's kind,
that `group`/`version`/`kind` (`pods/eviction` → `policy/v1 Eviction`, `*/scale` →
`autoscaling/v1 Scale`), which `kubectl drain` and `kubectl scale` read.  Empty short
names and categories are left out, as upstream omits them.  The aggregated form
(`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`) carries the same facts.

Not faithful: only the group-versions in the registry are listed (a real server also
lists groups it serves no course resources from), and `storageVersionHash` is omitted
(kubectl does not need it).  Callers answer 404 for a group-version the registry does
not serve; `api_resource_list` does not decide that.
"""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.resources import (
    SUBRESOURCE_KIND,
    SUBRESOURCE_VERBS,
    Registry,
    ResourceType,
)


def api_versions(server_address: str) -> dict[str, Any]:
    """`GET /api`: the core group's versions and where clients reach the server."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _named_groups(registry: Registry) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for group, version in registry.group_versions():
        if group:
            groups.setdefault(group, []).append(version)
    return groups


def _group_version(group: str, version: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/{version}", "version": version}


def api_group_list(registry: Registry) -> dict[str, Any]:
    """`GET /apis`: every named group, its versions, and the preferred (first) one."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": group,
                "versions": [_group_version(group, v) for v in versions],
                "preferredVersion": _group_version(group, versions[0]),
            }
            for group, versions in _named_groups(registry).items()
        ],
    }


def subresource_kind(rt: ResourceType, subresource: str) -> tuple[str, str, str]:
    """The (group, version, kind) a subresource accepts and returns."""
    if subresource == "proxy":  # PodProxyOptions, ServiceProxyOptions
        return ("", "v1", f"{rt.kind}ProxyOptions")
    return SUBRESOURCE_KIND.get(subresource, (rt.group, rt.version, rt.kind))


def _resource_entry(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def _subresource_entry(rt: ResourceType, subresource: str) -> dict[str, Any]:
    group, version, kind = subresource_kind(rt, subresource)
    entry: dict[str, Any] = {
        "name": f"{rt.plural}/{subresource}",
        "singularName": "",
        "namespaced": rt.namespaced,
    }
    if (group, version) != (rt.group, rt.version):
        entry["group"] = group
        entry["version"] = version
    entry["kind"] = kind
    entry["verbs"] = list(SUBRESOURCE_VERBS.get(subresource, ("get",)))
    return entry


def api_resource_list(registry: Registry, group: str, version: str) -> dict[str, Any]:
    """`GET /api/v1` or `/apis/<group>/<version>`: resources and subresources."""
    entries: list[dict[str, Any]] = []
    for rt in registry.in_group_version(group, version):
        entries.append(_resource_entry(rt))
        entries.extend(_subresource_entry(rt, sub) for sub in rt.subresources)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": sorted(entries, key=lambda entry: str(entry["name"])),
    }


# ---------------------------------------------------------------- aggregated (v2)


def _response_kind(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": _response_kind(rt.group, rt.version, rt.kind),
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    if rt.subresources:
        entry["subresources"] = [
            {
                "subresource": sub,
                "responseKind": _response_kind(*subresource_kind(rt, sub)),
                "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",))),
            }
            for sub in rt.subresources
        ]
    return entry


def _aggregated_version(registry: Registry, group: str, version: str) -> dict[str, Any]:
    resources = sorted(
        registry.in_group_version(group, version), key=lambda r: r.plural
    )
    return {
        "version": version,
        "resources": [_aggregated_resource(rt) for rt in resources],
        "freshness": "Current",
    }


def aggregated_discovery(registry: Registry, legacy_core: bool) -> dict[str, Any]:
    """`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList` for `/api` (core) or `/apis`."""
    if legacy_core:
        groups: dict[str, list[str]] = {
            "": [v for g, v in registry.group_versions() if g == ""]
        }
    else:
        groups = _named_groups(registry)
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": [
            {
                "metadata": {"name": group},
                "versions": [_aggregated_version(registry, group, v) for v in versions],
            }
            for group, versions in groups.items()
        ],
    }
