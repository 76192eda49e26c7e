"""Controller behaviours as kubectl 1.37 sees them: retries after a refused create,
hand-written Endpoints and their mirrored slices, Pods of a deleted Node."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator

import pytest

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from tests.api.conftest import FAST, eventually

# PodGC's 40 s quarantine and 20 s period, shortened.
SCENARIOS = Timings(**{**FAST.__dict__, "podgc_quarantine": 0.5, "podgc_period": 0.5})

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

EXTERNAL_DB = """
apiVersion: v1
kind: Endpoints
metadata:
  name: ext-db2
subsets:
- addresses:
  - ip: 10.0.0.5
  ports:
  - port: 5432
---
apiVersion: v1
kind: Service
metadata:
  name: ext-db2
spec:
  ports:
  - port: 5432
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=SCENARIOS)) as running:
        yield running


def pod_names(kubectl: Kubectl, ns: str, selector: str) -> list[str]:
    found = kubectl("-n", ns, "get", "pods", "-l", selector, "-o", "name").stdout
    return found.split()


def test_a_deployment_over_its_quota_gets_its_pods_once_the_quota_is_raised(
    kubectl: Kubectl,
) -> None:
    kubectl("create", "ns", "qt")
    kubectl("-n", "qt", "create", "quota", "q", "--hard=pods=1")
    kubectl("-n", "qt", "create", "deploy", "x", "--image=nginx", "--replicas=3")
    eventually(
        lambda: "FailedCreate" in kubectl("-n", "qt", "get", "events").stdout,
        what="a FailedCreate event",
    )
    eventually(
        lambda: " 1/3 " in kubectl("-n", "qt", "get", "deploy", "x").stdout,
        what="the admitted pod ready (no pod event wakes the ReplicaSet after)",
    )
    described = kubectl("-n", "qt", "describe", "deploy", "x").stdout
    assert "ReplicaFailure" in described and "FailedCreate" in described

    kubectl("-n", "qt", "patch", "quota", "q", "-p", '{"spec":{"hard":{"pods":"5"}}}')

    eventually(lambda: len(pod_names(kubectl, "qt", "app=x")) == 3, what="3 pods")
    eventually(
        lambda: (
            "ReplicaFailure"
            not in kubectl("-n", "qt", "describe", "deploy", "x").stdout
        ),
        what="the ReplicaFailure condition cleared",
    )


def test_endpoints_applied_before_their_selectorless_service_are_kept_and_described(
    kubectl: Kubectl,
) -> None:
    kubectl("apply", "-f", "-", input=EXTERNAL_DB)

    got = json.loads(kubectl("get", "ep", "ext-db2", "-o", "json").stdout)
    assert got["subsets"][0]["addresses"] == [{"ip": "10.0.0.5"}]
    eventually(
        lambda: "10.0.0.5:5432" in kubectl("describe", "svc", "ext-db2").stdout,
        what="describe showing the mirrored address",
    )
    slices = kubectl(
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=ext-db2",
        "-o",
        "json",
    ).stdout
    (mirrored,) = json.loads(slices)["items"]
    assert mirrored["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
        "endpointslicemirroring-controller.k8s.io"
    )
    assert kubectl("get", "ep", "ext-db2", check=False).returncode == 0


def test_pods_of_a_deleted_node_are_collected_and_replaced_elsewhere(
    kubectl: Kubectl,
) -> None:
    kubectl("create", "ns", "gc")
    kubectl("-n", "gc", "create", "deploy", "web", "--image=nginx", "--replicas=6")
    eventually(
        lambda: "6/6" in kubectl("-n", "gc", "get", "deploy", "web").stdout,
        what="6 available",
    )
    wide = kubectl("-n", "gc", "get", "pods", "-o", "wide").stdout
    on_worker3 = [
        line.split()[0] for line in wide.splitlines() if "kubecourse-worker3" in line
    ]
    assert on_worker3

    kubectl("delete", "node", "kubecourse-worker3")

    def placed() -> bool:
        now = kubectl("-n", "gc", "get", "pods", "-o", "wide").stdout
        return (
            not any(name in now for name in on_worker3)
            and "kubecourse-worker3" not in now
        )

    eventually(placed, what="worker3's pods collected")
    eventually(
        lambda: "6/6" in kubectl("-n", "gc", "get", "deploy", "web").stdout,
        what="6 available again, on the remaining workers",
    )
    nodes = kubectl("get", "nodes").stdout
    assert "kubecourse-worker3" not in nodes  # a running kubelet does not re-register
