"""The official Python client (v37) against the embedded API server: typed CRUD."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.api.conftest import deployment, eventually, service


def test_version_reports_a_kubernetes_server(api_client: k8s.ApiClient) -> None:
    info = k8s.VersionApi(api_client).get_code()
    assert info.major == "1" and info.git_version.startswith("v1.")


def test_core_and_group_discovery_deserialise(api_client: k8s.ApiClient) -> None:
    versions = k8s.CoreApi(api_client).get_api_versions()
    assert versions.versions == ["v1"]
    groups = {g.name for g in k8s.ApisApi(api_client).get_api_versions().groups}
    assert {"apps", "discovery.k8s.io", "networking.k8s.io"} <= groups
    resources = k8s.CoreV1Api(api_client).get_api_resources()
    names = {r.name for r in resources.resources}
    assert {"pods", "pods/status", "services", "nodes", "endpoints"} <= names


def test_nodes_are_a_control_plane_and_three_workers(core: k8s.CoreV1Api) -> None:
    nodes = core.list_node().items
    names = sorted(n.metadata.name for n in nodes)
    assert names == ["kubecourse-control-plane", "kubecourse-worker", "kubecourse-worker2", "kubecourse-worker3"]
    control = next(n for n in nodes if n.metadata.name.endswith("control-plane"))
    assert control.spec.taints[0].effect == "NoSchedule"
    assert all(n.status.node_info.kubelet_version for n in nodes)


def test_created_deployment_comes_back_typed_and_defaulted(apps: k8s.AppsV1Api) -> None:
    created = apps.create_namespaced_deployment("default", deployment("crud-web"))
    assert isinstance(created, k8s.V1Deployment)
    assert created.metadata.uid and created.metadata.generation == 1
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.strategy.rolling_update.max_surge == "25%"
    assert created.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    read = apps.read_namespaced_deployment("crud-web", "default")
    assert read.metadata.uid == created.metadata.uid
    assert int(read.metadata.resource_version) >= int(created.metadata.resource_version)


def test_missing_object_raises_not_found_with_the_upstream_message(apps: k8s.AppsV1Api) -> None:
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("nope", "default")
    assert err.value.status == 404
    body = json.loads(err.value.body)
    assert body["reason"] == "NotFound"
    assert body["message"] == 'deployments.apps "nope" not found'


def test_duplicate_create_is_already_exists(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "dup"}, "data": {"a": "1"}})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", {"metadata": {"name": "dup"}})
    assert err.value.status == 409
    assert json.loads(err.value.body)["reason"] == "AlreadyExists"


def test_stale_resource_version_is_a_conflict(core: k8s.CoreV1Api) -> None:
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "stale"}, "data": {"v": "1"}})
    first.data = {"v": "2"}
    core.replace_namespaced_config_map("stale", "default", first)
    first.data = {"v": "3"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("stale", "default", first)
    body = json.loads(err.value.body)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]


def test_invalid_deployment_is_422_with_a_cause_per_field(apps: k8s.AppsV1Api) -> None:
    bad = deployment("Bad_Name")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("default", bad)
    body = json.loads(err.value.body)
    assert err.value.status == 422 and body["reason"] == "Invalid"
    fields = {c["field"] for c in body["details"]["causes"]}
    assert fields == {"metadata.name", "spec.template.metadata.labels"}


def test_create_in_a_missing_namespace_is_404(core: k8s.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("ghost", {"metadata": {"name": "x"}})
    assert err.value.status == 404
    assert json.loads(err.value.body)["message"] == 'namespaces "ghost" not found'


def test_scale_subresource_reads_and_patches(apps: k8s.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("scaled", replicas=1))
    scale = apps.read_namespaced_deployment_scale("scaled", "default")
    assert scale.spec.replicas == 1 and scale.status.selector == "app=scaled"
    patched = apps.patch_namespaced_deployment_scale("scaled", "default", {"spec": {"replicas": 4}})
    assert patched.spec.replicas == 4
    assert apps.read_namespaced_deployment("scaled", "default").spec.replicas == 4


def test_negative_scale_is_rejected_and_changes_nothing(apps: k8s.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("noneg", replicas=2))
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_scale("noneg", "default", {"spec": {"replicas": -1}})
    assert err.value.status == 422
    assert apps.read_namespaced_deployment("noneg", "default").spec.replicas == 2


def test_strategic_and_json_patches_apply(apps: k8s.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("patched"))
    apps.patch_namespaced_deployment(
        "patched", "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]}]}}}},
    )
    apps.patch_namespaced_deployment("patched", "default", [{"op": "replace", "path": "/spec/replicas", "value": 2}])
    read = apps.read_namespaced_deployment("patched", "default")
    container = read.spec.template.spec.containers[0]
    assert container.image == "traefik/whoami:v1.10" and container.env[0].name == "A"
    assert read.spec.replicas == 2 and read.metadata.generation == 3


def test_pod_spec_is_immutable_with_the_real_message(core: k8s.CoreV1Api) -> None:
    pod = {"metadata": {"name": "fixed"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
    core.create_namespaced_pod("default", pod)
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_pod("fixed", "default", {"spec": {"containers": [{"name": "c", "command": ["sh"]}]}})
    body = json.loads(err.value.body)
    assert err.value.status == 422
    assert "pod updates may not change fields other than `spec.containers[*].image`" in body["message"]
    core.patch_namespaced_pod("fixed", "default", {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}})


def test_deleting_a_pod_returns_the_pod(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_pod("default", {"metadata": {"name": "bye"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    deleted = core.delete_namespaced_pod("bye", "default")
    assert isinstance(deleted, k8s.V1Pod) and deleted.metadata.name == "bye"
    eventually(lambda: "bye" not in {p.metadata.name for p in core.list_namespaced_pod("default").items}, what="pod gone")


def test_service_gets_a_cluster_ip_in_the_service_range(core: k8s.CoreV1Api) -> None:
    created = core.create_namespaced_service("default", service("svc-ip"))
    a, b, *_ = (int(x) for x in created.spec.cluster_ip.split("."))
    assert a == 10 and 96 <= b <= 111
    assert created.spec.cluster_ip != "10.96.0.1"
    assert created.spec.ports[0].protocol == "TCP"


def test_label_selector_filters_lists(core: k8s.CoreV1Api) -> None:
    for name, tier in (("sel-a", "front"), ("sel-b", "back")):
        core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": {"tier": tier}}})
    names = [c.metadata.name for c in core.list_namespaced_config_map("default", label_selector="tier in (front)").items]
    assert names == ["sel-a"]
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map("default", label_selector="tier in (")
    assert err.value.status == 400
