"""The HPA's arithmetic, as `pkg/controller/podautoscaler` computes it, on plain dicts.

Faithful to `replica_calculator.go` and the resource metrics client: a pod's usage is
the sum of its containers' (`MilliValue`, so CPU in millicores rounded up, memory in
thousandths of a byte); pods being deleted or Failed are ignored; Pending pods count as
unready; pods without metrics are "missing"; for CPU, a pod within the CPU
initialization period counts as unready while it is not Ready or until a full metrics
window has passed since it became Ready, and after that period only if it is not Ready
and never was.  Utilization is `sum(usage) * 100 / sum(requests)` (an integer
percentage) over the pods with metrics; the ratio to the target within the tolerance
(0.1 each way, or `behavior.scaleUp/scaleDown.tolerance`) keeps the current count;
otherwise `ceil(ratio * readyPods)`.  With missing or (on a scale-up) unready pods the
ratio is recomputed with missing pods at 100 % of their request on a scale-down and 0 %
on a scale-up, unready pods at 0 %, and the count is kept if that would change the
direction.  A container without a request for the resource is the upstream error
`missing request for cpu in container web of Pod web-abc`.

Rate limits, as `horizontal.go` normalises: without `behavior`, the highest
recommendation of the downscale stabilization window, then at most
`max(2 * current, 4)` and within min/max replicas; with `behavior`, the stabilization
windows of both directions and the policies (Pods / Percent per period, selectPolicy
Max / Min / Disabled) against the scale events of each policy's period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kubecourse.embedded import quantity
from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import parse_time
from kubecourse.embedded.metrics import PodSample

Obj = dict[str, Any]
TOLERANCE = 0.1
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0


class MetricError(Exception):
    """A metric the HPA could not compute; the message is upstream's."""


@dataclass(frozen=True)
class PodMetric:
    value: int  # milli-units
    timestamp: float
    window: float


@dataclass(frozen=True)
class Tolerances:
    down: float = TOLERANCE
    up: float = TOLERANCE

    def within(self, ratio: float) -> bool:
        return 1.0 - self.down <= ratio <= 1.0 + self.up


@dataclass(frozen=True)
class Timing:
    now: float
    cpu_initialization_period: float
    initial_readiness_delay: float


@dataclass
class Groups:
    ready: int = 0
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


# ---------------------------------------------------------------- metrics and requests


def pod_metrics(
    samples: Iterable[PodSample], resource: str, container: str = ""
) -> dict[str, PodMetric]:
    """The resource metrics client: milli-usage per pod name (one container's, if named)."""
    found: dict[str, PodMetric] = {}
    for sample in samples:
        chosen = [c for c in sample.containers if not container or c.name == container]
        if not chosen:
            continue
        if resource == "cpu":
            value = sum(math.ceil(c.cpu_nanocores / 1_000_000) for c in chosen)
        else:
            value = sum(c.memory_bytes * 1000 for c in chosen)
        found[sample.name] = PodMetric(
            value, math.floor(sample.timestamp), sample.window
        )
    return found


def pod_requests(
    pods: Iterable[Obj], resource: str, container: str = ""
) -> dict[str, int]:
    """Milli-requests per pod: its containers' (and restartable init containers') sum."""
    requests: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        containers = list(spec.get("containers") or [])
        containers += [
            c
            for c in spec.get("initContainers") or []
            if c.get("restartPolicy") == "Always"
        ]
        total = 0
        for entry in containers:
            if container and entry.get("name") != container:
                continue
            asked = ((entry.get("resources") or {}).get("requests") or {}).get(resource)
            if asked is None:
                raise MetricError(
                    f"missing request for {resource} in container {entry.get('name')} of Pod {pod['metadata']['name']}"
                )
            total += quantity.milli_value(asked)
        if container and not any(c.get("name") == container for c in containers):
            raise MetricError(
                f"container {container} not found in Pod {pod['metadata']['name']}"
            )
        requests[pod["metadata"]["name"]] = total
    return requests


def group_pods(
    pods: Iterable[Obj], metrics: dict[str, PodMetric], resource: str, timing: Timing
) -> Groups:
    groups = Groups()
    for pod in pods:
        name = pod["metadata"]["name"]
        phase = (pod.get("status") or {}).get("phase")
        if podutil.is_terminating(pod) or phase == "Failed":
            groups.ignored.add(name)
        elif phase == "Pending":
            groups.unready.add(name)
        elif name not in metrics:
            groups.missing.add(name)
        elif resource == "cpu" and _cpu_unready(pod, metrics[name], timing):
            groups.unready.add(name)
        else:
            groups.ready += 1
    return groups


