"""Conformance item 30 with real kubectl: power a node off through its annotation, see it
NotReady with the unreachable taints, its pods evicted and replaced elsewhere; power it on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from tests.api.conftest import eventually

TIMINGS = Timings(
    schedule_delay=0.01,
    container_create_delay=0.05,
    container_start_delay=0.05,
    pod_termination_delay=0.05,
    node_lease_renew=0.25,
    node_status_update=1.0,
    node_monitor_grace_period=1.5,
)

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27-alpine}]
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=TIMINGS)) as running:
        yield running


def test_power_off_makes_a_node_not_ready_and_its_pods_move(kubectl: Any) -> None:
    node = "kubecourse-worker2"

    def status_of(name: str) -> str:
        for line in kubectl("get", "nodes", "--no-headers").stdout.splitlines():
            fields = line.split()
            if fields[0] == name:
                return str(fields[1])
        return ""

    def web_pods() -> list[dict[str, Any]]:
        return list(json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"])

    def ready(pod: dict[str, Any]) -> bool:
        conditions = pod.get("status", {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    kubectl("apply", "-f", "-", input=MANIFEST)
    kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    lease = json.loads(kubectl("get", "lease", node, "-n", "kube-node-lease", "-o", "json").stdout)
    assert lease["spec"]["holderIdentity"] == node and lease["spec"]["leaseDurationSeconds"] == 40
    before = {p["metadata"]["name"] for p in web_pods() if p["spec"]["nodeName"] == node}
    if not before:  # the spread put none there: take a node that has one
        node = web_pods()[0]["spec"]["nodeName"]
        before = {p["metadata"]["name"] for p in web_pods() if p["spec"]["nodeName"] == node}

    out = kubectl("annotate", "node", node, "kubecourse.io/power=off", "--overwrite").stdout
    assert f"node/{node} annotated" in out
    eventually(lambda: status_of(node) == "NotReady", timeout=10, what=f"{node} NotReady")
    taints = kubectl("get", "node", node, "-o", "jsonpath={.spec.taints}").stdout
    assert "node.kubernetes.io/unreachable" in taints and "NoExecute" in taints and "NoSchedule" in taints
    described = kubectl("describe", "node", node).stdout
    assert "NodeStatusUnknown" in described and "Kubelet stopped posting node status." in described

    def moved() -> bool:
        pods = web_pods()
        gone = all(p.get("metadata", {}).get("deletionTimestamp") for p in pods if p["metadata"]["name"] in before)
        fresh = [p for p in pods if not p["metadata"].get("deletionTimestamp") and ready(p)]
        return gone and len(fresh) == 3 and all(p["spec"]["nodeName"] != node for p in fresh)

    eventually(moved, timeout=15, what="pods replaced on other nodes")
    events = kubectl("get", "events", "--field-selector", "reason=TaintManagerEviction", "-o", "json").stdout
    messages = {e["message"] for e in json.loads(events)["items"]}
    assert {f"Marking for deletion Pod default/{name}" for name in before} <= messages
    listing = kubectl("get", "pods", "-l", "app=web", "--no-headers").stdout
    assert "Terminating" in listing  # no kubelet confirms on the lost node

    kubectl("annotate", "node", node, "kubecourse.io/power=on", "--overwrite")
    eventually(lambda: status_of(node) == "Ready", timeout=10, what=f"{node} Ready again")
    eventually(
        lambda: not kubectl("get", "node", node, "-o", "jsonpath={.spec.taints}").stdout.strip(),
        timeout=10,
        what="taints removed",
    )
    eventually(
        lambda: not before & {p["metadata"]["name"] for p in web_pods()},
        timeout=10,
        what="the old pods finalized",
    )
