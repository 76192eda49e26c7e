"""NetworkPolicy enforcement on new connections, as kindnet (kube-network-policies) does it."""

from __future__ import annotations

import pytest

from kubecourse.embedded.network import policy
from kubecourse.embedded.network.wire import NetError
from tests.unit.networld import World, hostname


@pytest.fixture
def world() -> World:
    world = World()
    world.pod("api", "10.244.1.10", labels={"app": "api", "tier": "backend"})
    world.pod("web", "10.244.2.10", labels={"app": "web"}, node="kubecourse-worker2")
    world.pod(
        "edge",
        "10.244.2.20",
        namespace="traefik",
        labels={"app": "traefik"},
        node="kubecourse-worker2",
    )
    return world


def reaches(world: World, source: str, namespace: str, ip: str, port: int = 80) -> bool:
    pod = world.store.get("pods", namespace, source)
    origin = (
        world.network.source_of(pod)
        if pod is not None
        else world.network.control_plane()
    )
    try:
        world.network.connect(origin, ip, port)
    except NetError as err:
        assert err.kind == "timeout", "a policy drops packets: the client times out"
        return False
    return True


def test_without_policies_every_pod_reaches_every_other(world: World) -> None:
    assert reaches(world, "web", "default", "10.244.1.10")
    assert reaches(world, "edge", "traefik", "10.244.1.10")
    assert reaches(world, "nobody", "default", "10.244.1.10")  # the API server's node


def test_a_policy_selecting_a_pod_without_rules_denies_all_its_ingress(
    world: World,
) -> None:
    world.policy("default-deny", podSelector={"matchLabels": {"tier": "backend"}})

    assert not reaches(world, "web", "default", "10.244.1.10")
    assert not reaches(world, "nobody", "default", "10.244.1.10")
    assert reaches(world, "api", "default", "10.244.2.10")  # web is not selected


def test_pod_and_namespace_selectors_admit_their_peers_only(world: World) -> None:
    world.policy("deny", podSelector={"matchLabels": {"tier": "backend"}}, ingress=[])
    world.policy("from-web", podSelector={"matchLabels": {"tier": "backend"}},
                 ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}])  # fmt: skip

    assert reaches(world, "web", "default", "10.244.1.10")
    assert not reaches(
        world, "edge", "traefik", "10.244.1.10"
    )  # podSelector: own namespace only

    world.policy("from-ingress", podSelector={}, ingress=[{"from": [{"namespaceSelector": {
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                              "values": ["traefik"]}]}}]}])  # fmt: skip
    assert reaches(world, "edge", "traefik", "10.244.1.10")


def test_ip_blocks_match_addresses_and_their_exceptions(world: World) -> None:
    world.policy("nodes", podSelector={"matchLabels": {"app": "api"}},
                 ingress=[{"from": [{"ipBlock": {"cidr": "172.18.0.0/16", "except": ["172.18.0.3/32"]}}]}])  # fmt: skip

    assert reaches(
        world, "nobody", "default", "10.244.1.10"
    )  # the control plane, 172.18.0.2
    assert not reaches(world, "web", "default", "10.244.1.10")  # a pod address


def test_ports_match_by_number_name_and_range(world: World) -> None:
    world.pod("multi", "10.244.1.40", image="example/multi",
              ports=[{"name": "http", "containerPort": 8080}, {"containerPort": 9000}])  # fmt: skip
    world.policy("ports", podSelector={"matchLabels": {"app": "multi"}},
                 ingress=[{"ports": [{"port": "http"}, {"port": 9000, "endPort": 9005, "protocol": "TCP"}]}])  # fmt: skip

    assert reaches(world, "web", "default", "10.244.1.40", 8080)
    assert reaches(world, "web", "default", "10.244.1.40", 9000)
    assert not policy.allowed(
        world.store,
        policy.End("10.244.2.10"),
        policy.End(
            "10.244.1.40",
            world.store.get("pods", "default", "multi"),
            "kubecourse-worker",
        ),
        9006,
    )


def test_egress_rules_limit_what_a_pod_may_reach(world: World) -> None:
    world.policy("web-egress", podSelector={"matchLabels": {"app": "web"}}, policyTypes=["Egress"],
                 egress=[{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": 80}]}])  # fmt: skip
    world.pod("other", "10.244.1.50", labels={"app": "other"})

    assert reaches(world, "web", "default", "10.244.1.10")
    assert not reaches(world, "web", "default", "10.244.1.50")
    assert reaches(world, "api", "default", "10.244.1.50")  # api is not limited


def test_policy_types_default_to_ingress_plus_egress_when_egress_rules_exist() -> None:
    assert policy.policy_types({"spec": {}}) == ["Ingress"]
    assert policy.policy_types({"spec": {"egress": [{}]}}) == ["Ingress", "Egress"]
    assert policy.policy_types({"spec": {"policyTypes": ["Egress"]}}) == ["Egress"]


def test_a_nodes_own_traffic_to_its_pods_is_always_allowed(world: World) -> None:
    world.policy("deny-all", podSelector={})
    api = world.store.get("pods", "default", "api")
    node = policy.End("172.18.0.3", None, "kubecourse-worker")  # api's own node
    target = policy.End("10.244.1.10", api, "kubecourse-worker")

    assert policy.allowed(world.store, node, target, 80)
    assert not policy.allowed(
        world.store,
        policy.End("172.18.0.2", None, "kubecourse-control-plane"),
        target,
        80,
    )


def test_a_policy_judges_the_pod_a_service_chose_on_its_target_port(
    world: World,
) -> None:
    backend = world.pod(
        "api-2",
        "10.244.1.11",
        labels={"app": "api", "tier": "backend"},
        args=["--port", "8080"],
    )
    world.service("api", "10.96.0.40", [backend], port=80, target=8080)
    world.policy("only-8080", podSelector={"matchLabels": {"tier": "backend"}},
                 ingress=[{"ports": [{"port": 8080}]}])  # fmt: skip

    assert (
        hostname(world.answer(world.store.get("pods", "default", "web"), "10.96.0.40"))
        == "api-2"
    )
