"""The kinds served beyond the checklist in discovery and OpenAPI, as upstream lists them."""

from __future__ import annotations

import pytest

from kubecourse.embedded import openapi_v2
from kubecourse.embedded.discovery import aggregated_discovery, api_resource_list
from kubecourse.embedded.openapi import openapi_v3_document
from kubecourse.embedded.resources import REGISTRY

# name, group, version, kind, namespaced, short names, categories, subresources
BEYOND = [
    ("replicationcontrollers", "", "v1", "ReplicationController", True, ["rc"], ["all"], ["scale", "status"]),
    ("podtemplates", "", "v1", "PodTemplate", True, [], [], []),
    ("componentstatuses", "", "v1", "ComponentStatus", False, ["cs"], [], []),
    ("resourcequotas", "", "v1", "ResourceQuota", True, ["quota"], [], ["status"]),
    ("limitranges", "", "v1", "LimitRange", True, ["limits"], [], []),
    ("priorityclasses", "scheduling.k8s.io", "v1", "PriorityClass", False, ["pc"], [], []),
    (
        "customresourcedefinitions", "apiextensions.k8s.io", "v1", "CustomResourceDefinition",
        False, ["crd", "crds"], ["api-extensions"], ["status"],
    ),
    ("ipaddresses", "networking.k8s.io", "v1", "IPAddress", False, ["ip"], [], []),
    ("servicecidrs", "networking.k8s.io", "v1", "ServiceCIDR", False, [], [], ["status"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "group", "version", "kind", "namespaced", "short", "categories", "subs"),
    BEYOND,
)
def test_discovery_lists_the_kind_with_upstream_names(
    name: str,
    group: str,
    version: str,
    kind: str,
    namespaced: bool,
    short: list[str],
    categories: list[str],
    subs: list[str],
) -> None:
    entries = {
        e["name"]: e for e in api_resource_list(REGISTRY, group, version)["resources"]
    }
    entry = entries[name]
    assert (entry["kind"], entry["namespaced"]) == (kind, namespaced)
    assert entry.get("shortNames", []) == short
    assert entry.get("categories", []) == categories
    assert (
        sorted(e.removeprefix(f"{name}/") for e in entries if e.startswith(f"{name}/"))
        == subs
    )

    document = aggregated_discovery(REGISTRY, legacy_core=group == "")
    groups = {item["metadata"]["name"]: item for item in document["items"]}
    resources = {r["resource"]: r for r in groups[group]["versions"][0]["resources"]}
    assert resources[name]["scope"] == ("Namespaced" if namespaced else "Cluster")


def test_component_statuses_are_get_and_list_only() -> None:
    entries = {e["name"]: e for e in api_resource_list(REGISTRY, "", "v1")["resources"]}
    assert entries["componentstatuses"]["verbs"] == ["get", "list"]
    paths = openapi_v3_document(REGISTRY, "", "v1")["paths"]
    assert set(paths["/api/v1/componentstatuses"]) == {"get", "parameters"}
    assert set(paths["/api/v1/componentstatuses/{name}"]) == {"get", "parameters"}


def test_rc_scale_speaks_autoscaling_v1() -> None:
    entries = {e["name"]: e for e in api_resource_list(REGISTRY, "", "v1")["resources"]}
    scale = entries["replicationcontrollers/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == (
        "autoscaling",
        "v1",
        "Scale",
    )


@pytest.mark.parametrize(
    ("group", "version", "definition"),
    [
        ("", "v1", "io.k8s.api.core.v1.ReplicationController"),
        ("", "v1", "io.k8s.api.core.v1.ResourceQuota"),
        ("", "v1", "io.k8s.api.core.v1.LimitRange"),
        ("scheduling.k8s.io", "v1", "io.k8s.api.scheduling.v1.PriorityClass"),
        (
            "apiextensions.k8s.io",
            "v1",
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
        ),
        ("networking.k8s.io", "v1", "io.k8s.api.networking.v1.IPAddress"),
        ("networking.k8s.io", "v1", "io.k8s.api.networking.v1.ServiceCIDR"),
    ],
)
def test_openapi_v3_and_v2_carry_the_upstream_schema(
    group: str, version: str, definition: str
) -> None:
    v3 = openapi_v3_document(REGISTRY, group, version)["components"]["schemas"][
        definition
    ]
    assert v3["description"]
    v2 = openapi_v2.served(REGISTRY).document["definitions"][definition]
    assert (
        v2["x-kubernetes-group-version-kind"] == v3["x-kubernetes-group-version-kind"]
    )
