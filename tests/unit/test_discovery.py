"""Discovery documents list what the server serves, in the shapes clients decode."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient

from kubecourse.embedded.discovery import (
    aggregated_discovery,
    api_group_list,
    api_resource_list,
    api_versions,
)
from kubecourse.embedded.resources import REGISTRY, Registry, ResourceType


def deserialize(data: dict[str, Any], klass: str) -> Any:
    return ApiClient()._ApiClient__deserialize(data, klass)  # type: ignore[attr-defined]


def entries(group: str, version: str) -> dict[str, dict[str, Any]]:
    document = api_resource_list(REGISTRY, group, version)
    return {entry["name"]: entry for entry in document["resources"]}


def test_api_versions_names_v1_and_the_server_address() -> None:
    document = api_versions("127.0.0.1:6443")
    assert document["versions"] == ["v1"]
    assert document["serverAddressByClientCIDRs"] == [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
    ]
    model = deserialize(document, "V1APIVersions")
    assert model.server_address_by_client_cidrs[0].server_address == "127.0.0.1:6443"


def test_group_list_has_every_named_group_once_with_its_preferred_version() -> None:
    document = api_group_list(REGISTRY)
    names = [group["name"] for group in document["groups"]]
    assert names == [
        "apps",
        "events.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "networking.k8s.io",
        "policy",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "scheduling.k8s.io",
        "apiextensions.k8s.io",
        "gateway.networking.k8s.io",
        "metrics.k8s.io",
    ]
    assert len(set(names)) == len(names)
    apps = document["groups"][0]
    assert apps["versions"] == [{"groupVersion": "apps/v1", "version": "v1"}]
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    assert deserialize(document, "V1APIGroupList").groups[0].name == "apps"


def test_core_group_is_not_in_the_group_list() -> None:
    assert "" not in [group["name"] for group in api_group_list(REGISTRY)["groups"]]


def test_group_with_two_versions_prefers_the_first() -> None:
    registry = Registry(
        (
            ResourceType("example.com", "v2", "Widget", "widgets", True),
            ResourceType("example.com", "v1", "Widget", "widgets", True),
        )
    )
    (group,) = api_group_list(registry)["groups"]
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"


def test_core_resource_list_deserialises_in_the_python_client() -> None:
    document = api_resource_list(REGISTRY, "", "v1")
    assert document["groupVersion"] == "v1"
    model = deserialize(document, "V1APIResourceList")
    assert "pods" in [r.name for r in model.resources]


@pytest.mark.parametrize(("group", "version"), REGISTRY.group_versions())
def test_every_group_version_deserialises(group: str, version: str) -> None:
    document = api_resource_list(REGISTRY, group, version)
    model = deserialize(document, "V1APIResourceList")
    assert model.group_version == (f"{group}/{version}" if group else version)


def test_resources_are_sorted_by_name_like_a_real_server() -> None:
    names = [
        entry["name"] for entry in api_resource_list(REGISTRY, "", "v1")["resources"]
    ]
    assert names == sorted(names)


def test_resource_entry_has_names_scope_verbs_and_short_names() -> None:
    deployments = entries("apps", "v1")["deployments"]
    assert deployments == {
        "name": "deployments",
        "singularName": "deployment",
        "namespaced": True,
        "kind": "Deployment",
        "verbs": [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        "shortNames": ["deploy"],
        "categories": ["all"],
    }


def test_resources_without_short_names_or_categories_omit_them() -> None:
    secrets = entries("", "v1")["secrets"]
    assert "shortNames" not in secrets
    assert "categories" not in secrets


def test_cluster_scoped_resources_are_not_namespaced() -> None:
    core = entries("", "v1")
    assert core["nodes"]["namespaced"] is False
    assert core["namespaces"]["namespaced"] is False
    assert core["pods"]["namespaced"] is True


def test_pods_eviction_names_the_policy_group_for_kubectl_drain() -> None:
    assert entries("", "v1")["pods/eviction"] == {
        "name": "pods/eviction",
        "singularName": "",
        "namespaced": True,
        "group": "policy",
        "version": "v1",
        "kind": "Eviction",
        "verbs": ["create"],
    }


def test_scale_subresource_speaks_autoscaling_v1_scale() -> None:
    scale = entries("apps", "v1")["deployments/scale"]
    assert (scale["group"], scale["version"], scale["kind"]) == (
        "autoscaling",
        "v1",
        "Scale",
    )
    assert scale["verbs"] == ["get", "patch", "update"]


def test_status_subresource_keeps_its_parent_kind_and_group() -> None:
    status = entries("apps", "v1")["deployments/status"]
    assert "group" not in status
    assert status["kind"] == "Deployment"
    assert status["singularName"] == ""


def test_pod_log_binding_and_namespace_finalize() -> None:
    core = entries("", "v1")
    assert (core["pods/log"]["kind"], core["pods/log"]["verbs"]) == ("Pod", ["get"])
    assert (core["pods/binding"]["kind"], core["pods/binding"]["verbs"]) == (
        "Binding",
        ["create"],
    )
    assert "group" not in core["pods/binding"]
    assert core["namespaces/finalize"]["verbs"] == ["update"]


def test_pod_exec_attach_and_portforward_are_listed_as_upstream_lists_them() -> None:
    core = entries("", "v1")
    assert core["pods/exec"] == {
        "name": "pods/exec",
        "singularName": "",
        "namespaced": True,
        "kind": "PodExecOptions",
        "verbs": ["create", "get"],
    }
    assert (core["pods/attach"]["kind"], core["pods/portforward"]["kind"]) == (
        "PodAttachOptions",
        "PodPortForwardOptions",
    )


def test_every_registered_subresource_is_listed() -> None:
    for group, version in REGISTRY.group_versions():
        listed = entries(group, version)
        for rt in REGISTRY.in_group_version(group, version):
            for sub in rt.subresources:
                assert f"{rt.plural}/{sub}" in listed


def test_unserved_group_version_has_no_resources() -> None:
    assert api_resource_list(REGISTRY, "storage.k8s.io", "v1")["resources"] == []


# ---------------------------------------------------------------- aggregated


def test_aggregated_core_discovery_has_one_unnamed_group() -> None:
    document = aggregated_discovery(REGISTRY, legacy_core=True)
    assert document["kind"] == "APIGroupDiscoveryList"
    assert document["apiVersion"] == "apidiscovery.k8s.io/v2"
    (core,) = document["items"]
    assert core["metadata"] == {"name": ""}
    assert [v["version"] for v in core["versions"]] == ["v1"]


def test_aggregated_resource_carries_scope_kind_and_subresources() -> None:
    document = aggregated_discovery(REGISTRY, legacy_core=True)
    resources = {
        r["resource"]: r for r in document["items"][0]["versions"][0]["resources"]
    }
    pods = resources["pods"]
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert pods["scope"] == "Namespaced"
    assert pods["singularResource"] == "pod"
    assert pods["shortNames"] == ["po"]
    eviction = next(s for s in pods["subresources"] if s["subresource"] == "eviction")
    assert eviction["responseKind"] == {
        "group": "policy",
        "version": "v1",
        "kind": "Eviction",
    }
    assert resources["nodes"]["scope"] == "Cluster"
    assert "subresources" not in resources["configmaps"]


def test_aggregated_named_groups_match_the_group_list() -> None:
    document = aggregated_discovery(REGISTRY, legacy_core=False)
    names = [item["metadata"]["name"] for item in document["items"]]
    assert names == [group["name"] for group in api_group_list(REGISTRY)["groups"]]
    apps = document["items"][0]["versions"][0]
    assert apps["freshness"] == "Current"
    deployments = next(r for r in apps["resources"] if r["resource"] == "deployments")
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {
        "group": "autoscaling",
        "version": "v1",
        "kind": "Scale",
    }


@pytest.mark.parametrize("legacy_core", [True, False])
def test_aggregated_discovery_deserialises_in_the_python_client(
    legacy_core: bool,
) -> None:
    document = aggregated_discovery(REGISTRY, legacy_core=legacy_core)
    model = deserialize(document, "V2APIGroupDiscoveryList")
    assert model.items
    assert all(version.resources for item in model.items for version in item.versions)


def test_metrics_group_is_listed_as_metrics_server_advertises_it() -> None:
    legacy = api_resource_list(REGISTRY, "metrics.k8s.io", "v1beta1")["resources"]
    assert legacy == [
        {
            "name": "nodes",
            "singularName": "",
            "namespaced": False,
            "kind": "NodeMetrics",
            "verbs": ["get", "list"],
        },
        {
            "name": "pods",
            "singularName": "",
            "namespaced": True,
            "kind": "PodMetrics",
            "verbs": ["get", "list"],
        },
    ]
    document = aggregated_discovery(REGISTRY, legacy_core=False)
    group = next(
        g for g in document["items"] if g["metadata"]["name"] == "metrics.k8s.io"
    )
    (version,) = group["versions"]
    pods = next(r for r in version["resources"] if r["resource"] == "pods")
    assert version["version"] == "v1beta1" and pods["scope"] == "Namespaced"
    assert pods["singularResource"] == "" and pods["verbs"] == ["get", "list"]
    assert pods["responseKind"] == {
        "group": "metrics.k8s.io",
        "version": "v1beta1",
        "kind": "PodMetrics",
    }
