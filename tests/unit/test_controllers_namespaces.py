"""Namespaces, garbage collection, StatefulSets and volume claims."""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.controllers import podutil

STATEFULSETS = "statefulsets.apps"


def test_every_namespace_gets_a_default_service_account_and_the_root_ca(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("fresh")

    eventually(
        lambda: kube.get("serviceaccounts", ns, "default"),
        what="ServiceAccount default",
    )
    ca = eventually(
        lambda: kube.get("configmaps", ns, "kube-root-ca.crt"), what="kube-root-ca.crt"
    )

    assert ca["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    assert kube.get("serviceaccounts", "kube-system", "default") is not None


def test_deleted_default_service_account_comes_back(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("again")
    first = eventually(lambda: kube.get("serviceaccounts", ns, "default"))

    kube.delete("serviceaccounts", ns, "default")

    again = eventually(
        lambda: (sa := kube.get("serviceaccounts", ns, "default")) and sa
    )
    assert again["metadata"]["uid"] != first["metadata"]["uid"]


def test_deleting_a_namespace_deletes_everything_in_it_then_the_namespace(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("doomed")
    deployment = {
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "m", "image": "nginx"}]},
            },
        },
    }
    kube.create("deployments.apps", ns, deployment)
    kube.create(
        "services",
        ns,
        {
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    eventually(
        lambda: sum(1 for p in kube.items("pods", ns) if podutil.is_ready(p)) == 2,
        what="2 ready pods",
    )

    answer = kube.delete("namespaces", None, ns)

    assert answer["status"]["phase"] == "Terminating"
    eventually(
        lambda: kube.get("namespaces", None, ns) is None, what="namespace removed"
    )
    for resource in (
        "pods",
        "replicasets.apps",
        "deployments.apps",
        "services",
        "endpoints",
        "configmaps",
        "serviceaccounts",
    ):
        assert kube.items(resource, ns) == [], resource


def test_a_namespace_held_by_a_finalizer_reports_upstreams_five_conditions(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("held")
    kube.create(
        "configmaps", ns, {"metadata": {"name": "kept", "finalizers": ["example.com/hold"]}}
    )

    kube.delete("namespaces", None, ns)

    def conditions() -> dict[str, tuple[str, str]]:
        found = kube.get("namespaces", None, ns)["status"].get("conditions") or []
        return {c["type"]: (c["status"], c["message"]) for c in found}

    eventually(lambda: len(conditions()) == 5, what="five conditions")
    assert list(conditions()) == [
        "NamespaceDeletionDiscoveryFailure",
        "NamespaceDeletionGroupVersionParsingFailure",
        "NamespaceDeletionContentFailure",
        "NamespaceContentRemaining",
        "NamespaceFinalizersRemaining",
    ]
    assert conditions()["NamespaceFinalizersRemaining"] == (
        "True",
        "Some content in the namespace has finalizers remaining: "
        "example.com/hold in 1 resource instances",
    )
    kube.patch("configmaps", ns, "kept", {"metadata": {"finalizers": None}})
    eventually(lambda: kube.get("namespaces", None, ns) is None, what="namespace removed")


def test_object_whose_owner_is_gone_is_garbage_collected(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("orphan")
    owner = kube.create("configmaps", ns, {"metadata": {"name": "owner"}})
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    kube.create(
        "configmaps", ns, {"metadata": {"name": "dependent", "ownerReferences": [ref]}}
    )
    dangling = {**ref, "name": "ghost", "uid": "00000000-0000-0000-0000-000000000000"}
    kube.create(
        "configmaps",
        ns,
        {"metadata": {"name": "haunted", "ownerReferences": [dangling]}},
    )
    kube.create(
        "configmaps",
        ns,
        {"metadata": {"name": "shared", "ownerReferences": [ref, dangling]}},
    )

    eventually(
        lambda: kube.get("configmaps", ns, "haunted") is None,
        what="dangling dependent deleted",
    )
    eventually(
        lambda: (
            len(kube.get("configmaps", ns, "shared")["metadata"]["ownerReferences"])
            == 1
        ),
        what="dead reference dropped",
    )
    assert kube.get("configmaps", ns, "dependent") is not None

    kube.delete("configmaps", ns, "owner")
    eventually(
        lambda: (
            not {"dependent", "shared"}
            & {c["metadata"]["name"] for c in kube.items("configmaps", ns)}
        ),
        what="dependents deleted",
    )


def statefulset(replicas: int) -> dict[str, Any]:
    claim = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    return {
        "metadata": {"name": "db"},
        "spec": {
            "replicas": replicas,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]},
            },
            "volumeClaimTemplates": [claim],
        },
    }


def test_statefulset_creates_ordinal_pods_in_order_each_with_a_bound_claim(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("sts")
    order: list[str] = []

    def watch(change: Any) -> None:
        if (
            change.resource == "pods"
            and change.type == "ADDED"
            and change.obj["metadata"]["namespace"] == ns
        ):
            others = [
                p for p in kube.cluster.store.items("pods", ns) if p is not change.obj
            ]
            order.append(
                f"{change.obj['metadata']['name']}:{sum(1 for p in others if not podutil.is_ready(p))}"
            )

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    kube.create(STATEFULSETS, ns, statefulset(3))

    eventually(
        lambda: (
            (kube.get(STATEFULSETS, ns, "db").get("status") or {}).get("readyReplicas")
            == 3
        ),
        what="3 ready replicas",
    )
    assert order == [
        "db-0:0",
        "db-1:0",
        "db-2:0",
    ]  # each created once the others were ready
    for i in range(3):
        pod = kube.get("pods", ns, f"db-{i}")
        assert pod["spec"]["hostname"] == f"db-{i}" and pod["spec"]["subdomain"] == "db"
        (volume,) = pod["spec"]["volumes"][:1]
        assert volume == {
            "name": "data",
            "persistentVolumeClaim": {"claimName": f"data-db-{i}"},
        }
        claim = eventually(
            lambda i=i: (
                (c := kube.get("persistentvolumeclaims", ns, f"data-db-{i}"))
                and c["status"].get("phase") == "Bound"
                and c
            )
        )
        volume_obj = kube.get("persistentvolumes", None, claim["spec"]["volumeName"])
        assert volume_obj["metadata"]["name"] == f"pvc-{claim['metadata']['uid']}"
        assert volume_obj["spec"]["storageClassName"] == "standard"
        assert claim["status"]["capacity"] == {"storage": "1Gi"}


def test_statefulset_scales_down_from_the_highest_ordinal_and_keeps_claims(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("stsdown")
    kube.create(STATEFULSETS, ns, statefulset(3))
    eventually(
        lambda: (
            (kube.get(STATEFULSETS, ns, "db").get("status") or {}).get("readyReplicas")
            == 3
        )
    )

    kube.patch(STATEFULSETS, ns, "db", {"spec": {"replicas": 1}})

    eventually(
        lambda: (
            sorted(p["metadata"]["name"] for p in kube.items("pods", ns)) == ["db-0"]
        ),
        what="only db-0 left",
    )
    assert len(kube.items("persistentvolumeclaims", ns)) == 3


def test_deleted_statefulset_pod_comes_back_with_the_same_name(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("stsheal")
    kube.create(STATEFULSETS, ns, statefulset(1))
    first = eventually(
        lambda: (p := kube.get("pods", ns, "db-0")) and podutil.is_ready(p) and p
    )

    kube.delete("pods", ns, "db-0")

    again = eventually(
        lambda: (
            (p := kube.get("pods", ns, "db-0"))
            and p["metadata"]["uid"] != first["metadata"]["uid"]
            and p
        )
    )
    assert (
        again["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "data-db-0"
    )


def test_claim_is_bound_to_a_provisioned_volume_that_goes_away_with_it(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("pvc")
    spec = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "2Gi"}},
    }
    claim = kube.create(
        "persistentvolumeclaims", ns, {"metadata": {"name": "data"}, "spec": spec}
    )
    volume_name = f"pvc-{claim['metadata']['uid']}"
    # The default class `standard` waits for a first consumer: a pod using the claim.
    kube.create("pods", ns, consumer("user", "data"))

    bound = eventually(
        lambda: (
            (c := kube.get("persistentvolumeclaims", ns, "data"))
            and c["status"].get("phase") == "Bound"
            and c
        )
    )
    volume = kube.get("persistentvolumes", None, volume_name)
    assert bound["spec"]["volumeName"] == volume_name
    assert bound["spec"]["storageClassName"] == "standard"
    assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert volume["status"]["phase"] == "Bound"
    assert volume["spec"]["capacity"] == {"storage": "2Gi"}

    kube.delete("pods", ns, "user")
    kube.delete("persistentvolumeclaims", ns, "data")

    eventually(
        lambda: kube.get("persistentvolumes", None, volume_name) is None,
        what="PV deleted",
    )


def consumer(name: str, claim: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "c", "image": "nginx:1.27"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}],
        },
    }
