"""What keeps a learner's slip from drowning the embedded cluster, the Kubernetes way."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.api.conftest import deployment, eventually


def test_a_huge_scale_is_capped_by_the_namespace_pod_quota(apps: k8s.AppsV1Api, core: k8s.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "quota"}})
    apps.create_namespaced_deployment("quota", deployment("many", replicas=1))
    apps.patch_namespaced_deployment_scale("many", "quota", {"spec": {"replicas": 100000}})
    eventually(lambda: len(core.list_namespaced_pod("quota").items) == 500, timeout=60, what="500 pods")
    events = core.list_namespaced_event("quota", field_selector="reason=FailedCreate").items
    assert events and "exceeded quota" in events[0].message
    assert core.read_namespace("quota").status.phase == "Active"  # the server still answers
    apps.patch_namespaced_deployment_scale("many", "quota", {"spec": {"replicas": 0}})
    eventually(lambda: not core.list_namespaced_pod("quota").items, timeout=60, what="pods gone")


def test_replicas_beyond_int32_are_invalid(apps: k8s.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("bounded"))
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_scale("bounded", "default", {"spec": {"replicas": 2**31}})
    assert err.value.status == 422
    assert "32-bit" in json.loads(err.value.body)["message"]


def test_limits_without_requests_request_the_limit(core: k8s.CoreV1Api) -> None:
    pod = {"metadata": {"name": "limited"}, "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}}}]}}
    created = core.create_namespaced_pod("default", pod)
    assert created.spec.containers[0].resources.requests == {"cpu": "250m", "memory": "64Mi"}
    assert created.status.qos_class == "Guaranteed"
