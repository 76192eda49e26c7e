"""Embedded cluster: start-up time, idle CPU, and time for a Deployment scaled 1 -> 20
to show 20 ready endpoints.  Prints figures; asserts nothing about time.

    .venv/bin/python benchmarks/cluster.py [--runs 5] [--idle 20]

Measured through the official client over HTTPS, as a notebook would see it.  Start-up
is timed in-process (EmbeddedCluster.start) with and without kind's system workloads
(`ClusterOptions.system_workloads`), and as `kubecourse up` does it (a background daemon
with SQLite state, until it answers /readyz).  Idle CPU is the process's CPU time over
`--idle` seconds once the cluster has settled (its system pods Running), as a share of
one core, with and without the system workloads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kubernetes import client as k8s

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubecourse.embedded import daemon  # noqa: E402
from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster  # noqa: E402


def _client(cluster: EmbeddedCluster) -> k8s.ApiClient:
    config = k8s.Configuration(host=cluster.url)
    config.api_key = {"authorization": "Bearer " + cluster.token}
    config.ssl_ca_cert = str(cluster.ca_file)
    return k8s.ApiClient(config)


def in_process_start(system: bool = True) -> float:
    started = time.perf_counter()
    cluster = EmbeddedCluster(ClusterOptions(system_workloads=system)).start()
    with _client(cluster) as api:
        k8s.CoreV1Api(api).list_node()
    elapsed = time.perf_counter() - started
    cluster.stop()
    return elapsed


def idle_cpu(system: bool, seconds: float) -> float:
    """CPU time the whole process spends per second of wall time while nothing happens."""
    cluster = EmbeddedCluster(ClusterOptions(system_workloads=system)).start()
    try:
        with _client(cluster) as api:
            core = k8s.CoreV1Api(api)
            _wait(lambda: _settled(core, system), 60)
        time.sleep(3)  # let the first scrapes and heartbeats pass
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(seconds)
        return (time.process_time() - cpu) / (time.perf_counter() - wall)
    finally:
        cluster.stop()


def _settled(core: k8s.CoreV1Api, system: bool) -> bool:
    """Every Pod Running, and some Pods exactly when the system workloads are on."""
    pods = core.list_pod_for_all_namespaces().items
    return bool(pods) == system and all(p.status.phase == "Running" for p in pods)


def daemon_start() -> float:
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        daemon.ensure_running(home)
        elapsed = time.perf_counter() - started
        daemon.stop(home)
    return elapsed


def scale_to_twenty(cluster: EmbeddedCluster, name: str) -> float:
    with _client(cluster) as api:
        apps, discovery = k8s.AppsV1Api(api), k8s.DiscoveryV1Api(api)
        labels = {"app": name}
        template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "traefik/whoami:v1.10.1", "ports": [{"containerPort": 80}]}]}}
        apps.create_namespaced_deployment("default", {"metadata": {"name": name}, "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template}})
        k8s.CoreV1Api(api).create_namespaced_service("default", {"metadata": {"name": name}, "spec": {"selector": labels, "ports": [{"port": 80}]}})
        _wait(lambda: _ready_endpoints(discovery, name) == 1, 60)
        started = time.perf_counter()
        apps.patch_namespaced_deployment_scale(name, "default", {"spec": {"replicas": 20}})
        _wait(lambda: _ready_endpoints(discovery, name) == 20, 120)
        return time.perf_counter() - started


def _ready_endpoints(discovery: k8s.DiscoveryV1Api, service: str) -> int:
    slices = discovery.list_namespaced_endpoint_slice("default", label_selector=f"kubernetes.io/service-name={service}").items
    return sum(1 for s in slices for e in (s.endpoints or []) if e.conditions and e.conditions.ready)


def _wait(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("did not converge")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement")
    args = parser.parse_args()
    starts = [in_process_start() for _ in range(args.runs)]
    bare = [in_process_start(system=False) for _ in range(args.runs)]
    idle = {system: idle_cpu(system, args.idle) for system in (True, False)}
    daemons = [daemon_start() for _ in range(max(1, args.runs // 2))]
    cluster = EmbeddedCluster(ClusterOptions()).start()
    try:
        scales = [scale_to_twenty(cluster, f"bench-{i}") for i in range(args.runs)]
    finally:
        cluster.stop()
    print(f"in-process start-up to first answered request: median {statistics.median(starts) * 1000:.0f} ms (runs: {', '.join(f'{s * 1000:.0f}' for s in starts)})")
    print(f"  the same without system workloads:          median {statistics.median(bare) * 1000:.0f} ms (runs: {', '.join(f'{s * 1000:.0f}' for s in bare)})")
    print(f"idle CPU over {args.idle:.0f} s: {idle[True] * 1000:.2f} ms per second ({idle[True] * 100:.2f} % of a core) with system workloads, {idle[False] * 1000:.2f} ms per second without")
    print(f"`kubecourse up` (daemon, SQLite) to ready:   median {statistics.median(daemons) * 1000:.0f} ms (runs: {', '.join(f'{s * 1000:.0f}' for s in daemons)})")
    print(f"scale 1 -> 20 until 20 ready endpoints:      median {statistics.median(scales):.2f} s (runs: {', '.join(f'{s:.2f}' for s in scales)})")
    print("default timings: schedule 0.05 s, container create 0.4 s, container start 0.3 s per Pod")


if __name__ == "__main__":
    main()
