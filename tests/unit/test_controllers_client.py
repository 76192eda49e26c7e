"""What the controllers write deserialises in the official Python client (strict pydantic)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from kubecourse.embedded.cluster import EmbeddedCluster


@pytest.fixture(scope="module")
def api_client(controller_cluster: EmbeddedCluster) -> Iterator[k8s.ApiClient]:
    config = k8s.Configuration(host=controller_cluster.url)
    config.api_key = {"authorization": "Bearer " + controller_cluster.token}
    config.ssl_ca_cert = str(controller_cluster.ca_file)
    with k8s.ApiClient(config) as api:
        yield api


@pytest.fixture(scope="module")
def shop(kube: Any, api_client: k8s.ApiClient, eventually: Any) -> str:
    """A namespace with a Deployment, a Service, a failing pod and a StatefulSet, settled."""
    ns = kube.namespace("client")
    apps = k8s.AppsV1Api(api_client)
    core = k8s.CoreV1Api(api_client)
    labels = {"app": "web"}
    container = k8s.V1Container(
        name="web",
        image="traefik/whoami",
        ports=[k8s.V1ContainerPort(container_port=80, name="http")],
    )
    template = k8s.V1PodTemplateSpec(
        metadata=k8s.V1ObjectMeta(labels=labels),
        spec=k8s.V1PodSpec(containers=[container]),
    )
    spec = k8s.V1DeploymentSpec(
        replicas=3, selector=k8s.V1LabelSelector(match_labels=labels), template=template
    )
    apps.create_namespaced_deployment(
        ns, k8s.V1Deployment(metadata=k8s.V1ObjectMeta(name="web"), spec=spec)
    )
    port = k8s.V1ServicePort(port=80, target_port="http", name="http")
    core.create_namespaced_service(
        ns,
        k8s.V1Service(
            metadata=k8s.V1ObjectMeta(name="web"),
            spec=k8s.V1ServiceSpec(selector=labels, ports=[port]),
        ),
    )
    probe = k8s.V1Probe(tcp_socket=k8s.V1TCPSocketAction(port=80))
    sick = k8s.V1Container(
        name="web", image="traefik/whoami", ports=container.ports, readiness_probe=probe
    )
    meta = k8s.V1ObjectMeta(
        name="sick", labels=labels, annotations={"kubecourse.io/readiness": "fail"}
    )
    core.create_namespaced_pod(
        ns, k8s.V1Pod(metadata=meta, spec=k8s.V1PodSpec(containers=[sick]))
    )
    kube.create(
        "pods",
        ns,
        {
            "metadata": {"name": "huge"},
            "spec": {
                "containers": [
                    {
                        "name": "m",
                        "image": "nginx",
                        "resources": {"requests": {"cpu": "100"}},
                    }
                ]
            },
        },
    )

    def settled() -> bool:
        d = apps.read_namespaced_deployment(name="web", namespace=ns)
        ready = (d.status.available_replicas or 0) == 3
        endpoints = core.read_namespaced_endpoints(name="web", namespace=ns)
        slices = k8s.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(ns)
        listed = [e.conditions.ready for s in slices.items for e in s.endpoints or []]
        subset = endpoints.subsets[0] if endpoints.subsets else None
        return (
            ready
            and subset is not None
            and len(subset.addresses or []) == 3
            and len(subset.not_ready_addresses or []) == 1
            and sorted(listed) == [False, True, True, True]
        )

    eventually(settled, what="the deployment rolled out and its endpoints filled")
    return ns


def test_pods_with_full_status_deserialise(
    api_client: k8s.ApiClient, shop: str
) -> None:
    pods = k8s.CoreV1Api(api_client).list_namespaced_pod(shop).items

    running = [
        p for p in pods if p.status.phase == "Running" and p.metadata.name != "sick"
    ]
    assert len(running) == 3
    for pod in running:
        (status,) = pod.status.container_statuses
        assert status.ready is True and status.image_id.startswith(
            "docker.io/traefik/whoami@sha256:"
        )
        assert pod.status.pod_ip.startswith("10.244.")
        assert pod.status.conditions[0].last_transition_time is not None
    (huge,) = [p for p in pods if p.metadata.name == "huge"]
    assert huge.status.conditions[0].reason == "Unschedulable"


def test_workload_objects_deserialise_with_their_status(
    api_client: k8s.ApiClient, shop: str
) -> None:
    apps = k8s.AppsV1Api(api_client)

    deployment = apps.read_namespaced_deployment(name="web", namespace=shop)
    (rs,) = apps.list_namespaced_replica_set(shop).items

    assert deployment.status.updated_replicas == 3
    assert [c.type for c in deployment.status.conditions] == [
        "Available",
        "Progressing",
    ]
    assert deployment.status.conditions[1].last_update_time is not None
    assert (
        rs.status.ready_replicas == 3
        and rs.metadata.owner_references[0].kind == "Deployment"
    )


def test_endpoints_and_slices_deserialise(api_client: k8s.ApiClient, shop: str) -> None:
    endpoints = k8s.CoreV1Api(api_client).read_namespaced_endpoints(
        name="web", namespace=shop
    )
    slices = k8s.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(shop).items

    (subset,) = endpoints.subsets
    assert [a.target_ref.name for a in subset.not_ready_addresses] == ["sick"]
    assert subset.ports[0].port == 80
    (endpoint_slice,) = slices
    ready = sorted(e.conditions.ready for e in endpoint_slice.endpoints)
    assert ready == [False, True, True, True]


def test_events_deserialise_with_their_sources(
    api_client: k8s.ApiClient, shop: str
) -> None:
    events = k8s.CoreV1Api(api_client).list_namespaced_event(shop).items

    by_reason = {e.reason: e for e in events}
    assert {
        "Scheduled",
        "Pulling",
        "Started",
        "SuccessfulCreate",
        "ScalingReplicaSet",
        "FailedScheduling",
        "Unhealthy",
    } <= set(by_reason)
    assert by_reason["Started"].source.component == "kubelet"
    assert by_reason["FailedScheduling"].type == "Warning"


def test_service_account_config_map_and_logs_read_through_the_client(
    api_client: k8s.ApiClient, shop: str
) -> None:
    core = k8s.CoreV1Api(api_client)

    assert (
        core.read_namespaced_service_account(
            name="default", namespace=shop
        ).metadata.name
        == "default"
    )
    assert (
        "ca.crt"
        in core.read_namespaced_config_map(name="kube-root-ca.crt", namespace=shop).data
    )
    pod = next(
        p
        for p in core.list_namespaced_pod(shop).items
        if p.metadata.name.startswith("web-")
    )
    assert core.read_namespaced_pod_log(
        name=pod.metadata.name, namespace=shop
    ).endswith("Starting up on port 80\n")
