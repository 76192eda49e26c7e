"""metrics-server, simulated: every `Timings.metrics_resolution` (15 s, its
`--metric-resolution`) it scrapes each running kubelet and replaces `ctx.metrics`.

Faithful: only nodes whose kubelet runs are scraped (a powered-off node has no
NodeMetrics, nor do its pods); only Running pods whose containers all run are reported;
a container that started less than two thirds of a resolution before the scrape (10 s
at the default, metrics-server's freshness floor) has no metrics until the next one,
and a fresh one's `window` is the time since it started; otherwise the window is the
time since the previous scrape.  Each scrape replaces the last, so a deleted pod's
metrics vanish at the next one.  The figures come from `usage`.

Simplified: there is no CPU counter, so nothing is differentiated; each scrape reports
the usage of that moment.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from kubecourse.embedded.controllers import podutil, usage
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    parse_time,
)
from kubecourse.embedded.controllers.kubelet import powered_off
from kubecourse.embedded.metrics import NodeSample, PodSample
from kubecourse.embedded.system import controlplane

SCRAPE: Key = ("", "scrape")
FRESHNESS_FLOOR = (
    10.0  # metrics-server's minimum age of a fresh container's first point
)


class MetricsServer(Controller):
    name = "metrics-server"
    watches = ()

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._last_scrape: float | None = None

    def initial_keys(self) -> Iterable[Key]:
        return [SCRAPE]

    async def reconcile(self, key: Key) -> float | None:
        self.scrape(time.time())
        return self.ctx.timings.metrics_resolution

    def scrape(self, now: float) -> None:
        """One round over the running kubelets; replaces the stored metrics."""
        resolution = self.ctx.timings.metrics_resolution
        since_last = (
            now - self._last_scrape if self._last_scrape is not None else resolution
        )
        self._last_scrape = now
        scrape = self.ctx.metrics.scrapes
        all_pods = list(self.store.items("pods"))
        loads = usage.plan_loads(self.store, all_pods)

        pod_samples: list[PodSample] = []
        node_samples: list[NodeSample] = []
        for node in self.store.items("nodes"):
            if powered_off(node):
                continue
            name = node["metadata"]["name"]
            on_node = [p for p in all_pods if p["spec"].get("nodeName") == name]
            pods, node_sample = self._node(
                node, on_node, loads, now, since_last, scrape
            )
            pod_samples += pods
            node_samples.append(node_sample)
        self.ctx.metrics.replace(pod_samples, node_samples)

    def _node(
        self,
        node: Obj,
        pods: list[Obj],
        loads: dict[str, usage.Load],
        now: float,
        since_last: float,
        scrape: int,
    ) -> tuple[list[PodSample], NodeSample]:
        reported = [
            (pod, window)
            for pod in pods
            if (window := self._window(pod, now, since_last)) is not None
        ]
        raw = [
            [
                usage.container_usage(
                    pod, i, loads.get(pod["metadata"]["uid"], usage.Load()), scrape
                )
                for i in range(len(pod["spec"]["containers"]))
            ]
            for pod, _ in reported
        ]
        static = any(controlplane.is_mirror(p) for p in pods)
        system = usage.system_usage(node, scrape, static)
        available = usage.cpu_capacity_nanocores(node) - system.cpu_nanocores
        flat = usage.throttle([c for containers in raw for c in containers], available)

        samples: list[PodSample] = []
        for pod, window in reported:
            count = len(pod["spec"]["containers"])
            containers, flat = tuple(flat[:count]), flat[count:]
            meta = pod["metadata"]
            samples.append(
                PodSample(meta["namespace"], meta["name"], now, window, containers)
            )
        total = [system, *(c for s in samples for c in s.containers)]
        node_sample = NodeSample(
            node["metadata"]["name"],
            now,
            since_last,
            sum(c.cpu_nanocores for c in total),
            sum(c.memory_bytes for c in total),
        )
        return samples, node_sample

    def _window(self, pod: Obj, now: float, since_last: float) -> float | None:
        """The pod's metrics window, or None when it is not reported in this scrape."""
        status = pod.get("status") or {}
        if status.get("phase") != "Running" or podutil.is_terminating(pod):
            return None
        started = _container_starts(pod)
        if started is None:
            return None
        resolution = self.ctx.timings.metrics_resolution
        age = now - max(started)
        if age < min(FRESHNESS_FLOOR, resolution * 2 / 3):
            return None
        return min(age, since_last)


def _container_starts(pod: Obj) -> list[float] | None:
    """When each container started running; None unless all of them run."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    if len(statuses) != len(pod["spec"].get("containers") or []) or not statuses:
        return None
    starts = []
    for entry in statuses:
        running = (entry.get("state") or {}).get("running") or {}
        moment = parse_time(running.get("startedAt"))
        if moment is None:
            return None
        starts.append(moment.timestamp())
    return starts
