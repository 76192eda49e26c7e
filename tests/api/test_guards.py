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
    # The ReplicaSet says why in its ReplicaFailure condition.  (Its FailedCreate events
    # come too late: client-go's spam filter has spent the 25 events it allows per object
    # on the SuccessfulCreate ones, as on a real cluster.)
    failure = eventually(lambda: _replica_failure(apps, "quota"), timeout=30, what="ReplicaFailure")
    assert failure.reason == "FailedCreate"
    assert "exceeded the embedded cluster's limit of 500 pods per namespace" in failure.message
    assert core.read_namespace("quota").status.phase == "Active"  # the server still answers
    apps.patch_namespaced_deployment_scale("many", "quota", {"spec": {"replicas": 0}})
    eventually(lambda: not core.list_namespaced_pod("quota").items, timeout=60, what="pods gone")


def _replica_failure(apps: k8s.AppsV1Api, namespace: str) -> k8s.V1ReplicaSetCondition | None:
    for replica_set in apps.list_namespaced_replica_set(namespace).items:
        for condition in replica_set.status.conditions or []:
            if condition.type == "ReplicaFailure" and condition.status == "True":
                return condition
    return None


def test_replicas_beyond_int32_do_not_decode(apps: k8s.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("bounded"))
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_scale("bounded", "default", {"spec": {"replicas": 2**31}})
    assert err.value.status == 422
    # A strategic merge patch goes through the unstructured converter, which truncates
    # the number to int32 as Go's reflect conversion does; validation then refuses it.
    assert json.loads(err.value.body)["message"] == (
        'Deployment.apps "bounded" is invalid: spec.replicas: Invalid value: -2147483648: '
        "must be greater than or equal to 0"
    )


def test_limits_without_requests_request_the_limit(core: k8s.CoreV1Api) -> None:
    pod = {"metadata": {"name": "limited"}, "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}}}]}}
    created = core.create_namespaced_pod("default", pod)
    assert created.spec.containers[0].resources.requests == {"cpu": "250m", "memory": "64Mi"}
    assert created.status.qos_class == "Guaranteed"


def test_an_oversized_body_is_a_413_status(cluster) -> None:  # type: ignore[no-untyped-def]
    import ssl
    import urllib.error
    import urllib.request

    body = json.dumps({"metadata": {"name": "big"}, "data": {"x": "y" * (4 * 1024 * 1024)}}).encode()
    request = urllib.request.Request(
        cluster.url + "/api/v1/namespaces/default/configmaps", data=body, method="POST",
        headers={"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, context=context, timeout=10)
    status = json.loads(err.value.read())
    assert err.value.code == 413 and status["kind"] == "Status" and status["reason"] == "RequestEntityTooLarge"
