"""Conformance checklist items 31 and 32 through kubectl 1.37 and the Python client: a
rollout waits on a pod that never becomes Ready, and scale-down removes pods in
upstream's order.

Readiness is driven by the embedded cluster's `kubecourse.io/readiness: fail` annotation
(docs/embedded-cluster.md, Images): it makes a container's readiness probe fail, so the
pods here have one (a container without a probe is ready once started, as upstream).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from tests.api.conftest import deployment, eventually, service

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
READINESS = "kubecourse.io/readiness"
FAIL_READINESS = json.dumps(
    {"spec": {"template": {"metadata": {"annotations": {READINESS: "fail"}}}}}
)


def probed(name: str, replicas: int, **spec: Any) -> dict[str, Any]:
    manifest = deployment(name, replicas=replicas, **spec)
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    container["readinessProbe"] = {
        "httpGet": {"path": "/", "port": 80},
        "periodSeconds": 1,
    }
    return manifest


def rolled_out(apps: k8s.AppsV1Api, name: str, replicas: int) -> bool:
    d = apps.read_namespaced_deployment(name, "default")
    status = d.status
    return (
        status.observed_generation == d.metadata.generation
        and (status.updated_replicas or 0) == replicas
        and (status.available_replicas or 0) == replicas
        and (status.replicas or 0) == replicas
    )


def live_pods(core: k8s.CoreV1Api, app: str) -> list[k8s.V1Pod]:
    pods = core.list_namespaced_pod("default", label_selector=f"app={app}").items
    return [p for p in pods if p.metadata.deletion_timestamp is None]


def is_ready(pod: k8s.V1Pod) -> bool:
    return any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []
    )


def unready_running_pod(core: k8s.CoreV1Api, app: str) -> k8s.V1Pod | None:
    for pod in live_pods(core, app):
        if pod.status.phase == "Running" and pod.status.pod_ip and not is_ready(pod):
            return pod
    return None


def replica_sets(apps: k8s.AppsV1Api, app: str) -> dict[str, Any]:
    sets = apps.list_namespaced_replica_set(
        "default", label_selector=f"app={app}"
    ).items
    return {
        rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs for rs in sets
    }


# ---- item 31: readiness holds a rollout back ------------------------------------------


def test_a_pod_that_never_becomes_ready_holds_the_rollout_until_its_deadline(
    kubectl: Kubectl, core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    manifest = probed("stuck", 2, progressDeadlineSeconds=4)
    kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))
    kubectl("apply", "-f", "-", input=yaml.safe_dump(service("stuck")))
    eventually(lambda: rolled_out(apps, "stuck", 2), what="the first rollout")

    kubectl("patch", "deployment", "stuck", "-p", FAIL_READINESS)
    waiting = kubectl(
        "rollout", "status", "deployment/stuck", "--timeout=60s", check=False
    )

    assert waiting.returncode != 0
    assert (
        'Waiting for deployment "stuck" rollout to finish: 1 out of 2 new replicas have been updated...'
        in waiting.stdout
    )
    assert 'error: deployment "stuck" exceeded its progress deadline' in waiting.stderr
    new = unready_running_pod(core, "stuck")
    assert new is not None, "the new pod runs, unready"
    status = apps.read_namespaced_deployment("stuck", "default").status
    assert (status.replicas, status.updated_replicas, status.ready_replicas) == (
        3,
        1,
        2,
    )
    assert (status.available_replicas, status.unavailable_replicas) == (2, 1)
    progressing = {c.type: c for c in status.conditions}["Progressing"]
    assert (progressing.status, progressing.reason) == (
        "False",
        "ProgressDeadlineExceeded",
    )
    sets = replica_sets(apps, "stuck")
    assert (sets["1"].spec.replicas, sets["2"].spec.replicas) == (2, 1), (
        "the old set is not scaled down"
    )


def test_the_unready_pod_is_kept_apart_by_endpoints_and_slices(
    core: k8s.CoreV1Api, api_client: k8s.ApiClient
) -> None:
    new = eventually(lambda: unready_running_pod(core, "stuck"), what="the unready pod")
    ready_ips = {p.status.pod_ip for p in live_pods(core, "stuck") if is_ready(p)}

    (subset,) = core.read_namespaced_endpoints("stuck", "default").subsets
    assert {a.ip for a in subset.addresses} == ready_ips and len(ready_ips) == 2
    assert [a.ip for a in subset.not_ready_addresses] == [new.status.pod_ip]
    (slice_,) = (
        k8s.DiscoveryV1Api(api_client)
        .list_namespaced_endpoint_slice(
            "default", label_selector="kubernetes.io/service-name=stuck"
        )
        .items
    )
    readiness = {e.addresses[0]: e.conditions.ready for e in slice_.endpoints}
    assert readiness == {**dict.fromkeys(ready_ips, True), new.status.pod_ip: False}


def test_undoing_the_stuck_rollout_returns_to_the_ready_revision(
    kubectl: Kubectl, core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    kubectl("rollout", "undo", "deployment/stuck")
    done = kubectl("rollout", "status", "deployment/stuck", "--timeout=60s")

    assert done.stdout.rstrip().endswith('deployment "stuck" successfully rolled out')
    eventually(
        lambda: (
            unready_running_pod(core, "stuck") is None
            and len(live_pods(core, "stuck")) == 2
        ),
        what="the unready pod to go",
    )
    assert all(is_ready(p) for p in live_pods(core, "stuck"))
    assert replica_sets(apps, "stuck")["3"].spec.replicas == 2, (
        "revision 1 came back as revision 3"
    )


# ---- item 32: which pods a scale-down removes -----------------------------------------


def test_scale_down_removes_the_unready_pod_then_the_cheapest_to_delete(
    kubectl: Kubectl, core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump(probed("ranked", 3)))
    eventually(lambda: rolled_out(apps, "ranked", 3), what="3 ready pods")
    unready, cheap, keeper = sorted(p.metadata.name for p in live_pods(core, "ranked"))
    kubectl("annotate", "pod", unready, f"{READINESS}=fail")
    kubectl("annotate", "pod", cheap, "controller.kubernetes.io/pod-deletion-cost=-100")
    eventually(
        lambda: unready_running_pod(core, "ranked") is not None,
        what="a pod to turn unready",
    )

    kubectl("scale", "deployment/ranked", "--replicas=2")
    eventually(lambda: len(live_pods(core, "ranked")) == 2, what="one pod removed")
    assert unready not in {p.metadata.name for p in live_pods(core, "ranked")}

    kubectl("scale", "deployment/ranked", "--replicas=1")
    eventually(lambda: len(live_pods(core, "ranked")) == 1, what="one pod left")
    assert [p.metadata.name for p in live_pods(core, "ranked")] == [keeper]
