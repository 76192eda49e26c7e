"""The horizontal pod autoscaler controller: HPAs (autoscaling/v2, as stored) scale their
target through its `scale` subresource from the resource metrics API.

Faithful to kube-controller-manager's `podautoscaler` (the arithmetic is in
`replicacalc`): every HPA is synced every `Timings.hpa_sync_period` (15 s; a new or
changed HPA waits for its next sync, as the rate-limited queue makes it); the target
(Deployment, ReplicaSet, StatefulSet: any kind with `scale`) is read and written through
its Scale; Resource and ContainerResource metrics with Utilization (of the pods'
requests) and AverageValue targets; the highest proposal of all metrics wins, and a
metric that fails is skipped unless all fail or the rest would scale down; a target at
0 replicas is not scaled (ScalingDisabled); outside min/max it is brought back first;
stabilization and rate limits without `behavior` (downscale window
`Timings.hpa_downscale_stabilization`, 300 s; up at most max(2x, 4)) and with it (its
windows and policies; scale-down's window defaults to the same 300 s).  Status as
upstream writes it: `currentReplicas`, `desiredReplicas`, `currentMetrics` (in spec
order; `{"type": ""}` for a metric that failed), `lastScaleTime`, `observedGeneration`
(1.37's HPAGeneration), conditions AbleToScale (SucceededGetScale, ReadyForNewScale,
ScaleUpStabilized / ScaleDownStabilized, SucceededRescale, FailedGetScale,
FailedUpdateScale), ScalingActive (ValidMetricFound, FailedGetResourceMetric,
ScalingDisabled, ...) and ScalingLimited (DesiredWithinRange, TooFewReplicas,
TooManyReplicas, ScaleUpLimit, ScaleDownLimit); events SuccessfulRescale
"New size: 4; reason: cpu resource utilization (percentage of request) above target",
FailedGetResourceMetric, FailedComputeMetricsReplicas, FailedGetScale, FailedRescale
(component horizontal-pod-autoscaler).

Simplified: Pods, Object and External metrics need a custom or external metrics API,
which this cluster does not serve: they fail as on a cluster without one.  Scale to
zero (the alpha HPAScaleToZero gate) is not supported, nor the checks for an empty or
ambiguous (shared by two HPAs) selector.  Recommendations and scale
events live in memory, as upstream (a restart forgets them).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterable
from typing import Any

from kubecourse.embedded.controllers import hpastatus
from kubecourse.embedded.controllers import replicacalc as calc
from kubecourse.embedded.controllers.base import Context, Controller, Key, Obj
from kubecourse.embedded.resources import ResourceType
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

HPAS = "horizontalpodautoscalers.autoscaling"
COMPONENT = "horizontal-pod-autoscaler"


class ReplicaFailure(Exception):
    """A sync that could not compute or apply a replica count (already recorded)."""


class HorizontalController(Controller):
    name = "horizontal-pod-autoscaler"
    watches = (HPAS,)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.recommendations: dict[Key, list[tuple[float, int]]] = {}
        self.scale_ups: dict[Key, list[calc.ScaleEvent]] = {}
        self.scale_downs: dict[Key, list[calc.ScaleEvent]] = {}
        self._pending: set[Key] = set()

    # -- the queue: every HPA once per sync period ---------------------------------------

    def start(self) -> None:
        for key in self.initial_keys():
            self._schedule(key)
        self._task = asyncio.ensure_future(self._run())

    def on_change(self, change: Change) -> None:
        if change.resource not in self.watches:
            return
        key = next(iter(self.keys_for(change)))
        if change.type == "DELETED":
            for memory in (self.recommendations, self.scale_ups, self.scale_downs):
                memory.pop(key, None)
            return
        self._schedule(key)

    def _schedule(self, key: Key) -> None:
        """Like upstream's AddRateLimited: due after a sync period, once."""
        if key in self._pending:
            return
        self._pending.add(key)
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self._pending.discard(key)
            self.enqueue(key)

        handle = loop.call_later(self.ctx.timings.hpa_sync_period, fire)
        self._timers.add(handle)

    async def reconcile(self, key: Key) -> float | None:
        hpa = self.store.get(HPAS, *key)
        if hpa is None:
            return None
        self._schedule(key)
        self.sync(copy.deepcopy(hpa))
        return None

    # -- one sync (reconcileAutoscaler) -------------------------------------------------

    def sync(self, hpa: Obj) -> None:
        key: Key = (hpa["metadata"]["namespace"], hpa["metadata"]["name"])
        original = copy.deepcopy(hpa.get("status") or {})
        hpa.setdefault("status", {})
        try:
            rt, scale = self._read_scale(hpa)
            self._scale_with(key, hpa, rt, scale)
        except ReplicaFailure:
            pass
        self._write_status(hpa, original)

    def _scale_with(self, key: Key, hpa: Obj, rt: ResourceType, scale: Obj) -> None:
        spec = hpa["spec"]
        current = int(scale["spec"].get("replicas") or 0)
        self.recommendations.setdefault(key, [(time.time(), current)])
        low, high = int(spec.get("minReplicas") or 1), int(spec["maxReplicas"])
        statuses: list[Obj] | None = None
        reason = ""
        rescale = True
        if current == 0:
            desired, rescale = 0, False
            hpastatus.condition(
                hpa,
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )
        elif current > high:
            desired, reason = high, "Current number of replicas above Spec.MaxReplicas"
        elif current < low:
            desired, reason = low, "Current number of replicas below Spec.MinReplicas"
        else:
            proposal, metric, statuses = self._metrics_proposal(hpa, scale, current)
            desired = proposal
            if desired > current:
                reason = f"{metric} above target"
            elif desired < current:
                reason = "All metrics below target"
            desired = self._normalize(key, hpa, current, desired, low, high)
            rescale = desired != current

        if rescale:
            self._rescale(key, hpa, rt, scale, current, desired, reason, statuses)
        else:
            desired = current
        hpastatus.set_status(hpa, current, desired, statuses, rescale)

    # -- the target's scale -------------------------------------------------------------

    def _read_scale(self, hpa: Obj) -> tuple[ResourceType, Obj]:
        ref = hpa["spec"].get("scaleTargetRef") or {}
        namespace = hpa["metadata"]["namespace"]
        rt = self.api.registry.by_kind(
            str(ref.get("apiVersion") or ""), str(ref.get("kind") or "")
        )
        try:
            if rt is None or "scale" not in rt.subresources:
                group = str(ref.get("apiVersion") or "").rpartition("/")[0]
                raise StatusError(
                    404,
                    "NotFound",
                    f'no matches for kind "{ref.get("kind")}" in group "{group}"',
                )
            scale = self.api.get_scale(rt, namespace, str(ref.get("name")))
        except StatusError as err:
            self._event(hpa, "FailedGetScale", err.message, "Warning")
            hpastatus.condition(
                hpa,
                "AbleToScale",
                "False",
                "FailedGetScale",
                f"the HPA controller was unable to get the target's current scale: {err.message}",
            )
            raise ReplicaFailure from err
        hpastatus.condition(
            hpa,
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
        )
        return rt, scale

    def _rescale(
        self,
        key: Key,
        hpa: Obj,
        rt: ResourceType,
        scale: Obj,
        current: int,
        desired: int,
        reason: str,
        statuses: list[Obj] | None,
    ) -> None:
        body = copy.deepcopy(scale)
        body["spec"]["replicas"] = desired
        # Upstream retries on conflicts; in this one event loop an unconditional write is that.
        body["metadata"].pop("resourceVersion", None)
        try:
            self.api.update_scale(
                rt, hpa["metadata"]["namespace"], scale["metadata"]["name"], body
            )
        except StatusError as err:
            self._event(
                hpa,
                "FailedRescale",
                f"New size: {desired}; reason: {reason}; error: {err.message}",
                "Warning",
            )
            hpastatus.condition(
                hpa,
                "AbleToScale",
                "False",
                "FailedUpdateScale",
                f"the HPA controller was unable to update the target scale: {err.message}",
            )
            hpastatus.set_status(
                hpa,
                current,
                int((hpa.get("status") or {}).get("desiredReplicas") or 0),
                statuses,
                False,
            )
            raise ReplicaFailure from err
        hpastatus.condition(
            hpa,
            "AbleToScale",
            "True",
            "SucceededRescale",
            f"the HPA controller was able to update the target scale to {desired}",
        )
        self._event(hpa, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
        self._store_scale_event(key, hpa, current, desired)

    # -- metrics ------------------------------------------------------------------------

    def _metrics_proposal(
        self, hpa: Obj, scale: Obj, current: int
    ) -> tuple[int, str, list[Obj]]:
        """`computeReplicasForMetrics`: the largest proposal, its metric, every status."""
        specs = hpa["spec"].get("metrics") or []
        statuses: list[Obj] = [{"type": ""} for _ in specs]
        pods = self._pods(hpa, scale)
        best, best_metric = 0, ""
        failures: list[tuple[str, str, str]] = []  # (reason, condition message, error)
        for i, spec in enumerate(specs):
            try:
                replicas, metric, statuses[i] = self._one_metric(
                    hpa, spec, current, pods
                )
            except calc.MetricError as err:
                failures.append(self._metric_failure(hpa, spec, str(err)))
                continue
            if best == 0 or replicas > best:
                best, best_metric = replicas, metric

        if failures and (len(failures) >= len(specs) or best < current):
            reason, message, error = failures[0]
            hpastatus.condition(hpa, "ScalingActive", "False", reason, message)
            combined = f"invalid metrics ({len(failures)} invalid out of {len(specs)}), first error is: {error}"
            hpastatus.set_status(
                hpa,
                current,
                int(hpa["status"].get("desiredReplicas") or 0),
                statuses,
                False,
            )
            self._event(hpa, "FailedComputeMetricsReplicas", combined, "Warning")
            raise ReplicaFailure(combined)
        hpastatus.condition(
            hpa,
            "ScalingActive",
            "True",
            "ValidMetricFound",
            f"the HPA was able to successfully calculate a replica count from {best_metric}",
        )
        return best, best_metric, statuses

    def _pods(self, hpa: Obj, scale: Obj) -> list[Obj]:
        selector = (scale.get("status") or {}).get("selector") or ""
        pods = self.api.list(
            self.ctx.rt("pods"), hpa["metadata"]["namespace"], label_selector=selector
        ).items
        return list(pods)

    def _one_metric(
        self, hpa: Obj, spec: Obj, current: int, pods: list[Obj]
    ) -> tuple[int, str, Obj]:
        kind = spec.get("type")
        if kind in hpastatus.CUSTOM_METRICS:
            raise calc.MetricError(hpastatus.custom_metric_error(spec))
        source = (
            spec.get("resource")
            if kind == "Resource"
            else spec.get("containerResource")
        )
        if kind not in ("Resource", "ContainerResource") or not source:
            raise calc.MetricError(f'unknown metric source type "{kind}"')
        resource, container = (
            str(source.get("name")),
            str(source.get("container") or ""),
        )
        target = source.get("target") or {}
        utilization = target.get("type") == "Utilization" or (
            target.get("averageValue") is None
            and target.get("averageUtilization") is not None
        )
        try:
            proposal = calc.resource_replicas(
                current,
                target,
                resource,
                hpastatus.tolerances(hpa),
                pods,
                self._samples(pods),
                self._timing(),
                container,
            )
        except calc.MetricError as err:
            raise calc.MetricError(
                f"failed to get {resource} {'utilization' if utilization else 'usage'}: {err}"
            ) from err
        return (
            proposal.replicas,
            hpastatus.metric_name(resource, kind, utilization),
            hpastatus.metric_status(spec, source, proposal),
        )

    def _samples(self, pods: Iterable[Obj]) -> list[Any]:
        """What the metrics API lists for these pods: Running ones from the last scrape."""
        found = []
        for pod in pods:
            meta = pod["metadata"]
            sample = self.ctx.metrics.pod(meta["namespace"], meta["name"])
            if (
                sample is not None
                and (pod.get("status") or {}).get("phase") == "Running"
            ):
                found.append(sample)
        return found

    def _timing(self) -> calc.Timing:
        t = self.ctx.timings
        return calc.Timing(
            time.time(), t.hpa_cpu_initialization_period, t.hpa_initial_readiness_delay
        )

    def _metric_failure(self, hpa: Obj, spec: Obj, error: str) -> tuple[str, str, str]:
        """Record the metric's failure event; (condition reason, message, wrapped error)."""
        kind = str(spec.get("type"))
        source = (
            spec.get("resource")
            if kind == "Resource"
            else spec.get("containerResource")
        ) or {}
        reason = {
            "Resource": "FailedGetResourceMetric",
            "ContainerResource": "FailedGetContainerResourceMetric",
        }.get(kind, hpastatus.CUSTOM_METRICS.get(kind, ("InvalidMetricSourceType",))[0])
        self._event(hpa, reason, error, "Warning")
        if kind == "Resource":
            wrapped = (
                f"failed to get {source.get('name')} resource metric value: {error}"
            )
        elif kind == "ContainerResource":
            wrapped = f"failed to get {source.get('container')} container metric value: {error}"
        elif kind in hpastatus.CUSTOM_METRICS:
            wrapped = f"failed to get {hpastatus.CUSTOM_METRICS[kind][1]} metric value: {error}"
        else:
            wrapped = error
        return (
            reason,
            f"the HPA was unable to compute the replica count: {error}",
            wrapped,
        )

    # -- stabilization and rate limits --------------------------------------------------

    def _normalize(
        self, key: Key, hpa: Obj, current: int, desired: int, low: int, high: int
    ) -> int:
        behavior = hpa["spec"].get("behavior")
        now = time.time()
        if behavior is None:
            stabilized = self._stabilize(key, desired, now)
            if stabilized != desired:
                hpastatus.condition(
                    hpa,
                    "AbleToScale",
                    "True",
                    "ScaleDownStabilized",
                    "recent recommendations were higher than current one, applying the highest recent recommendation",
                )
            else:
                hpastatus.condition(
                    hpa,
                    "AbleToScale",
                    "True",
                    "ReadyForNewScale",
                    "recommended size matches current size",
                )
            final, reason, message = calc.limit_replicas(current, stabilized, low, high)
        else:
            stabilized, why, text = self._stabilize_with_behavior(
                key, behavior, current, desired, now
            )
            if stabilized != desired:
                hpastatus.condition(hpa, "AbleToScale", "True", why, text)
            else:
                hpastatus.condition(
                    hpa,
                    "AbleToScale",
                    "True",
                    "ReadyForNewScale",
                    "recommended size matches current size",
                )
            ups, downs = self.scale_ups.get(key, []), self.scale_downs.get(key, [])
            final, reason, message = calc.limit_with_behavior(
                current, stabilized, low, high, behavior, ups, downs, now
            )
        limited = "False" if final == stabilized else "True"
        hpastatus.condition(hpa, "ScalingLimited", limited, reason, message)
        return final

    def _stabilize(self, key: Key, desired: int, now: float) -> int:
        """The highest recommendation within the downscale window; records this one."""
        window = self.ctx.timings.hpa_downscale_stabilization
        recent = [
            (t, r) for t, r in self.recommendations.get(key, []) if t >= now - window
        ]
        highest = max([desired, *(r for _, r in recent)])
        self.recommendations[key] = [*recent, (now, desired)]
        return highest

    def _stabilize_with_behavior(
        self, key: Key, behavior: Obj, current: int, desired: int, now: float
    ) -> tuple[int, str, str]:
        up_window = float(
            (behavior.get("scaleUp") or {}).get("stabilizationWindowSeconds") or 0
        )
        down_value = (behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds")
        down_window = (
            self.ctx.timings.hpa_downscale_stabilization
            if down_value is None
            else float(down_value)
        )
        history = self.recommendations.get(key, [])
        up_floor = min([desired, *(r for t, r in history if t > now - up_window)])
        down_ceiling = max([desired, *(r for t, r in history if t > now - down_window)])
        stabilized = min(max(current, up_floor), down_ceiling)
        keep = max(up_window, down_window)
        self.recommendations[key] = [(t, r) for t, r in history if t > now - keep] + [
            (now, desired)
        ]
        if desired >= current:
            return (
                stabilized,
                "ScaleUpStabilized",
                "recent recommendations were lower than current one, applying the lowest recent recommendation",
            )
        return (
            stabilized,
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        )

    def _store_scale_event(
        self, key: Key, hpa: Obj, current: int, desired: int
    ) -> None:
        behavior = hpa["spec"].get("behavior")
        if behavior is None:
            return
        up = desired > current
        rules = behavior.get("scaleUp" if up else "scaleDown") or {}
        longest = max(
            [float(p.get("periodSeconds") or 0) for p in rules.get("policies") or []]
            or [0.0]
        )
        now = time.time()
        memory = self.scale_ups if up else self.scale_downs
        kept = [e for e in memory.get(key, []) if e.at >= now - longest]
        memory[key] = [*kept, calc.ScaleEvent(abs(desired - current), now)]

    # -- writing ------------------------------------------------------------------------

    def _write_status(self, hpa: Obj, original: Obj) -> None:
        if hpa["status"] == original:
            return
        meta = hpa["metadata"]
        try:
            self.api.update(
                self.ctx.rt(HPAS),
                meta["namespace"],
                meta["name"],
                hpa,
                subresource="status",
            )
        except StatusError as err:
            self._event(hpa, "FailedUpdateStatus", err.message, "Warning")

    def _event(
        self, hpa: Obj, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        self.ctx.record_event(hpa, reason, message, component=COMPONENT, type=type_)