def _cpu_unready(pod: Obj, metric: PodMetric, timing: Timing) -> bool:
    ready = podutil.condition(pod, "Ready")
    started = parse_time((pod.get("status") or {}).get("startTime"))
    if ready is None or started is None:
        return True
    changed = parse_time(ready.get("lastTransitionTime"))
    changed_at = changed.timestamp() if changed else 0.0
    if started.timestamp() + timing.cpu_initialization_period > timing.now:
        return (
            ready.get("status") == "False"
            or metric.timestamp < changed_at + metric.window
        )
    return (
        ready.get("status") == "False"
        and started.timestamp() + timing.initial_readiness_delay > changed_at
    )


def utilization_ratio(
    metrics: dict[str, PodMetric], requests: dict[str, int], target: int
) -> tuple[float, int, int]:
    """(usage ratio, utilization %, average milli-usage) over pods with requests."""
    used = asked = entries = 0
    for name, metric in metrics.items():
        if name not in requests:
            continue
        used += metric.value
        asked += requests[name]
        entries += 1
    if asked == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = used * 100 // asked
    return utilization / target, utilization, used // entries


def usage_ratio(metrics: dict[str, PodMetric], target: int) -> tuple[float, int]:
    average = sum(m.value for m in metrics.values()) // len(metrics)
    return average / target, average


# ---------------------------------------------------------------- replica counts


@dataclass(frozen=True)
class Proposal:
    replicas: int
    utilization: int | None  # percent, for Utilization targets
    average: int  # milli-units


def resource_replicas(
    current: int,
    target: Obj,
    resource: str,
    tolerances: Tolerances,
    pods: list[Obj],
    samples: list[PodSample],
    timing: Timing,
    container: str = "",
) -> Proposal:
    """`GetResourceReplicas` (Utilization) or `GetRawResourceReplicas` (AverageValue)."""
    metrics = pod_metrics(samples, resource, container)
    if not metrics:
        raise MetricError(
            f"unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
        )
    if not pods:
        raise MetricError(
            "no pods returned by selector while calculating replica count"
        )
    groups = group_pods(pods, metrics, resource, timing)
    for name in groups.ignored | groups.unready:
        metrics.pop(name, None)
    if not metrics:
        raise MetricError(
            "did not receive metrics for targeted pods (pods might be unready)"
        )

    if (
        target.get("averageUtilization") is not None
        and target.get("type") != "AverageValue"
    ):
        return _utilization_replicas(
            current,
            int(target["averageUtilization"]),
            tolerances,
            pods,
            metrics,
            groups,
            resource,
            container,
        )
    return _average_replicas(
        current,
        quantity.milli_value(target["averageValue"]),
        tolerances,
        metrics,
        groups,
    )


def _utilization_replicas(
    current: int,
    target: int,
    tolerances: Tolerances,
    pods: list[Obj],
    metrics: dict[str, PodMetric],
    groups: Groups,
    resource: str,
    container: str,
) -> Proposal:
    requests = pod_requests(pods, resource, container)
    ratio, utilization, average = utilization_ratio(metrics, requests, target)
    with_unready = bool(groups.unready) and ratio > 1.0
    if not with_unready and not groups.missing:
        if tolerances.within(ratio):
            return Proposal(current, utilization, average)
        return Proposal(math.ceil(ratio * groups.ready), utilization, average)

    fallback = max(100, target)
    adjusted = dict(metrics)
    for name in groups.missing:
        if ratio < 1.0:
            adjusted[name] = PodMetric(requests.get(name, 0) * fallback // 100, 0, 0)
        elif ratio > 1.0:
            adjusted[name] = PodMetric(0, 0, 0)
    if with_unready:
        for name in groups.unready:
            adjusted[name] = PodMetric(0, 0, 0)
    new_ratio, _, _ = utilization_ratio(adjusted, requests, target)
    return Proposal(
        _rebalanced(current, ratio, new_ratio, len(adjusted), tolerances),
        utilization,
        average,
    )


def _average_replicas(
    current: int,
    target: int,
    tolerances: Tolerances,
    metrics: dict[str, PodMetric],
    groups: Groups,
) -> Proposal:
    ratio, average = usage_ratio(metrics, target)
    with_unready = bool(groups.unready) and ratio > 1.0
    if not with_unready and not groups.missing:
        if tolerances.within(ratio):
            return Proposal(current, None, average)
        return Proposal(math.ceil(ratio * groups.ready), None, average)

    adjusted = dict(metrics)
    for name in groups.missing:
        if ratio < 1.0:
            adjusted[name] = PodMetric(target, 0, 0)
        elif ratio > 1.0:
            adjusted[name] = PodMetric(0, 0, 0)
    if with_unready:
        for name in groups.unready:
            adjusted[name] = PodMetric(0, 0, 0)
    new_ratio, _ = usage_ratio(adjusted, target)
    return Proposal(
        _rebalanced(current, ratio, new_ratio, len(adjusted), tolerances), None, average
    )


def _rebalanced(
    current: int, ratio: float, new_ratio: float, counted: int, tolerances: Tolerances
) -> int:
    """The count after filling in missing and unready pods; unchanged if that flips direction."""
    flipped = (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio)
    if tolerances.within(new_ratio) or flipped:
        return current
    replicas = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and replicas > current) or (
        new_ratio > 1.0 and replicas < current
    ):
        return current
    return replicas


