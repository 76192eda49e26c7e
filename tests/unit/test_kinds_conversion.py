"""The issue-3 kinds: conversions, defaults, validation and Table cells, in process."""

from __future__ import annotations

from datetime import datetime, timezone

from kubecourse.embedded import defaults, validation
from kubecourse.embedded.conversion import (
    core_event_to_v1,
    event_field_selector,
    hpa_v1_to_v2,
    hpa_v2_to_v1,
    v1_event_to_core,
)
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.tables import build_table

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
CORE_EVENT = {
    "metadata": {"name": "web.1", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
    "reason": "Started",
    "message": "Started container nginx",
    "source": {"component": "kubelet", "host": "node-1"},
    "firstTimestamp": "2025-01-01T11:59:00Z",
    "lastTimestamp": "2025-01-01T11:59:30Z",
    "count": 2,
    "type": "Normal",
    "eventTime": None,
    "reportingComponent": "kubelet",
}


def test_a_core_event_reads_as_events_k8s_io_with_renamed_fields() -> None:
    event = core_event_to_v1(CORE_EVENT)
    assert event["apiVersion"] == "events.k8s.io/v1"
    assert event["regarding"]["name"] == "web"
    assert event["note"] == "Started container nginx"
    assert event["deprecatedSource"] == {"component": "kubelet", "host": "node-1"}
    assert event["deprecatedCount"] == 2
    assert event["reportingController"] == "kubelet"
    assert event["eventTime"] == "2025-01-01T11:59:00.000000Z"
    assert "involvedObject" not in event and "message" not in event


def test_an_events_k8s_io_event_stores_as_the_core_event_it_came_from() -> None:
    back = v1_event_to_core(core_event_to_v1(CORE_EVENT))
    assert back["involvedObject"] == CORE_EVENT["involvedObject"]
    assert back["message"] == CORE_EVENT["message"]
    assert back["count"] == 2 and back["apiVersion"] == "v1"


def test_events_k8s_io_field_selectors_map_onto_core_field_names() -> None:
    text = "regarding.name=web,reportingController=kubelet,type=Normal"
    assert event_field_selector(text) == (
        "involvedObject.name=web,reportingComponent=kubelet,type=Normal"
    )


def test_hpa_v1_target_cpu_is_the_v2_cpu_utilization_metric() -> None:
    v1 = {
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 5,
            "targetCPUUtilizationPercentage": 60,
        },
    }
    v2 = hpa_v1_to_v2(v1)
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [defaults.cpu_metric(60)]
    assert hpa_v2_to_v1(v2)["spec"]["targetCPUUtilizationPercentage"] == 60


def test_a_v1_write_keeps_the_stored_metrics_and_behavior_v1_cannot_express() -> None:
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {}}}
    stored = {"spec": {"metrics": [defaults.cpu_metric(80), memory], "behavior": {}}}
    v1 = {
        "metadata": {},
        "spec": {"maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
    }
    v2 = hpa_v1_to_v2(v1, stored)
    assert v2["spec"]["metrics"] == [defaults.cpu_metric(50), memory]
    assert v2["spec"]["behavior"] == {}


def test_hpa_v2_defaults_to_one_replica_and_80_percent_cpu() -> None:
    hpa: dict = {"metadata": {}, "spec": {"maxReplicas": 3}}
    defaults.default_new_hpa(hpa)
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["metrics"] == [defaults.cpu_metric(80)]
    assert hpa["status"] == {"currentMetrics": None, "desiredReplicas": 0}


def test_a_new_job_gets_the_generated_selector_and_upstream_defaults() -> None:
    job: dict = {
        "metadata": {"name": "pi", "uid": "u-1"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "c", "image": "perl"}]}}
        },
    }
    defaults.default_job(job)
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}
    }
    assert spec["template"]["metadata"]["labels"]["job-name"] == "pi"
    assert job["status"] == {}


def test_a_job_template_that_restarts_always_is_rejected() -> None:
    job: dict = {
        "metadata": {"name": "pi", "uid": "u"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
    }
    defaults.default_job(job)
    causes = validation.validate_kind(
        REGISTRY.get("jobs.batch"), job, lambda selector, labels: True
    )
    assert causes[0]["field"] == "spec.template.spec.restartPolicy"
    assert 'Unsupported value: "Always"' in causes[0]["message"]


def test_cron_schedules_parse_like_the_upstream_parser() -> None:
    assert validation.cron_schedule_error("*/5 * * * *") is None
    assert validation.cron_schedule_error("@hourly") is None
    assert validation.cron_schedule_error("bad") == (
        "expected exactly 5 fields, found 1: [bad]"
    )


def test_a_pdb_may_not_set_both_bounds() -> None:
    pdb = {"spec": {"minAvailable": 1, "maxUnavailable": "50%"}}
    causes = validation.validate_pdb(pdb)
    assert "minAvailable and maxUnavailable cannot be both set" in causes[0]["message"]


def cells(key: str, obj: dict) -> list:
    return list(build_table(REGISTRY.get(key), [obj], now=NOW)["rows"][0]["cells"])


def test_job_rows_show_status_completions_and_duration() -> None:
    job = {
        "metadata": {"name": "pi", "creationTimestamp": "2025-01-01T11:58:00Z"},
        "spec": {"completions": 3},
        "status": {
            "succeeded": 3,
            "startTime": "2025-01-01T11:58:00Z",
            "completionTime": "2025-01-01T11:58:42Z",
            "conditions": [{"type": "Complete", "status": "True"}],
        },
    }
    assert cells("jobs.batch", job)[:5] == ["pi", "Complete", "3/3", "42s", "2m"]


def test_hpa_rows_show_reference_and_unknown_cpu_target() -> None:
    hpa: dict = {"metadata": {"name": "web"}, "spec": {"maxReplicas": 5}}
    hpa["spec"]["scaleTargetRef"] = {"kind": "Deployment", "name": "web"}
    defaults.default_new_hpa(hpa)
    assert cells("horizontalpodautoscalers.autoscaling", hpa)[:6] == [
        "web",
        "Deployment/web",
        "cpu: <unknown>/80%",
        "1",
        5,
        0,
    ]


def test_pdb_rows_show_n_a_for_the_unset_bound() -> None:
    pdb = {"metadata": {"name": "p"}, "spec": {"minAvailable": 2}, "status": {}}
    assert cells("poddisruptionbudgets.policy", pdb)[:4] == ["p", "2", "N/A", 0]


def test_httproute_defaults_match_everything_under_root_and_weight_one() -> None:
    route: dict = {"spec": {"rules": [{"backendRefs": [{"name": "web", "port": 80}]}]}}
    defaults.default_http_route(route)
    rule = route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert rule["backendRefs"][0] | {"name": "web"} == {
        "name": "web",
        "port": 80,
        "group": "",
        "kind": "Service",
        "weight": 1,
    }
