"""Deployments, ReplicaSets and their pods on a running embedded cluster."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import pytest

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.deployment import ALPHANUMS, pod_template_hash

WORKERS = {"kubecourse-worker", "kubecourse-worker2", "kubecourse-worker3"}
DEPLOYMENTS = "deployments.apps"
REPLICASETS = "replicasets.apps"


def deployment(
    name: str, replicas: int = 1, image: str = "nginx:1.27-alpine", **spec: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
            **spec,
        },
    }


def live_pods(kube: Any, namespace: str) -> list[dict[str, Any]]:
    return [p for p in kube.items("pods", namespace) if not podutil.is_terminating(p)]


def running_ready(kube: Any, namespace: str, count: int) -> list[dict[str, Any]] | None:
    pods = kube.items("pods", namespace)
    ready = [p for p in pods if podutil.is_ready(p) and p["status"].get("podIP")]
    return ready if len(ready) == count and len(pods) == count else None


def rolled_out(kube: Any, namespace: str, name: str) -> bool:
    d = kube.get(DEPLOYMENTS, namespace, name)
    status = d.get("status") or {}
    wanted = d["spec"]["replicas"]
    return (
        status.get("observedGeneration") == d["metadata"]["generation"]
        and status.get("updatedReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted
        and status.get("availableReplicas", 0) == wanted
    )


def scale(kube: Any, namespace: str, name: str, replicas: int) -> None:
    kube.patch(DEPLOYMENTS, namespace, name, {"spec": {"replicas": replicas}})


def test_deployment_pods_run_on_workers_with_ips_from_their_node_cidr_and_become_ready(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("run")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=3))

    pods = eventually(lambda: running_ready(kube, ns, 3), what="3 ready pods")

    for pod in pods:
        node = kube.get("nodes", None, pod["spec"]["nodeName"])
        cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
        ip = ipaddress.ip_address(pod["status"]["podIP"])
        assert ip in cidr and int(ip) - int(cidr.network_address) >= 2
        assert pod["status"]["phase"] == "Running"
        assert pod["status"]["podIPs"] == [{"ip": str(ip)}]
        assert pod["status"]["hostIP"] == node["status"]["addresses"][0]["address"]
    assert len({p["status"]["podIP"] for p in pods}) == 3


def test_pods_spread_over_the_three_workers_and_never_land_on_the_control_plane(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("spread")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=6))

    pods = eventually(lambda: running_ready(kube, ns, 6), what="6 ready pods")

    nodes = [p["spec"]["nodeName"] for p in pods]
    assert set(nodes) == WORKERS
    assert all(nodes.count(n) == 2 for n in WORKERS)


def test_replicaset_is_named_by_template_hash_labels_its_pods_and_carries_revision(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("hash")
    created = kube.create(DEPLOYMENTS, ns, deployment("web", replicas=2))
    eventually(lambda: rolled_out(kube, ns, "web"), what="rollout")

    (rs,) = kube.items(REPLICASETS, ns)
    hash_ = pod_template_hash(created["spec"]["template"])
    assert rs["metadata"]["name"] == f"web-{hash_}"
    assert set(hash_) <= set(ALPHANUMS)
    assert rs["spec"]["selector"]["matchLabels"] == {
        "app": "web",
        "pod-template-hash": hash_,
    }
    assert rs["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    annotations = rs["metadata"]["annotations"]
    assert annotations["deployment.kubernetes.io/revision"] == "1"
    assert annotations["deployment.kubernetes.io/desired-replicas"] == "2"
    assert annotations["deployment.kubernetes.io/max-replicas"] == "3"
    for pod in kube.items("pods", ns):
        assert pod["metadata"]["name"].startswith(f"web-{hash_}-")
        assert len(pod["metadata"]["name"]) == len(f"web-{hash_}-") + 5
        assert pod["metadata"]["labels"]["pod-template-hash"] == hash_
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]


def test_completed_rollout_reports_status_conditions_and_scaling_event(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("status")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=3))
    eventually(lambda: rolled_out(kube, ns, "web"), what="rollout")

    d = kube.get(DEPLOYMENTS, ns, "web")
    (rs,) = kube.items(REPLICASETS, ns)
    status = d["status"]
    assert status["readyReplicas"] == 3 and "unavailableReplicas" not in status
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    available, progressing = status["conditions"]
    assert (available["type"], available["status"], available["reason"]) == (
        "Available",
        "True",
        "MinimumReplicasAvailable",
    )
    assert progressing["reason"] == "NewReplicaSetAvailable"
    assert (
        progressing["message"]
        == f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.'
    )
    messages = [
        e["message"]
        for e in kube.items("events", ns)
        if e["reason"] == "ScalingReplicaSet"
    ]
    assert messages == [f"Scaled up replica set {rs['metadata']['name']} from 0 to 3"]


def test_scaling_up_and_down_removes_the_newest_doubled_up_pods(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("scale")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=1))
    (first,) = eventually(lambda: running_ready(kube, ns, 1), what="the first pod")

    def ready_long_enough() -> bool:
        since = podutil.ready_since(kube.get("pods", ns, first["metadata"]["name"]))
        return since is not None and time.time() - since >= 2.5

    eventually(ready_long_enough, what="the first pod to have been ready a while")

    scale(kube, ns, "web", 5)
    eventually(lambda: running_ready(kube, ns, 5), what="5 ready pods")
    scale(kube, ns, "web", 2)
    survivors = eventually(lambda: running_ready(kube, ns, 2), what="2 pods left")

    names = {p["metadata"]["name"] for p in survivors}
    assert first["metadata"]["name"] in names
    assert len({p["spec"]["nodeName"] for p in survivors}) == 2
    deleted = [e for e in kube.items("events", ns) if e["reason"] == "SuccessfulDelete"]
    assert len(deleted) == 3


def test_deleted_pod_is_replaced_with_a_new_name_and_a_new_ip(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("heal")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=2))
    before = eventually(lambda: running_ready(kube, ns, 2), what="2 ready pods")
    victim = before[0]

    kube.delete("pods", ns, victim["metadata"]["name"])

    def replaced() -> list[dict[str, Any]] | None:
        pods = running_ready(kube, ns, 2)
        names = {p["metadata"]["name"] for p in pods or []}
        return pods if pods and victim["metadata"]["name"] not in names else None

    after = eventually(replaced, what="a replacement pod")
    (new,) = [
        p
        for p in after
        if p["metadata"]["name"] not in {b["metadata"]["name"] for b in before}
    ]
    assert new["status"]["podIP"] != victim["status"]["podIP"]
    assert new["metadata"]["uid"] != victim["metadata"]["uid"]


def test_replacement_is_created_while_the_deleted_pod_is_still_terminating(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("terminating")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=1))
    (pod,) = eventually(lambda: running_ready(kube, ns, 1), what="a ready pod")
    seen: list[tuple[int, int]] = []

    def watch(change: Any) -> None:
        if change.resource == "pods" and change.obj["metadata"]["namespace"] == ns:
            pods = list(kube.cluster.store.items("pods", ns))
            seen.append((len(pods), sum(1 for p in pods if podutil.is_terminating(p))))

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    kube.delete("pods", ns, pod["metadata"]["name"])
    eventually(
        lambda: (
            running_ready(kube, ns, 1)
            and kube.get("pods", ns, pod["metadata"]["name"]) is None
        ),
        what="replacement",
    )

    assert (2, 1) in seen  # the old pod terminating beside its replacement


def test_template_change_creates_a_new_replicaset_with_a_new_hash_and_revision_2(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("update")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=2))
    eventually(lambda: rolled_out(kube, ns, "web"), what="first rollout")
    (old,) = kube.items(REPLICASETS, ns)

    template = {
        "spec": {"containers": [{"name": "main", "image": "nginx:1.28-alpine"}]}
    }
    kube.patch(DEPLOYMENTS, ns, "web", {"spec": {"template": template}})
    eventually(lambda: rolled_out(kube, ns, "web"), what="second rollout")

    rss = {rs["metadata"]["name"]: rs for rs in kube.items(REPLICASETS, ns)}
    (new,) = [rs for name, rs in rss.items() if name != old["metadata"]["name"]]
    assert (
        new["metadata"]["labels"]["pod-template-hash"]
        != old["metadata"]["labels"]["pod-template-hash"]
    )
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert rss[old["metadata"]["name"]]["spec"]["replicas"] == 0
    assert (
        kube.get(DEPLOYMENTS, ns, "web")["metadata"]["annotations"][
            "deployment.kubernetes.io/revision"
        ]
        == "2"
    )
    images = {p["spec"]["containers"][0]["image"] for p in live_pods(kube, ns)}
    assert images == {"nginx:1.28-alpine"}


def test_rollback_to_the_old_template_reuses_its_replicaset_as_revision_3(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("undo")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=1))
    eventually(lambda: rolled_out(kube, ns, "web"), what="first rollout")
    (first,) = kube.items(REPLICASETS, ns)
    for image in ("nginx:1.28-alpine", "nginx:1.27-alpine"):
        containers = [{"name": "main", "image": image}]
        kube.patch(
            DEPLOYMENTS,
            ns,
            "web",
            {"spec": {"template": {"spec": {"containers": containers}}}},
        )
        eventually(lambda: rolled_out(kube, ns, "web"), what=f"rollout of {image}")

    assert len(kube.items(REPLICASETS, ns)) == 2
    reused = kube.get(REPLICASETS, ns, first["metadata"]["name"])
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert reused["spec"]["replicas"] == 1


def _track_hashes(kube: Any, ns: str) -> list[dict[str, int]]:
    """After every pod change: live (not terminal) pods per pod-template-hash."""
    history: list[dict[str, int]] = []

    def watch(change: Any) -> None:
        if change.resource != "pods" or change.obj["metadata"]["namespace"] != ns:
            return
        counts: dict[str, int] = {}
        for pod in kube.cluster.store.items("pods", ns):
            label = pod["metadata"]["labels"]["pod-template-hash"]
            counts[label] = counts.get(label, 0) + 1
        history.append(counts)

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    return history


def test_recreate_never_runs_old_and_new_pods_at_the_same_time(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("recreate")
    kube.create(
        DEPLOYMENTS, ns, deployment("worker", replicas=3, strategy={"type": "Recreate"})
    )
    eventually(lambda: rolled_out(kube, ns, "worker"), what="first rollout")
    history = _track_hashes(kube, ns)

    containers = [
        {"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}
    ]
    kube.patch(
        DEPLOYMENTS,
        ns,
        "worker",
        {"spec": {"template": {"spec": {"containers": containers}}}},
    )
    eventually(lambda: rolled_out(kube, ns, "worker"), what="recreate rollout")

    assert history, "no pod changes were seen"
    assert all(len(counts) <= 1 for counts in history)
    assert any(not counts for counts in history)  # a moment with no pods at all


def test_rolling_update_surges_by_max_surge_and_overlaps_old_and_new_pods(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("rolling")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=4))
    eventually(lambda: rolled_out(kube, ns, "web"), what="first rollout")
    history = _track_hashes(kube, ns)

    containers = [{"name": "main", "image": "nginx:1.28-alpine"}]
    kube.patch(
        DEPLOYMENTS,
        ns,
        "web",
        {"spec": {"template": {"spec": {"containers": containers}}}},
    )
    eventually(lambda: rolled_out(kube, ns, "web"), what="rolling update")

    assert any(len(counts) == 2 for counts in history)
    surge = max(_active_total(kube, counts) for counts in history)
    assert surge >= 5


def _active_total(kube: Any, counts: dict[str, int]) -> int:
    return sum(counts.values())


def test_rolling_update_keeps_enough_available_pods(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("available")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=4))
    eventually(lambda: rolled_out(kube, ns, "web"), what="first rollout")
    ready_counts: list[int] = []

    def watch(change: Any) -> None:
        if change.resource == "pods" and change.obj["metadata"]["namespace"] == ns:
            pods = kube.cluster.store.items("pods", ns)
            ready_counts.append(
                sum(
                    1
                    for p in pods
                    if podutil.is_ready(p) and not podutil.is_terminating(p)
                )
            )

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    containers = [{"name": "main", "image": "nginx:1.28-alpine"}]
    kube.patch(
        DEPLOYMENTS,
        ns,
        "web",
        {"spec": {"template": {"spec": {"containers": containers}}}},
    )
    eventually(lambda: rolled_out(kube, ns, "web"), what="rolling update")

    assert min(ready_counts) >= 3  # replicas 4 - maxUnavailable 25% (rounded down: 1)


def test_rolling_update_never_has_more_live_pods_than_replicas_plus_max_surge(
    kube: Any, eventually: Any
) -> None:
    """The new set grows only once the old set's pods are really gone (item 11, B1)."""
    ns = kube.namespace("surgecap")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=4))
    eventually(lambda: rolled_out(kube, ns, "web"), what="first rollout")
    live_counts: list[int] = []

    def watch(change: Any) -> None:
        if change.resource == "pods" and change.obj["metadata"]["namespace"] == ns:
            live_counts.append(len(live_pods(kube.cluster.store, ns)))

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    containers = [{"name": "main", "image": "nginx:1.28-alpine"}]
    kube.patch(
        DEPLOYMENTS,
        ns,
        "web",
        {"spec": {"template": {"spec": {"containers": containers}}}},
    )
    eventually(lambda: rolled_out(kube, ns, "web"), what="rolling update")

    assert live_counts
    assert max(live_counts) <= 5  # replicas 4 + maxSurge 25% (rounded up: 1)