# ---------------------------------------------------------------- limits without behavior


def scale_up_limit(current: int) -> int:
    return int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))


def limit_replicas(
    current: int, desired: int, low: int, high: int
) -> tuple[int, str, str]:
    """`convertDesiredReplicasWithRules`: (replicas, ScalingLimited reason, message)."""
    up_limit = scale_up_limit(current)
    if high > up_limit:
        ceiling, reason, message = (
            up_limit,
            "ScaleUpLimit",
            "the desired replica count is increasing faster than the maximum scale rate",
        )
    else:
        ceiling, reason, message = (
            high,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
        )
    if desired < low:
        return (
            low,
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
        )
    if desired > ceiling:
        return ceiling, reason, message
    return (
        desired,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    )


# ---------------------------------------------------------------- limits with behavior


@dataclass(frozen=True)
class ScaleEvent:
    change: int
    at: float


def changes_in_period(events: Iterable[ScaleEvent], period: float, now: float) -> int:
    return sum(e.change for e in events if e.at > now - period)


def scale_up_limit_with_rules(
    current: int, ups: list[ScaleEvent], downs: list[ScaleEvent], rules: Obj, now: float
) -> int:
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    proposals = []
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds") or 0)
        start = (
            current
            - changes_in_period(ups, period, now)
            + changes_in_period(downs, period, now)
        )
        if policy.get("type") == "Pods":
            proposals.append(start + int(policy.get("value") or 0))
        else:
            proposals.append(
                math.ceil(start * (1 + int(policy.get("value") or 0) / 100))
            )
    if not proposals:
        return current
    return min(proposals) if select == "Min" else max(proposals)


def scale_down_limit_with_rules(
    current: int, ups: list[ScaleEvent], downs: list[ScaleEvent], rules: Obj, now: float
) -> int:
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    proposals = []
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds") or 0)
        start = (
            current
            - changes_in_period(ups, period, now)
            + changes_in_period(downs, period, now)
        )
        if policy.get("type") == "Pods":
            proposals.append(start - int(policy.get("value") or 0))
        else:
            proposals.append(int(start * (1 - int(policy.get("value") or 0) / 100)))
    if not proposals:
        return current
    return max(proposals) if select == "Min" else min(proposals)


def limit_with_behavior(
    current: int,
    desired: int,
    low: int,
    high: int,
    behavior: Obj,
    ups: list[ScaleEvent],
    downs: list[ScaleEvent],
    now: float,
) -> tuple[int, str, str]:
    """`convertDesiredReplicasWithBehaviorRate`: (replicas, ScalingLimited reason, message)."""
    if desired > current:
        limit = max(
            scale_up_limit_with_rules(
                current, ups, downs, behavior.get("scaleUp") or {}, now
            ),
            current,
        )
        if high > limit:
            ceiling, reason, message = (
                limit,
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            )
        else:
            ceiling, reason, message = (
                high,
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            )
        if desired > ceiling:
            return ceiling, reason, message
    elif desired < current:
        limit = min(
            scale_down_limit_with_rules(
                current, ups, downs, behavior.get("scaleDown") or {}, now
            ),
            current,
        )
        if low < limit:
            floor, reason, message = (
                limit,
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
            )
        else:
            floor, reason, message = (
                low,
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            )
        if desired < floor:
            return floor, reason, message
    return (
        desired,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    )
