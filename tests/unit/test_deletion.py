"""Deletion propagation: the API server's finalizers and the garbage collector's work."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded import deletion
from kubecourse.embedded.cluster import EmbeddedCluster
from kubecourse.embedded.controllers.garbage import GarbageCollector
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.status import StatusError

DEPLOYMENTS = "deployments.apps"
REPLICASETS = "replicasets.apps"
JOBS = REGISTRY.get("jobs.batch")


def deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


def owned_pod(name: str, owner: dict[str, Any], block: bool = True) -> dict[str, Any]:
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": block,
    }
    return {
        "metadata": {"name": name, "ownerReferences": [ref]},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
    }


def delete(
    cluster: EmbeddedCluster, resource: str, ns: str, name: str, **kw: Any
) -> Any:
    rt = REGISTRY.get(resource)
    return cluster.call(lambda: cluster.api.delete(rt, ns, name, **kw))


def deletions_since(cluster: EmbeddedCluster, rv: int) -> list[tuple[str, str]]:
    """(resource, name) of every object removed after `rv`, in order."""
    changes = cluster.call(lambda: cluster.store.changes_since(rv))
    return [
        (c.resource, c.obj["metadata"]["name"]) for c in changes if c.type == "DELETED"
    ]


def running(kube: Any, ns: str, count: int) -> bool:
    pods = kube.items("pods", ns)
    return len(pods) == count and all(
        (p.get("status") or {}).get("phase") == "Running" for p in pods
    )


def collector(cluster: EmbeddedCluster) -> GarbageCollector:
    (gc,) = [c for c in cluster.controllers if isinstance(c, GarbageCollector)]
    return gc


# ---- what the API server records ---------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "orphan", "before", "after"),
    [
        ("Foreground", None, [], ["foregroundDeletion"]),
        ("Orphan", None, ["example.com/keep"], ["example.com/keep", "orphan"]),
        ("Background", None, ["orphan"], []),
        (None, True, [], ["orphan"]),
        (None, False, ["foregroundDeletion"], []),
        (None, None, ["foregroundDeletion"], ["foregroundDeletion"]),
        (None, None, [], []),
    ],
)
def test_the_policy_becomes_the_garbage_collector_finalizer(
    policy: str | None, orphan: bool | None, before: list[str], after: list[str]
) -> None:
    obj = {"metadata": {"name": "x", "finalizers": before}}
    rt = REGISTRY.get(DEPLOYMENTS)
    assert deletion.finalizers_after_delete(rt, obj, policy, orphan) == after


def test_a_batch_v1_job_orphans_its_pods_by_default_and_the_server_says_so() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "j"}}
    assert deletion.finalizers_after_delete(JOBS, obj, None, None) == ["orphan"]
    assert deletion.warnings_for(JOBS, None, None) == [deletion.JOB_DELETE_WARNING]
    assert deletion.warnings_for(JOBS, "Background", None) == []
    assert deletion.finalizers_after_delete(JOBS, obj, "Background", None) == []


def test_unknown_or_conflicting_delete_options_are_invalid() -> None:
    with pytest.raises(StatusError) as unknown:
        deletion.check_options("Sideways", None)
    assert unknown.value.code == 422
    assert unknown.value.message == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
        '"Sideways": supported values: "Foreground", "Background", "Orphan", "nil"'
    )
    assert unknown.value.details["causes"][0]["field"] == "propagationPolicy"
    with pytest.raises(StatusError) as both:
        deletion.check_options("Orphan", True)
    assert (
        "orphanDependents and deletionPropagation cannot be both set"
        in both.value.message
    )


def test_a_foreground_delete_marks_the_owner_and_bumps_its_generation(
    controller_cluster: EmbeddedCluster, kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("fg-mark")
    kube.create(
        "configmaps",
        ns,
        {"metadata": {"name": "owner", "finalizers": ["example.com/hold"]}},
    )
    answer = delete(
        controller_cluster, "configmaps", ns, "owner", propagation_policy="Foreground"
    )
    meta = answer["metadata"]
    assert answer["kind"] == "ConfigMap" and meta["deletionTimestamp"]
    assert meta["finalizers"] == ["example.com/hold", "foregroundDeletion"]
    assert meta["deletionGracePeriodSeconds"] == 0

    made = kube.create(DEPLOYMENTS, ns, deployment("gen", replicas=0))
    marked = delete(
        controller_cluster, DEPLOYMENTS, ns, "gen", propagation_policy="Orphan"
    )
    assert marked["metadata"]["generation"] == made["metadata"]["generation"] + 1
    eventually(
        lambda: kube.get(DEPLOYMENTS, ns, "gen") is None,
        what="the orphaned deployment gone",
    )


# ---- what the garbage collector does -----------------------------------------------


def test_foreground_deletion_removes_pods_then_replicasets_then_the_deployment(
    controller_cluster: EmbeddedCluster, kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("fg-order")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=3))
    eventually(lambda: running(kube, ns, 3), what="3 running pods")
    start = controller_cluster.store.rv

    answer = delete(
        controller_cluster, DEPLOYMENTS, ns, "web", propagation_policy="Foreground"
    )

    assert answer["metadata"]["finalizers"] == ["foregroundDeletion"]
    eventually(
        lambda: kube.get(DEPLOYMENTS, ns, "web") is None, what="the deployment gone"
    )
    removed = [
        (r, n) for r, n in deletions_since(controller_cluster, start) if r != "events"
    ]
    kinds = [r for r, _ in removed]
    assert kinds == ["pods"] * 3 + [REPLICASETS, DEPLOYMENTS]


def test_a_replicaset_deleted_in_the_foreground_waits_marked_while_its_pods_terminate(
    controller_cluster: EmbeddedCluster, kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("fg-rs")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=2))
    eventually(lambda: running(kube, ns, 2), what="2 running pods")
    delete(controller_cluster, DEPLOYMENTS, ns, "web", propagation_policy="Foreground")

    def marked_replicaset() -> Any:
        found = kube.items(REPLICASETS, ns)
        return found and deletion.is_deleting_dependents(found[0]) and found[0]

    rs = eventually(
        marked_replicaset, what="the ReplicaSet marked for foreground deletion"
    )
    assert rs["metadata"]["deletionTimestamp"]
    eventually(
        lambda: not kube.items("pods", ns) and not kube.items(REPLICASETS, ns),
        what="all gone",
    )


def test_orphan_deletion_leaves_the_replicaset_without_owner_and_its_pods_running(
    controller_cluster: EmbeddedCluster, kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("orphan")
    kube.create(DEPLOYMENTS, ns, deployment("web", replicas=2))
    eventually(lambda: running(kube, ns, 2), what="2 running pods")

    answer = delete(
        controller_cluster, DEPLOYMENTS, ns, "web", propagation_policy="Orphan"
    )

    assert answer["metadata"]["finalizers"] == ["orphan"]
    eventually(
        lambda: kube.get(DEPLOYMENTS, ns, "web") is None, what="the deployment gone"
    )
    (rs,) = kube.items(REPLICASETS, ns)
    assert "ownerReferences" not in rs["metadata"]
    pods = kube.items("pods", ns)
    assert len(pods) == 2 and all(
        p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        for p in pods
    )


def test_the_legacy_orphan_dependents_flag_orphans_too(
    controller_cluster: EmbeddedCluster, kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("legacy")
    owner = kube.create("configmaps", ns, {"metadata": {"name": "owner"}})
    kube.create("pods", ns, owned_pod("dep", owner))
    delete(controller_cluster, "configmaps", ns, "owner", orphan_dependents=True)
    eventually(
        lambda: kube.get("configmaps", ns, "owner") is None, what="the owner gone"
    )
    assert "ownerReferences" not in kube.get("pods", ns, "dep")["metadata"]


def test_a_job_deleted_without_a_policy_keeps_its_pods(
    controller_cluster: EmbeddedCluster, kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("jobs")
    job = kube.create(
        "jobs.batch",
        ns,
        {
            "metadata": {"name": "once"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "c", "image": "busybox"}],
                    }
                }
            },
        },
    )
    kube.create("pods", ns, owned_pod("once-x", job))
    warnings: list[str] = []

    delete(controller_cluster, "jobs.batch", ns, "once", warnings=warnings)

    assert warnings == [deletion.JOB_DELETE_WARNING]
    eventually(lambda: kube.get("jobs.batch", ns, "once") is None, what="the job gone")
    assert "ownerReferences" not in kube.get("pods", ns, "once-x")["metadata"]


def test_a_foreground_owner_waits_only_for_blocking_dependents_but_deletes_all(
    controller_cluster: EmbeddedCluster, kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("blocking")
    owner = kube.create("configmaps", ns, {"metadata": {"name": "owner"}})
    kube.create("pods", ns, owned_pod("loose", owner, block=False))
    start = controller_cluster.store.rv

    delete(
        controller_cluster, "configmaps", ns, "owner", propagation_policy="Foreground"
    )

    eventually(
        lambda: not kube.items("pods", ns), what="the non-blocking dependent deleted"
    )
    eventually(
        lambda: kube.get("configmaps", ns, "owner") is None, what="the owner gone"
    )
    assert ("configmaps", "owner") in deletions_since(controller_cluster, start)


def test_a_dependent_with_another_owner_loses_only_the_waiting_reference(
    controller_cluster: EmbeddedCluster, kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("two-owners")
    first = kube.create("configmaps", ns, {"metadata": {"name": "first"}})
    second = kube.create("configmaps", ns, {"metadata": {"name": "second"}})
    pod = owned_pod("shared", first)
    pod["metadata"]["ownerReferences"] += owned_pod("x", second)["metadata"][
        "ownerReferences"
    ]
    kube.create("pods", ns, pod)

    delete(
        controller_cluster, "configmaps", ns, "first", propagation_policy="Foreground"
    )

    eventually(
        lambda: kube.get("configmaps", ns, "first") is None, what="the first owner gone"
    )
    refs = kube.get("pods", ns, "shared")["metadata"]["ownerReferences"]
    assert [r["name"] for r in refs] == ["second"]


def test_the_owner_index_follows_reference_changes(
    controller_cluster: EmbeddedCluster, kube: Any
) -> None:
    ns = kube.namespace("index")
    owner = kube.create("configmaps", ns, {"metadata": {"name": "owner"}})
    other = kube.create("configmaps", ns, {"metadata": {"name": "other"}})
    kube.create("pods", ns, owned_pod("dep", owner))
    gc = collector(controller_cluster)

    def dependents(obj: dict[str, Any]) -> list[Any]:
        return controller_cluster.call(lambda: gc.dependents_of(obj["metadata"]["uid"]))

    assert dependents(owner) == [("pods", f"{ns}/dep")]
    moved = owned_pod("dep", other)["metadata"]["ownerReferences"]
    kube.patch("pods", ns, "dep", {"metadata": {"ownerReferences": moved}})
    assert dependents(owner) == [] and dependents(other) == [("pods", f"{ns}/dep")]
    delete(controller_cluster, "pods", ns, "dep", grace_period_seconds=0)
    assert dependents(other) == []