def test_paused_deployment_does_not_roll_out_a_template_change(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("paused")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=1))
    eventually(lambda: rolled_out(kube, ns, "web"), what="first rollout")

    kube.patch(DEPLOYMENTS, ns, "web", {"spec": {"paused": True}})
    containers = [{"name": "main", "image": "nginx:1.28-alpine"}]
    kube.patch(
        DEPLOYMENTS,
        ns,
        "web",
        {"spec": {"template": {"spec": {"containers": containers}}}},
    )

    def progressing() -> dict[str, Any] | None:
        return podutil.condition(kube.get(DEPLOYMENTS, ns, "web"), "Progressing")

    eventually(
        lambda: (progressing() or {}).get("reason") == "DeploymentPaused",
        what="paused condition",
    )

    assert len(kube.items(REPLICASETS, ns)) == 1
    kube.patch(DEPLOYMENTS, ns, "web", {"spec": {"paused": False}})
    eventually(
        lambda: len(kube.items(REPLICASETS, ns)) == 2 and rolled_out(kube, ns, "web"),
        what="resumed rollout",
    )


def test_old_replicasets_beyond_the_revision_history_limit_are_deleted(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("history")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=1, revisionHistoryLimit=1))
    for tag in ("1.25", "1.26", "1.27"):
        containers = [{"name": "main", "image": f"nginx:{tag}"}]
        eventually(lambda: rolled_out(kube, ns, "web"), what="rollout")
        kube.patch(
            DEPLOYMENTS,
            ns,
            "web",
            {"spec": {"template": {"spec": {"containers": containers}}}},
        )
    eventually(lambda: rolled_out(kube, ns, "web"), what="last rollout")

    revisions = eventually(
        lambda: (lambda r: r if len(r) == 2 else None)(
            sorted(
                int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
                for rs in kube.items(REPLICASETS, ns)
            )
        ),
        what="old ReplicaSets cleaned up",
    )
    assert revisions == [3, 4]


