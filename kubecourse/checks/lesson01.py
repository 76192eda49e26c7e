"""Checks for exercise 01: the shop translated, applied and scaled."""

from __future__ import annotations

from typing import Any

from kubecourse.checks.base import CheckResult, failed, not_yet, passed, register
from kubecourse.errors import NotFoundError

SHOP_WORKLOADS = {
    "Deployment": ["web", "account-api", "orders-api", "catalog-api", "account-worker",
                   "orders-worker", "catalog-worker", "queue"],
    "StatefulSet": ["db"],
}  # fmt: skip


@register("shop-applied")
def shop_applied(cluster: Any) -> CheckResult:
    """Every workload of the shop exists and has all its replicas ready."""
    name = "shop-applied"
    missing, unready = [], []
    for kind, names in SHOP_WORKLOADS.items():
        for workload in names:
            try:
                obj = cluster.get(kind, workload)
            except NotFoundError:
                missing.append(f"{kind} {workload}")
                continue
            want = obj["spec"].get("replicas", 1)
            ready = (obj.get("status") or {}).get("readyReplicas") or 0
            if ready < want:
                unready.append(f"{workload} ({ready}/{want} ready)")
    if missing:
        return failed(name, f"not found: {', '.join(missing)}",
                      "translate ../shop/compose.yaml and pass the result to cluster.apply()")
    if unready:
        return not_yet(name, f"not ready yet: {', '.join(unready)}",
                      "Pods take a moment to start; run the check again in a few seconds")
    total = sum(len(v) for v in SHOP_WORKLOADS.values())
    return passed(name, f"all {total} workloads of the shop are running")


@register("orders-api-scaled")
def orders_api_scaled(cluster: Any, replicas: int = 3) -> CheckResult:
    """orders-api has `replicas` ready Pods, each with its own IP, all behind its Service."""
    name = "orders-api-scaled"
    try:
        deploy = cluster.get("Deployment", "orders-api")
    except NotFoundError:
        return failed(name, "there is no Deployment orders-api", "apply the translated shop first")
    want = deploy["spec"].get("replicas", 1)
    if want != replicas:
        return failed(name, f"orders-api asks for {want} replica(s), not {replicas}",
                      f"cluster.scale('orders-api', {replicas}) changes spec.replicas")
    pods = [p for p in cluster.pods({"app.kubernetes.io/name": "orders-api"}) if p.status != "Terminating"]
    ready = [p for p in pods if p.ready]
    if len(ready) != replicas:
        return not_yet(name, f"{len(ready)} of {replicas} orders-api Pods are ready",
                      "the ReplicaSet is still creating Pods; check again in a moment")
    ips = {p.ip for p in ready}
    endpoints = {e.ip for e in cluster.endpoints("orders-api") if e.ready}
    if endpoints != ips:
        return not_yet(name, f"the Service sends traffic to {sorted(endpoints)}, the ready Pods have {sorted(ips)}",
                      "endpoints follow Ready Pods; wait a moment and check again")
    nodes = sorted({p.node for p in ready if p.node})
    return passed(name, f"{replicas} ready Pods with {len(ips)} different IPs on {len(nodes)} node(s), "
                        f"and the Service orders-api has exactly those {len(endpoints)} endpoints")


@register("worker-strategy")
def worker_strategy(cluster: Any, answer: Any = None) -> CheckResult:
    """The learner names the strategy that keeps orders-worker from ever running twice."""
    name = "worker-strategy"
    try:
        actual = cluster.get("Deployment", "orders-worker")["spec"]["strategy"]["type"]
    except NotFoundError:
        return failed(name, "there is no Deployment orders-worker", "apply the translated shop first")
    if answer is None or answer is Ellipsis:
        return failed(name, "no answer yet", "set `answer` to the strategy type of orders-worker, as a string")
    if not isinstance(answer, str) or answer.strip().lower() != actual.lower():
        return failed(name, f"{answer!r} is not the strategy orders-worker uses",
                      "read cluster.get('Deployment', 'orders-worker')['spec']['strategy']",
                      "RollingUpdate starts the new Pod before the old one stops: two workers at once")
    return passed(name, f"{actual}: during an update the old Pod is gone before the new one starts, "
                        "so an update never runs the worker twice (a deleted Pod is still replaced "
                        "at once; lesson 03 shows when you need a StatefulSet)")
