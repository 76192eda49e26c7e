"""A refused create is retried with client-go's back-off by every controller that creates
pods (and a Deployment its ReplicaSet); similar events are combined as client-go's
recorder combines them; a Pod naming a missing ServiceAccount is refused."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import RateLimiter
from kubecourse.embedded.controllers.correlator import COMBINED_PREFIX as COMBINED
from kubecourse.embedded.controllers.correlator import EventCorrelator
from kubecourse.embedded.status import StatusError

DEPLOYMENTS = "deployments.apps"
REPLICASETS = "replicasets.apps"
CONTAINERS = [{"name": "main", "image": "nginx:1.27-alpine"}]


def template(app: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": CONTAINERS, **spec},
    }


def workload(name: str, replicas: int | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": template(name),
        **spec,
    }
    if replicas is not None:
        body["replicas"] = replicas
    return {"metadata": {"name": name}, "spec": body}


def quota(kube: Any, ns: str, pods: int) -> None:
    hard = {"pods": str(pods)}
    kube.create(
        "resourcequotas", ns, {"metadata": {"name": "q"}, "spec": {"hard": hard}}
    )


def live(kube: Any, ns: str, app: str) -> list[dict[str, Any]]:
    return [
        p
        for p in kube.items("pods", ns)
        if not podutil.is_terminating(p)
        and (p["metadata"].get("labels") or {}).get("app") == app
    ]


def settled(kube: Any, ns: str, app: str, eventually: Any) -> None:
    """Wait until the pods the quota let in are ready: from then on no pod event wakes
    their controller, so only its retries can create the rest."""
    eventually(
        lambda: (
            live(kube, ns, app)
            and all(podutil.is_ready(p) for p in live(kube, ns, app))
        ),
        what="the admitted pods ready",
    )


def failed_creates(kube: Any, ns: str) -> list[dict[str, Any]]:
    return [e for e in kube.items("events", ns) if e["reason"] == "FailedCreate"]


def condition_types(obj: dict[str, Any]) -> list[str]:
    return [c["type"] for c in (obj.get("status") or {}).get("conditions") or []]


def test_the_rate_limiter_doubles_from_5_ms_to_1000_s_and_forgets_a_success() -> None:
    limiter = RateLimiter(0.005, 1000.0)
    key = ("ns", "web")

    delays = [limiter.when(key) for _ in range(20)]

    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert delays[-1] == 1000.0
    assert limiter.requeues(key) == 20
    assert limiter.when(("ns", "other")) == 0.005
    limiter.forget(key)
    assert limiter.requeues(key) == 0
    assert limiter.when(key) == 0.005


def test_the_rate_limiter_bucket_spaces_retries_beyond_a_burst_of_100() -> None:
    limiter = RateLimiter(0.0, 0.0, clock=lambda: 100.0)  # no time passes

    delays = [limiter.when(("ns", str(i))) for i in range(110)]

    assert delays[:100] == [0.0] * 100
    assert delays[100] == pytest.approx(0.1)
    assert delays[-1] == pytest.approx(1.0)  # ten past the burst: a second at 10/s


def test_the_tenth_similar_message_is_combined_and_a_source_may_send_25_events() -> (
    None
):
    events = EventCorrelator()
    similar = ("replicaset-controller", "", "ns", "uid", "Warning", "FailedCreate", "")

    combined = [
        events.aggregate(similar, f"Error creating: pod {i}") for i in range(12)
    ]

    assert combined[:9] == [None] * 9
    assert combined[9:] == [COMBINED + f"Error creating: pod {i}" for i in (9, 10, 11)]
    source = ("replicaset-controller", "", "ns", "uid")
    assert [events.allow(source) for _ in range(26)] == [True] * 25 + [False]
    assert events.allow(("replicaset-controller", "", "ns", "other"))


def test_a_deployment_over_its_pod_quota_gets_its_pods_once_the_quota_is_raised(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("retry-quota")
    quota(kube, ns, 1)
    kube.create(DEPLOYMENTS, ns, workload("x", 3))
    eventually(lambda: failed_creates(kube, ns), what="a FailedCreate event")
    (rs,) = kube.items(REPLICASETS, ns)
    combined = eventually(
        lambda: [
            e
            for e in failed_creates(kube, ns)
            if e["message"].startswith(COMBINED) and int(e.get("count") or 0) >= 2
        ],
        what="the refused create retried and its events combined",
    )

    events = failed_creates(kube, ns)
    assert len(events) == 10  # nine single ones, then one combining the rest
    assert all(e["involvedObject"]["name"] == rs["metadata"]["name"] for e in events)
    assert (
        "exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1"
        in (combined[0]["message"])
    )
    eventually(
        lambda: "ReplicaFailure" in condition_types(kube.get(DEPLOYMENTS, ns, "x")),
        what="the Deployment's ReplicaFailure condition",
    )
    failure = podutil.condition(
        kube.get(REPLICASETS, ns, rs["metadata"]["name"]), "ReplicaFailure"
    )
    assert failure is not None and failure["reason"] == "FailedCreate"
    assert "exceeded quota: q" in failure["message"]

    settled(kube, ns, "x", eventually)
    kube.patch("resourcequotas", ns, "q", {"spec": {"hard": {"pods": "5"}}})
    eventually(lambda: len(live(kube, ns, "x")) == 3, what="three pods")
    eventually(
        lambda: (
            "ReplicaFailure"
            not in condition_types(kube.get(REPLICASETS, ns, rs["metadata"]["name"]))
            and "ReplicaFailure" not in condition_types(kube.get(DEPLOYMENTS, ns, "x"))
        ),
        what="ReplicaFailure removed after a successful sync",
    )


def test_deleting_the_quota_lets_a_refused_replicaset_create_its_pods(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("retry-unquota")
    quota(kube, ns, 1)
    kube.create(REPLICASETS, ns, workload("x", 2))
    eventually(lambda: failed_creates(kube, ns), what="a FailedCreate event")
    eventually(
        lambda: (
            (kube.get(REPLICASETS, ns, "x").get("status") or {}).get("readyReplicas")
            == 1
        ),
        what="the one pod ready and counted: nothing else will wake the ReplicaSet",
    )

    kube.delete("resourcequotas", ns, "q")

    eventually(lambda: len(live(kube, ns, "x")) == 2, what="two pods")


def test_a_job_refused_by_its_quota_creates_its_pods_once_the_quota_allows(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("retry-job")
    quota(kube, ns, 1)
    job = {
        "metadata": {"name": "x"},
        "spec": {
            "parallelism": 3,
            "completions": 3,
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox:1.36",
                            "command": ["sleep", "60"],
                        }
                    ],
                },
            },
        },
    }
    kube.create("jobs.batch", ns, job)
    eventually(lambda: failed_creates(kube, ns), what="a FailedCreate event")
    settled(kube, ns, "x", eventually)

    kube.patch("resourcequotas", ns, "q", {"spec": {"hard": {"pods": "5"}}})

    eventually(lambda: len(live(kube, ns, "x")) == 3, what="three job pods")


def test_a_daemonset_refused_by_its_quota_fills_every_worker_once_the_quota_allows(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("retry-ds")
    quota(kube, ns, 1)
    kube.create("daemonsets.apps", ns, workload("x"))
    eventually(lambda: failed_creates(kube, ns), what="a FailedCreate event")
    settled(kube, ns, "x", eventually)
    assert len(live(kube, ns, "x")) == 1

    kube.patch("resourcequotas", ns, "q", {"spec": {"hard": {"pods": "10"}}})

    eventually(lambda: len(live(kube, ns, "x")) == 3, what="a pod on each worker")


def test_a_statefulset_refused_by_its_quota_goes_on_once_the_quota_allows(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("retry-sts")
    quota(kube, ns, 1)
    kube.create(
        "statefulsets.apps", ns, workload("x", 2, podManagementPolicy="Parallel")
    )
    eventually(lambda: failed_creates(kube, ns), what="a FailedCreate event")
    (event,) = failed_creates(kube, ns)
    assert event["type"] == "Warning"
    assert event["message"].startswith("create Pod x-1 in StatefulSet x failed error: ")
    settled(kube, ns, "x", eventually)

    kube.patch("resourcequotas", ns, "q", {"spec": {"hard": {"pods": "5"}}})

    eventually(lambda: len(live(kube, ns, "x")) == 2, what="two pods")


def test_a_pod_naming_a_missing_service_account_is_refused(kube: Any) -> None:
    ns = kube.namespace("sa-missing")
    pod = {
        "metadata": {"generateName": "web-"},
        "spec": {"serviceAccountName": "robot", "containers": CONTAINERS},
    }

    with pytest.raises(StatusError) as refused:
        kube.create("pods", ns, pod)

    assert refused.value.code == 403
    assert refused.value.message == (
        'pods "web-" is forbidden: error looking up service account '
        f'{ns}/robot: serviceaccount "robot" not found'
    )


def test_a_replicaset_waiting_for_its_service_account_creates_pods_once_it_exists(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("sa-retry")
    body = workload("x", 2)
    body["spec"]["template"]["spec"]["serviceAccountName"] = "robot"
    kube.create(REPLICASETS, ns, body)
    eventually(lambda: failed_creates(kube, ns), what="a FailedCreate event")
    assert 'serviceaccount "robot" not found' in failed_creates(kube, ns)[0]["message"]

    kube.create("serviceaccounts", ns, {"metadata": {"name": "robot"}})

    eventually(lambda: len(live(kube, ns, "x")) == 2, what="two pods")


def test_a_deployment_whose_replicaset_is_refused_reports_it_and_retries(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("retry-rs")
    hard = {"count/replicasets.apps": "0"}
    kube.create(
        "resourcequotas", ns, {"metadata": {"name": "q"}, "spec": {"hard": hard}}
    )
    kube.create(DEPLOYMENTS, ns, workload("x", 1))

    progressing = eventually(
        lambda: podutil.condition(kube.get(DEPLOYMENTS, ns, "x"), "Progressing"),
        what="the Progressing condition",
    )
    assert (progressing["status"], progressing["reason"]) == (
        "False",
        "ReplicaSetCreateError",
    )
    assert progressing["message"].startswith('Failed to create new replica set "x-')
    assert "exceeded quota: q" in progressing["message"]
    events = [
        e for e in kube.items("events", ns) if e["reason"] == "ReplicaSetCreateError"
    ]
    assert events and events[0]["type"] == "Warning"

    kube.patch(
        "resourcequotas", ns, "q", {"spec": {"hard": {"count/replicasets.apps": "5"}}}
    )

    eventually(
        lambda: len(live(kube, ns, "x")) == 1, what="the pod, once the set exists"
    )
    eventually(
        lambda: (
            (
                podutil.condition(kube.get(DEPLOYMENTS, ns, "x"), "Progressing") or {}
            ).get("status")
            == "True"
        ),
        what="Progressing True again",
    )