def test_deleting_a_deployment_garbage_collects_its_replicasets_and_pods(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("gc")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=3))
    eventually(lambda: running_ready(kube, ns, 3), what="3 ready pods")

    kube.delete(DEPLOYMENTS, ns, "web")

    eventually(
        lambda: not kube.items(REPLICASETS, ns) and not kube.items("pods", ns),
        what="ReplicaSets and pods gone",
    )


def test_replicaset_adopts_a_matching_orphan_pod_instead_of_creating_one(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("adopt")
    kube.create(
        "pods",
        ns,
        {
            "metadata": {"name": "stray", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "nginx"}]},
        },
    )
    rs = kube.create(
        REPLICASETS,
        ns,
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "main", "image": "nginx"}]},
                },
            },
        },
    )

    pods = eventually(lambda: running_ready(kube, ns, 2), what="2 ready pods")
    owners = {
        p["metadata"]["name"]: p["metadata"]["ownerReferences"][0]["uid"] for p in pods
    }
    assert "stray" in owners and set(owners.values()) == {rs["metadata"]["uid"]}
    status = eventually(
        lambda: (
            (kube.get(REPLICASETS, ns, "web").get("status") or {}).get(
                "availableReplicas"
            )
            == 2
            and kube.get(REPLICASETS, ns, "web")["status"]
        )
    )
    assert (
        status["replicas"]
        == status["fullyLabeledReplicas"]
        == status["readyReplicas"]
        == 2
    )
    assert status["observedGeneration"] == 1


