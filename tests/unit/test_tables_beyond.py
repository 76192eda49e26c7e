"""Table rows of the kinds served beyond the checklist (tables/beyond.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.tables import build_table

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
FIVE_MINUTES_AGO = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def table(
    key: str, obj: dict[str, Any]
) -> tuple[list[tuple[str, str, int]], list[Any]]:
    built = build_table(REGISTRY.get(key), [obj], now=NOW)
    columns = [
        (c["name"], c["type"], c["priority"]) for c in built["columnDefinitions"]
    ]
    return columns, built["rows"][0]["cells"]


def meta(name: str) -> dict[str, Any]:
    return {"name": name, "creationTimestamp": FIVE_MINUTES_AGO}


def test_replication_controller_prints_desired_current_ready_and_its_selector_map() -> (
    None
):
    rc = {
        "metadata": meta("web"),
        "spec": {
            "replicas": 3,
            "selector": {"app": "web", "tier": "front"},
            "template": {
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            },
        },
        "status": {"replicas": 3, "readyReplicas": 2},
    }
    columns, cells = table("replicationcontrollers", rc)
    assert [(n, p) for n, _, p in columns] == [
        ("Name", 0), ("Desired", 0), ("Current", 0), ("Ready", 0), ("Age", 0),
        ("Containers", 1), ("Images", 1), ("Selector", 1),
    ]  # fmt: skip
    assert cells == ["web", 3, 3, 2, "5m", "web", "nginx:1.27", "app=web,tier=front"]


def test_pod_template_prints_its_containers_and_pod_labels() -> None:
    template = {
        "metadata": meta("tpl"),
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]
            },
        },
    }
    columns, cells = table("podtemplates", template)
    assert [n for n, _, _ in columns] == ["Name", "Containers", "Images", "Pod Labels"]
    assert cells == ["tpl", "a,b", "x,y", "app=web"]


def test_component_status_reads_the_healthy_condition() -> None:
    cs = {
        "metadata": {"name": "etcd-0"},
        "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}],
    }
    columns, cells = table("componentstatuses", cs)
    assert [n for n, _, _ in columns] == ["Name", "Status", "Message", "Error"]
    assert cells == ["etcd-0", "Healthy", "ok", ""]
    _, unknown = table("componentstatuses", {"metadata": {"name": "x"}})
    assert unknown == ["x", "Unknown", "", ""]


def test_resource_quota_splits_requests_and_limits_sorted_by_resource() -> None:
    quota = {
        "metadata": meta("q"),
        "status": {
            "hard": {
                "pods": "10",
                "limits.cpu": "2",
                "requests.cpu": "1",
                "limits.memory": "2Gi",
            },
            "used": {"pods": "3", "limits.cpu": "1500m", "requests.cpu": "750m"},
        },
    }
    columns, cells = table("resourcequotas", quota)
    assert [n for n, _, _ in columns] == ["Name", "Request", "Limit", "Age"]
    assert cells == [
        "q",
        "pods: 3/10, requests.cpu: 750m/1",
        "limits.cpu: 1500m/2, limits.memory: 0/2Gi",
        "5m",
    ]


def test_priority_class_prints_value_default_and_preemption_policy() -> None:
    pc = {"metadata": meta("high"), "value": 1000, "preemptionPolicy": "Never"}
    columns, cells = table("priorityclasses.scheduling.k8s.io", pc)
    assert columns == [
        ("Name", "string", 0), ("Value", "integer", 0), ("Global-Default", "boolean", 0),
        ("Age", "string", 0), ("PreemptionPolicy", "string", 0),
    ]  # fmt: skip
    assert cells == ["high", 1000, False, "5m", "Never"]


def test_ip_address_names_its_parent_and_carries_an_age_cell_without_a_column() -> None:
    ip = {
        "metadata": meta("10.96.0.1"),
        "spec": {
            "parentRef": {
                "group": "",
                "resource": "services",
                "namespace": "default",
                "name": "kubernetes",
            }
        },
    }
    columns, cells = table("ipaddresses.networking.k8s.io", ip)
    assert [n for n, _, _ in columns] == ["Name", "ParentRef"]
    assert cells == ["10.96.0.1", "services/default/kubernetes", "5m"]


def test_service_cidr_joins_its_ranges() -> None:
    cidr = {
        "metadata": meta("kubernetes"),
        "spec": {"cidrs": ["10.96.0.0/12", "fd00::/108"]},
    }
    assert table("servicecidrs.networking.k8s.io", cidr)[1] == [
        "kubernetes",
        "10.96.0.0/12,fd00::/108",
        "5m",
    ]


def test_limit_ranges_and_crds_print_name_and_created_at_as_the_default_convertor() -> (
    None
):
    for key in ("limitranges", "customresourcedefinitions.apiextensions.k8s.io"):
        columns, cells = table(key, {"metadata": meta("x")})
        assert columns == [("Name", "string", 0), ("Created At", "date", 0)]
        assert cells == ["x", FIVE_MINUTES_AGO]
