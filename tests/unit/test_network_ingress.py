"""Traefik as the ingress controller: Ingress and HTTPRoute rules, rewrites, backends."""

from __future__ import annotations

import pytest

from kubecourse.embedded.network import ingress
from kubecourse.embedded.network.controller import (
    GATEWAY_CLASS,
    gateway_class,
    ingress_class,
)
from kubecourse.embedded.network.http import Request
from tests.unit.networld import World, hostname

INGRESSES = "ingresses.networking.k8s.io"
ROUTES = "httproutes.gateway.networking.k8s.io"


@pytest.fixture
def world() -> World:
    world = World()
    world.store.write("ingressclasses.networking.k8s.io", ingress_class())
    world.store.write("gatewayclasses.gateway.networking.k8s.io", gateway_class())
    world.pod("traefik", "10.244.0.5", image="traefik:v3.1.2", namespace="traefik",
              node="kubecourse-control-plane", args=["--entrypoints.web.address=:80"])  # fmt: skip
    for name, ip in (
        ("account", "10.244.1.10"),
        ("orders", "10.244.1.11"),
        ("web", "10.244.2.10"),
    ):
        pod = world.pod(f"{name}-0", ip, labels={"app": name})
        world.service(name, f"10.96.1.{ip.rsplit('.', 1)[1]}", [pod])
    return world


def ask(
    world: World, path: str, host: str = "shop.local", **headers: str
) -> tuple[int, str]:
    conn = world.network.connect(world.network.control_plane(), "10.244.0.5", 80)
    reply = world.get(conn, path, host, **headers)
    return reply.status, reply.body.decode()


def add_ingress(world: World, rules: list[dict], **spec: object) -> None:
    world.store.write(INGRESSES, {"metadata": {"name": "shop", "namespace": "default",
                                               "creationTimestamp": "2026-01-01T00:00:00Z"},
                                  "spec": {"rules": rules, **spec}})  # fmt: skip


def path(value: str, service: str, kind: str = "Prefix") -> dict:
    return {
        "path": value,
        "pathType": kind,
        "backend": {"service": {"name": service, "port": {"number": 80}}},
    }


def test_ingress_prefix_paths_match_whole_segments_and_the_longest_wins(
    world: World,
) -> None:
    add_ingress(
        world,
        [{"http": {"paths": [path("/", "web"), path("/api/account", "account")]}}],
    )

    status, text = ask(world, "/api/account/1")
    assert status == 200 and text.startswith("Hostname: account-0\n")
    assert "GET /api/account/1 HTTP/1.1" in text  # an Ingress does not rewrite
    assert (
        hostname_of(ask(world, "/api/accounts")) == "web-0"
    )  # not a segment of /api/account
    assert hostname_of(ask(world, "/")) == "web-0"


def hostname_of(answer: tuple[int, str]) -> str:
    return answer[1].splitlines()[0].removeprefix("Hostname: ")


def test_ingress_hosts_exact_paths_and_classes_are_honoured(world: World) -> None:
    add_ingress(
        world,
        [{"host": "api.shop", "http": {"paths": [path("/health", "orders", "Exact")]}}],
    )

    assert ask(world, "/health", "api.shop")[0] == 200
    assert ask(world, "/health/x", "api.shop") == (404, "404 page not found\n")
    assert ask(world, "/health", "other.shop")[0] == 404
    add_ingress(
        world, [{"http": {"paths": [path("/", "web")]}}], ingressClassName="nginx"
    )
    assert ask(world, "/")[0] == 404  # another controller's class


def test_an_httproute_rewrites_the_prefix_as_url_rewrite_says(world: World) -> None:
    world.store.write("gateways.gateway.networking.k8s.io", {
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {"gatewayClassName": GATEWAY_CLASS, "listeners": [
            {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}}]},
    })  # fmt: skip
    rewrite = {
        "type": "URLRewrite",
        "urlRewrite": {
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/account"}
        },
    }
    world.store.write(ROUTES, {
        "metadata": {"name": "account", "namespace": "default"},
        "spec": {"parentRefs": [{"name": "shop"}], "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": "/api/account"}}],
            "filters": [rewrite], "backendRefs": [{"name": "account", "port": 80, "weight": 1}]}]},
    })  # fmt: skip

    status, text = ask(world, "/api/account/1?x=2")

    assert status == 200 and "GET /account/1?x=2 HTTP/1.1" in text
    assert (
        "X-Forwarded-Host: shop.local" in text and "X-Forwarded-Server: traefik" in text
    )
    assert "RemoteAddr: 10.244.0.5:" in text  # the controller's Pod calls the backend
    assert "X-Real-Ip: 172.18.0.2" in text


def test_replace_prefix_match_keeps_one_slash(world: World) -> None:
    route = ingress.Route(None, "/api", "Prefix", [], filters=[{"type": "URLRewrite", "urlRewrite": {
        "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}])  # fmt: skip

    def target(path: str) -> str:
        return ingress.rewrite(route, Request("GET", path, headers=[])).target

    assert (target("/api/orders"), target("/api"), target("/api/")) == (
        "/orders",
        "/",
        "/",
    )


def test_a_backend_without_ready_endpoints_is_skipped(world: World) -> None:
    world.service("empty", "10.96.1.99", [])
    add_ingress(
        world, [{"http": {"paths": [path("/", "web"), path("/empty", "empty")]}}]
    )

    assert hostname_of(ask(world, "/empty/x")) == "web-0"


def test_a_backend_that_refuses_is_a_bad_gateway(world: World) -> None:
    world.pod("down-0", "10.244.1.50", image="busybox", labels={"app": "down"})
    world.service("down", "10.96.1.50", [world.store.get("pods", "default", "down-0")])
    add_ingress(world, [{"http": {"paths": [path("/down", "down")]}}])

    assert ask(world, "/down") == (502, "Bad Gateway")


def test_endpoints_take_turns_in_round_robin(world: World) -> None:
    pods = [
        world.pod(f"multi-{i}", f"10.244.1.{60 + i}", labels={"app": "multi"})
        for i in range(3)
    ]
    world.service("multi", "10.96.1.60", pods)
    add_ingress(world, [{"http": {"paths": [path("/", "multi")]}}])

    assert [hostname_of(ask(world, "/")) for _ in range(6)] == [
        "multi-0",
        "multi-1",
        "multi-2",
    ] * 2


def test_the_router_reaches_the_controller_through_its_node_port_too(
    world: World,
) -> None:
    controller = world.store.get("pods", "traefik", "traefik")
    world.service(
        "traefik",
        "10.96.0.80",
        [controller],
        namespace="traefik",
        type="NodePort",
        node_port=30080,
    )
    add_ingress(world, [{"http": {"paths": [path("/", "web")]}}])

    reply = world.answer(None, "172.18.0.3", 30080)

    assert hostname(reply) == "web-0"
