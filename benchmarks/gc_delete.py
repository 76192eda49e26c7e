"""Garbage collection: how long until every pod of a deleted 300-pod Deployment is gone.
Prints figures; asserts nothing about time.

    .venv/bin/python benchmarks/gc_delete.py [--pods 300] [--filler 2000] [--runs 3]

A Deployment of `--pods` replicas is created and left to run; then it is deleted through
the official client with `propagationPolicy` Background (what kubectl sends) and,
separately, Foreground, and the time until no pod of it is left is printed.  `--filler`
ConfigMaps in another namespace stand for the rest of a busy cluster: the garbage
collector's dependent lookup must not grow with them.  Timings are short (pods start and
terminate in a few milliseconds) so the figures are the control plane's own cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from kubernetes import client as k8s

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster  # noqa: E402
from kubecourse.embedded.controllers.base import Timings  # noqa: E402

FAST = Timings(
    schedule_delay=0.0,
    container_create_delay=0.01,
    container_start_delay=0.01,
    pod_termination_delay=0.01,
)


def _client(cluster: EmbeddedCluster) -> k8s.ApiClient:
    config = k8s.Configuration(host=cluster.url)
    config.api_key = {"authorization": "Bearer " + cluster.token}
    config.ssl_ca_cert = str(cluster.ca_file)
    return k8s.ApiClient(config)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _deployment(name: str, replicas: int) -> dict[str, object]:
    labels = {"app": name}
    container = {"name": "app", "image": "traefik/whoami:v1.10.1"}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container]},
            },
        },
    }


def _fill(core: k8s.CoreV1Api, count: int) -> None:
    core.create_namespace({"metadata": {"name": "filler"}})
    for i in range(count):
        core.create_namespaced_config_map("filler", {"metadata": {"name": f"cm-{i}"}})


def one_run(api: k8s.ApiClient, name: str, pods: int, policy: str) -> float:
    apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)

    def count() -> int:
        return len(
            core.list_namespaced_pod("default", label_selector=f"app={name}").items
        )

    apps.create_namespaced_deployment("default", _deployment(name, pods))
    _wait(lambda: count() == pods, 300, f"{pods} pods")
    started = time.perf_counter()
    apps.delete_namespaced_deployment(name, "default", propagation_policy=policy)
    _wait(lambda: count() == 0, 300, "every pod to be gone")
    elapsed = time.perf_counter() - started
    _wait(
        lambda: not apps.list_namespaced_deployment("default").items,
        60,
        "the deployment to go",
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=300)
    parser.add_argument("--filler", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with (
        EmbeddedCluster(ClusterOptions(timings=FAST)) as cluster,
        _client(cluster) as api,
    ):
        _fill(k8s.CoreV1Api(api), args.filler)
        for policy in ("Background", "Foreground"):
            times = [
                one_run(api, f"gc-{policy.lower()}-{i}", args.pods, policy)
                for i in range(args.runs)
            ]
            print(
                f"delete a {args.pods}-pod Deployment ({policy}, {args.filler} other objects): "
                f"median {statistics.median(times):.2f} s, runs "
                + ", ".join(f"{t:.2f}" for t in times)
            )


if __name__ == "__main__":
    main()
