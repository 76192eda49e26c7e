"""Where a connection goes: ClusterIPs, endpoints, NodePorts, Pod IPs, and how it fails."""

from __future__ import annotations

from collections import Counter

import pytest

from kubecourse.embedded.network.wire import NetError
from tests.unit.networld import World, hostname


@pytest.fixture
def world() -> World:
    return World()


def fails(world: World, source: dict | None, ip: str, port: int = 80) -> str:
    origin = (
        world.network.source_of(source)
        if source is not None
        else world.network.control_plane()
    )
    with pytest.raises(NetError) as failure:
        world.network.connect(origin, ip, port)
    return failure.value.kind


def test_a_cluster_ip_spreads_requests_over_every_ready_endpoint(world: World) -> None:
    pods = [
        world.pod(f"web-{i}", f"10.244.1.{10 + i}", labels={"app": "web"})
        for i in range(3)
    ]
    client = world.pod("client", "10.244.2.5", node="kubecourse-worker2")
    world.service("web", "10.96.0.20", pods)

    seen = Counter(hostname(world.answer(client, "10.96.0.20")) for _ in range(60))

    assert set(seen) == {"web-0", "web-1", "web-2"}
    assert min(seen.values()) > 5  # random, as kube-proxy's iptables mode


def test_an_unready_endpoint_never_answers_through_the_service(world: World) -> None:
    ready = world.pod("web-0", "10.244.1.10", labels={"app": "web"})
    unready = world.pod("web-1", "10.244.1.11", labels={"app": "web"}, ready=False)
    world.service("web", "10.96.0.20", [ready, unready])

    answers = {hostname(world.answer(None, "10.96.0.20")) for _ in range(30)}

    assert answers == {"web-0"}
    assert (
        hostname(world.answer(None, "10.244.1.11")) == "web-1"
    )  # its own IP still works


def test_session_affinity_client_ip_keeps_a_client_on_one_pod(world: World) -> None:
    pods = [world.pod(f"web-{i}", f"10.244.1.{10 + i}") for i in range(3)]
    client = world.pod("client", "10.244.2.5")
    world.service("web", "10.96.0.20", pods, sessionAffinity="ClientIP")

    assert len({hostname(world.answer(client, "10.96.0.20")) for _ in range(20)}) == 1


def test_a_named_target_port_reaches_the_port_the_slice_resolved(world: World) -> None:
    pod = world.pod("web-0", "10.244.1.10", args=["--port", "8080"])
    world.service("web", "10.96.0.20", [pod], port=80, target=8080)

    reply = world.answer(None, "10.96.0.20")

    assert reply.status == 200 and hostname(reply) == "web-0"


def test_a_service_without_endpoints_is_refused_and_an_unknown_port_times_out(
    world: World,
) -> None:
    world.service("empty", "10.96.0.30", [])
    pod = world.pod("web-0", "10.244.1.10")
    world.service("web", "10.96.0.20", [pod])

    assert fails(world, None, "10.96.0.30") == "refused"  # kube-proxy's REJECT
    assert fails(world, None, "10.96.0.20", 81) == "timeout"  # no rule matches
    assert fails(world, None, "10.96.9.9") == "timeout"  # no Service at all


def test_a_pod_ip_answers_directly_and_a_free_address_has_no_route(
    world: World,
) -> None:
    world.pod("web-0", "10.244.1.10")

    assert hostname(world.answer(None, "10.244.1.10")) == "web-0"
    assert fails(world, None, "10.244.1.10", 5432) == "refused"  # nothing listens there
    assert fails(world, None, "10.244.1.99") == "unreachable"
    assert fails(world, None, "93.184.215.14") == "outside"


def test_a_powered_off_node_drops_what_is_sent_to_its_pods(world: World) -> None:
    world.pod("web-0", "10.244.1.10")
    world.node("kubecourse-worker", 1, power="off")

    assert fails(world, None, "10.244.1.10") == "timeout"


def test_a_node_port_on_any_node_reaches_the_service_masqueraded(world: World) -> None:
    pod = world.pod("web-0", "10.244.1.10")
    world.service("web", "10.96.0.20", [pod], type="NodePort", node_port=30080)

    reply = world.answer(None, "172.18.0.4", 30080)  # worker2: the pod is on worker

    assert hostname(reply) == "web-0"
    assert "RemoteAddr: 172.18.0.4:" in reply.body.decode()  # SNAT to the node
    assert fails(world, None, "172.18.0.4", 30081) == "refused"


