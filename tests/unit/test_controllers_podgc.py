"""The pod garbage collector: Pods of a deleted Node, and unscheduled terminating Pods."""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.cluster import NodeSpec, node_object
from kubecourse.embedded.controllers import podutil

CONTAINERS = [{"name": "main", "image": "nginx:1.27-alpine"}]


def replicaset(name: str, replicas: int, node: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": CONTAINERS, "nodeSelector": {"pin": node}},
            },
        },
    }


def test_pods_of_a_deleted_node_are_failed_deleted_and_replaced(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("podgc")
    node = node_object(NodeSpec("kubecourse-worker8", 8))
    node["metadata"]["labels"]["pin"] = "gone"
    kube.create("nodes", None, node)
    kube.create("replicasets.apps", ns, replicaset("x", 2, "gone"))
    first = eventually(
        lambda: (
            [p for p in kube.items("pods", ns) if podutil.is_ready(p)]
            if len([p for p in kube.items("pods", ns) if podutil.is_ready(p)]) == 2
            else None
        ),
        what="two running pods on the new node",
    )
    names = {p["metadata"]["name"] for p in first}

    kube.delete("nodes", None, "kubecourse-worker8")

    eventually(
        lambda: all(kube.get("pods", ns, n) is None for n in names),
        what="the orphaned pods deleted",
    )
    replacements = eventually(
        lambda: [
            p for p in kube.items("pods", ns) if p["metadata"]["name"] not in names
        ],
        what="replacement pods",
    )
    assert all(not p["spec"].get("nodeName") for p in replacements)  # no node fits


def held_pod(name: str, **spec: Any) -> dict[str, Any]:
    """A Pod whose deletion a finalizer holds, so what PodGC wrote stays visible."""
    return {
        "metadata": {"name": name, "finalizers": ["kubecourse.io/hold"]},
        "spec": {"containers": CONTAINERS, **spec},
    }


def release(kube: Any, ns: str, name: str) -> None:
    kube.patch("pods", ns, name, {"metadata": {"finalizers": None}})


def test_a_pod_on_a_deleted_node_is_marked_failed_with_a_disruption_condition(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("podgc-mark")
    kube.create("nodes", None, node_object(NodeSpec("kubecourse-worker7", 7)))
    kube.create("pods", ns, held_pod("p", nodeName="kubecourse-worker7"))
    eventually(
        lambda: kube.get("pods", ns, "p")["status"].get("phase") == "Running",
        what="the pod running",
    )

    kube.delete("nodes", None, "kubecourse-worker7")

    pod = eventually(
        lambda: (
            (found := kube.get("pods", ns, "p"))
            and found["metadata"].get("deletionTimestamp")
            and found
        ),
        what="the pod deleted by PodGC",
    )
    assert pod["status"]["phase"] == "Failed"
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 0
    condition = podutil.condition(pod, "DisruptionTarget")
    assert condition is not None and condition["status"] == "True"
    assert (condition["reason"], condition["message"]) == (
        "DeletionByPodGC",
        "PodGC: node no longer exists",
    )
    release(kube, ns, "p")


def test_an_unscheduled_terminating_pod_is_failed_and_deleted(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("podgc-unscheduled")
    kube.create("pods", ns, held_pod("p", nodeSelector={"nowhere": "true"}))
    kube.delete("pods", ns, "p")

    eventually(
        lambda: kube.get("pods", ns, "p")["status"].get("phase") == "Failed",
        what="the pod failed by PodGC",
    )
    assert podutil.condition(kube.get("pods", ns, "p"), "DisruptionTarget") is None
    release(kube, ns, "p")
    eventually(lambda: kube.get("pods", ns, "p") is None, what="the pod gone")


def test_the_disruption_condition_and_failed_phase_are_podgcs_marks() -> None:
    from kubecourse.embedded.controllers.podgc import GONE_NODE, failed

    pod = {"metadata": {"name": "p"}, "status": {"phase": "Running", "conditions": []}}

    marked = failed(pod, GONE_NODE)

    assert marked["status"]["phase"] == "Failed"
    (condition,) = marked["status"]["conditions"]
    assert condition["type"] == "DisruptionTarget" and condition["status"] == "True"
    assert condition["reason"] == "DeletionByPodGC"
    assert pod["status"]["phase"] == "Running"


def test_terminated_pods_beyond_the_threshold_are_deleted_oldest_first(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("podgc-threshold")
    (gc,) = [c for c in kube.cluster.controllers if c.name == "podgc"]
    done = {
        "restartPolicy": "Never",
        "containers": [{"name": "c", "image": "busybox:1.36", "command": ["true"]}],
    }
    for name in ("first", "second", "third"):
        kube.create("pods", ns, {"metadata": {"name": name}, "spec": done})
        eventually(
            lambda n=name: (
                kube.get("pods", ns, n)["status"].get("phase") == "Succeeded"
            ),
            what=f"{name} succeeded",
        )
    others = sum(1 for p in kube.items("pods") if podutil.is_terminal(p)) - 3
    assert others == 0, "older terminated pods would go first"
    try:
        kube.cluster.call(lambda: setattr(gc, "terminated_pod_threshold", 2))
        kube.cluster.call(lambda: gc.enqueue(("", "podgc")))

        eventually(
            lambda: kube.get("pods", ns, "first") is None, what="the oldest gone"
        )
        assert kube.get("pods", ns, "third") is not None
    finally:
        kube.cluster.call(lambda: setattr(gc, "terminated_pod_threshold", 12500))
