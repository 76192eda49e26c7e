"""The DaemonSet controller: a pod per eligible node, rolling updates, ControllerRevisions."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded.cluster import NodeSpec, node_object
from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.status import StatusError

DAEMONSETS = "daemonsets.apps"
REVISIONS = "controllerrevisions.apps"
WORKERS = ["kubecourse-worker", "kubecourse-worker2", "kubecourse-worker3"]
CONTROL_PLANE = "kubecourse-control-plane"


def daemonset(name: str, image: str = "nginx:1.27", **spec: Any) -> dict[str, Any]:
    pod_spec = {"containers": [{"name": "main", "image": image}], **spec.pop("pod", {})}
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
            **spec,
        },
    }


def nodes_with_pods(kube: Any, ns: str) -> list[str]:
    return sorted(
        p["spec"].get("nodeName", "")
        for p in kube.items("pods", ns)
        if not podutil.is_terminating(p)
    )


def rolled_out(kube: Any, ns: str, name: str, desired: int) -> dict[str, Any] | None:
    found = kube.get(DAEMONSETS, ns, name)
    status = (found or {}).get("status") or {}
    done = (
        status.get("observedGeneration") == found["metadata"]["generation"]
        and status.get("desiredNumberScheduled") == desired
        and status.get("updatedNumberScheduled") == desired
        and status.get("numberAvailable") == desired
        and len(kube.items("pods", ns)) == desired
    )
    return status if done else None


def test_daemonset_runs_one_pod_per_worker_but_not_on_the_control_plane(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("perworker")
    created = kube.create(DAEMONSETS, ns, daemonset("agent"))

    status = eventually(
        lambda: rolled_out(kube, ns, "agent", 3), what="three daemon pods"
    )

    assert nodes_with_pods(kube, ns) == WORKERS
    assert status == {
        "currentNumberScheduled": 3,
        "desiredNumberScheduled": 3,
        "numberAvailable": 3,
        "numberMisscheduled": 0,
        "numberReady": 3,
        "observedGeneration": 1,
        "updatedNumberScheduled": 3,
    }
    pod = kube.items("pods", ns)[0]
    node = pod["spec"]["nodeName"]
    assert pod["metadata"]["name"].startswith("agent-")
    assert pod["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    term = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert term == {
        "nodeSelectorTerms": [
            {
                "matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": [node]}
                ]
            }
        ]
    }
    tolerated = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert tolerated == {
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    }
    assert all("tolerationSeconds" not in t for t in pod["spec"]["tolerations"])
    (revision,) = kube.items(REVISIONS, ns)
    assert revision["revision"] == 1
    assert (
        revision["metadata"]["name"]
        == f"agent-{pod['metadata']['labels']['controller-revision-hash']}"
    )
    assert revision["data"]["spec"]["template"]["$patch"] == "replace"
    assert (
        kube.get(DAEMONSETS, ns, "agent")["metadata"]["annotations"][
            "deprecated.daemonset.template.generation"
        ]
        == "1"
    )


def test_tolerating_the_control_plane_taint_adds_a_pod_there(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("everywhere")
    toleration = {
        "key": "node-role.kubernetes.io/control-plane",
        "operator": "Exists",
        "effect": "NoSchedule",
    }
    kube.create(
        DAEMONSETS,
        ns,
        daemonset("logs", pod={"tolerations": [toleration], "hostNetwork": True}),
    )

    eventually(lambda: rolled_out(kube, ns, "logs", 4), what="four daemon pods")

    assert nodes_with_pods(kube, ns) == sorted([CONTROL_PLANE, *WORKERS])
    pod = kube.items("pods", ns)[0]
    assert {
        "key": "node.kubernetes.io/network-unavailable",
        "operator": "Exists",
        "effect": "NoSchedule",
    } in pod["spec"]["tolerations"]


def test_node_labels_decide_where_pods_run_and_relabelling_is_reconciled(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("selector")
    kube.create(DAEMONSETS, ns, daemonset("ssd", pod={"nodeSelector": {"disk": "ssd"}}))
    eventually(
        lambda: (
            kube.get(DAEMONSETS, ns, "ssd").get("status", {}).get("observedGeneration")
        ),
        what="observed",
    )
    assert kube.get(DAEMONSETS, ns, "ssd")["status"]["desiredNumberScheduled"] == 0

    try:
        kube.patch(
            "nodes",
            None,
            "kubecourse-worker2",
            {"metadata": {"labels": {"disk": "ssd"}}},
        )
        eventually(
            lambda: nodes_with_pods(kube, ns) == ["kubecourse-worker2"],
            what="a pod on the labelled node",
        )
        kube.patch(
            "nodes",
            None,
            "kubecourse-worker3",
            {"metadata": {"labels": {"disk": "ssd"}}},
        )
        kube.patch(
            "nodes",
            None,
            "kubecourse-worker2",
            {"metadata": {"labels": {"disk": None}}},
        )

        eventually(
            lambda: nodes_with_pods(kube, ns) == ["kubecourse-worker3"],
            what="the pod following the label",
        )
    finally:
        kube.patch(
            "nodes",
            None,
            "kubecourse-worker2",
            {"metadata": {"labels": {"disk": None}}},
        )
        kube.patch(
            "nodes",
            None,
            "kubecourse-worker3",
            {"metadata": {"labels": {"disk": None}}},
        )
    eventually(
        lambda: (
            rolled_out(kube, ns, "ssd", 0) is not None or not kube.items("pods", ns)
        ),
        what="no pods",
    )


def test_a_new_node_gets_a_daemon_pod(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("newnode")
    kube.create(DAEMONSETS, ns, daemonset("probe"))
    eventually(lambda: rolled_out(kube, ns, "probe", 3), what="three pods")

    kube.create("nodes", None, node_object(NodeSpec("kubecourse-worker9", 9)))
    try:
        eventually(
            lambda: rolled_out(kube, ns, "probe", 4),
            what="a fourth pod, on the new node",
        )
        assert "kubecourse-worker9" in nodes_with_pods(kube, ns)
    finally:
        kube.delete(DAEMONSETS, ns, "probe")
        eventually(lambda: not kube.items("pods", ns), what="the daemon pods gone")
        kube.delete("nodes", None, "kubecourse-worker9")


def test_rolling_update_replaces_one_node_at_a_time_and_records_a_revision(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("rolling")
    kube.create(DAEMONSETS, ns, daemonset("web"))
    eventually(lambda: rolled_out(kube, ns, "web", 3), what="first rollout")
    available: list[int] = []

    def watch(change: Any) -> None:
        if change.resource == "pods" and change.obj["metadata"]["namespace"] == ns:
            pods = kube.cluster.store.items("pods", ns)
            available.append(
                sum(
                    1
                    for p in pods
                    if podutil.is_ready(p) and not podutil.is_terminating(p)
                )
            )

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    kube.patch(
        DAEMONSETS,
        ns,
        "web",
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}
                }
            }
        },
    )

    eventually(lambda: rolled_out(kube, ns, "web", 3), what="the rolling update")

    assert min(available) >= 2  # maxUnavailable 1 of 3
    revisions = sorted(kube.items(REVISIONS, ns), key=lambda r: r["revision"])
    assert [r["revision"] for r in revisions] == [1, 2]
    hashes = {
        p["metadata"]["labels"]["controller-revision-hash"]
        for p in kube.items("pods", ns)
    }
    assert hashes == {revisions[1]["metadata"]["labels"]["controller-revision-hash"]}
    assert {
        p["metadata"]["labels"]["pod-template-generation"]
        for p in kube.items("pods", ns)
    } == {"2"}


def test_on_delete_keeps_old_pods_until_they_are_deleted(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ondelete")
    kube.create(
        DAEMONSETS, ns, daemonset("manual", updateStrategy={"type": "OnDelete"})
    )
    eventually(lambda: rolled_out(kube, ns, "manual", 3), what="first rollout")
    kube.patch(
        DAEMONSETS,
        ns,
        "manual",
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}
                }
            }
        },
    )
    eventually(
        lambda: kube.get(DAEMONSETS, ns, "manual")["status"]["observedGeneration"] == 2,
        what="observed",
    )

    status = kube.get(DAEMONSETS, ns, "manual")["status"]
    assert "updatedNumberScheduled" not in status  # 0: nothing replaced on its own
    victim = kube.items("pods", ns)[0]
    kube.delete("pods", ns, victim["metadata"]["name"])

    replaced = eventually(
        lambda: (
            kube.get(DAEMONSETS, ns, "manual")["status"].get("updatedNumberScheduled")
            == 1
            and kube.get(DAEMONSETS, ns, "manual")["status"].get("numberAvailable") == 3
        ),
        what="one pod replaced from the new template",
    )
    assert replaced


def test_max_surge_starts_the_new_pod_before_the_old_one_goes(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("surge")
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    kube.create(DAEMONSETS, ns, daemonset("edge", updateStrategy=strategy))
    eventually(lambda: rolled_out(kube, ns, "edge", 3), what="first rollout")
    ready: list[int] = []

    def watch(change: Any) -> None:
        if change.resource == "pods" and change.obj["metadata"]["namespace"] == ns:
            pods = kube.cluster.store.items("pods", ns)
            ready.append(sum(1 for p in pods if podutil.is_ready(p) and not podutil.is_terminating(p)))

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    new_image = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}}
    kube.patch(DAEMONSETS, ns, "edge", new_image)

    eventually(lambda: rolled_out(kube, ns, "edge", 3), what="the surging update")

    assert min(ready) >= 3  # never below one ready pod per node
    assert max(ready) >= 4  # a node held its old and its new pod at once


def test_surge_with_the_default_max_unavailable_is_refused(kube: Any) -> None:
    ns = kube.namespace("badstrategy")
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}

    with pytest.raises(StatusError) as refused:
        kube.create(DAEMONSETS, ns, daemonset("both", updateStrategy=strategy))

    assert refused.value.code == 422
    (cause,) = refused.value.details["causes"]
    assert cause["field"] == "spec.updateStrategy.rollingUpdate.maxSurge"
    assert cause["message"] == "Invalid value: 1: may not be set when maxUnavailable is non-zero"
    assert kube.get(DAEMONSETS, ns, "both") is None