def test_external_traffic_policy_local_drops_a_node_port_without_a_local_endpoint(
    world: World,
) -> None:
    pod = world.pod("web-0", "10.244.1.10")
    world.service("web", "10.96.0.20", [pod], type="NodePort", node_port=30080,
                  externalTrafficPolicy="Local")  # fmt: skip

    assert hostname(world.answer(None, "172.18.0.3", 30080)) == "web-0"
    assert fails(world, None, "172.18.0.4", 30080) == "timeout"


def test_a_host_port_on_the_pods_node_reaches_the_pod(world: World) -> None:
    world.pod("edge", "10.244.1.10", ports=[{"containerPort": 80, "hostPort": 8081}])

    assert hostname(world.answer(None, "172.18.0.3", 8081)) == "edge"
    assert fails(world, None, "172.18.0.4", 8081) == "refused"  # another node


def test_loopback_from_a_pod_is_the_pod_itself(world: World) -> None:
    pod = world.pod("web-0", "10.244.1.10")

    reply = world.get(
        world.network.connect(world.network.source_of(pod), "127.0.0.1", 80)
    )

    assert (
        hostname(reply) == "web-0" and "RemoteAddr: 127.0.0.1:" in reply.body.decode()
    )


def test_databases_accept_connections_and_close_on_http(world: World) -> None:
    db = world.pod("db", "10.244.1.20", image="postgres:16-alpine")

    conn = world.network.connect(world.network.source_of(db), "10.244.1.20", 5432)
    assert conn.pod["metadata"]["name"] == "db"
    assert fails(world, None, "10.244.1.20", 80) == "refused"


def test_a_stopped_container_listens_on_nothing(world: World) -> None:
    pod = world.pod("web-0", "10.244.1.10")
    pod["status"]["containerStatuses"][0]["state"] = {
        "waiting": {"reason": "ContainerCreating"}
    }
    world.store.write("pods", pod)

    assert (
        fails(world, None, "10.244.1.10") == "refused"
    )  # the sandbox is up, nothing listens


def test_an_unknown_image_answers_its_declared_port_honestly(world: World) -> None:
    world.pod(
        "api", "10.244.1.30", image="example/api:1", ports=[{"containerPort": 8080}]
    )

    reply = world.answer(None, "10.244.1.30", 8080)

    assert reply.status == 501
    assert b"does not know what the image example/api:1 serves" in reply.body
    assert fails(world, None, "10.244.1.30", 80) == "refused"


def test_a_selectorless_service_reaches_the_addresses_its_mirrored_slice_lists(
    world: World,
) -> None:
    from kubecourse.embedded.controllers.endpointslicemirroring import (
        mirrored_slices,
        slice_meta,
    )

    world.pod("db-0", "10.244.1.10")
    svc = {
        "metadata": {"name": "db", "namespace": "default", "uid": "svc-db"},
        "spec": {"clusterIP": "10.96.0.40", "ports": [{"name": "", "port": 80}]},
    }
    world.store.write("services", svc)
    endpoints = {
        "metadata": {"name": "db", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "10.244.1.10"}], "ports": [{"port": 80}]}],
    }
    labels, annotations = slice_meta(endpoints)
    for family, ports, addresses in mirrored_slices(endpoints):
        world.store.write(
            "endpointslices.discovery.k8s.io",
            {
                "metadata": {
                    "name": "db-mirror",
                    "namespace": "default",
                    "labels": labels,
                },
                "addressType": family,
                "ports": ports,
                "endpoints": addresses,
            },
        )

    assert hostname(world.answer(None, "10.96.0.40")) == "db-0"
    endpoints["subsets"][0]["addresses"] = [{"ip": "10.0.0.5"}]  # outside the cluster
    (_, ports, addresses), *_ = mirrored_slices(endpoints)
    found = world.store.get("endpointslices.discovery.k8s.io", "default", "db-mirror")
    world.store.write(
        "endpointslices.discovery.k8s.io", {**found, "endpoints": addresses}
    )
    assert (
        fails(world, None, "10.96.0.40") == "outside"
    )  # no external routing: a clean failure
