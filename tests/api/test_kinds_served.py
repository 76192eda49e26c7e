"""The issue-3 kinds over HTTP, through the Python client and kubectl.

Written for the final wiring (cluster.py: `ConvertingApi` and
`ApiHttp(on_eviction=eviction.handler(api))`); until that lands the fixture wires a
cluster the same way itself.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from kubecourse.embedded import eviction
from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.server import ApiHttp
from tests.api.conftest import FAST, deployment, eventually

KUBECTL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "kubectl"


def _wired(cluster: EmbeddedCluster) -> EmbeddedCluster:
    if isinstance(cluster.api, ConvertingApi) and cluster.http.on_eviction:
        return cluster
    cluster.api = ConvertingApi(cluster.store, REGISTRY)
    cluster.ctx.api = cluster.api
    cluster.http = ApiHttp(
        cluster.api,
        REGISTRY,
        cluster.options.token,
        logs=cluster._logs,
        on_eviction=eviction.handler(cluster.api),
    )
    return cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with _wired(EmbeddedCluster(ClusterOptions(timings=FAST))) as running:
        yield running


@pytest.fixture(scope="module")
def kubectl(cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("kubectl-home")
    config = home / "kubeconfig"
    config.write_text(yaml.safe_dump(cluster.kubeconfig()))
    env = {**os.environ, "KUBECONFIG": str(config), "HOME": str(home)}

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(KUBECTL), *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def _web(apps: k8s.AppsV1Api, core: k8s.CoreV1Api, name: str, replicas: int) -> None:
    apps.create_namespaced_deployment("default", deployment(name, replicas))
    eventually(
        lambda: (
            len(
                [
                    p
                    for p in core.list_namespaced_pod(
                        "default", label_selector=f"app={name}"
                    ).items
                    if p.status.phase == "Running"
                ]
            )
            == replicas
        ),
        what=f"{replicas} running {name} pods",
    )


def _pdb(name: str, app: str, **bounds: object) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": app}}, **bounds},
    }


def test_api_resources_lists_every_new_kind(kubectl) -> None:  # type: ignore[no-untyped-def]
    listing = kubectl("api-resources", "--no-headers")
    for kind in ("Job", "CronJob", "DaemonSet", "HorizontalPodAutoscaler", "Lease"):
        assert f" {kind}\n" in listing
    assert "poddisruptionbudgets" in listing and "events.k8s.io/v1" in listing
    assert "gateway.networking.k8s.io/v1" in listing


def test_kubectl_create_job_prints_upstream_columns(kubectl) -> None:  # type: ignore[no-untyped-def]
    assert "job.batch/hello created" in kubectl(
        "create", "job", "hello", "--image=busybox", "--", "sh", "-c", "echo hi"
    )
    kubectl("wait", "--for=condition=complete", "job/hello", "--timeout=30s")
    listing = kubectl("get", "jobs").splitlines()
    assert listing[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert listing[1].split()[:3] == ["hello", "Complete", "1/1"]


def test_kubectl_explain_reads_a_gateway_api_field(kubectl) -> None:  # type: ignore[no-untyped-def]
    text = kubectl("explain", "httproute.spec.parentRefs")
    assert "gateway.networking.k8s.io" in text and "name\t<string> -required-" in text


def test_autoscaling_v1_serves_the_stored_v2_hpa(api_client: k8s.ApiClient) -> None:
    body = {
        "metadata": {"name": "cpu"},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "x",
            },
            "maxReplicas": 4,
        },
    }
    k8s.AutoscalingV2Api(api_client).create_namespaced_horizontal_pod_autoscaler(
        "default", body
    )
    v1 = k8s.AutoscalingV1Api(api_client).read_namespaced_horizontal_pod_autoscaler(
        "cpu", "default"
    )
    assert v1.spec.target_cpu_utilization_percentage == 80
    assert v1.status.desired_replicas == 0


def test_events_k8s_io_lists_core_events_as_typed_models(
    api_client: k8s.ApiClient, apps: k8s.AppsV1Api, core: k8s.CoreV1Api
) -> None:
    _web(apps, core, "events", 1)
    events = k8s.EventsV1Api(api_client).list_namespaced_event("default").items
    scheduled = [e for e in events if e.reason == "Scheduled"]
    assert scheduled and scheduled[0].regarding.kind == "Pod"
    assert scheduled[0].event_time is not None


def test_a_pdb_blocks_eviction_with_429_and_the_budget_cause(
    api_client: k8s.ApiClient, apps: k8s.AppsV1Api, core: k8s.CoreV1Api
) -> None:
    policy = k8s.PolicyV1Api(api_client)
    _web(apps, core, "guarded", 2)
    policy.create_namespaced_pod_disruption_budget(
        "default", _pdb("g", "guarded", minAvailable=2)
    )
    eventually(
        lambda: (
            policy.read_namespaced_pod_disruption_budget(
                "g", "default"
            ).status.current_healthy
            == 2
        ),
        what="the budget to count two healthy pods",
    )
    pod = core.list_namespaced_pod("default", label_selector="app=guarded").items[0]
    eviction_body = {"metadata": {"name": pod.metadata.name, "namespace": "default"}}
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod_eviction(pod.metadata.name, "default", eviction_body)
    assert caught.value.status == 429
    assert "violate the pod's disruption budget" in str(caught.value.body)
    assert "needs 2 healthy pods and has 2 currently" in str(caught.value.body)


def test_an_allowed_eviction_deletes_the_pod(
    api_client: k8s.ApiClient, apps: k8s.AppsV1Api, core: k8s.CoreV1Api
) -> None:
    policy = k8s.PolicyV1Api(api_client)
    _web(apps, core, "spare", 2)
    policy.create_namespaced_pod_disruption_budget(
        "default", _pdb("s", "spare", maxUnavailable=1)
    )
    eventually(
        lambda: (
            policy.read_namespaced_pod_disruption_budget(
                "s", "default"
            ).status.disruptions_allowed
            == 1
        ),
        what="one allowed disruption",
    )
    pod = core.list_namespaced_pod("default", label_selector="app=spare").items[0]
    body = {"metadata": {"name": pod.metadata.name}}
    core.create_namespaced_pod_eviction(pod.metadata.name, "default", body)

    def gone_or_terminating() -> bool:
        try:
            found = core.read_namespaced_pod(pod.metadata.name, "default")
        except k8s.ApiException as err:
            return err.status == 404
        return found.metadata.deletion_timestamp is not None

    assert eventually(gone_or_terminating, what="the evicted pod to go")


def test_gateway_api_kinds_are_served_cluster_and_namespace_scoped(
    api_client: k8s.ApiClient,
) -> None:
    custom = k8s.CustomObjectsApi(api_client)
    group = "gateway.networking.k8s.io"
    gc = {
        "apiVersion": f"{group}/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "c"},
    }
    gc["spec"] = {"controllerName": "example.com/controller"}
    created = custom.create_cluster_custom_object(group, "v1", "gatewayclasses", gc)
    assert created["status"]["conditions"][0]["message"] == "Waiting for controller"
    route = {
        "apiVersion": f"{group}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
    }
    route["spec"] = {"parentRefs": [{"name": "gw"}]}
    made = custom.create_namespaced_custom_object(
        group, "v1", "default", "httproutes", route
    )
    assert made["spec"]["parentRefs"][0]["kind"] == "Gateway"
