"""ResourceQuota counting, validation and admission (kubecourse/embedded/quota.py)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from kubecourse.embedded import quantity, quota
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Store

Obj = dict[str, Any]


def pod(name: str, *containers: Obj, **spec: Any) -> Obj:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": list(containers), **spec},
        "status": {"phase": "Running"},
    }


def container(name: str = "web", **resources: Obj) -> Obj:
    return {"name": name, "image": "nginx", "resources": resources}


def resource_quota(hard: dict[str, str], **spec: Any) -> Obj:
    return {
        "metadata": {"name": "q", "namespace": "default"},
        "spec": {"hard": hard, **spec},
    }


def store_with(*objects: tuple[str, Obj]) -> Store:
    store = Store()
    for key, obj in objects:
        store.write(key, obj)
    return store


def test_a_pod_uses_its_requests_limits_and_one_pod_while_it_is_live() -> None:
    web = pod(
        "a",
        container("a", requests={"cpu": "250m", "memory": "64Mi"}, limits={"cpu": "1"}),
        container("b", requests={"cpu": "250m", "memory": "64Mi"}),
    )
    usage = quota.usage_of("pods", web)
    assert usage.shown("pods") == "1"
    assert usage.shown("count/pods") == "1"
    assert usage.shown("requests.cpu") == usage.shown("cpu") == "500m"
    assert usage.shown("requests.memory") == "128Mi"
    assert usage.shown("limits.cpu") == "1"

    done = {**web, "status": {"phase": "Succeeded"}}
    finished = quota.usage_of("pods", done)
    assert finished.shown("count/pods") == "1"  # count/ tracks every stored pod
    assert finished.get("pods") == 0 and finished.get("requests.cpu") == 0


def test_an_init_container_that_asks_for_more_sets_the_pod_request() -> None:
    spec = {
        "containers": [container(requests={"cpu": "100m"})],
        "initContainers": [container("init", requests={"cpu": "300m"})],
    }
    requests, _ = quota.pod_resources(spec)
    assert requests["cpu"][0] == Fraction(3, 10)


def test_services_count_node_ports_and_load_balancers() -> None:
    service = {
        "metadata": {"name": "s"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]},
    }
    usage = quota.usage_of("services", service)
    assert usage.get("services") == 1
    assert usage.get("services.loadbalancers") == 1
    assert usage.get("services.nodeports") == 2


def test_claims_count_storage_in_total_and_per_class() -> None:
    claim = {
        "metadata": {"name": "data"},
        "spec": {
            "storageClassName": "standard",
            "resources": {"requests": {"storage": "2Gi"}},
        },
    }
    usage = quota.usage_of("persistentvolumeclaims", claim)
    assert usage.shown("requests.storage") == "2Gi"
    assert usage.get("standard.storageclass.storage.k8s.io/persistentvolumeclaims") == 1


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("pods", "pods"),
        ("limits.memory", "pods"),
        ("count/deployments.apps", "deployments.apps"),
        ("configmaps", "configmaps"),
        ("services.nodeports", "services"),
        ("requests.storage", "persistentvolumeclaims"),
        ("gold.storageclass.storage.k8s.io/requests.storage", "persistentvolumeclaims"),
        ("nonsense", None),
    ],
)
def test_each_quota_name_counts_one_kind_of_object(name: str, key: str | None) -> None:
    assert quota.counted_resource(name) == key


def test_status_lists_every_hard_resource_with_its_canonical_use() -> None:
    store = store_with(
        ("pods", pod("a", container(requests={"memory": "512Mi"}))),
        ("pods", pod("b", container(requests={"memory": "512Mi"}))),
    )
    found = quota.quota_status(
        store,
        resource_quota({"pods": "5", "requests.memory": "2048Mi", "secrets": "3"}),
    )
    assert found == {
        "hard": {"pods": "5", "requests.memory": "2Gi", "secrets": "3"},
        "used": {"pods": "2", "requests.memory": "1Gi", "secrets": "0"},
    }


def test_a_create_beyond_the_quota_is_refused_naming_only_what_it_exceeds() -> None:
    store = store_with(("pods", pod("a", container())), ("pods", pod("b", container())))
    store.write("resourcequotas", resource_quota({"pods": "2", "configmaps": "5"}))
    with pytest.raises(StatusError) as err:
        quota.admit_create(store, REGISTRY.get("pods"), pod("c", container()))
    assert err.value.code == 403
    assert err.value.message == (
        'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'
    )
    assert err.value.details == {"name": "c", "kind": "pods"}


def test_a_compute_quota_requires_every_container_to_state_it() -> None:
    store = store_with(
        (
            "resourcequotas",
            resource_quota({"limits.cpu": "2", "requests.memory": "1Gi"}),
        )
    )
    candidate = pod("web", container("web"), container("side", limits={"cpu": "1"}))
    with pytest.raises(StatusError) as err:
        quota.admit_create(store, REGISTRY.get("pods"), candidate)
    assert err.value.message == (
        'pods "web" is forbidden: failed quota: q: must specify limits.cpu for: web; '
        "requests.memory for: side,web"
    )


def test_objects_a_quota_does_not_count_pass() -> None:
    store = store_with(("resourcequotas", resource_quota({"pods": "0"})))
    quota.admit_create(
        store,
        REGISTRY.get("configmaps"),
        {"metadata": {"name": "c", "namespace": "default"}},
    )


def test_scopes_narrow_a_quota_to_matching_pods() -> None:
    best_effort = resource_quota({"pods": "1"}, scopes=["BestEffort"])
    assert quota.matches(best_effort, "pods", pod("a", container()))
    assert not quota.matches(
        best_effort, "pods", pod("b", container(requests={"cpu": "1"}))
    )
    assert not quota.matches(best_effort, "services", {"metadata": {}, "spec": {}})
    terminating = resource_quota({"pods": "1"}, scopes=["Terminating"])
    assert quota.matches(
        terminating, "pods", pod("j", container(), activeDeadlineSeconds=60)
    )
    selected = resource_quota(
        {"pods": "1"},
        scopeSelector={
            "matchExpressions": [
                {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}
            ]
        },
    )
    assert quota.matches(
        selected, "pods", pod("h", container(), priorityClassName="high")
    )
    assert not quota.matches(selected, "pods", pod("l", container()))


def test_validation_names_the_bad_resource_value_and_scope() -> None:
    causes = quota.quota_causes(
        resource_quota(
            {"bogus": "1", "pods": "1.5", "cpu": "-1"},
            scopes=["BestEffort", "NotBestEffort"],
        )
    )
    messages = {(c["field"], c["message"]) for c in causes}
    assert (
        "spec.hard[bogus]",
        'Invalid value: "bogus": must be a standard resource for quota',
    ) in messages
    assert ("spec.hard[pods]", 'Invalid value: "1.5": must be an integer') in messages
    assert (
        "spec.hard[cpu]",
        'Invalid value: "-1": must be greater than or equal to 0',
    ) in messages
    assert (
        "spec.scopes",
        'Invalid value: []core.ResourceQuotaScope{"BestEffort", "NotBestEffort"}: conflicting scopes',
    ) in messages


def test_a_quantity_that_does_not_parse_is_a_bad_request() -> None:
    with pytest.raises(StatusError) as err:
        quota.default_quota(resource_quota({"cpu": "lots"}))
    assert err.value.code == 400
    assert err.value.message.startswith(
        'ResourceQuota in version "v1" cannot be handled as a ResourceQuota: quantities must match'
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("1000m", "1"),
        ("1024Mi", "1Gi"),
        ("0.5", "500m"),
        ("1.5Gi", "1536Mi"),
        ("512", "512"),
        ("100u", "100u"),
    ],
)
def test_quantities_print_as_go_prints_them(text: str, shown: str) -> None:
    assert quantity.canonical(text) == shown