@pytest.mark.parametrize(
    ("surge", "unavailable", "replicas", "expected"),
    [
        ("25%", "25%", 4, (1, 1)),
        ("25%", "25%", 3, (1, 0)),
        ("50%", "50%", 5, (3, 2)),
        (0, 0, 3, (0, 1)),
        (2, "10%", 10, (2, 1)),
    ],
)
def test_max_surge_rounds_up_and_max_unavailable_rounds_down(
    surge: Any, unavailable: Any, replicas: int, expected: tuple[int, int]
) -> None:
    from kubecourse.embedded.controllers.rollout import max_surge, max_unavailable

    d = {
        "spec": {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
        }
    }
    assert (max_surge(d), max_unavailable(d)) == expected


def test_pod_template_hash_is_stable_and_changes_with_the_template_or_collision_count() -> (
    None
):
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "a", "image": "nginx"}]},
    }
    other = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "a", "image": "httpd"}]},
    }

    assert pod_template_hash(template) == pod_template_hash(
        dict(reversed(list(template.items())))
    )
    assert pod_template_hash(template) != pod_template_hash(other)
    assert pod_template_hash(template) != pod_template_hash(template, 1)
    assert 8 <= len(pod_template_hash(template)) <= 10


def test_rollback_that_sends_a_null_creation_timestamp_still_reuses_the_old_set(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("nullts")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=1))
    eventually(lambda: rolled_out(kube, ns, "web"), what="first rollout")
    containers = [{"name": "main", "image": "nginx:1.28-alpine"}]
    kube.patch(
        DEPLOYMENTS,
        ns,
        "web",
        {"spec": {"template": {"spec": {"containers": containers}}}},
    )
    eventually(lambda: rolled_out(kube, ns, "web"), what="second rollout")

    current = kube.get(DEPLOYMENTS, ns, "web")
    template = deployment("web")["spec"]["template"]
    template["metadata"]["creationTimestamp"] = (
        None  # as `kubectl rollout undo` sends it
    )
    current["spec"]["template"] = template
    kube.update(DEPLOYMENTS, ns, current)
    eventually(lambda: rolled_out(kube, ns, "web"), what="rollback")

    assert len(kube.items(REPLICASETS, ns)) == 2


def managers(obj: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    return {
        (e["manager"], e["operation"], e.get("subresource"))
        for e in obj["metadata"].get("managedFields") or []
    }


def test_controllers_and_the_kubelet_record_their_writes_under_upstreams_managers(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("managers")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=1))
    eventually(lambda: rolled_out(kube, ns, "web"), what="rollout")

    (rs,) = kube.items(REPLICASETS, ns)
    (pod,) = kube.items("pods", ns)
    assert managers(kube.get(DEPLOYMENTS, ns, "web")) == {
        ("kube-controller-manager", "Update", "status")
    }  # no manager for the test's own in-process create
    assert managers(rs) == {
        ("kube-controller-manager", "Update", None),
        ("kube-controller-manager", "Update", "status"),
    }
    assert managers(pod) == {
        ("kube-controller-manager", "Update", None),
        ("kubelet", "Update", "status"),
    }
    node = kube.get("nodes", None, pod["spec"]["nodeName"])
    assert ("kubelet", "Update", None) in managers(node)  # it registered the Node
