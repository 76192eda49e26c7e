"""The facade's request() and answers(): HTTP through the API server's service proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kubecourse
from kubecourse.client import Cluster
from kubecourse.client.routes import Route
from kubecourse.client.traffic import (
    Reply,
    _from_the_controller,
    _why_the_ingress_said_no,
)
from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from kubecourse.errors import ApiError, NotFoundError, UnreachableError
from tests.api.conftest import FAST

SHOP = Path(__file__).resolve().parents[2] / "shop" / "compose.yaml"
# Dropped connections fail quickly here (the API server's dial timeout is 30 s).
QUICK = Timings(
    **{**FAST.__dict__, "tcp_connect_timeout": 0.3, "proxy_dial_timeout": 0.3}
)


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=QUICK)) as running:
        yield running


@pytest.fixture(scope="module")
def shop(cluster: Cluster) -> Cluster:
    """The shop translated with its Gateway and HTTPRoutes, applied, every workload ready."""
    cluster.apply(kubecourse.translate(SHOP, gateway=True))
    cluster.wait_workloads_ready(timeout=60)
    cluster.wait_for(
        lambda: bool(cluster.endpoints("traefik", namespace="traefik")),
        30,
        "the ingress controller",
    )
    return cluster


def test_answers_counts_which_pods_answered_through_the_ingress(shop: Cluster) -> None:
    shop.scale("account-api", 3)
    shop.wait_for(
        lambda: len(shop.endpoints("account-api")) == 3,
        30,
        "three account-api endpoints",
    )

    tally = shop.answers(
        "traefik", 30, "/api/account/1", namespace="traefik", port="web"
    )

    assert set(tally) == {
        row.name for row in shop.pods({"app.kubernetes.io/name": "account-api"})
    }
    assert sorted(tally.values()) == [10, 10, 10]  # Traefik's round robin


def test_the_shop_apis_are_reachable_through_the_ingress_with_the_prefix_stripped(
    shop: Cluster,
) -> None:
    reply = shop.request("traefik", "/api/account/1", namespace="traefik", port="web")

    assert reply.status == 200 and (reply.pod or "").startswith("account-api-")
    assert "GET /account/1 HTTP/1.1" in reply.text  # the HTTPRoute's URLRewrite
    page = shop.request("traefik", "/", namespace="traefik", port="web")
    assert "<title>Welcome to nginx!</title>" in page.text


def test_the_backend_is_not_reachable_past_the_ingress(shop: Cluster) -> None:
    """The shop's NetworkPolicies admit the ingress controller only: the API server's
    proxy, from the control plane node, is dropped (after its dial timeout)."""
    with pytest.raises(ApiError) as blocked:
        shop.request("account-api", "/", port=80)

    assert blocked.value.code == 503 and "i/o timeout" in str(blocked.value)


def test_a_pods_error_answer_is_a_reply_and_the_api_servers_is_an_error(
    shop: Cluster,
) -> None:
    missing = shop.request(
        "traefik", "/nowhere/at/all", namespace="traefik", port="web"
    )
    assert (
        missing.status == 404
    )  # routed to the web app (`/`), whose nginx has no such file
    assert "<center><h1>404 Not Found</h1></center>" in missing.text
    with pytest.raises(NotFoundError):
        shop.request("no-such-service")
    with pytest.raises(ValueError, match="must start with"):
        shop.request("traefik", "api")


def test_route_prefers_the_httproute_and_send_counts_the_replicas_behind_it(
    shop: Cluster,
) -> None:
    route = shop.route("catalog-api")

    assert (route.via, route.rule, route.path) == ("ingress", "HTTPRoute catalog-api", "/api/catalog")
    assert (route.target_namespace, route.target, route.port) == ("traefik", "traefik", "web")
    tally = shop.send("catalog-api", 4)
    assert set(tally.counts) == {r.name for r in shop.pods({"app.kubernetes.io/name": "catalog-api"})}
    assert str(tally).startswith(
        "4 requests through the ingress controller (Service traefik/traefik; HTTPRoute catalog-api routes /api/catalog to catalog-api): "
    )


def test_a_service_no_route_reaches_is_kept_out_and_the_error_says_why(
    shop: Cluster,
) -> None:
    route = shop.route("queue")
    assert (route.via, route.port) == ("service proxy", "tcp-5672")

    with pytest.raises(UnreachableError) as kept_out:
        shop.send("queue", 1)

    message = str(kept_out.value)
    assert "the API server's proxy could not reach the Pods of queue" in message
    assert "NetworkPolicies network-backend, shop-default-deny, shop-from-ingress" in message
    assert "(this is correct: the backend stays private)" in message
    assert "kubectl exec <pod> -- wget -qO- http://queue" in message
    cause = kept_out.value.__cause__
    assert isinstance(cause, ApiError) and cause.code == 503 and "i/o timeout" in cause.message


def test_the_service_proxy_is_used_where_no_policy_guards_the_pods(shop: Cluster) -> None:
    shop.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "open"},
            "spec": {
                "selector": {"matchLabels": {"app": "open"}},
                "template": {
                    "metadata": {"labels": {"app": "open"}},
                    "spec": {"containers": [{"name": "whoami", "image": "traefik/whoami:v1.10.1"}]},
                },
            },
        }
    )
    shop.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "open"},
                "spec": {"selector": {"app": "open"}, "ports": [{"name": "http", "port": 80}]}})  # fmt: skip
    shop.wait_ready("open", timeout=30)
    shop.wait_for(lambda: bool(shop.endpoints("open")), 30, "the endpoint of open")

    tally = shop.send("open", 2)

    assert tally.route.via == "service proxy" and tally.route.port == "http"
    assert str(tally).startswith("2 requests through the API server's service proxy (Service open:http): open-")
    shop.delete("deployment", "open")
    shop.delete("service", "open")


def test_the_ingress_controllers_own_refusals_are_told_apart_from_a_pods_answer() -> None:
    route = Route("web", "default", "ingress", "traefik", "traefik", "web", "/shop", "Ingress shop")

    assert _from_the_controller(Reply(404, "404 page not found\n"))
    assert _from_the_controller(Reply(502, "Bad Gateway"))
    assert not _from_the_controller(Reply(404, "<html><h1>404 Not Found</h1></html>"))
    said = _why_the_ingress_said_no(route, Reply(404, "404 page not found\n"))
    assert said.startswith("the ingress controller has no route for /shop yet (404 page not found)")
