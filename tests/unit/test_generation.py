"""metadata.generation kind by kind, as kube-apiserver's registry strategies keep it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Store


@pytest.fixture
def api() -> ConvertingApi:
    api = ConvertingApi(Store(), REGISTRY)
    api.create(REGISTRY.get("namespaces"), None, {"metadata": {"name": "default"}})
    return api


def update(
    api: ConvertingApi, key: str, obj: dict[str, Any], subresource: str | None = None
) -> dict[str, Any]:
    meta = obj["metadata"]
    return api.update(
        REGISTRY.get(key),
        meta.get("namespace"),
        meta["name"],
        obj,
        subresource=subresource,
    )


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    return {
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": labels}, "template": template},
    }


def test_a_lease_never_has_a_generation_even_when_renewed(api: ConvertingApi) -> None:
    leases = REGISTRY.get("leases.coordination.k8s.io")
    body = {
        "metadata": {"name": "n1", "generation": 7},
        "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40},
    }
    lease = api.create(leases, "default", body)
    assert "generation" not in lease["metadata"]
    lease["spec"]["renewTime"] = "2026-01-01T00:00:00.000000Z"
    assert (
        "generation" not in update(api, "leases.coordination.k8s.io", lease)["metadata"]
    )


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("services", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}),
        ("configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}}),
        (
            "persistentvolumeclaims",
            {
                "metadata": {"name": "p"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        ),
    ],
)
def test_kinds_without_a_generation_strategy_get_none(
    api: ConvertingApi, key: str, body: dict[str, Any]
) -> None:
    assert (
        "generation" not in api.create(REGISTRY.get(key), "default", body)["metadata"]
    )


def test_a_deployment_starts_at_one_and_counts_spec_and_annotation_changes(
    api: ConvertingApi,
) -> None:
    created = api.create(REGISTRY.get("deployments.apps"), "default", deployment("web"))
    assert created["metadata"]["generation"] == 1
    created["metadata"]["labels"] = {"tier": "front"}
    labelled = update(api, "deployments.apps", created)
    assert (
        labelled["metadata"]["generation"] == 1
    )  # labels are not copied to ReplicaSets
    labelled["metadata"]["annotations"] = {"note": "x"}
    annotated = update(api, "deployments.apps", labelled)
    assert annotated["metadata"]["generation"] == 2
    annotated["spec"]["replicas"] = 3
    assert update(api, "deployments.apps", annotated)["metadata"]["generation"] == 3


def test_a_deployment_status_write_may_annotate_without_a_new_generation(
    api: ConvertingApi,
) -> None:
    created = api.create(REGISTRY.get("deployments.apps"), "default", deployment("rev"))
    body = copy.deepcopy(created)
    body["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    body["status"] = {"observedGeneration": 1}
    written = update(api, "deployments.apps", body, subresource="status")
    assert (
        written["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    )
    assert written["metadata"]["generation"] == 1


def test_a_pod_counts_spec_changes_and_its_graceful_deletion(
    api: ConvertingApi,
) -> None:
    pods = REGISTRY.get("pods")
    pod = api.create(
        pods,
        "default",
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]},
        },
    )
    assert pod["metadata"]["generation"] == 1
    pod["spec"]["containers"][0]["image"] = "nginx:2"
    pod = update(api, "pods", pod)
    assert pod["metadata"]["generation"] == 2
    api.bind("default", "p", "node-1")
    deleting = api.delete(pods, "default", "p")
    assert (
        deleting["metadata"]["deletionTimestamp"]
        and deleting["metadata"]["generation"] == 3
    )


def test_an_hpa_counts_spec_changes_but_not_status_writes(api: ConvertingApi) -> None:
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    key = "horizontalpodautoscalers.autoscaling"
    body = {
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": ref, "maxReplicas": 3},
    }
    hpa = api.create(REGISTRY.get(key), "default", body)
    assert hpa["metadata"]["generation"] == 1
    hpa["status"] = {"currentReplicas": 1, "desiredReplicas": 1, "currentMetrics": None}
    hpa = update(api, key, hpa, subresource="status")
    assert hpa["metadata"]["generation"] == 1
    hpa["spec"]["maxReplicas"] = 5
    assert update(api, key, hpa)["metadata"]["generation"] == 2


def test_an_endpointslice_counts_endpoint_and_label_changes(api: ConvertingApi) -> None:
    key = "endpointslices.discovery.k8s.io"
    body = {"metadata": {"name": "e"}, "addressType": "IPv4", "endpoints": []}
    eps = api.create(REGISTRY.get(key), "default", body)
    assert eps["metadata"]["generation"] == 1
    eps["metadata"]["annotations"] = {"a": "b"}
    eps = update(api, key, eps)
    assert eps["metadata"]["generation"] == 1
    eps["endpoints"] = [{"addresses": ["10.244.1.2"]}]
    eps = update(api, key, eps)
    eps["metadata"]["labels"] = {"kubernetes.io/service-name": "web"}
    assert update(api, key, eps)["metadata"]["generation"] == 3


def test_a_custom_resource_counts_everything_but_metadata_and_status(
    api: ConvertingApi,
) -> None:
    key = "gatewayclasses.gateway.networking.k8s.io"
    gc = api.create(
        REGISTRY.get(key),
        None,
        {"metadata": {"name": "g"}, "spec": {"controllerName": "example.com/gw"}},
    )
    assert gc["metadata"]["generation"] == 1
    gc["status"] = {"conditions": []}
    gc = update(api, key, gc, subresource="status")
    gc["spec"]["description"] = "ours"
    assert update(api, key, gc)["metadata"]["generation"] == 2
