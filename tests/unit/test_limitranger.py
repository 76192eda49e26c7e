"""LimitRange defaulting and validation, and the LimitRanger admission plugin."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubecourse.embedded import limitranger
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Store

Obj = dict[str, Any]


def limit_range(*items: Obj) -> Obj:
    return {
        "metadata": {"name": "limits", "namespace": "default"},
        "spec": {"limits": list(items)},
    }


def defaulted(*items: Obj) -> Obj:
    obj = limit_range(*copy.deepcopy(items))
    limitranger.default_limit_range(obj)
    return obj


def pod(*containers: Obj, init: list[Obj] | None = None) -> Obj:
    spec: Obj = {"containers": list(containers)}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def container(name: str = "web", **resources: Obj) -> Obj:
    return {"name": name, "image": "nginx", "resources": resources}


def store_with(*items: Obj) -> Store:
    store = Store()
    store.write("limitranges", defaulted(*items))
    return store


def test_a_container_item_defaults_from_max_then_default_then_min() -> None:
    obj = defaulted(
        {"type": "Container", "max": {"cpu": "2000m"}, "min": {"memory": "64Mi"}}
    )
    item = obj["spec"]["limits"][0]
    assert item["max"] == {"cpu": "2"}  # stored canonical
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


def test_ordering_rules_are_invalid_with_upstream_messages() -> None:
    obj = defaulted(
        {"type": "Container", "max": {"cpu": "1"}, "defaultRequest": {"cpu": "2"}}
    )
    messages = [(c["field"], c["message"]) for c in limitranger.limit_range_causes(obj)]
    assert messages == [
        (
            "spec.limits[0].defaultRequest[cpu]",
            'Invalid value: "2": default request value 2 is greater than max value 1',
        ),
        (
            "spec.limits[0].defaultRequest[cpu]",
            'Invalid value: "2": default request value 2 is greater than default limit value 1',
        ),
    ]


def test_a_pod_item_takes_no_defaults_and_a_claim_item_needs_storage() -> None:
    obj = defaulted(
        {"type": "Pod", "max": {"cpu": "4"}, "default": {"cpu": "1"}},
        {"type": "PersistentVolumeClaim", "max": {"cpu": "1"}},
    )
    messages = [(c["field"], c["message"]) for c in limitranger.limit_range_causes(obj)]
    assert (
        "spec.limits[0].default",
        "Forbidden: may not be specified when `type` is 'Pod'",
    ) in messages
    assert (
        "spec.limits[1].limits",
        "Required value: either minimum or maximum storage value is required, but neither was provided",
    ) in messages


def test_ratio_must_be_at_least_one_and_at_most_max_over_min() -> None:
    low = defaulted({"type": "Container", "maxLimitRequestRatio": {"cpu": "500m"}})
    high = defaulted(
        {
            "type": "Container",
            "min": {"cpu": "1"},
            "max": {"cpu": "2"},
            "maxLimitRequestRatio": {"cpu": "3"},
        }
    )
    assert (
        limitranger.limit_range_causes(low)[0]["message"]
        == 'Invalid value: "500m": ratio 500m is less than 1'
    )
    assert limitranger.limit_range_causes(high)[-1]["message"] == (
        'Invalid value: "3": ratio 3 is greater than max/min = 2.000000'
    )


def test_defaults_fill_what_containers_lack_and_annotate_the_pod() -> None:
    store = store_with(
        {
            "type": "Container",
            "default": {"cpu": "500m", "memory": "256Mi"},
            "defaultRequest": {"cpu": "100m"},
        }
    )
    new = pod(container("web", requests={"cpu": "200m"}), init=[container("init")])
    limitranger.apply_defaults(store, new)
    web = new["spec"]["containers"][0]["resources"]
    assert web == {
        "requests": {"cpu": "200m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert new["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container web; cpu, memory limit for container "
        "web; cpu, memory request for init container init; cpu, memory limit for init container init"
    )


def test_a_container_over_max_is_refused_with_the_upstream_message() -> None:
    store = store_with({"type": "Container", "max": {"cpu": "500m"}})
    with pytest.raises(StatusError) as err:
        limitranger.check_pod(
            store, pod(container(limits={"cpu": "1"}, requests={"cpu": "1"}))
        )
    assert err.value.code == 403
    assert (
        err.value.message
        == 'pods "web" is forbidden: maximum cpu usage per Container is 500m, but limit is 1'
    )


def test_every_violation_is_listed_once() -> None:
    store = store_with(
        {
            "type": "Container",
            "min": {"memory": "64Mi"},
            "maxLimitRequestRatio": {"cpu": "2"},
        },
        {"type": "Pod", "max": {"cpu": "1"}},
    )
    candidate = pod(container(requests={"cpu": "100m"}, limits={"cpu": "400m"}))
    with pytest.raises(StatusError) as err:
        limitranger.check_pod(store, candidate)
    assert err.value.message == (
        'pods "web" is forbidden: [minimum memory usage per Container is 64Mi.  No request is specified, '
        "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000]"
    )


def test_a_pod_item_checks_the_sum_of_its_containers() -> None:
    store = store_with({"type": "Pod", "max": {"cpu": "1"}})
    two = pod(
        container("a", limits={"cpu": "600m"}), container("b", limits={"cpu": "600m"})
    )
    with pytest.raises(StatusError) as err:
        limitranger.check_pod(store, two)
    assert "maximum cpu usage per Pod is 1, but limit is 1200m" in err.value.message


def test_a_claim_over_the_storage_max_is_refused() -> None:
    store = store_with({"type": "PersistentVolumeClaim", "max": {"storage": "5Gi"}})
    claim = {
        "metadata": {"name": "data", "namespace": "default"},
        "spec": {"resources": {"requests": {"storage": "10Gi"}}},
    }
    with pytest.raises(StatusError) as err:
        limitranger.check_claim(store, claim)
    assert err.value.message == (
        'persistentvolumeclaims "data" is forbidden: maximum storage usage per PersistentVolumeClaim is 5Gi, '
        "but request is 10Gi"
    )
