"""Conformance item 47 through the official client and kubectl: node Leases, the
metrics.k8s.io API behind `kubectl top`, and HorizontalPodAutoscalers that scale."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from tests.api.conftest import eventually

TIMINGS = Timings(
    schedule_delay=0.01,
    container_create_delay=0.05,
    container_start_delay=0.05,
    pod_termination_delay=0.05,
    metrics_resolution=0.2,
    hpa_sync_period=0.3,
    hpa_downscale_stabilization=1.0,
)
WORKERS = [
    "kubecourse-control-plane",
    "kubecourse-worker",
    "kubecourse-worker2",
    "kubecourse-worker3",
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=TIMINGS)) as running:
        yield running


@pytest.fixture(scope="module")
def metrics_api(api_client: k8s.ApiClient) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(api_client)


@pytest.fixture(scope="module")
def autoscaling(api_client: k8s.ApiClient) -> k8s.AutoscalingV2Api:
    return k8s.AutoscalingV2Api(api_client)


def web(
    name: str, *, cpu: str | None = "100m", replicas: int = 1, **pod_spec: Any
) -> dict[str, Any]:
    resources = {"requests": {"cpu": cpu, "memory": "32Mi"}} if cpu else {}
    container = {"name": "web", "image": "nginx:1.27", "resources": resources}
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], **pod_spec},
            },
        },
    }


def condition(
    hpa: k8s.V2HorizontalPodAutoscaler, type_: str
) -> k8s.V2HorizontalPodAutoscalerCondition | None:
    return next((c for c in hpa.status.conditions or [] if c.type == type_), None)


def pod_metrics_of(metrics_api: k8s.CustomObjectsApi, app: str) -> list[dict[str, Any]]:
    listed = metrics_api.list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", "default", "pods", label_selector=f"app={app}"
    )
    return list(listed["items"])


# ---------------------------------------------------------------- Leases


def test_every_kubelet_renews_a_typed_lease_in_kube_node_lease(
    api_client: k8s.ApiClient,
) -> None:
    coordination = k8s.CoordinationV1Api(api_client)
    leases = eventually(
        lambda: coordination.list_namespaced_lease("kube-node-lease").items,
        what="node leases",
    )
    assert all(isinstance(lease, k8s.V1Lease) for lease in leases)
    assert sorted(lease.metadata.name for lease in leases) == WORKERS
    lease = coordination.read_namespaced_lease("kubecourse-worker", "kube-node-lease")
    assert (
        lease.spec.holder_identity == "kubecourse-worker"
        and lease.spec.lease_duration_seconds == 40
    )
    assert (
        lease.spec.renew_time is not None
        and lease.metadata.owner_references[0].kind == "Node"
    )
    assert lease.metadata.generation is None  # the Lease strategy keeps no generation


def test_kubectl_lists_node_leases_with_their_holders(kubectl: Any) -> None:
    lines = kubectl("get", "leases", "-n", "kube-node-lease").stdout.splitlines()
    assert lines[0].split() == ["NAME", "HOLDER", "AGE"]
    rows = [line.split() for line in lines[1:]]
    assert [row[:2] for row in rows] == [[name, name] for name in WORKERS]


# ---------------------------------------------------------------- the metrics API


def test_metrics_group_is_discovered_as_metrics_server_serves_it(
    api_client: k8s.ApiClient, kubectl: Any
) -> None:
    groups = k8s.ApisApi(api_client).get_api_versions().groups
    metrics = next(g for g in groups if g.name == "metrics.k8s.io")
    assert metrics.preferred_version.group_version == "metrics.k8s.io/v1beta1"
    resources = json.loads(
        kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1").stdout
    )["resources"]
    assert [(r["name"], r["kind"], r["namespaced"], r["verbs"]) for r in resources] == [
        ("nodes", "NodeMetrics", False, ["get", "list"]),
        ("pods", "PodMetrics", True, ["get", "list"]),
    ]
    listed = kubectl(
        "api-resources", "--api-group=metrics.k8s.io", "--no-headers"
    ).stdout
    assert "NodeMetrics" in listed and "PodMetrics" in listed


def test_python_client_reads_node_and_pod_metrics(
    apps: k8s.AppsV1Api, metrics_api: k8s.CustomObjectsApi
) -> None:
    apps.create_namespaced_deployment("default", web("shop", replicas=2))
    nodes = eventually(
        lambda: metrics_api.list_cluster_custom_object(
            "metrics.k8s.io", "v1beta1", "nodes"
        )["items"],
        what="node metrics",
    )
    assert sorted(n["metadata"]["name"] for n in nodes) == WORKERS
    assert all(
        n["usage"]["cpu"].endswith("n") and n["usage"]["memory"].endswith("Ki")
        for n in nodes
    )
    pods = eventually(
        lambda: len(found := pod_metrics_of(metrics_api, "shop")) == 2 and found,
        what="pod metrics",
    )
    assert {p["metadata"]["labels"]["app"] for p in pods} == {"shop"}
    assert [c["name"] for c in pods[0]["containers"]] == ["web"]
    assert pods[0]["window"].endswith("ms")
    one = metrics_api.get_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", "default", "pods", pods[0]["metadata"]["name"]
    )
    assert one["kind"] == "PodMetrics" and one["containers"][0]["usage"]["cpu"]


def test_kubectl_top_prints_what_it_prints_against_metrics_server(
    kubectl: Any, metrics_api: k8s.CustomObjectsApi, apps: k8s.AppsV1Api
) -> None:
    apps.create_namespaced_deployment("default", web("topped"))
    eventually(lambda: pod_metrics_of(metrics_api, "topped"), what="metrics of topped")
    nodes = kubectl("top", "nodes").stdout.splitlines()
    assert nodes[0].split() == [
        "NAME",
        "CPU(cores)",
        "CPU(%)",
        "MEMORY(bytes)",
        "MEMORY(%)",
    ]
    assert sorted(line.split()[0] for line in nodes[1:]) == WORKERS
    assert all(
        line.split()[1].endswith("m") and line.split()[3].endswith("Mi")
        for line in nodes[1:]
    )

    pods = kubectl("top", "pods", "-l", "app=topped").stdout.splitlines()
    assert pods[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"] and len(pods) == 2
    containers = kubectl(
        "top", "pods", "-l", "app=topped", "--containers"
    ).stdout.splitlines()
    assert (
        containers[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
        and containers[1].split()[1] == "web"
    )
    everywhere = kubectl("top", "pods", "-A").stdout.splitlines()
    assert everywhere[0].split()[0] == "NAMESPACE" and any(
        "topped" in line for line in everywhere
    )


def test_a_pod_without_metrics_is_not_found_as_metrics_server_says(
    core: k8s.CoreV1Api, kubectl: Any
) -> None:
    pending = {
        "metadata": {"name": "nowhere", "labels": {"app": "nowhere"}},
        "spec": {
            "nodeSelector": {"disk": "none"},
            "containers": [{"name": "c", "image": "nginx"}],
        },
    }
    core.create_namespaced_pod("default", pending)
    named = kubectl("top", "pod", "nowhere", check=False)
    assert (
        named.stderr
        == 'Error from server (NotFound): podmetrics.metrics.k8s.io "default/nowhere" not found\n'
    )
    assert (
        "metrics not available yet"
        in kubectl("top", "pod", "-l", "app=nowhere", check=False).stderr
    )
    missing = kubectl("top", "pod", "nosuch", check=False)
    assert 'pods "nosuch" not found' in missing.stderr


def test_metrics_api_refuses_writes_and_watches(
    metrics_api: k8s.CustomObjectsApi, kubectl: Any
) -> None:
    with pytest.raises(ApiException) as err:
        metrics_api.create_cluster_custom_object(
            "metrics.k8s.io", "v1beta1", "nodes", {"metadata": {"name": "x"}}
        )
    assert (
        err.value.status == 405
        and json.loads(err.value.body)["reason"] == "MethodNotAllowed"
    )
    watch = kubectl(
        "get", "--raw", "/apis/metrics.k8s.io/v1beta1/pods?watch=true", check=False
    )
    assert (
        'watch is not supported on resources of kind "pods.metrics.k8s.io"'
        in watch.stderr
    )


# ---------------------------------------------------------------- HPA


def test_hpa_scales_up_under_load_and_down_after_the_stabilization_window(
    apps: k8s.AppsV1Api, autoscaling: k8s.AutoscalingV2Api, kubectl: Any
) -> None:
    apps.create_namespaced_deployment("default", web("busy"))
    assert (
        "autoscaled"
        in kubectl(
            "autoscale", "deployment", "busy", "--cpu=50%", "--min=1", "--max=3"
        ).stdout
    )

    def hpa() -> k8s.V2HorizontalPodAutoscaler:
        return autoscaling.read_namespaced_horizontal_pod_autoscaler("busy", "default")

    idle = eventually(
        lambda: (
            (h := hpa()).status.current_metrics
            and h.status.current_metrics[0].resource
            and h
        ),
        what="a first metric",
    )
    assert idle.status.current_metrics[0].resource.current.average_utilization < 10
    assert condition(idle, "ScalingActive").reason == "ValidMetricFound"

    kubectl("annotate", "deployment", "busy", "kubecourse.io/cpu-load=300m")
    loaded = eventually(
        lambda: (h := hpa()).status.desired_replicas == 3 and h, what="a scale-up to 3"
    )
    assert condition(loaded, "ScalingLimited").reason == "TooManyReplicas"
    assert (
        loaded.status.last_scale_time is not None
        and loaded.status.observed_generation == 1
    )
    eventually(
        lambda: (
            apps.read_namespaced_deployment("busy", "default").status.ready_replicas
            == 3
        ),
        what="3 ready pods",
    )
    row = kubectl("get", "hpa", "busy").stdout.splitlines()
    assert row[0].split() == [
        "NAME",
        "REFERENCE",
        "TARGETS",
        "MINPODS",
        "MAXPODS",
        "REPLICAS",
        "AGE",
    ]
    cells = row[1].split()
    assert cells[:3] == ["busy", "Deployment/busy", "cpu:"] and cells[3].endswith(
        "/50%"
    )

    kubectl("annotate", "deployment", "busy", "kubecourse.io/cpu-load-")
    stabilized = eventually(
        lambda: (
            (c := condition(hpa(), "AbleToScale"))
            and c.reason == "ScaleDownStabilized"
            and c
        ),
        what="a stabilized scale-down",
    )
    assert (
        stabilized.message
        == "recent recommendations were higher than current one, applying the highest recent recommendation"
    )
    eventually(
        lambda: hpa().status.current_replicas == 1, timeout=20, what="a scale-down to 1"
    )

    described = kubectl("describe", "hpa", "busy").stdout
    assert "resource cpu on pods  (as a percentage of request):" in described
    assert (
        "New size: 3; reason: cpu resource utilization (percentage of request) above target"
        in described
    )
    assert "New size: 1; reason: All metrics below target" in described


def test_hpa_without_cpu_requests_reports_the_missing_request(
    apps: k8s.AppsV1Api, autoscaling: k8s.AutoscalingV2Api, kubectl: Any
) -> None:
    apps.create_namespaced_deployment("default", web("greedy", cpu=None))
    kubectl("autoscale", "deployment", "greedy", "--cpu-percent=50", "--max=4")

    def failed() -> Any:
        found = condition(
            autoscaling.read_namespaced_horizontal_pod_autoscaler("greedy", "default"),
            "ScalingActive",
        )
        return (
            found is not None and "missing request" in (found.message or "") and found
        )

    active = eventually(failed, what="the missing-request condition")
    assert active.status == "False" and active.reason == "FailedGetResourceMetric"
    assert active.message.startswith(
        "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container web of Pod greedy-"
    )
    assert "cpu: <unknown>/50%" in kubectl("get", "hpa", "greedy").stdout
    events = kubectl(
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=greedy,reason=FailedGetResourceMetric",
    ).stdout
    assert "missing request for cpu" in events


def test_hpa_before_any_metrics_shows_unknown_and_says_why(
    apps: k8s.AppsV1Api, autoscaling: k8s.AutoscalingV2Api, kubectl: Any
) -> None:
    apps.create_namespaced_deployment(
        "default", web("stuck", nodeSelector={"disk": "none"})
    )
    kubectl("autoscale", "deployment", "stuck", "--cpu=50%", "--max=4")
    active = eventually(
        lambda: condition(
            autoscaling.read_namespaced_horizontal_pod_autoscaler("stuck", "default"),
            "ScalingActive",
        ),
        what="ScalingActive",
    )
    assert active.reason == "FailedGetResourceMetric" and active.message.endswith(
        "no metrics returned from resource metrics API"
    )
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("stuck", "default")
    assert (
        hpa.status.current_metrics[0].type == ""
        and "cpu: <unknown>/50%" in kubectl("get", "hpa", "stuck").stdout
    )


def test_hpa_brings_a_statefulset_up_to_min_replicas_through_its_scale(
    api_client: k8s.ApiClient, autoscaling: k8s.AutoscalingV2Api
) -> None:
    apps = k8s.AppsV1Api(api_client)
    body = web("db")
    body["spec"]["serviceName"] = "db"
    apps.create_namespaced_stateful_set("default", body)
    ref = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        "default",
        {
            "metadata": {"name": "db"},
            "spec": {"scaleTargetRef": ref, "minReplicas": 2, "maxReplicas": 4},
        },
    )
    eventually(
        lambda: (
            apps.read_namespaced_stateful_set_scale("db", "default").spec.replicas == 2
        ),
        what="the StatefulSet at 2",
    )
    events = (
        k8s.CoreV1Api(api_client)
        .list_namespaced_event(
            "default", field_selector="involvedObject.name=db,reason=SuccessfulRescale"
        )
        .items
    )
    assert any(
        e.message
        == "New size: 2; reason: Current number of replicas below Spec.MinReplicas"
        for e in events
    )


def test_hpa_whose_target_is_missing_cannot_get_its_scale(
    autoscaling: k8s.AutoscalingV2Api,
) -> None:
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ghost"}
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        "default",
        {
            "metadata": {"name": "ghost"},
            "spec": {"scaleTargetRef": ref, "maxReplicas": 2},
        },
    )
    able = eventually(
        lambda: condition(
            autoscaling.read_namespaced_horizontal_pod_autoscaler("ghost", "default"),
            "AbleToScale",
        ),
        what="AbleToScale",
    )
    assert (able.status, able.reason) == ("False", "FailedGetScale")
    assert (
        able.message
        == 'the HPA controller was unable to get the target\'s current scale: deployments.apps "ghost" not found'
    )


def test_an_invalid_hpa_is_refused_naming_the_field(
    autoscaling: k8s.AutoscalingV2Api,
) -> None:
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    bad = {
        "metadata": {"name": "bad"},
        "spec": {"scaleTargetRef": ref, "minReplicas": 5, "maxReplicas": 2},
    }
    with pytest.raises(ApiException) as err:
        autoscaling.create_namespaced_horizontal_pod_autoscaler("default", bad)
    body = json.loads(err.value.body)
    assert (
        err.value.status == 422
        and body["details"]["causes"][0]["field"] == "spec.maxReplicas"
    )
    assert "must be greater than or equal to `minReplicas`" in body["message"]


SSA_WEB = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: applied
spec:
  replicas: 1
  selector: {matchLabels: {app: applied}}
  template:
    metadata: {labels: {app: applied}}
    spec:
      containers:
      - {name: web, image: nginx:1.27, resources: {requests: {cpu: 100m}}}
"""


