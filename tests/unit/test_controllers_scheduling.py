"""The scheduler: filters, the unschedulable message, binding and retries."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.scheduler import tolerates, unschedulable_message
from tests.conftest import CONTROLLER_TIMINGS, InCluster

CONTROL_PLANE = "kubecourse-control-plane"


def pod(name: str, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "nginx"}
    if "requests" in spec:
        container["resources"] = {"requests": spec.pop("requests")}
    return {"metadata": {"name": name}, "spec": {"containers": [container], **spec}}


def scheduled(kube: Any, ns: str, name: str) -> str | None:
    found = kube.get("pods", ns, name)
    return found["spec"].get("nodeName") if found else None


def events(kube: Any, ns: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in kube.items("events", ns) if e["reason"] == reason]


def test_bound_pod_gets_pod_scheduled_condition_and_scheduled_event(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("bind")
    kube.create("pods", ns, pod("web"))

    node = eventually(lambda: scheduled(kube, ns, "web"), what="binding")

    condition = podutil.condition(kube.get("pods", ns, "web"), "PodScheduled")
    assert condition is not None and condition["status"] == "True"
    (event,) = events(kube, ns, "Scheduled")
    assert event["message"] == f"Successfully assigned {ns}/web to {node}"
    # 1.37's kube-scheduler records through events.k8s.io/v1: no legacy source or times
    assert (event["action"], event["reportingComponent"]) == ("Binding", "default-scheduler")
    assert event["reportingInstance"] == "default-scheduler-kubecourse-control-plane"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", event["eventTime"])
    assert (event["source"], event["firstTimestamp"], event["lastTimestamp"]) == ({}, None, None)
    assert "count" not in event


def test_pod_too_big_for_every_node_stays_pending_with_failed_scheduling(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("toobig")
    kube.create("pods", ns, pod("huge", requests={"cpu": "64"}))

    (event,) = eventually(
        lambda: events(kube, ns, "FailedScheduling"), what="FailedScheduling"
    )

    expected = (
        "0/4 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu. preemption: 0/4 "
        "nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption "
        "victims found for incoming pod."
    )
    assert event["message"] == expected
    assert event["type"] == "Warning"
    found = kube.get("pods", ns, "huge")
    condition = podutil.condition(found, "PodScheduled")
    assert condition is not None
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False",
        "Unschedulable",
        expected,
    )
    assert found["status"]["phase"] == "Pending" and not found["spec"].get("nodeName")


def test_requests_of_already_scheduled_pods_count_against_a_node(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("fill")
    selector = {"kubernetes.io/hostname": "kubecourse-worker2"}
    kube.create("pods", ns, pod("first", requests={"cpu": "3"}, nodeSelector=selector))
    eventually(lambda: scheduled(kube, ns, "first"), what="first pod bound")

    kube.create("pods", ns, pod("second", requests={"cpu": "2"}, nodeSelector=selector))

    (event,) = eventually(
        lambda: events(kube, ns, "FailedScheduling"), what="FailedScheduling"
    )
    assert "1 Insufficient cpu" in event["message"]
    assert "2 node(s) didn't match Pod's node affinity/selector" in event["message"]


def test_waiting_pod_is_scheduled_once_room_is_freed(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("retry")
    selector = {"kubernetes.io/hostname": "kubecourse-worker3"}
    kube.create(
        "pods", ns, pod("hog", requests={"memory": "7Gi"}, nodeSelector=selector)
    )
    eventually(lambda: scheduled(kube, ns, "hog"), what="hog bound")
    kube.create(
        "pods", ns, pod("waiter", requests={"memory": "2Gi"}, nodeSelector=selector)
    )
    eventually(
        lambda: events(kube, ns, "FailedScheduling"), what="waiter unschedulable"
    )

    kube.delete("pods", ns, "hog")

    assert (
        eventually(lambda: scheduled(kube, ns, "waiter"), what="waiter bound")
        == "kubecourse-worker3"
    )


def test_node_selector_and_required_affinity_pick_the_node(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("affinity")
    kube.create(
        "pods",
        ns,
        pod(
            "by-selector", nodeSelector={"kubernetes.io/hostname": "kubecourse-worker2"}
        ),
    )
    term = {
        "matchExpressions": [
            {
                "key": "kubernetes.io/hostname",
                "operator": "NotIn",
                "values": ["kubecourse-worker", "kubecourse-worker2"],
            }
        ]
    }
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [term]
            }
        }
    }
    kube.create("pods", ns, pod("by-affinity", affinity=affinity))

    assert (
        eventually(lambda: scheduled(kube, ns, "by-selector")) == "kubecourse-worker2"
    )
    assert (
        eventually(lambda: scheduled(kube, ns, "by-affinity")) == "kubecourse-worker3"
    )


def test_control_plane_takes_only_pods_that_tolerate_its_taint(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("tolerate")
    selector = {"node-role.kubernetes.io/control-plane": ""}
    toleration = [
        {
            "key": "node-role.kubernetes.io/control-plane",
            "operator": "Exists",
            "effect": "NoSchedule",
        }
    ]
    kube.create(
        "pods", ns, pod("tolerant", nodeSelector=selector, tolerations=toleration)
    )
    kube.create("pods", ns, pod("intolerant", nodeSelector=selector))

    assert eventually(lambda: scheduled(kube, ns, "tolerant")) == CONTROL_PLANE
    (event,) = eventually(lambda: events(kube, ns, "FailedScheduling"))
    assert event["involvedObject"]["name"] == "intolerant"
    assert (
        "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
        in event["message"]
    )


def test_cordoned_node_gets_no_new_pods(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("cordon")
    kube.patch("nodes", None, "kubecourse-worker", {"spec": {"unschedulable": True}})
    try:
        kube.create(
            "pods",
            ns,
            pod("web", nodeSelector={"kubernetes.io/hostname": "kubecourse-worker"}),
        )
        (event,) = eventually(lambda: events(kube, ns, "FailedScheduling"))
        assert "1 node(s) were unschedulable" in event["message"]
    finally:
        kube.patch(
            "nodes", None, "kubecourse-worker", {"spec": {"unschedulable": None}}
        )
    assert (
        eventually(lambda: scheduled(kube, ns, "web"), what="bound after uncordon")
        == "kubecourse-worker"
    )


def test_pod_for_another_scheduler_is_left_alone(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("other")
    kube.create("pods", ns, pod("custom", schedulerName="my-scheduler"))
    kube.create("pods", ns, pod("marker"))

    eventually(lambda: scheduled(kube, ns, "marker"), what="marker bound")
    assert scheduled(kube, ns, "custom") is None


def test_toleration_matching_follows_operator_key_value_and_effect() -> None:
    taint = {"key": "gpu", "value": "yes", "effect": "NoSchedule"}

    def spec(*tolerations: dict[str, Any]) -> dict[str, Any]:
        return {"spec": {"tolerations": list(tolerations)}}

    assert tolerates(spec({"key": "gpu", "operator": "Equal", "value": "yes"}), taint)
    assert tolerates(spec({"operator": "Exists"}), taint)
    assert tolerates(
        spec({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}), taint
    )
    assert not tolerates(spec({"key": "gpu", "value": "no"}), taint)
    assert not tolerates(
        spec({"key": "gpu", "operator": "Exists", "effect": "NoExecute"}), taint
    )
    assert not tolerates(spec(), taint)


def test_unschedulable_message_sorts_reasons_like_the_real_scheduler() -> None:
    reasons = {
        "a": ["node(s) were unschedulable"],
        "b": ["Insufficient cpu", "Insufficient memory"],
        "c": ["Insufficient cpu"],
    }

    assert unschedulable_message(3, reasons) == (
        "0/3 nodes are available: 1 Insufficient memory, 1 node(s) were unschedulable, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not "
        "helpful for scheduling, 2 No preemption victims found for incoming pod."
    )


def test_pods_without_requests_still_fill_the_emptiest_node_first(
    eventually: Any,
) -> None:
    """Scoring counts a container that requests nothing as 100m CPU / 200Mi on its node
    (upstream's non-zero requests), so unrelated pods do not pile up on one worker."""
    with EmbeddedCluster(ClusterOptions(timings=CONTROLLER_TIMINGS)) as cluster:
        kube = InCluster(cluster)
        ns = kube.namespace("spread-unowned")
        nodes: list[str] = []
        for i in range(6):
            kube.create("pods", ns, pod(f"loner-{i}"))
            nodes.append(eventually(lambda i=i: scheduled(kube, ns, f"loner-{i}"), what="binding"))

    assert len(set(nodes[:3])) == 3, nodes
    assert sorted(Counter(nodes).values()) == [2, 2, 2], nodes
