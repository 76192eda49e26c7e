"""The HPA's arithmetic (replicacalc), checked against upstream's rules case by case."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kubecourse.embedded.controllers import replicacalc as calc
from kubecourse.embedded.metrics import ContainerSample, PodSample

NOW = time.time()
LONG_AGO = NOW - 3600
TIMING = calc.Timing(NOW, cpu_initialization_period=300, initial_readiness_delay=30)
CPU_50 = {"type": "Utilization", "averageUtilization": 50}


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def pod(
    name: str,
    cpu_request: str | None = "100m",
    *,
    phase: str = "Running",
    ready: str = "True",
    started: float = LONG_AGO,
    ready_since: float = LONG_AGO,
    **meta: Any,
) -> dict[str, Any]:
    resources = {"requests": {"cpu": cpu_request}} if cpu_request else {}
    return {
        "metadata": {"name": name, "namespace": "default", **meta},
        "spec": {"containers": [{"name": "web", "resources": resources}]},
        "status": {
            "phase": phase,
            "startTime": iso(started),
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "lastTransitionTime": iso(ready_since),
                }
            ],
        },
    }


def sample(
    name: str, millicores: float, at: float = NOW, window: float = 15.0
) -> PodSample:
    usage = ContainerSample("web", int(millicores * 1_000_000), 8 * 2**20)
    return PodSample("default", name, at, window, (usage,))


def replicas(
    current: int,
    pods: list[dict[str, Any]],
    samples: list[PodSample],
    target: dict[str, Any] = CPU_50,
) -> calc.Proposal:
    return calc.resource_replicas(
        current, target, "cpu", calc.Tolerances(), pods, samples, TIMING
    )


def test_utilization_above_target_asks_for_ceil_of_ratio_times_ready_pods() -> None:
    proposal = replicas(2, [pod("a"), pod("b")], [sample("a", 90), sample("b", 70)])
    assert proposal.utilization == 80 and proposal.average == 80
    assert proposal.replicas == 4  # ceil(80 / 50 * 2)


def test_a_ratio_within_the_tolerance_keeps_the_current_count() -> None:
    proposal = replicas(
        3, [pod("a"), pod("b"), pod("c")], [sample(n, 54) for n in "abc"]
    )
    assert proposal.utilization == 54 and proposal.replicas == 3


def test_behavior_tolerance_widens_the_band() -> None:
    wide = calc.Tolerances(down=0.1, up=0.5)
    proposal = calc.resource_replicas(
        2,
        CPU_50,
        "cpu",
        wide,
        [pod("a"), pod("b")],
        [sample("a", 70), sample("b", 70)],
        TIMING,
    )
    assert proposal.replicas == 2


def test_a_container_without_a_cpu_request_is_the_upstream_error() -> None:
    with pytest.raises(
        calc.MetricError, match="missing request for cpu in container web of Pod a"
    ):
        replicas(1, [pod("a", cpu_request=None)], [sample("a", 40)])


def test_no_metrics_at_all_is_the_metrics_api_error() -> None:
    with pytest.raises(
        calc.MetricError,
        match="unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    ):
        replicas(1, [pod("a")], [])


def test_not_yet_ready_pods_count_as_zero_on_a_scale_up() -> None:
    fresh = pod("c", ready="False", started=NOW - 5, ready_since=NOW - 5)
    proposal = replicas(
        3,
        [pod("a"), pod("b"), fresh],
        [sample("a", 100), sample("b", 100), sample("c", 100)],
    )
    # Without c: 100 % of request -> ratio 2; with c at 0: 200/300 = 66 % -> ceil(1.33 * 3) = 4.
    assert proposal.utilization == 100
    assert proposal.replicas == 4


def test_a_pod_ready_for_less_than_a_window_is_unready_during_cpu_initialization() -> (
    None
):
    just_ready = pod("b", started=NOW - 20, ready_since=NOW - 5)
    groups = calc.group_pods(
        [pod("a"), just_ready],
        {"a": calc.PodMetric(50, int(NOW), 15), "b": calc.PodMetric(50, int(NOW), 15)},
        "cpu",
        TIMING,
    )
    assert groups.ready == 1 and groups.unready == {"b"}


def test_missing_metrics_count_as_full_request_on_a_scale_down() -> None:
    proposal = replicas(4, [pod(n) for n in "abcd"], [sample("a", 10), sample("b", 10)])
    # a, b at 10 %, c and d taken at 100 %: 55 % -> within tolerance of 50 % -> keep 4.
    assert proposal.utilization == 10 and proposal.replicas == 4


def test_pending_and_terminating_pods_are_left_out() -> None:
    pods = [pod("a"), pod("p", phase="Pending"), pod("t", deletionTimestamp=iso(NOW))]
    groups = calc.group_pods(
        pods, {"a": calc.PodMetric(50, int(NOW), 15)}, "cpu", TIMING
    )
    assert groups.ready == 1 and groups.unready == {"p"} and groups.ignored == {"t"}


def test_average_value_targets_compare_raw_usage() -> None:
    target = {"type": "AverageValue", "averageValue": "200m"}
    proposal = replicas(
        2, [pod("a"), pod("b")], [sample("a", 300), sample("b", 500)], target
    )
    assert (
        proposal.utilization is None
        and proposal.average == 400
        and proposal.replicas == 4
    )


def test_memory_usage_is_in_milli_bytes() -> None:
    metrics = calc.pod_metrics([sample("a", 1)], "memory")
    assert metrics["a"].value == 8 * 2**20 * 1000


def test_scale_up_without_behavior_is_limited_to_double_or_four() -> None:
    assert calc.limit_replicas(1, 9, 1, 10) == (
        4,
        "ScaleUpLimit",
        "the desired replica count is increasing faster than the maximum scale rate",
    )
    assert calc.limit_replicas(3, 9, 1, 10)[0] == 6
    assert calc.limit_replicas(3, 9, 1, 5)[:2] == (5, "TooManyReplicas")
    assert calc.limit_replicas(3, 0, 2, 5)[:2] == (2, "TooFewReplicas")
    assert calc.limit_replicas(3, 4, 1, 5)[1] == "DesiredWithinRange"


def test_default_scale_up_policies_allow_the_larger_of_100_percent_and_4_pods() -> None:
    rules = {
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    }
    assert calc.scale_up_limit_with_rules(2, [], [], rules, NOW) == 6
    assert calc.scale_up_limit_with_rules(10, [], [], rules, NOW) == 20
    recent = [calc.ScaleEvent(4, NOW - 5)]
    assert (
        calc.scale_up_limit_with_rules(6, recent, [], rules, NOW) == 6
    )  # the period's budget is spent


def test_scale_down_policy_counts_the_events_of_its_period() -> None:
    rules = {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}
    behavior = {"scaleDown": rules, "scaleUp": {}}
    assert calc.limit_with_behavior(5, 1, 1, 10, behavior, [], [], NOW)[:2] == (
        4,
        "ScaleDownLimit",
    )
    assert (
        calc.limit_with_behavior(
            4, 1, 1, 10, behavior, [], [calc.ScaleEvent(1, NOW - 10)], NOW
        )[0]
        == 4
    )
    assert (
        calc.limit_with_behavior(5, 5, 1, 10, behavior, [], [], NOW)[1]
        == "DesiredWithinRange"
    )


def test_disabled_select_policy_forbids_that_direction() -> None:
    behavior = {
        "scaleDown": {
            "selectPolicy": "Disabled",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        }
    }
    assert calc.limit_with_behavior(5, 1, 1, 10, behavior, [], [], NOW)[0] == 5
