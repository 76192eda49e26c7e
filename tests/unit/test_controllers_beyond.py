"""The ReplicationController and resource quota controllers on a running cluster."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.status import StatusError

RCS = "replicationcontrollers"


def rc(name: str, replicas: int, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [{"name": "main", "image": "nginx:1.27-alpine"}]
                },
            },
            **spec,
        },
    }


def live(kube: Any, namespace: str, app: str) -> list[dict[str, Any]]:
    return [
        p
        for p in kube.items("pods", namespace)
        if not podutil.is_terminating(p)
        and (p["metadata"].get("labels") or {}).get("app") == app
    ]


def test_a_replication_controller_keeps_its_replicas_and_reports_them(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("rc-keep")
    created = kube.create(RCS, ns, rc("web", 3))
    assert created["spec"]["selector"] == {"app": "web"}
    assert created["metadata"]["generation"] == 1

    eventually(
        lambda: (
            (kube.get(RCS, ns, "web").get("status") or {}).get("readyReplicas") == 3
        ),
        what="3 ready",
    )
    status = kube.get(RCS, ns, "web")["status"]
    assert status == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
    }
    victim = live(kube, ns, "web")[0]["metadata"]["name"]
    kube.delete("pods", ns, victim)
    eventually(
        lambda: (
            len(live(kube, ns, "web")) == 3
            and victim not in {p["metadata"]["name"] for p in live(kube, ns, "web")}
        )
    )


def test_a_replication_controller_adopts_orphans_and_scales_down(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("rc-adopt")
    orphan = {
        "metadata": {"name": "stray", "labels": {"app": "db"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    kube.create("pods", ns, orphan)
    kube.create(RCS, ns, rc("db", 2))
    eventually(lambda: len(live(kube, ns, "db")) == 2, what="two db pods")
    owner = kube.get("pods", ns, "stray")["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["apiVersion"]) == (
        "ReplicationController",
        "db",
        "v1",
    )

    kube.patch(RCS, ns, "db", {"spec": {"replicas": 0}})
    eventually(lambda: not live(kube, ns, "db"), what="no db pods")
    assert kube.get(RCS, ns, "db")["metadata"]["generation"] == 2


def test_quota_status_follows_the_objects_it_counts(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("quota-follow")
    hard = {"pods": "3", "count/replicationcontrollers": "1", "requests.memory": "1Gi"}
    kube.create(
        "resourcequotas", ns, {"metadata": {"name": "q"}, "spec": {"hard": hard}}
    )
    template = rc("app", 2)
    template["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"memory": "256Mi"}
    }
    kube.create(RCS, ns, template)

    def used() -> dict[str, str]:
        return dict(
            (kube.get("resourcequotas", ns, "q").get("status") or {}).get("used") or {}
        )

    eventually(
        lambda: (
            used()
            == {
                "pods": "2",
                "count/replicationcontrollers": "1",
                "requests.memory": "512Mi",
            }
        )
    )
    with pytest.raises(StatusError) as err:
        kube.create(RCS, ns, rc("second", 1))
    assert (
        "exceeded quota: q, requested: count/replicationcontrollers=1"
        in err.value.message
    )

    kube.patch(RCS, ns, "app", {"spec": {"replicas": 5}})
    eventually(lambda: used()["pods"] == "3", what="the quota full")
    events = [e for e in kube.items("events", ns) if e["reason"] == "FailedCreate"]
    assert (
        events
        and "exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3"
        in events[0]["message"]
    )
    assert events[0]["source"]["component"] == "replication-controller"