def test_reapplying_replicas_the_hpa_scaled_conflicts_with_kube_controller_manager(
    kubectl: Any, api_client: k8s.ApiClient
) -> None:
    apps = k8s.AppsV1Api(api_client)
    kubectl("apply", "--server-side", "-f", "-", input=SSA_WEB)
    kubectl("autoscale", "deployment", "applied", "--min=3", "--max=5", "--cpu=50%")
    eventually(
        lambda: (
            apps.read_namespaced_deployment("applied", "default").spec.replicas == 3
        ),
        what="the HPA's scale to 3",
    )

    again = kubectl("apply", "--server-side", "-f", "-", input=SSA_WEB, check=False)

    assert again.returncode == 1
    assert (
        'conflict with "kube-controller-manager" with subresource "scale" using '
        "apps/v1: .spec.replicas" in again.stderr
    )
    assert apps.read_namespaced_deployment("applied", "default").spec.replicas == 3
    entries = json.loads(
        kubectl(
            "get", "deploy", "applied", "-o", "json", "--show-managed-fields"
        ).stdout
    )["metadata"]["managedFields"]
    assert {(e["manager"], e["operation"], e.get("subresource")) for e in entries} >= {
        ("kubectl", "Apply", None),
        ("kube-controller-manager", "Update", "scale"),
        ("kube-controller-manager", "Update", "status"),
    }
