"""The cluster looks like kind from the inside: kube-system's pods, the API server's
bootstrap objects, protected namespaces, storage, node events, through kubectl 1.37
and the official Python client."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from tests.api.conftest import FAST, eventually
from tests.api.test_conformance_kubectl import kubectl_watching

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
CONTROL_PLANE = "kubecourse-control-plane"
STATIC = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
TIMINGS = dataclasses.replace(
    FAST,
    node_lease_renew=0.5,
    apiserver_endpoint_interval=0.3,
    system_namespaces_interval=0.3,
    pv_sync_period=0.5,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    # kind's own system workloads, as `kind create cluster` leaves them: without the
    # course's ingress controller, which would add a pod to the control plane.
    with EmbeddedCluster(ClusterOptions(timings=TIMINGS, ingress_controller=False)) as running:
        yield running


@pytest.fixture(scope="module")
def storage(api_client: k8s.ApiClient) -> k8s.StorageV1Api:
    return k8s.StorageV1Api(api_client)


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[1:]]


def system_pods_running(core: k8s.CoreV1Api) -> list[Any]:
    def ready() -> list[Any]:
        pods = core.list_namespaced_pod("kube-system").items
        running = [p for p in pods if p.status.phase == "Running"]
        return pods if len(pods) == 14 and len(running) == 14 else []

    return list(eventually(ready, what="14 running kube-system pods"))


# -- kube-system --------------------------------------------------------------------------


def test_kube_system_runs_kinds_pods_where_kind_runs_them(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    system_pods_running(core)

    listing = rows(kubectl("get", "pods", "-n", "kube-system", "-o", "wide").stdout)

    by_prefix: dict[str, list[list[str]]] = {}
    for row in listing:
        by_prefix.setdefault(_component(row[0]), []).append(row)
    assert sorted(by_prefix) == sorted(
        ["coredns", "kindnet", "kube-proxy", *(f"{c}-{CONTROL_PLANE}" for c in STATIC)]
    )
    assert all(row[1:3] == ["1/1", "Running"] for row in listing)
    assert len(by_prefix["coredns"]) == 2 and {r[6] for r in by_prefix["coredns"]} == {
        CONTROL_PLANE
    }
    assert sorted(r[6] for r in by_prefix["kindnet"]) == sorted(
        r[6] for r in by_prefix["kube-proxy"]
    )
    assert (
        len({r[6] for r in by_prefix["kindnet"]}) == 4
    )  # one per node, the control plane too
    for row in (
        by_prefix["kindnet"]
        + by_prefix["kube-proxy"]
        + by_prefix[f"etcd-{CONTROL_PLANE}"]
    ):
        assert row[5].startswith("172.18.0."), row  # hostNetwork: the node's address
    (provisioner,) = rows(
        kubectl("get", "pods", "-n", "local-path-storage", "-o", "wide").stdout
    )
    assert (
        provisioner[0].startswith("local-path-provisioner-")
        and provisioner[6] == CONTROL_PLANE
    )


def _component(pod: str) -> str:
    """`coredns-578b9d7b7d-x2kqp` -> coredns, `kindnet-zbp8s` -> kindnet; static pods as named."""
    for owner in ("coredns", "kindnet", "kube-proxy"):
        if pod.startswith(owner + "-") and not pod.endswith(CONTROL_PLANE):
            return owner
    return pod


def test_static_pods_are_mirror_pods_owned_by_their_node_as_the_kubelet_posts_them(
    core: k8s.CoreV1Api,
) -> None:
    system_pods_running(core)
    node = core.read_node(CONTROL_PLANE)
    expected_cpu = {
        "etcd": "100m",
        "kube-apiserver": "250m",
        "kube-controller-manager": "200m",
        "kube-scheduler": "100m",
    }

    for component in STATIC:
        pod = core.read_namespaced_pod(f"{component}-{CONTROL_PLANE}", "kube-system")
        annotations = pod.metadata.annotations
        assert annotations["kubernetes.io/config.source"] == "file"
        assert (
            annotations["kubernetes.io/config.mirror"]
            == annotations["kubernetes.io/config.hash"]
        )
        assert len(annotations["kubernetes.io/config.hash"]) == 32
        (owner,) = pod.metadata.owner_references
        assert (owner.kind, owner.name, owner.uid, owner.controller) == (
            "Node",
            CONTROL_PLANE,
            node.metadata.uid,
            True,
        )
        assert pod.metadata.labels == {"component": component, "tier": "control-plane"}
        assert (
            pod.spec.priority_class_name == "system-node-critical"
            and pod.spec.priority == 2000001000
        )
        assert (
            pod.spec.host_network
            and pod.status.pod_ip == "172.18.0.2" == pod.status.host_ip
        )
        assert (
            pod.spec.service_account_name is None
        )  # mirror pods reference no service account
        assert [(t.operator, t.effect) for t in pod.spec.tolerations] == [
            ("Exists", "NoExecute")
        ]
        assert (
            pod.spec.containers[0].resources.requests["cpu"] == expected_cpu[component]
        )
    etcd = core.read_namespaced_pod(f"etcd-{CONTROL_PLANE}", "kube-system")
    assert etcd.spec.containers[0].resources.requests == {
        "cpu": "100m",
        "memory": "100Mi",
    }


def test_a_deleted_mirror_pod_comes_back_while_its_static_pod_runs_on(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    system_pods_running(core)
    name = f"kube-scheduler-{CONTROL_PLANE}"
    before = core.read_namespaced_pod(name, "kube-system")

    deleted = kubectl("delete", "pod", name, "-n", "kube-system")

    assert deleted.stdout == f'pod "{name}" deleted from kube-system namespace\n'
    after = eventually(
        lambda: (
            (p := _read(core, name))
            and p.metadata.uid != before.metadata.uid
            and p.status.phase == "Running"
            and p
        ),
        what="the mirror pod posted again",
    )
    started = [
        s.state.running.started_at
        for s in (before, after)
        for s in s.status.container_statuses
    ]
    assert started[0] == started[1]  # the same container: it never stopped
    assert after.status.container_statuses[0].restart_count == 0
    listing = rows(kubectl("get", "pod", name, "-n", "kube-system").stdout)
    assert listing[0][1:4] == ["1/1", "Running", "0"]


def _read(core: k8s.CoreV1Api, name: str) -> Any:
    try:
        return core.read_namespaced_pod(name, "kube-system")
    except ApiException:
        return None


def test_coredns_is_kubeadms_deployment_behind_kube_dns(
    core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    deployment = apps.read_namespaced_deployment("coredns", "kube-system")
    service = core.read_namespaced_service("kube-dns", "kube-system")

    assert deployment.spec.replicas == 2
    container = deployment.spec.template.spec.containers[0]
    assert container.image == "registry.k8s.io/coredns/coredns:v1.14.6"
    assert container.resources.requests == {"cpu": "100m", "memory": "70Mi"}
    tolerations = {(t.key, t.effect) for t in deployment.spec.template.spec.tolerations}
    assert ("node-role.kubernetes.io/control-plane", "NoSchedule") in tolerations
    assert service.spec.cluster_ip == "10.96.0.10"
    assert [(p.name, p.port, p.protocol) for p in service.spec.ports] == [
        ("dns", 53, "UDP"),
        ("dns-tcp", 53, "TCP"),
        ("metrics", 9153, "TCP"),
    ]
    assert service.metadata.labels == {
        "k8s-app": "kube-dns",
        "kubernetes.io/cluster-service": "true",
        "kubernetes.io/name": "CoreDNS",
    }
    assert (
        "kubernetes cluster.local in-addr.arpa ip6.arpa"
        in core.read_namespaced_config_map("coredns", "kube-system").data["Corefile"]
    )
    pods = core.list_namespaced_pod(
        "kube-system", label_selector="k8s-app=kube-dns"
    ).items
    assert len(pods) == 2 and all(p.spec.priority == 2000000000 for p in pods)


def test_daemonsets_and_their_config_are_kinds(
    apps: k8s.AppsV1Api, core: k8s.CoreV1Api, kubectl: Kubectl
) -> None:
    eventually(
        lambda: (
            apps.read_namespaced_daemon_set(
                "kindnet", "kube-system"
            ).status.number_ready
            == 4
        ),
        what="kindnet ready on 4 nodes",
    )

    listing = {
        r[0]: r
        for r in rows(kubectl("get", "ds", "-n", "kube-system", "-o", "wide").stdout)
    }

    assert listing["kindnet"][1:6] == ["4", "4", "4", "4", "4"]
    assert listing["kube-proxy"][1:7] == [
        "4",
        "4",
        "4",
        "4",
        "4",
        "kubernetes.io/os=linux",
    ]
    kindnet = apps.read_namespaced_daemon_set(
        "kindnet", "kube-system"
    ).spec.template.spec
    assert kindnet.host_network and kindnet.containers[0].resources.requests == {
        "cpu": "100m",
        "memory": "50Mi",
    }
    assert kindnet.containers[0].resources.limits == {"cpu": "100m", "memory": "50Mi"}
    assert (
        "mode: iptables"
        in core.read_namespaced_config_map("kube-proxy", "kube-system").data[
            "config.conf"
        ]
    )


def test_system_pods_log_their_components_start_up_lines(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    system_pods_running(core)

    coredns = kubectl("logs", "-n", "kube-system", "deploy/coredns").stdout
    apiserver = kubectl(
        "logs", "-n", "kube-system", f"kube-apiserver-{CONTROL_PLANE}"
    ).stdout

    assert coredns.splitlines()[0] == ".:53" and "CoreDNS-1.14.6" in coredns
    assert "Serving securely on [::]:6443" in apiserver
    etcd = kubectl(
        "logs", "-n", "kube-system", f"etcd-{CONTROL_PLANE}"
    ).stdout.splitlines()
    assert all(json.loads(line)["level"] == "info" for line in etcd)
    assert json.loads(etcd[-1])["msg"] == "serving client traffic securely"


# -- the API server's own objects ------------------------------------------------------------


def test_default_kube_system_and_kube_public_may_not_be_deleted(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    for name in ("default", "kube-system", "kube-public"):
        refused = kubectl("delete", "namespace", name, check=False)
        assert refused.returncode == 1
        assert (
            refused.stderr
            == f'Error from server (Forbidden): namespaces "{name}" is forbidden: this namespace may not be deleted\n'
        )

    with pytest.raises(ApiException) as err:
        core.delete_namespace("default")
    body = json.loads(err.value.body)
    assert (
        err.value.status == 403
        and body["reason"] == "Forbidden"
        and body["details"] == {"name": "default", "kind": "namespaces"}
    )
    assert core.read_namespace("default").status.phase == "Active"


def test_a_deleted_kube_node_lease_namespace_is_created_again(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    before = core.read_namespace("kube-node-lease").metadata.uid

    kubectl("delete", "namespace", "kube-node-lease")

    again = eventually(
        lambda: (
            (ns := _namespace(core, "kube-node-lease"))
            and ns.metadata.uid != before
            and ns
        ),
        what="kube-node-lease re-created",
    )
    assert again.status.phase == "Active"
    eventually(
        lambda: (
            len(
                k8s.CoordinationV1Api(core.api_client)
                .list_namespaced_lease("kube-node-lease")
                .items
            )
            == 4
        ),
        what="the node leases renewed again",
    )


def _namespace(core: k8s.CoreV1Api, name: str) -> Any:
    try:
        return core.read_namespace(name)
    except ApiException:
        return None


def test_the_kubernetes_service_endpoints_and_slice_name_the_control_planes_address(
    core: k8s.CoreV1Api, api_client: k8s.ApiClient
) -> None:
    node = core.read_node(CONTROL_PLANE)
    internal = next(a.address for a in node.status.addresses if a.type == "InternalIP")

    endpoints = core.read_namespaced_endpoints("kubernetes", "default")
    (slice_,) = (
        k8s.DiscoveryV1Api(api_client)
        .list_namespaced_endpoint_slice(
            "default", label_selector="kubernetes.io/service-name=kubernetes"
        )
        .items
    )

    assert internal == "172.18.0.2"
    assert endpoints.metadata.labels == {
        "endpointslice.kubernetes.io/skip-mirror": "true"
    }
    (subset,) = endpoints.subsets
    assert [a.ip for a in subset.addresses] == [internal]
    assert [(p.name, p.port, p.protocol) for p in subset.ports] == [
        ("https", 6443, "TCP")
    ]
    assert slice_.metadata.name == "kubernetes" and slice_.endpoints[0].addresses == [
        internal
    ]
    assert slice_.endpoints[0].conditions.ready and slice_.ports[0].port == 6443


def test_a_deleted_kubernetes_service_comes_back(kubectl: Kubectl) -> None:
    kubectl("delete", "service", "kubernetes")  # its Endpoints go with it

    listing = eventually(
        lambda: (
            (done := kubectl("get", "svc", "kubernetes", check=False)).returncode == 0
            and done.stdout
        ),
        what="kubernetes Service back",
    )

    assert rows(listing)[0][:5] == [
        "kubernetes",
        "ClusterIP",
        "10.96.0.1",
        "<none>",
        "443/TCP",
    ]
    endpoints = eventually(
        lambda: (
            (done := kubectl("get", "endpoints", "kubernetes", check=False)).returncode
            == 0
            and done.stdout
        ),
        what="Endpoints back",
    )
    assert rows(endpoints)[0][1] == "172.18.0.2:6443"


def test_cluster_info_prints_the_control_plane_and_coredns(
    kubectl: Kubectl, cluster: EmbeddedCluster
) -> None:
    info = kubectl("cluster-info").stdout

    assert info.splitlines()[:2] == [
        f"Kubernetes control plane is running at {cluster.url}",
        f"CoreDNS is running at {cluster.url}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy",
    ]


# -- nodes ----------------------------------------------------------------------------------


def test_describe_node_lists_the_system_pods_and_what_they_request(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    system_pods_running(core)
    eventually(lambda: len(core.list_namespaced_pod("local-path-storage").items) == 1)

    described = kubectl("describe", "node", CONTROL_PLANE).stdout

    assert "Non-terminated Pods:          (9 in total)" in described
    etcd = next(
        line for line in described.splitlines() if f"etcd-{CONTROL_PLANE}" in line
    )
    assert etcd.split()[2:6] == ["100m", "(2%)", "0", "(0%)"]
    allocated = described.split("Allocated resources:")[1]
    assert "cpu                950m (23%)  100m (2%)" in allocated
    assert "memory             290Mi (3%)  390Mi (4%)" in allocated
    worker = kubectl("describe", "node", "kubecourse-worker3").stdout
    assert (
        "kube-system                 kindnet-" in worker
        and "100m (2%)     100m (2%)   50Mi (0%)        50Mi (0%)" in worker
    )


def test_nodes_carry_the_kubelet_and_node_controller_events(kubectl: Kubectl) -> None:
    described = eventually(
        lambda: (
            (out := kubectl("describe", "node", "kubecourse-worker2").stdout)
            and "RegisteredNode" in out
            and out
        )
    )
    events = described.split("Events:")[1]

    for reason, source, message in (
        ("Starting", "kubelet", "Starting kubelet."),
        (
            "NodeHasSufficientMemory",
            "kubelet",
            "Node kubecourse-worker2 status is now: NodeHasSufficientMemory",
        ),
        (
            "NodeAllocatableEnforced",
            "kubelet",
            "Updated Node Allocatable limit across pods",
        ),
        ("NodeReady", "kubelet", "Node kubecourse-worker2 status is now: NodeReady"),
        (
            "RegisteredNode",
            "node-controller",
            "Node kubecourse-worker2 event: Registered Node kubecourse-worker2 in Controller",
        ),
    ):
        line = next(line for line in events.splitlines() if f" {reason} " in line)
        assert source in line.split() and line.rstrip().endswith(message), line


def test_cordon_and_uncordon_are_recorded_by_the_kubelet(kubectl: Kubectl) -> None:
    kubectl("cordon", "kubecourse-worker3")
    kubectl("uncordon", "kubecourse-worker3")

    def reasons() -> list[str]:
        listed = kubectl(
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=kubecourse-worker3",
            "-o",
            "json",
        ).stdout
        return [e["reason"] for e in json.loads(listed)["items"]]

    found = eventually(
        lambda: "NodeSchedulable" in (r := reasons()) and r, what="NodeSchedulable"
    )
    assert found.index("NodeNotSchedulable") < found.index("NodeSchedulable")


def test_drain_ignores_the_daemonset_pods_of_kindnet_and_kube_proxy(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    system_pods_running(core)
    daemons = sorted(
        f"kube-system/{p.metadata.name}"
        for p in core.list_namespaced_pod(
            "kube-system", field_selector="spec.nodeName=kubecourse-worker"
        ).items
    )

    drained = kubectl("drain", "kubecourse-worker", "--ignore-daemonsets")
    kubectl("uncordon", "kubecourse-worker")

    assert [d.rsplit("-", 1)[0] for d in daemons] == [
        "kube-system/kindnet",
        "kube-system/kube-proxy",
    ]
    assert (
        f"Warning: ignoring DaemonSet-managed Pods: {', '.join(daemons)}"
        in drained.stderr
    )
    assert drained.stdout.splitlines()[-1] == "node/kubecourse-worker drained"


# -- storage -------------------------------------------------------------------------------


def test_get_storageclass_prints_kinds_default_class(
    kubectl: Kubectl, storage: k8s.StorageV1Api
) -> None:
    listing = kubectl("get", "storageclass").stdout.splitlines()

    assert listing[0].split() == [
        "NAME",
        "PROVISIONER",
        "RECLAIMPOLICY",
        "VOLUMEBINDINGMODE",
        "ALLOWVOLUMEEXPANSION",
        "AGE",
    ]
    assert listing[1].split()[:6] == [
        "standard",
        "(default)",
        "rancher.io/local-path",
        "Delete",
        "WaitForFirstConsumer",
        "false",
    ]
    (standard,) = storage.list_storage_class().items
    assert standard.metadata.annotations == {
        "storageclass.kubernetes.io/is-default-class": "true"
    }
    assert (
        standard.provisioner,
        standard.reclaim_policy,
        standard.volume_binding_mode,
    ) == ("rancher.io/local-path", "Delete", "WaitForFirstConsumer")
    assert kubectl("api-resources", "--api-group=storage.k8s.io").stdout.splitlines()[
        1
    ].split() == ["storageclasses", "sc", "storage.k8s.io/v1", "false", "StorageClass"]


def test_an_invalid_storage_class_is_refused_naming_the_field(
    kubectl: Kubectl, storage: k8s.StorageV1Api
) -> None:
    bad = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "nothing"},
        "reclaimPolicy": "Recycle",
    }

    refused = kubectl("create", "-f", "-", input=json.dumps(bad), check=False)

    assert refused.returncode == 1
    assert refused.stderr == (
        'The StorageClass "nothing" is invalid: \n'
        "* provisioner: Required value\n"
        '* reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"\n'
    )
    with pytest.raises(ApiException) as changed:
        storage.patch_storage_class("standard", {"provisioner": "example.com/other"})
    body = json.loads(changed.value.body)
    assert changed.value.status == 422 and body["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: updates to provisioner are forbidden.",
            "field": "provisioner",
        }
    ]
    assert [c.metadata.name for c in storage.list_storage_class().items] == ["standard"]


def writer(name: str, claim: str, node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "w",
                "image": "nginx:1.27",
                "volumeMounts": [{"name": "d", "mountPath": "/data"}],
            }
        ],
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}],
    }
    if node:
        spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    return {"metadata": {"name": name}, "spec": spec}


@pytest.fixture(scope="module")
def kubectl_env(
    cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("kube-watch")
    (folder / "config").write_text(yaml.safe_dump(cluster.kubeconfig()))
    return {
        **os.environ,
        "KUBECONFIG": str(folder / "config"),
        "HOME": str(folder),
        "KUBECACHEDIR": str(folder / "cache"),
    }


def test_a_claim_waits_for_its_first_consumer_then_binds_on_its_node(
    kubectl: Kubectl, kubectl_env: dict[str, str], core: k8s.CoreV1Api
) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "notes"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "10Mi"}},
        },
    }
    kubectl("apply", "-f", "-", input=json.dumps(claim))

    with kubectl_watching(kubectl_env, "get", "pvc", "notes", "-w") as output:
        pending = eventually(
            lambda: (
                "WaitForFirstConsumer"
                in (out := kubectl("describe", "pvc", "notes").stdout)
                and out
            )
        )
        assert "waiting for first consumer to be created before binding" in pending
        time.sleep(0.3)
        assert (
            core.read_namespaced_persistent_volume_claim(
                "notes", "default"
            ).status.phase
            == "Pending"
        )

        core.create_namespaced_pod(
            "default", writer("notes-writer", "notes", "kubecourse-worker2")
        )

        bound = eventually(
            lambda: (
                (
                    c := core.read_namespaced_persistent_volume_claim(
                        "notes", "default"
                    )
                ).status.phase
                == "Bound"
                and c
            )
        )
        eventually(
            lambda: "Bound" in output(), what="kubectl get pvc -w printing Bound"
        )
    seen = rows(output())
    assert seen[0][:2] == ["notes", "Pending"] and seen[-1][:2] == ["notes", "Bound"]
    assert (
        bound.metadata.annotations["volume.kubernetes.io/selected-node"]
        == "kubecourse-worker2"
    )
    volume = core.read_persistent_volume(bound.spec.volume_name)
    term = volume.spec.node_affinity.required.node_selector_terms[0].match_expressions[
        0
    ]
    assert (term.key, term.operator, term.values) == (
        "kubernetes.io/hostname",
        "In",
        ["kubecourse-worker2"],
    )
    described = kubectl("describe", "pvc", "notes").stdout
    for reason in ("ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"):
        assert f"  Normal  {reason} " in described
    eventually(
        lambda: (
            core.read_namespaced_pod("notes-writer", "default").status.phase
            == "Running"
        )
    )

    core.create_namespaced_pod("default", writer("notes-reader", "notes"))

    reader = eventually(
        lambda: (
            (p := core.read_namespaced_pod("notes-reader", "default")).spec.node_name
            and p
        )
    )
    assert (
        reader.spec.node_name == "kubecourse-worker2"
    )  # the volume lives on that node
