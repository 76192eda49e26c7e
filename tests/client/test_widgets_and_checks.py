"""The scale widget and the exercise checks, driven as a learner would, without a browser.

ipywidgets uses a dummy comm when no kernel is running, so setting the slider's value
is exactly what a front-end drag sends.
"""

from __future__ import annotations

import pytest

from kubecourse.checks import check
from kubecourse.client import Cluster
from kubecourse.errors import ArgumentError, CheckFailed
from kubecourse.widgets import scaler


def test_dragging_the_slider_scales_and_the_view_follows(shop: Cluster) -> None:
    view = scaler(shop, "account-api")
    try:
        assert view.slider.value == 1
        view.slider.value = 3  # what dragging does
        view.wait_until(lambda v: v.settled(3), timeout=30)
        assert shop.get("deployment", "account-api")["spec"]["replicas"] == 3
        ips = {p.ip for p in view.pods}
        assert len(ips) == 3 and set(view.ready_addresses) == ips
        assert all(ip in view.endpoints_view.value for ip in ips)
        assert "3 desired" in view.summary.value
        view.scale_to(1)
        view.wait_until(lambda v: v.settled(1), timeout=30)
    finally:
        view.close()


def test_send_requests_shows_which_pods_answered_through_the_ingress(shop: Cluster) -> None:
    via = {"service": "traefik", "namespace": "traefik", "port": "web", "path": "/api/catalog/"}
    view = scaler(shop, "catalog-api", requests=via)
    try:
        shop.scale("catalog-api", 2)
        view.wait_until(lambda v: v.settled(2), timeout=30)
        pods = {p.name for p in view.pods}
        shop.wait_for(lambda: set(view.send_requests(10)) == pods, 30, "both Pods answering")
        assert all(f"{name}: 5" in view.answered.value for name in pods)  # round robin
        shop.scale("catalog-api", 1)
    finally:
        view.close()


def test_widget_rejects_values_outside_its_range(shop: Cluster) -> None:
    view = scaler(shop, "catalog-api", max_replicas=5)
    try:
        for bad in (-1, 6, 2.0, "2"):
            with pytest.raises(ValueError, match="from 0 to 5"):
                view.scale_to(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_replicas"):
            scaler(shop, "catalog-api", max_replicas=0)
    finally:
        view.close()


def test_checks_pass_on_the_solved_state_and_explain_the_unsolved_one(shop: Cluster) -> None:
    assert check("shop-applied", shop).passed
    with pytest.raises(CheckFailed, match="orders-api asks for 1 replica"):
        check("orders-api-scaled", shop, replicas=3)
    shop.scale("orders-api", 3)
    result = check("orders-api-scaled", shop, replicas=3, wait=30)
    assert "3 ready Pods" in result.message
    shop.scale("orders-api", 1)


def test_worker_strategy_check_wants_the_real_strategy(shop: Cluster) -> None:
    with pytest.raises(CheckFailed, match="no answer yet"):
        check("worker-strategy", shop, answer=...)
    with pytest.raises(CheckFailed, match="RollingUpdate starts the new Pod"):
        check("worker-strategy", shop, answer="RollingUpdate")
    assert check("worker-strategy", shop, answer="recreate").passed


def test_unknown_check_names_the_known_ones(shop: Cluster) -> None:
    with pytest.raises(ArgumentError, match="the checks are: orders-api-scaled, shop-applied"):
        check("no-such-check", shop)


def test_send_requests_goes_through_the_ingress_and_every_replica_answers(shop: Cluster) -> None:
    """What lesson 01 shows: the shop's policies keep the API server's proxy out, so
    the button sends through the Ingress that routes /api/orders, as a browser would."""
    view = scaler(shop, "orders-api")
    try:
        view.scale_to(3)
        view.wait_until(lambda v: v.settled(3), timeout=30)
        pods = {p.name for p in view.pods}

        shop.wait_for(lambda: set(view.send_requests()) == pods, 30, "every replica answering")

        assert view.last is not None and view.last.route.via == "ingress"
        assert view.answered.value.startswith(
            "10 requests through the ingress controller (Service traefik/traefik; Ingress shop routes /api/orders to orders-api): "
        )
        assert sorted(view.last.counts.values()) == [3, 3, 4]  # Traefik's round robin
        view.scale_to(1)
        view.wait_until(lambda v: v.settled(1), timeout=30)
    finally:
        view.close()


def test_send_requests_says_why_when_no_pod_is_ready(shop: Cluster) -> None:
    view = scaler(shop, "catalog-api")
    try:
        view.scale_to(0)
        view.wait_until(lambda v: v.settled(0), timeout=30)

        assert view.send_requests() == {}

        assert view.answered.value == (
            "could not send: catalog-api has no ready Pod to answer: scale it up (the slider, "
            "or cluster.scale) or wait until its Pods are Ready"
        )
        view.scale_to(1)
        view.wait_until(lambda v: v.settled(1), timeout=30)
    finally:
        view.close()


def test_a_worker_without_a_service_scales_and_the_view_says_nothing_sends_it_traffic(shop: Cluster) -> None:
    view = scaler(shop, "orders-worker")
    try:
        assert view.service is None and view.send.disabled
        view.wait_until(lambda v: v.settled(1), timeout=30)
        assert "no Service selects these Pods" in view.summary.value
        assert "No Service selects these Pods" in view.endpoints_view.value
        assert view.send_requests() == {}
        assert "no Service sends traffic to the Pods of orders-worker" in view.answered.value
    finally:
        view.close()


def test_the_service_is_found_by_its_selector_when_its_name_differs(shop: Cluster) -> None:
    shop.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "orders-front"},
                "spec": {"selector": {"app.kubernetes.io/name": "orders-worker"}, "ports": [{"port": 80}]}})  # fmt: skip
    view = scaler(shop, "orders-worker")
    try:
        assert view.service == "orders-front"
    finally:
        view.close()
        shop.delete("service", "orders-front")
