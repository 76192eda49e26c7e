"""Claims, classes and volumes: the PersistentVolume controller, kind's local-path
provisioner and the scheduler's VolumeBinding plugin, in-process."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.status import StatusError
from tests.conftest import CONTROLLER_TIMINGS

PVCS = "persistentvolumeclaims"
CLASSES = "storageclasses.storage.k8s.io"
DEPLOYMENTS = "deployments.apps"


@pytest.fixture(scope="module")
def controller_cluster() -> Iterator[EmbeddedCluster]:
    timings = dataclasses.replace(CONTROLLER_TIMINGS, pv_sync_period=0.3)
    with EmbeddedCluster(ClusterOptions(timings=timings)) as running:
        yield running


def claim(name: str, **spec: Any) -> dict[str, Any]:
    body = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    }
    return {"metadata": {"name": name}, "spec": {**body, **spec}}


def pod(name: str, claim_name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "containers": [{"name": "c", "image": "nginx:1.27"}],
            "volumes": [
                {"name": "d", "persistentVolumeClaim": {"claimName": claim_name}}
            ],
            **spec,
        },
    }


def events(kube: Any, ns: str, name: str) -> list[tuple[str, str, str]]:
    return [
        (e["reason"], e["message"], e["source"]["component"])
        for e in kube.items("events", ns)
        if e["involvedObject"]["name"] == name
    ]


def reasons(kube: Any, ns: str, name: str) -> list[str]:
    return [reason for reason, _, _ in events(kube, ns, name)]


def phase(kube: Any, ns: str, name: str) -> str:
    found = kube.get(PVCS, ns, name) or {}
    return str((found.get("status") or {}).get("phase"))


def pod_condition(kube: Any, ns: str, name: str) -> dict[str, Any] | None:
    found = kube.get("pods", ns, name)
    return podutil.condition(found, "PodScheduled") if found else None


def test_a_new_claim_gets_the_default_class_and_waits_for_a_consumer(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("wffc")

    created = kube.create(PVCS, ns, claim("data"))

    assert created["spec"]["storageClassName"] == "standard"
    eventually(
        lambda: reasons(kube, ns, "data").count("WaitForFirstConsumer"),
        what="WaitForFirstConsumer",
    )
    (reason, message, source) = next(
        e for e in events(kube, ns, "data") if e[0] == "WaitForFirstConsumer"
    )
    assert (message, source) == (
        "waiting for first consumer to be created before binding",
        "persistentvolume-controller",
    )
    eventually(
        lambda: (
            next(
                (
                    e["count"]
                    for e in kube.items("events", ns)
                    if e["reason"] == "WaitForFirstConsumer"
                ),
                0,
            )
            >= 2
        ),
        what="the event repeated at the next sync",
    )
    assert phase(kube, ns, "data") == "Pending" and not kube.items("persistentvolumes")


def test_the_first_consumer_chooses_the_node_the_volume_is_made_on(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("consumer")
    kube.create(PVCS, ns, claim("data"))

    kube.create("pods", ns, pod("first", "data"))

    bound = eventually(
        lambda: phase(kube, ns, "data") == "Bound" and kube.get(PVCS, ns, "data")
    )
    first = eventually(
        lambda: (p := kube.get("pods", ns, "first")) and p["spec"].get("nodeName") and p
    )
    node = first["spec"]["nodeName"]
    assert (
        bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    )
    assert (
        bound["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"]
        == "rancher.io/local-path"
    )
    volume = kube.get("persistentvolumes", None, bound["spec"]["volumeName"])
    assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"
    ] == [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]
    assert (
        volume["spec"]["hostPath"]["path"]
        == f"/var/local-path-provisioner/{volume['metadata']['name']}_{ns}_data"
    )
    assert (
        volume["metadata"]["annotations"]["local.path.provisioner/selected-node"]
        == node
    )
    order = [r for r in reasons(kube, ns, "data") if r != "WaitForFirstConsumer"]
    assert order[:3] == [
        "ExternalProvisioning",
        "Provisioning",
        "ProvisioningSucceeded",
    ]
    provisioner = next(e[2] for e in events(kube, ns, "data") if e[0] == "Provisioning")
    assert provisioner.startswith("rancher.io/local-path_local-path-provisioner-")

    for i in range(3):
        kube.create("pods", ns, pod(f"later-{i}", "data"))
    later = [
        eventually(
            lambda i=i: (
                (p := kube.get("pods", ns, f"later-{i}"))["spec"].get("nodeName") and p
            )
        )
        for i in range(3)
    ]
    assert {p["spec"]["nodeName"] for p in later} == {node}


def test_a_pod_whose_volume_lives_on_another_node_cannot_be_placed(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("pinned")
    kube.create(PVCS, ns, claim("data"))
    kube.create(
        "pods",
        ns,
        pod(
            "here", "data", nodeSelector={"kubernetes.io/hostname": "kubecourse-worker"}
        ),
    )
    eventually(lambda: phase(kube, ns, "data") == "Bound")

    kube.create(
        "pods",
        ns,
        pod(
            "there",
            "data",
            nodeSelector={"kubernetes.io/hostname": "kubecourse-worker3"},
        ),
    )

    condition = eventually(
        lambda: (
            (c := pod_condition(kube, ns, "there"))
            and c.get("reason") == "Unschedulable"
            and c
        )
    )
    assert condition["message"] == (
        "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "1 node(s) had volume node affinity conflict, 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    )


def test_a_pod_with_a_missing_claim_waits_saying_so(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("noclaim")

    kube.create("pods", ns, pod("orphan", "nowhere"))

    condition = eventually(
        lambda: (
            (c := pod_condition(kube, ns, "orphan"))
            and c.get("reason") == "Unschedulable"
            and c
        )
    )
    assert condition["message"] == (
        '0/4 nodes are available: persistentvolumeclaim "nowhere" not found. '
        "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    )

    kube.create(PVCS, ns, claim("nowhere"))

    eventually(
        lambda: kube.get("pods", ns, "orphan")["spec"].get("nodeName"),
        what="scheduled once the claim exists",
    )


def test_a_class_that_does_not_exist_leaves_claim_and_pod_pending(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("noclass")
    kube.create(PVCS, ns, claim("data", storageClassName="fast"))

    kube.create("pods", ns, pod("user", "data"))

    eventually(lambda: "ProvisioningFailed" in reasons(kube, ns, "data"))
    failed = next(e for e in events(kube, ns, "data") if e[0] == "ProvisioningFailed")
    assert failed[1] == 'storageclass.storage.k8s.io "fast" not found'
    condition = eventually(
        lambda: (
            (c := pod_condition(kube, ns, "user"))
            and c.get("reason") == "Unschedulable"
            and c
        )
    )
    assert "pod has unbound immediate PersistentVolumeClaims" in condition["message"]


def test_no_class_binds_an_available_volume_or_says_none_is_there(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("static")
    kube.create(PVCS, ns, claim("lonely", storageClassName=""))
    eventually(lambda: "FailedBinding" in reasons(kube, ns, "lonely"))
    message = next(e[1] for e in events(kube, ns, "lonely") if e[0] == "FailedBinding")
    assert (
        message
        == "no persistent volumes available for this claim and no storage class is set"
    )

    manual = {
        "metadata": {"name": f"manual-{ns}"},
        "spec": {
            "capacity": {"storage": "2Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": "/srv/manual"},
        },
    }
    kube.create("persistentvolumes", None, manual)

    eventually(
        lambda: phase(kube, ns, "lonely") == "Bound", what="bound to the manual volume"
    )
    assert kube.get(PVCS, ns, "lonely")["spec"]["volumeName"] == f"manual-{ns}"

    kube.delete(PVCS, ns, "lonely")

    eventually(
        lambda: (
            kube.get("persistentvolumes", None, f"manual-{ns}")["status"]["phase"]
            == "Released"
        ),
        what="Retain: Released",
    )


def test_local_path_refuses_what_it_cannot_provision(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("refused")
    immediate = {
        "metadata": {"name": f"immediate-{ns}"},
        "provisioner": "rancher.io/local-path",
    }
    kube.create(CLASSES, None, immediate)
    kube.create(PVCS, ns, claim("now", storageClassName=f"immediate-{ns}"))
    kube.create(PVCS, ns, claim("shared", accessModes=["ReadWriteMany"]))
    kube.create("pods", ns, pod("sharer", "shared"))

    eventually(
        lambda: (
            "ProvisioningFailed" in reasons(kube, ns, "now")
            and "ProvisioningFailed" in reasons(kube, ns, "shared")
        )
    )

    now = next(e for e in events(kube, ns, "now") if e[0] == "ProvisioningFailed")
    assert (
        now[1]
        == f'failed to provision volume with StorageClass "immediate-{ns}": configuration error, no node was specified'
    )
    assert now[2].startswith("rancher.io/local-path_")
    shared = next(
        e[1] for e in events(kube, ns, "shared") if e[0] == "ProvisioningFailed"
    )
    assert (
        shared
        == 'failed to provision volume with StorageClass "standard": NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes'
    )
    assert not kube.get("pods", ns, "sharer")["spec"].get(
        "nodeName"
    )  # waits for its volume, as upstream


def test_provisioning_waits_for_the_provisioner_pod(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("noprov")
    kube.patch(
        DEPLOYMENTS,
        "local-path-storage",
        "local-path-provisioner",
        {"spec": {"replicas": 0}},
    )
    eventually(
        lambda: not kube.items("pods", "local-path-storage"),
        what="the provisioner stopped",
    )
    try:
        kube.create(PVCS, ns, claim("data"))
        kube.create("pods", ns, pod("user", "data"))
        eventually(lambda: "ExternalProvisioning" in reasons(kube, ns, "data"))
        assert phase(kube, ns, "data") == "Pending" and "Provisioning" not in reasons(
            kube, ns, "data"
        )
    finally:
        kube.patch(
            DEPLOYMENTS,
            "local-path-storage",
            "local-path-provisioner",
            {"spec": {"replicas": 1}},
        )

    eventually(
        lambda: phase(kube, ns, "data") == "Bound",
        what="bound once the provisioner runs again",
    )
    eventually(lambda: kube.get("pods", ns, "user")["spec"].get("nodeName"))


def test_a_retained_volume_outlives_its_claim_and_a_deleted_one_goes(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("reclaim")
    kept = {
        "metadata": {"name": f"kept-{ns}"},
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    kube.create(CLASSES, None, kept)
    kube.create(PVCS, ns, claim("keep", storageClassName=f"kept-{ns}"))
    kube.create(PVCS, ns, claim("drop"))
    user = pod("user", "keep")
    user["spec"]["volumes"].append(
        {"name": "e", "persistentVolumeClaim": {"claimName": "drop"}}
    )
    kube.create("pods", ns, user)
    eventually(
        lambda: (
            phase(kube, ns, "keep") == "Bound" and phase(kube, ns, "drop") == "Bound"
        )
    )
    keep_volume = kube.get(PVCS, ns, "keep")["spec"]["volumeName"]
    drop_volume = kube.get(PVCS, ns, "drop")["spec"]["volumeName"]
    assert (
        kube.get("persistentvolumes", None, keep_volume)["spec"][
            "persistentVolumeReclaimPolicy"
        ]
        == "Retain"
    )

    kube.delete("pods", ns, "user")
    kube.delete(PVCS, ns, "keep")
    kube.delete(PVCS, ns, "drop")

    eventually(
        lambda: kube.get("persistentvolumes", None, drop_volume) is None,
        what="the Delete volume gone",
    )
    released = eventually(
        lambda: (
            (v := kube.get("persistentvolumes", None, keep_volume))["status"]["phase"]
            == "Released"
            and v
        )
    )
    assert released["spec"]["claimRef"]["name"] == "keep"


def test_storage_class_fields_are_checked_and_immutable(kube: Any) -> None:
    with pytest.raises(StatusError) as err:
        kube.create(
            CLASSES,
            None,
            {
                "metadata": {"name": "odd"},
                "provisioner": "bad name!",
                "volumeBindingMode": "Later",
            },
        )
    assert err.value.code == 422
    fields = [c["field"] for c in err.value.details["causes"]]
    assert fields == ["provisioner", "volumeBindingMode"]

    created = kube.create(
        CLASSES,
        None,
        {"metadata": {"name": "plain"}, "provisioner": "example.com/disk"},
    )
    assert (created["reclaimPolicy"], created["volumeBindingMode"]) == (
        "Delete",
        "Immediate",
    )
    with pytest.raises(StatusError) as changed:
        kube.patch(
            CLASSES,
            None,
            "plain",
            {
                "volumeBindingMode": "WaitForFirstConsumer",
                "parameters": {"type": "ssd"},
            },
        )
    assert [c["message"] for c in changed.value.details["causes"]] == [
        "Forbidden: updates to parameters are forbidden.",
        'Invalid value: "WaitForFirstConsumer": field is immutable',
    ]


def test_an_empty_class_name_is_kept_and_a_second_default_class_wins_when_newer(
    kube: Any,
) -> None:
    ns = kube.namespace("classes")

    explicit = kube.create(PVCS, ns, claim("none", storageClassName=""))

    assert explicit["spec"]["storageClassName"] == ""
    kube.create(
        CLASSES,
        None,
        {
            "metadata": {
                "name": "zz-newer",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "WaitForFirstConsumer",
        },
    )
    try:
        assert (
            kube.create(PVCS, ns, claim("fresh"))["spec"]["storageClassName"]
            == "zz-newer"
        )
    finally:
        kube.delete(CLASSES, None, "zz-newer")
    assert (
        kube.create(PVCS, ns, claim("again"))["spec"]["storageClassName"] == "standard"
    )
