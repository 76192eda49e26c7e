"""PriorityClass validation and the Priority admission plugin (priority.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded import priority
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Store

Obj = dict[str, Any]


def klass(name: str, value: int, **extra: Any) -> Obj:
    obj = {"metadata": {"name": name}, "value": value, **extra}
    priority.default_priority_class(obj)
    return obj


def messages(causes: list[dict[str, str]]) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in causes]


def pod(**spec: Any) -> Obj:
    return {
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "c"}], **spec},
    }


def test_system_names_are_reserved_and_their_values_fixed() -> None:
    assert messages(priority.class_causes(klass("system-mine", 5))) == [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system "
        "use only. error: system-mine is not a known system priority class"
    ]
    wrong = priority.class_causes(klass("system-node-critical", 5))
    assert (
        "value of system-node-critical PriorityClass must be 2000001000"
        in wrong[0]["message"]
    )
    assert priority.class_causes(priority.system_class("system-cluster-critical")) == []


def test_a_user_class_may_not_exceed_a_billion() -> None:
    assert messages(priority.class_causes(klass("huge", 1_000_000_001))) == [
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
    ]


def test_preemption_policy_defaults_and_is_checked() -> None:
    assert klass("a", 1)["preemptionPolicy"] == "PreemptLowerPriority"
    assert messages(
        priority.class_causes(klass("a", 1, preemptionPolicy="Sometimes"))
    ) == [
        'preemptionPolicy: Unsupported value: "Sometimes": supported values: "Never", "PreemptLowerPriority"'
    ]


def test_value_and_preemption_policy_are_immutable() -> None:
    old = klass("a", 1)
    assert messages(
        priority.class_update_causes(old, klass("a", 2, preemptionPolicy="Never"))
    ) == [
        "value: Forbidden: may not be changed in an update.",
        'preemptionPolicy: Invalid value: "Never": field is immutable',
    ]


def test_only_one_class_may_be_the_global_default() -> None:
    store = Store()
    store.write(priority.STORE_KEY, klass("first", 10, globalDefault=True))
    with pytest.raises(StatusError) as err:
        priority.check_single_default(
            store, klass("second", 20, globalDefault=True), creating=True
        )
    assert err.value.code == 403
    assert err.value.message == (
        'priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass first is already '
        "marked as default. Only one default can exist"
    )
    priority.check_single_default(
        store, klass("first", 10, globalDefault=True), creating=False
    )


def test_system_classes_cannot_be_deleted() -> None:
    with pytest.raises(StatusError) as err:
        priority.check_delete("system-node-critical")
    assert err.value.message == (
        'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system '
        "priority class and cannot be deleted"
    )
    priority.check_delete("mine")


def test_a_pod_gets_its_class_value_or_the_global_default_or_zero() -> None:
    store = Store()
    store.write(priority.STORE_KEY, klass("high", 1000, preemptionPolicy="Never"))
    named = pod(priorityClassName="high")
    priority.admit_pod(store, named, "web")
    assert (named["spec"]["priority"], named["spec"]["preemptionPolicy"]) == (
        1000,
        "Never",
    )

    plain = pod()
    priority.admit_pod(store, plain, "web")
    assert (plain["spec"]["priority"], plain["spec"]["preemptionPolicy"]) == (
        0,
        "PreemptLowerPriority",
    )
    assert "priorityClassName" not in plain["spec"]

    store.write(priority.STORE_KEY, klass("normal", 5, globalDefault=True))
    defaulted = pod()
    priority.admit_pod(store, defaulted, "web")
    assert (defaulted["spec"]["priorityClassName"], defaulted["spec"]["priority"]) == (
        "normal",
        5,
    )


def test_system_classes_resolve_before_they_are_stored() -> None:
    critical = pod(priorityClassName="system-node-critical")
    priority.admit_pod(Store(), critical, "kube-proxy-")
    assert critical["spec"]["priority"] == 2_000_001_000


def test_an_unknown_class_or_a_conflicting_priority_is_forbidden() -> None:
    with pytest.raises(StatusError) as err:
        priority.admit_pod(Store(), pod(priorityClassName="nope"), "web-")
    assert (
        err.value.message
        == 'pods "web-" is forbidden: no PriorityClass with name nope was found'
    )
    with pytest.raises(StatusError) as err:
        priority.admit_pod(Store(), pod(priority=7), "web")
    assert err.value.message == (
        'pods "web" is forbidden: the integer value of priority (7) must not be provided in pod spec; '
        "priority admission controller computed 0 from the given PriorityClass name"
    )
