"""The embedded API server through the official client: start-up, GET/LIST/PATCH
latency at 100, 1,000 and 10,000 Pods, watch fan-out, and LIST against its floor.

    .venv/bin/python benchmarks/api.py [--sizes 100,1000,10000] [--samples 50]

Controllers and the system workloads are off (`run_controllers=False`,
`system_workloads=False`), so the figures are the API server's own.
The "floor" is the time to JSON-encode the same list in-process: the ratio says how close
LIST gets to the cost it cannot avoid.  Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import watch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster  # noqa: E402
from kubecourse.embedded.resources import rt  # noqa: E402


def _client(cluster: EmbeddedCluster) -> k8s.ApiClient:
    config = k8s.Configuration(host=cluster.url)
    config.api_key = {"authorization": "Bearer " + cluster.token}
    config.ssl_ca_cert = str(cluster.ca_file)
    return k8s.ApiClient(config)


def _pod(i: int) -> dict:
    return {"metadata": {"name": f"p-{i:05d}", "labels": {"app": "bench", "i": str(i % 10)}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _time(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def cold_start(runs: int = 5) -> list[float]:
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        cluster = EmbeddedCluster(ClusterOptions(run_controllers=False, system_workloads=False)).start()
        with _client(cluster) as api:
            k8s.VersionApi(api).get_code()
        results.append(time.perf_counter() - started)
        cluster.stop()
    return results


def at_size(size: int, samples: int) -> None:
    options = ClusterOptions(run_controllers=False, system_workloads=False, max_pods_per_namespace=size + 1)
    cluster = EmbeddedCluster(options).start()
    try:
        pods = rt("pods")
        for start in range(0, size, 1000):  # in slices, within cluster.call's time limit
            chunk = range(start, min(start + 1000, size))
            cluster.call(lambda chunk=chunk: [cluster.api.create(pods, "default", _pod(i)) for i in chunk])
        with _client(cluster) as api:
            core = k8s.CoreV1Api(api)
            get = _time(lambda: core.read_namespaced_pod("p-00000", "default"), samples)
            lists = _time(lambda: core.list_namespaced_pod("default", _preload_content=False).data, max(5, samples // 5))
            n = iter(range(10**9))
            patch = _time(lambda: core.patch_namespaced_pod("p-00000", "default", {"metadata": {"labels": {"n": str(next(n))}}}), samples)
            paged = _time(lambda: _walk(core), max(3, samples // 10))
            behind = _pages_behind(cluster, core, writes=1000)
            items = cluster.call(lambda: cluster.api.list(pods, "default")).items
            encode = _time(lambda: json.dumps({"kind": "PodList", "items": items}, separators=(",", ":")), 5)
        print(f"{size:>6} pods | GET p50 {_ms(get, .5):6.1f} ms p99 {_ms(get, .99):6.1f} | "
              f"LIST p50 {_ms(lists, .5):7.1f} ms p99 {_ms(lists, .99):7.1f} | "
              f"PATCH p50 {_ms(patch, .5):6.1f} ms p99 {_ms(patch, .99):6.1f} | "
              f"LIST / JSON floor {statistics.median(lists) / statistics.median(encode):4.1f}x "
              f"(floor {statistics.median(encode) * 1000:.1f} ms)")
        behind_text = (f"p50 {_ms(behind, .5):6.1f} ms p99 {_ms(behind, .99):6.1f}" if behind
                       else "none (one page holds every Pod)")
        print(f"{'':>6}      | paged LIST (limit 500, every page) p50 {_ms(paged, .5):7.1f} ms | "
              f"a page read 1,000 writes behind {behind_text}")
    finally:
        cluster.stop()


def _walk(core: k8s.CoreV1Api) -> None:
    """Every page of a paged list, as kubectl's default chunk size reads them."""
    token = None
    while True:
        token = _page(core, token).get("continue")
        if not token:
            return


def _page(core: k8s.CoreV1Api, token: str | None) -> dict:
    """One page's list metadata, the body read raw (the client's models cost more than
    the server does)."""
    raw = core.list_namespaced_pod("default", limit=500, _continue=token, _preload_content=False)
    return json.loads(raw.data)["metadata"]


def _pages_behind(cluster: EmbeddedCluster, core: k8s.CoreV1Api, writes: int) -> list[float]:
    """The later pages of a list whose first page is `writes` changes old: each is read
    at the first page's revision, the store undoing the changes since."""
    pods = rt("pods")
    first = _page(core, None)
    token = first.get("continue")
    if not token:  # one page holds them all: nothing is read behind
        return []
    n = min(writes, 500 + first.get("remainingItemCount", 0))
    cluster.call(lambda: [cluster.api.patch(pods, "default", f"p-{i:05d}", "merge", {"metadata": {"labels": {"w": "1"}}}) for i in range(n)])
    out = []
    while token:
        started = time.perf_counter()
        token = _page(core, token).get("continue")
        out.append(time.perf_counter() - started)
    return out


def fan_out(watchers: int = 10, events: int = 500) -> float:
    cluster = EmbeddedCluster(ClusterOptions(run_controllers=False, system_workloads=False)).start()
    try:
        counts = [0] * watchers
        clients = [_client(cluster) for _ in range(watchers)]
        rv = k8s.CoreV1Api(clients[0]).list_namespaced_config_map("default").metadata.resource_version

        def watch_one(i: int) -> None:
            w = watch.Watch()
            for _ in w.stream(k8s.CoreV1Api(clients[i]).list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=60):
                counts[i] += 1
                if counts[i] >= events:
                    w.stop()

        threads = [threading.Thread(target=watch_one, args=(i,)) for i in range(watchers)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        started = time.perf_counter()
        cms = rt("configmaps")
        cluster.call(lambda: [cluster.api.create(cms, "default", {"metadata": {"name": f"cm-{i}"}}) for i in range(events)])
        for t in threads:
            t.join(timeout=120)
        elapsed = time.perf_counter() - started
        for c in clients:
            c.close()
        return sum(counts) / elapsed
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    starts = cold_start()
    print(f"cold start to ready (in-process, first request answered): median {statistics.median(starts) * 1000:.0f} ms")
    for size in (int(s) for s in args.sizes.split(",")):
        at_size(size, args.samples)
    print(f"watch fan-out: {fan_out():.0f} events/s delivered to 10 watchers")


if __name__ == "__main__":
    main()
