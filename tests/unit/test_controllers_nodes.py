"""Node heartbeats (Leases), the power extra, the node lifecycle controller and taint
eviction, with the grace period and tolerationSeconds shortened to about a second."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Timings
from kubecourse.embedded.controllers.kubelet import (
    LEASES,
    parse_micro_time,
    powered_off,
)
from kubecourse.embedded.controllers.nodelifecycle import _time_left
from tests.conftest import InCluster

TIMINGS = Timings(
    schedule_delay=0.01,
    container_create_delay=0.05,
    container_start_delay=0.05,
    pod_termination_delay=0.05,
    node_lease_renew=0.2,
    node_status_update=0.5,
    node_monitor_grace_period=1.0,
)
DEPLOYMENTS = "deployments.apps"
WORKERS = ("kubecourse-worker", "kubecourse-worker2", "kubecourse-worker3")
MICRO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


@pytest.fixture(scope="module")
def kube() -> Iterator[InCluster]:
    failures = _Failures()
    logger = logging.getLogger("kubecourse.embedded.controllers")
    logger.addHandler(failures)
    try:
        with EmbeddedCluster(ClusterOptions(timings=TIMINGS)) as running:
            yield InCluster(running)
    finally:
        logger.removeHandler(failures)
    assert not failures.messages, "controllers failed:\n" + "\n".join(failures.messages)


def power(kube: Any, node: str, state: str) -> None:
    kube.patch("nodes", None, node, {"metadata": {"annotations": {"kubecourse.io/power": state}}})


def ready_status(kube: Any, node: str) -> str | None:
    entry = podutil.condition(kube.get("nodes", None, node), "Ready")
    return None if entry is None else str(entry["status"])


def taints(kube: Any, node: str) -> list[dict[str, Any]]:
    return list(kube.get("nodes", None, node)["spec"].get("taints") or [])


def deployment(name: str, replicas: int, toleration_seconds: int | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": "nginx:1.27-alpine"}]}
    if toleration_seconds is not None:
        spec["tolerations"] = [
            {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": toleration_seconds}
            for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
        ]
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


def reasons_for(kube: Any, ns: str, name: str) -> list[str]:
    return [e["reason"] for e in kube.items("events", ns) if e["involvedObject"]["name"] == name]


def test_every_node_renews_its_lease_and_posts_heartbeats(kube: Any, eventually: Any) -> None:
    leases = eventually(lambda: len(kube.items(LEASES, "kube-node-lease")) == 4 and kube.items(LEASES, "kube-node-lease"))
    for lease in leases:
        node = kube.get("nodes", None, lease["metadata"]["name"])
        assert lease["spec"]["holderIdentity"] == node["metadata"]["name"]
        assert lease["spec"]["leaseDurationSeconds"] == 40
        assert re.fullmatch(MICRO, lease["spec"]["renewTime"])
        assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
    first = kube.get(LEASES, "kube-node-lease", "kubecourse-worker")["spec"]["renewTime"]
    eventually(lambda: kube.get(LEASES, "kube-node-lease", "kubecourse-worker")["spec"]["renewTime"] != first, timeout=3)
    beat = podutil.condition(kube.get("nodes", None, "kubecourse-worker"), "Ready")["lastHeartbeatTime"]
    eventually(
        lambda: podutil.condition(kube.get("nodes", None, "kubecourse-worker"), "Ready")["lastHeartbeatTime"] != beat,
        timeout=4,
        what="a newer lastHeartbeatTime",
    )
    assert all(ready_status(kube, n) == "True" for n in WORKERS)


def test_a_powered_off_node_goes_unknown_its_pods_are_evicted_and_replaced_elsewhere(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("poweroff")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=3, toleration_seconds=1))
    pods = eventually(
        lambda: (found := [p for p in kube.items("pods", ns) if podutil.is_ready(p)]) and len(found) == 3 and found,
        what="three ready pods",
    )
    victim = pods[0]["spec"]["nodeName"]
    on_victim = {p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == victim}
    renewed = kube.get(LEASES, "kube-node-lease", victim)["spec"]["renewTime"]

    power(kube, victim, "off")
    assert powered_off(kube.get("nodes", None, victim))
    time.sleep(0.5)  # within the grace period: still Ready, but the Lease is no longer renewed
    assert ready_status(kube, victim) == "True"
    assert kube.get(LEASES, "kube-node-lease", victim)["spec"]["renewTime"] == renewed

    eventually(lambda: ready_status(kube, victim) == "Unknown", timeout=5, what="Ready=Unknown")
    node = kube.get("nodes", None, victim)
    for entry in node["status"]["conditions"]:
        assert (entry["status"], entry["reason"], entry["message"]) == (
            "Unknown",
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        )
    found = eventually(lambda: len(taints(kube, victim)) == 2 and taints(kube, victim), timeout=3, what="taints")
    assert {(t["key"], t["effect"]) for t in found} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }
    assert all(t.get("timeAdded") for t in found)
    assert "NodeNotReady" in reasons_for(kube, "default", victim)

    # tolerationSeconds 1: evicted, kept Terminating (no kubelet confirms), replaced elsewhere
    def evicted() -> bool:
        live = {p["metadata"]["name"]: p for p in kube.items("pods", ns)}
        return all(podutil.is_terminating(live[name]) for name in on_victim if name in live)

    eventually(evicted, timeout=5, what="pods on the lost node marked for deletion")
    for name in on_victim:
        pod = kube.get("pods", ns, name)
        assert pod is not None and podutil.is_terminating(pod)
        assert not podutil.is_ready(pod)
        assert podutil.condition(pod, "DisruptionTarget")["reason"] == "DeletionByTaintManager"
        assert "TaintManagerEviction" in reasons_for(kube, ns, name)
    replacements = eventually(
        lambda: (
            found := [p for p in kube.items("pods", ns) if not podutil.is_terminating(p) and podutil.is_ready(p)]
        )
        and len(found) == 3
        and found,
        timeout=5,
        what="three ready replacements",
    )
    assert all(p["spec"]["nodeName"] != victim for p in replacements)

    power(kube, victim, "on")
    eventually(lambda: ready_status(kube, victim) == "True", timeout=5, what="Ready=True again")
    eventually(lambda: not taints(kube, victim), timeout=5, what="taints removed")
    eventually(
        lambda: all(kube.get("pods", ns, name) is None for name in on_victim),
        timeout=5,
        what="terminating pods finalized by the returning kubelet",
    )
    assert "NodeReady" in reasons_for(kube, "default", victim)


def test_pods_of_a_lost_node_are_marked_not_ready_and_default_tolerations_keep_them(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("notready")
    node = "kubecourse-worker3"
    kube.create(
        "pods",
        ns,
        {
            "metadata": {"name": "pinned"},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": node},
                "containers": [{"name": "main", "image": "nginx:1.27-alpine"}],
            },
        },
    )
    eventually(lambda: podutil.is_ready(kube.get("pods", ns, "pinned")), what="a ready pod")
    power(kube, node, "off")
    try:
        eventually(lambda: ready_status(kube, node) == "Unknown", timeout=5)
        pod = eventually(lambda: (p := kube.get("pods", ns, "pinned")) and not podutil.is_ready(p) and p)
        assert "NodeNotReady" in reasons_for(kube, ns, "pinned")
        time.sleep(1.0)  # the default toleration is 300 s: still there, not deleted
        assert not podutil.is_terminating(kube.get("pods", ns, "pinned"))
        assert podutil.condition(pod, "ContainersReady")["status"] == "True"  # as reported last
    finally:
        power(kube, node, "on")
    eventually(lambda: podutil.is_ready(kube.get("pods", ns, "pinned")), timeout=5, what="ready again")
    eventually(lambda: not taints(kube, node), timeout=5)


def test_a_no_execute_taint_evicts_untolerating_pods_at_once(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("taint")
    node = "kubecourse-worker2"
    kube.create(
        "pods",
        ns,
        {
            "metadata": {"name": "plain"},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": node},
                "containers": [{"name": "main", "image": "nginx:1.27-alpine"}],
            },
        },
    )
    eventually(lambda: podutil.is_ready(kube.get("pods", ns, "plain")), what="a ready pod")
    kube.patch("nodes", None, node, {"spec": {"taints": [{"key": "maintenance", "effect": "NoExecute"}]}})
    try:
        eventually(lambda: kube.get("pods", ns, "plain") is None, timeout=5, what="the pod evicted and gone")
        assert "TaintManagerEviction" in reasons_for(kube, ns, "plain")
    finally:
        kube.patch("nodes", None, node, {"spec": {"taints": None}})


def test_time_left_follows_toleration_seconds_from_time_added() -> None:
    taint = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2025-01-01T00:00:00Z"}
    start = 1735689600.0  # 2025-01-01T00:00:00Z

    def pod(*tolerations: dict[str, Any]) -> dict[str, Any]:
        return {"spec": {"tolerations": list(tolerations)}}

    exists = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
    assert _time_left(pod(), [taint], start) == 0.0
    assert _time_left(pod(exists), [taint], start + 1000) is None
    assert _time_left(pod(exists | {"tolerationSeconds": 300}), [taint], start + 100) == 200.0
    assert _time_left(pod(exists | {"tolerationSeconds": 300}), [taint], start + 400) == -100.0
    assert parse_micro_time("2025-01-01T00:00:00.500000Z") == start + 0.5
