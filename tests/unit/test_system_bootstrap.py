"""The system objects across cluster starts: installed once, kept on restart, added to a
store that predates them, left out on request; the API server's bootstrap repairs."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers import podutil
from tests.conftest import CONTROLLER_TIMINGS, InCluster, poll_until

TIMINGS = dataclasses.replace(CONTROLLER_TIMINGS, apiserver_endpoint_interval=0.2)
SYSTEM_NAMESPACES = ("kube-system", "local-path-storage")


def start(state: Path | None = None, **options: Any) -> EmbeddedCluster:
    return EmbeddedCluster(
        ClusterOptions(timings=TIMINGS, state_dir=state, **options)
    ).start()


def system_pods(kube: InCluster) -> list[dict[str, Any]]:
    return [p for ns in SYSTEM_NAMESPACES for p in kube.items("pods", ns)]


def settled(kube: InCluster) -> list[dict[str, Any]]:
    """The 15 system pods, all Running and Ready."""
    pods = system_pods(kube)
    ready = [p for p in pods if podutil.is_ready(p) and not podutil.is_terminating(p)]
    return pods if len(pods) == 15 and len(ready) == 15 else []


def census(kube: InCluster) -> Counter[str]:
    """How many of each kind of system object there are."""
    counts: Counter[str] = Counter()
    for resource in (
        "deployments.apps",
        "daemonsets.apps",
        "services",
        "configmaps",
        "serviceaccounts",
    ):
        for ns in SYSTEM_NAMESPACES:
            counts[resource] += len(kube.items(resource, ns))
    counts["storageclasses"] = len(kube.items("storageclasses.storage.k8s.io"))
    counts["nodes"] = len(kube.items("nodes"))
    for pod in system_pods(kube):
        owner = (pod["metadata"].get("ownerReferences") or [{}])[0].get("kind", "")
        counts[f"pods of a {owner}"] += 1
    return counts


def test_a_restarted_cluster_keeps_one_of_each_system_object(tmp_path: Path) -> None:
    first = start(tmp_path)
    try:
        kube = InCluster(first)
        poll_until(lambda: settled(kube), what="system pods ready")
        before = census(kube)
        uids = {p["metadata"]["name"]: p["metadata"]["uid"] for p in system_pods(kube)}
    finally:
        first.stop()

    again = start(tmp_path)
    try:
        kube = InCluster(again)
        poll_until(lambda: settled(kube), what="system pods ready after the restart")
        after = census(kube)
        kept = {p["metadata"]["name"]: p["metadata"]["uid"] for p in system_pods(kube)}
    finally:
        again.stop()

    assert after == before
    assert before["pods of a Node"] == 4 and before["pods of a DaemonSet"] == 8
    assert before["pods of a ReplicaSet"] == 3 and before["storageclasses"] == 1
    assert kept == uids  # the same pods, not new ones


def test_a_store_from_before_the_system_objects_gets_them_on_start(
    tmp_path: Path,
) -> None:
    old = start(tmp_path, system_workloads=False)
    try:
        kube = InCluster(old)
        kube.delete("storageclasses.storage.k8s.io", None, "standard")
        assert (
            not system_pods(kube)
            and kube.get("configmaps", "kube-system", "kubeadm-config") is None
        )
    finally:
        old.stop()

    upgraded = start(tmp_path)
    try:
        kube = InCluster(upgraded)
        poll_until(lambda: settled(kube), what="system pods after the upgrade")
        counts = census(kube)
        assert kube.get("configmaps", "kube-system", "kubeadm-config") is not None
        assert kube.get("storageclasses.storage.k8s.io", None, "standard") is not None
    finally:
        upgraded.stop()

    assert (
        counts["pods of a Node"] == 4
        and counts["pods of a DaemonSet"] == 8
        and counts["nodes"] == 4
    )


def test_without_system_workloads_no_pod_runs_yet_claims_still_bind(
    eventually: Any,
) -> None:
    cluster = start(system_workloads=False)
    try:
        kube = InCluster(cluster)
        assert not kube.items("pods") and len(kube.items("nodes")) == 4
        assert kube.get("services", "default", "kubernetes") is not None
        assert kube.get("deployments.apps", "kube-system", "coredns") is None
        claim = {
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
        kube.create("persistentvolumeclaims", "default", claim)
        user = {
            "metadata": {"name": "user"},
            "spec": {
                "containers": [{"name": "c", "image": "nginx:1.27"}],
                "volumes": [
                    {"name": "d", "persistentVolumeClaim": {"claimName": "data"}}
                ],
            },
        }
        kube.create("pods", "default", user)

        eventually(
            lambda: (
                (
                    kube.get("persistentvolumeclaims", "default", "data")["status"]
                    or {}
                ).get("phase")
                == "Bound"
            )
        )
        sources = {
            e["source"]["component"]
            for e in kube.items("events", "default")
            if e["reason"] == "ProvisioningSucceeded"
        }
        assert sources == {"rancher.io/local-path"}  # no provisioner pod to name
    finally:
        cluster.stop()


def test_the_bootstrap_controller_puts_the_kubernetes_endpoints_back(
    eventually: Any,
) -> None:
    cluster = start(system_workloads=False)
    try:
        kube = InCluster(cluster)
        endpoints = kube.get("endpoints", "default", "kubernetes")
        endpoints["subsets"][0]["addresses"] = [{"ip": "10.0.0.99"}]
        kube.update("endpoints", "default", endpoints)
        kube.delete("endpointslices.discovery.k8s.io", "default", "kubernetes")

        eventually(
            lambda: (
                kube.get("endpoints", "default", "kubernetes")["subsets"][0][
                    "addresses"
                ]
                == [{"ip": "172.18.0.2"}]
            )
        )
        eventually(
            lambda: kube.get("endpointslices.discovery.k8s.io", "default", "kubernetes")
        )
    finally:
        cluster.stop()


def test_an_api_only_cluster_registers_every_node_at_once() -> None:
    cluster = start(run_controllers=False)
    try:
        kube = InCluster(cluster)
        assert len(kube.items("nodes")) == 4
        assert (
            kube.get("deployments.apps", "kube-system", "coredns") is not None
        )  # installed, not run
        assert not kube.items("pods")
    finally:
        cluster.stop()


def test_a_deleted_node_is_registered_again_when_the_cluster_restarts(
    tmp_path: Path,
) -> None:
    first = start(tmp_path, run_controllers=False)
    try:
        kube = InCluster(first)
        old = kube.get("nodes", None, "kubecourse-worker3")
        kube.delete("nodes", None, "kubecourse-worker3")
        assert kube.get("nodes", None, "kubecourse-worker3") is None
    finally:
        first.stop()

    again = start(tmp_path, run_controllers=False)
    try:
        kube = InCluster(again)
        back = kube.get("nodes", None, "kubecourse-worker3")
    finally:
        again.stop()

    assert back is not None and back["metadata"]["uid"] != old["metadata"]["uid"]
    assert back["spec"]["podCIDR"] == old["spec"]["podCIDR"]
