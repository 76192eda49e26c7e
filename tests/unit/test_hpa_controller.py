"""The HPA controller's decisions on a store, without a running loop: stabilization with
`behavior`, scale targets it cannot find, and the TARGETS column it feeds."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from kubecourse.embedded.controllers.base import Context, Timings
from kubecourse.embedded.controllers.horizontal import HPAS, HorizontalController
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Store
from kubecourse.embedded.tables.added import hpa_targets

KEY = ("default", "web")
UP_RULES = {
    "selectPolicy": "Max",
    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}],
}


@pytest.fixture
def controller() -> HorizontalController:
    store = Store()
    api = ConvertingApi(store, REGISTRY)
    api.create(REGISTRY.get("namespaces"), None, {"metadata": {"name": "default"}})
    return HorizontalController(
        Context(api, store, Timings(hpa_downscale_stabilization=300))
    )


def hpa(
    kind: str = "Deployment", api_version: str = "apps/v1", **spec: Any
) -> dict[str, Any]:
    ref = {"apiVersion": api_version, "kind": kind, "name": "web"}
    return {
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": ref, "maxReplicas": 5, **spec},
    }


def test_behavior_scale_up_window_holds_the_lowest_recent_recommendation(
    controller: HorizontalController,
) -> None:
    now = time.time()
    controller.recommendations[KEY] = [(now - 10, 2)]
    behavior = {
        "scaleUp": {"stabilizationWindowSeconds": 60, **UP_RULES},
        "scaleDown": {},
    }
    replicas, reason, _ = controller._stabilize_with_behavior(KEY, behavior, 2, 5, now)
    assert (replicas, reason) == (2, "ScaleUpStabilized")
    later, _, _ = controller._stabilize_with_behavior(KEY, behavior, 2, 5, now + 61)
    assert later == 5  # both older recommendations have left the window


def test_an_unset_scale_down_window_is_the_controllers_flag(
    controller: HorizontalController,
) -> None:
    now = time.time()
    controller.recommendations[KEY] = [(now - 100, 4)]
    behavior = {
        "scaleUp": {"stabilizationWindowSeconds": 0, **UP_RULES},
        "scaleDown": {"policies": []},
    }
    replicas, reason, _ = controller._stabilize_with_behavior(KEY, behavior, 4, 1, now)
    assert (replicas, reason) == (4, "ScaleDownStabilized")


def test_a_target_kind_without_scale_is_failed_get_scale(
    controller: HorizontalController,
) -> None:
    created = controller.api.create(REGISTRY.get(HPAS), "default", hpa(kind="Widget"))
    controller.sync(copy.deepcopy(created))
    stored = controller.store.get(HPAS, "default", "web")
    able = stored["status"]["conditions"][0]
    assert (able["type"], able["status"], able["reason"]) == (
        "AbleToScale",
        "False",
        "FailedGetScale",
    )
    assert able["message"].endswith('no matches for kind "Widget" in group "apps"')
    events = [
        e
        for e in controller.store.items("events", "default")
        if e["reason"] == "FailedGetScale"
    ]
    assert events and events[0]["source"]["component"] == "horizontal-pod-autoscaler"


def test_a_target_at_zero_replicas_is_not_scaled(
    controller: HorizontalController,
) -> None:
    labels = {"app": "web"}
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    body = {
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": template,
        },
    }
    controller.api.create(REGISTRY.get("deployments.apps"), "default", body)
    created = controller.api.create(REGISTRY.get(HPAS), "default", hpa())
    controller.sync(copy.deepcopy(created))
    status = controller.store.get(HPAS, "default", "web")["status"]
    active = next(c for c in status["conditions"] if c["type"] == "ScalingActive")
    assert (active["status"], active["reason"]) == ("False", "ScalingDisabled")
    assert (
        status["currentReplicas"] == 0
        and status["desiredReplicas"] == 0
        and status["currentMetrics"] is None
    )


def test_targets_match_statuses_by_index_and_show_two_then_more() -> None:
    cpu = {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 50},
        },
    }
    memory = {
        "type": "Resource",
        "resource": {
            "name": "memory",
            "target": {"type": "AverageValue", "averageValue": "200Mi"},
        },
    }
    pods = {
        "type": "Pods",
        "pods": {
            "metric": {"name": "qps"},
            "target": {"type": "AverageValue", "averageValue": "10"},
        },
    }
    obj = {
        "spec": {"metrics": [cpu, memory, pods]},
        "status": {
            "currentMetrics": [
                {"type": ""},
                {
                    "type": "Resource",
                    "resource": {
                        "name": "memory",
                        "current": {"averageValue": "120Mi"},
                    },
                },
            ]
        },
    }
    assert hpa_targets(obj) == "cpu: <unknown>/50%, memory: 120Mi/200Mi + 1 more..."
    obj["status"]["currentMetrics"][0] = {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "current": {"averageUtilization": 40, "averageValue": "40m"},
        },
    }
    obj["spec"]["metrics"] = [cpu]
    assert hpa_targets(obj) == "cpu: 40%/50%"
