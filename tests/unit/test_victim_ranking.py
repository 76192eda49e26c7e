"""The order in which a ReplicaSet picks pods to delete (upstream `ActivePodsWithRanks`).

Each test builds pods that differ in one respect, earlier rules being equal, and checks
that the rule decides; a last test checks the rules' precedence against each other.
"""

from __future__ import annotations

import itertools
from typing import Any

from kubecourse.embedded.controllers.podutil import iso
from kubecourse.embedded.controllers.replicaset import DELETION_COST, rank_victims

NOW = 1_800_000_000.0
_uids = itertools.count()


def pod(
    name: str,
    *,
    node: str | None = "worker",
    phase: str = "Running",
    ready_for: float | None = 3600.0,
    age: float = 7200.0,
    cost: int | None = None,
    restarts: tuple[int, ...] = (0,),
    uid: str | None = None,
) -> dict[str, Any]:
    conditions = [
        {"type": "Ready", "status": "False", "lastTransitionTime": iso(NOW - age)}
    ]
    if ready_for is not None:
        conditions = [
            {
                "type": "Ready",
                "status": "True",
                "lastTransitionTime": iso(NOW - ready_for),
            }
        ]
    annotations = {DELETION_COST: str(cost)} if cost is not None else {}
    return {
        "metadata": {
            "name": name,
            "uid": uid or f"uid-{next(_uids):04d}",
            "creationTimestamp": iso(NOW - age),
            "annotations": annotations,
        },
        "spec": {"nodeName": node} if node else {},
        "status": {
            "phase": phase,
            "conditions": conditions,
            "containerStatuses": [
                {"name": f"c{i}", "restartCount": n} for i, n in enumerate(restarts)
            ],
        },
    }


def order(*pods: dict[str, Any]) -> list[str]:
    return [p["metadata"]["name"] for p in rank_victims(list(pods), now=NOW)]


def test_an_unscheduled_pod_goes_before_scheduled_ones() -> None:
    assert (
        order(
            pod("scheduled"),
            pod("unscheduled", node=None, phase="Pending", ready_for=None),
        )[0]
        == "unscheduled"
    )


def test_pending_goes_before_unknown_which_goes_before_running() -> None:
    running = pod("running", node="a")
    unknown = pod("unknown", node="b", phase="Unknown", ready_for=None)
    pending = pod("pending", node="c", phase="Pending", ready_for=None)

    assert order(running, unknown, pending) == ["pending", "unknown", "running"]


def test_a_not_ready_pod_goes_before_ready_ones() -> None:
    assert order(pod("ready", node="a"), pod("unready", node="b", ready_for=None)) == [
        "unready",
        "ready",
    ]


def test_a_lower_deletion_cost_goes_first_even_if_the_pod_is_doubled_up() -> None:
    cheap = pod("cheap", node="a", cost=-10)
    dear = pod("dear", node="b", cost=100)
    neighbour = pod("neighbour", node="b", cost=100)

    assert order(dear, neighbour, cheap)[0] == "cheap"


def test_a_pod_sharing_its_node_with_more_pods_of_the_set_goes_first() -> None:
    alone = pod("alone", node="a", ready_for=10.0, age=10.0)
    doubled = [
        pod(f"doubled-{i}", node="b", ready_for=9000.0, age=9000.0) for i in range(2)
    ]

    assert order(alone, *doubled)[-1] == "alone"


def test_the_pod_ready_for_less_time_goes_first() -> None:
    veteran = pod("veteran", node="a", ready_for=4000.0, age=5000.0)
    newcomer = pod("newcomer", node="b", ready_for=3.0, age=4000.0)

    assert order(veteran, newcomer) == ["newcomer", "veteran"]


def test_ready_times_in_the_same_log2_bucket_are_ordered_by_uid_not_by_restarts() -> (
    None
):
    # 100 s and 120 s are both in [2^36, 2^37) ns: the uid decides, restarts are not reached.
    first = pod("first", node="a", ready_for=100.0, restarts=(0,), uid="aaa")
    second = pod("second", node="b", ready_for=120.0, restarts=(9,), uid="bbb")

    assert order(second, first) == ["first", "second"]


def test_the_pod_whose_container_restarted_most_goes_first() -> None:
    # Spread over two containers, 3 + 3 restarts lose to one container with 5.
    spread = pod("spread", node="a", restarts=(3, 3))
    crashy = pod("crashy", node="b", restarts=(5, 0))

    assert order(spread, crashy) == ["crashy", "spread"]


def test_unready_pods_are_ordered_by_restarts_then_newest() -> None:
    old = pod("old", node="a", ready_for=None, age=50_000.0)
    new = pod("new", node="b", ready_for=None, age=20.0)
    restarted = pod("restarted", node="c", ready_for=None, age=50_000.0, restarts=(2,))

    assert order(old, new, restarted) == ["restarted", "new", "old"]


def test_the_rules_apply_in_upstream_order() -> None:
    pods = [
        pod("ready-old", node="a", ready_for=9000.0, age=9000.0),
        pod("ready-new", node="b", ready_for=5.0, age=5.0),
        pod("costly-unready", node="c", ready_for=None, cost=500),
        pod("pending", node="c", phase="Pending", ready_for=None),
        pod("unscheduled", node=None, phase="Pending", ready_for=None),
    ]

    assert order(*pods) == [
        "unscheduled",
        "pending",
        "costly-unready",
        "ready-new",
        "ready-old",
    ]
