"""Printers of the kinds added for issue 3: Job, CronJob, DaemonSet, HPA (v2 and v1),
PodDisruptionBudget, Lease, events.k8s.io Event, and the Gateway API kinds.

Built-in kinds follow the upstream printers (JOB STATUS/COMPLETIONS/DURATION, CronJob
SCHEDULE/TIMEZONE/SUSPEND/ACTIVE/LAST SCHEDULE, HPA REFERENCE/TARGETS as
`cpu: <unknown>/80%`, PDB `N/A` for the unset bound); an events.k8s.io Event prints as
its core form does.  The Gateway API kinds print their CRDs' additionalPrinterColumns
(CRD cells as JSONPath renders them: a list as JSON, a missing value as null).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kubecourse.embedded.conversion import hpa_v1_to_v2, v1_event_to_core
from kubecourse.embedded.selectors import format_labels
from kubecourse.embedded.tables.cluster import _EVENT_COLUMNS as EVENT_COLUMNS
from kubecourse.embedded.tables.cluster import _event_cells
from kubecourse.embedded.tables.common import (
    _CONTAINERS,
    _IMAGES,
    AGE,
    NAME,
    Cell,
    Column,
    Obj,
    Printer,
    _get,
    _images,
    _int,
    _list,
    _names,
    _wide,
    age,
    created_age,
    format_label_selector,
    human_duration,
    name_of,
    parse_time,
)

_JOB = ("batch", "v1", "Job")
_CRON = ("batch", "v1", "CronJob")
_DS = ("apps", "v1", "DaemonSet")
_HPA = ("autoscaling", "v2", "HorizontalPodAutoscaler")
_PDB = ("policy", "v1", "PodDisruptionBudget")


# ---------------------------------------------------------------- Job

_JOB_COLUMNS = (
    NAME,
    Column("Status", description="Status of the job."),
    Column("Completions", description=(*_JOB, "status", "succeeded")),
    Column("Duration", description="Time required to complete the job."),
    AGE,
    _CONTAINERS,
    _IMAGES,
    _wide("Selector", (*_JOB, "spec", "selector")),
)
def job_status(job: Obj) -> str:
    """printJob's STATUS: the finished conditions first, then Terminating, then the
    interim ones."""
    true = {
        c.get("type")
        for c in _list(job, "status", "conditions")
        if c.get("status") == "True"
    }
    for kind in ("Complete", "Failed"):
        if kind in true:
            return kind
    if _get(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    for kind in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if kind in true:
            return kind
    return "Running"


def job_completions(job: Obj) -> str:
    succeeded = _int(_get(job, "status", "succeeded"))
    completions = _get(job, "spec", "completions")
    if isinstance(completions, int):
        return f"{succeeded}/{completions}"
    parallelism = _int(_get(job, "spec", "parallelism"))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def _job_duration(job: Obj, now: datetime) -> str:
    start = parse_time(_get(job, "status", "startTime"))
    if start is None:
        return ""
    end = parse_time(_get(job, "status", "completionTime")) or now
    return human_duration((end - start).total_seconds())


def _job_cells(job: Obj, now: datetime) -> list[Cell]:
    containers = _list(job, "spec", "template", "spec", "containers")
    return [
        name_of(job),
        job_status(job),
        job_completions(job),
        _job_duration(job, now),
        created_age(job, now),
        _names(containers),
        _images(containers),
        format_label_selector(_get(job, "spec", "selector")),
    ]


# ---------------------------------------------------------------- CronJob

_CRONJOB_COLUMNS = (
    NAME,
    Column("Schedule", description=(*_CRON, "spec", "schedule")),
    Column("Timezone", description=(*_CRON, "spec", "timeZone")),
    Column("Suspend", "boolean", (*_CRON, "spec", "suspend")),
    Column("Active", "integer", (*_CRON, "status", "active")),
    Column("Last Schedule", description=(*_CRON, "status", "lastScheduleTime")),
    AGE,
    _CONTAINERS,
    _IMAGES,
    _wide("Selector", (*_JOB, "spec", "selector")),
)


def _bool_ptr(value: Any) -> str:
    return "<unset>" if value is None else ("True" if value else "False")


def _cronjob_cells(obj: Obj, now: datetime) -> list[Cell]:
    job_spec = _get(obj, "spec", "jobTemplate", "spec", default={})
    containers = _list(job_spec, "template", "spec", "containers")
    last = _get(obj, "status", "lastScheduleTime")
    return [
        name_of(obj),
        str(_get(obj, "spec", "schedule", default="")),
        str(_get(obj, "spec", "timeZone", default="<none>")),
        _bool_ptr(_get(obj, "spec", "suspend")),
        len(_list(obj, "status", "active")),
        age(last, now) if last else "<none>",
        created_age(obj, now),
        _names(containers),
        _images(containers),
        format_label_selector(_get(job_spec, "selector")),
    ]


# ---------------------------------------------------------------- DaemonSet

_DAEMONSET_COLUMNS = (
    NAME,
    Column("Desired", "integer", (*_DS, "status", "desiredNumberScheduled")),
    Column("Current", "integer", (*_DS, "status", "currentNumberScheduled")),
    Column("Ready", "integer", (*_DS, "status", "numberReady")),
    Column("Up-to-date", "integer", (*_DS, "status", "updatedNumberScheduled")),
    Column("Available", "integer", (*_DS, "status", "numberAvailable")),
    Column("Node Selector", description=("", "v1", "Pod", "spec", "nodeSelector")),
    AGE,
    _CONTAINERS,
    _IMAGES,
    _wide("Selector", (*_DS, "spec", "selector")),
)


def _daemonset_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _list(obj, "spec", "template", "spec", "containers")
    node_selector = _get(obj, "spec", "template", "spec", "nodeSelector", default={})
    counts = (
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "numberReady",
        "updatedNumberScheduled",
        "numberAvailable",
    )
    return [
        name_of(obj),
        *(_int(_get(obj, "status", name)) for name in counts),
        format_labels(node_selector) or "<none>",
        created_age(obj, now),
        _names(containers),
        _images(containers),
        format_label_selector(_get(obj, "spec", "selector")),
    ]


# ---------------------------------------------------------------- HPA

_HPA_COLUMNS = (
    NAME,
    Column("Reference", description=(*_HPA, "spec", "scaleTargetRef")),
    Column("Targets", description=(*_HPA, "spec", "metrics")),
    Column("MinPods", description=(*_HPA, "spec", "minReplicas")),
    Column("MaxPods", "integer", (*_HPA, "spec", "maxReplicas")),
    Column("Replicas", "integer", (*_HPA, "status", "currentReplicas")),
    AGE,
)


def _current(status: Obj | None, key: str) -> Any:
    return ((status or {}).get("current") or {}).get(key)


def _resource_target(source: Obj, status: Obj | None) -> str:
    """`cpu: 40%/50%` (Utilization) or `memory: 120Mi/200Mi` (AverageValue)."""
    target = source.get("target") or {}
    name = source.get("name", "")
    if target.get("averageValue") is not None:
        now = _current(status, "averageValue") if status else None
        return f"{name}: {now if now is not None else '<unknown>'}/{target['averageValue']}"
    now = _current(status, "averageUtilization")
    shown = f"{now}%" if isinstance(now, int) else "<unknown>"
    wanted = target.get("averageUtilization")
    return f"{name}: {shown}/{f'{wanted}%' if isinstance(wanted, int) else '<auto>'}"


def _value_target(source: Obj, status: Obj | None) -> str:
    """Pods, Object and External metrics: `current/target`, `(avg)` for per-pod values."""
    target = source.get("target") or {}
    average = target.get("averageValue")
    if average is not None:
        now = _current(status, "averageValue")
        return f"{now if now is not None else '<unknown>'}/{average} (avg)"
    now = _current(status, "value")
    return f"{now if now is not None else '<unknown>'}/{target.get('value')}"


_METRIC_FIELDS = {
    "Resource": "resource",
    "ContainerResource": "containerResource",
    "Pods": "pods",
    "Object": "object",
    "External": "external",
}


def _metric_target(metric: Obj, status: Obj) -> str:
    field = _METRIC_FIELDS.get(str(metric.get("type")))
    if field is None:
        return "<unknown type>"
    source = metric.get(field) or {}
    current = status.get(field)
    if field in ("resource", "containerResource"):
        return _resource_target(source, current)
    if field == "pods":
        now = _current(current, "averageValue")
        wanted = (source.get("target") or {}).get("averageValue")
        return f"{now if now is not None else '<unknown>'}/{wanted}"
    return _value_target(source, current)


def hpa_targets(hpa: Obj) -> str:
    """TARGETS as upstream's `formatHPAMetrics`: each spec metric against the status of
    the same index (`cpu: 40%/50%`, `cpu: <unknown>/50%`), at most two, then `+ N more...`."""
    metrics = _list(hpa, "spec", "metrics")
    if not metrics:
        return "<none>"
    statuses = _list(hpa, "status", "currentMetrics")
    parts = [
        _metric_target(metric, statuses[i] if i < len(statuses) else {})
        for i, metric in enumerate(metrics)
    ]
    shown = ", ".join(parts[:2])
    return shown + (f" + {len(parts) - 2} more..." if len(parts) > 2 else "")


def _hpa_cells(hpa: Obj, now: datetime) -> list[Cell]:
    if "targetCPUUtilizationPercentage" in (hpa.get("spec") or {}):
        hpa = hpa_v1_to_v2(hpa)
    ref = _get(hpa, "spec", "scaleTargetRef", default={})
    low = _get(hpa, "spec", "minReplicas")
    return [
        name_of(hpa),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        hpa_targets(hpa),
        str(low) if isinstance(low, int) else "<unset>",
        _int(_get(hpa, "spec", "maxReplicas")),
        _int(_get(hpa, "status", "currentReplicas")),
        created_age(hpa, now),
    ]


# ---------------------------------------------------------------- PDB, Lease, Event

_PDB_COLUMNS = (
    NAME,
    Column("Min Available", description=(*_PDB, "spec", "minAvailable")),
    Column("Max Unavailable", description=(*_PDB, "spec", "maxUnavailable")),
    Column("Allowed Disruptions", "integer", (*_PDB, "status", "disruptionsAllowed")),
    AGE,
)


def _pdb_cells(pdb: Obj, now: datetime) -> list[Cell]:
    low = _get(pdb, "spec", "minAvailable")
    high = _get(pdb, "spec", "maxUnavailable")
    return [
        name_of(pdb),
        "N/A" if low is None else str(low),
        "N/A" if high is None else str(high),
        _int(_get(pdb, "status", "disruptionsAllowed")),
        created_age(pdb, now),
    ]


_LEASE_COLUMNS = (
    NAME,
    Column(
        "Holder",
        description=("coordination.k8s.io", "v1", "Lease", "spec", "holderIdentity"),
    ),
    AGE,
)


def _lease_cells(lease: Obj, now: datetime) -> list[Cell]:
    holder = _get(lease, "spec", "holderIdentity", default="")
    return [name_of(lease), str(holder), created_age(lease, now)]


def _events_v1_cells(event: Obj, now: datetime) -> list[Cell]:
    return _event_cells(v1_event_to_core(event), now)


# ---------------------------------------------------------------- Gateway API (CRD columns)


def _condition_status(obj: Obj, kind: str) -> Any:
    for condition in _list(obj, "status", "conditions"):
        if condition.get("type") == kind:
            return condition.get("status")
    return None


def _crd_column(name: str, priority: int = 0, type_: str = "string") -> Column:
    return Column(name, type_, "", priority=priority)


_CRD_AGE = Column("Age", "date", "")
_GATEWAYCLASS_COLUMNS = (
    NAME,
    _crd_column("Controller"),
    _crd_column("Accepted"),
    _CRD_AGE,
    _crd_column("Description", priority=1),
)
_GATEWAY_COLUMNS = (
    NAME,
    _crd_column("Class"),
    _crd_column("Address"),
    _crd_column("Programmed"),
    _CRD_AGE,
)
_HTTPROUTE_COLUMNS = (NAME, _crd_column("Hostnames"), _CRD_AGE)


def _gatewayclass_cells(obj: Obj, now: datetime) -> list[Any]:
    return [
        name_of(obj),
        _get(obj, "spec", "controllerName"),
        _condition_status(obj, "Accepted"),
        created_age(obj, now),
        _get(obj, "spec", "description"),
    ]


def _gateway_cells(obj: Obj, now: datetime) -> list[Any]:
    addresses = [a.get("value") for a in _list(obj, "status", "addresses")]
    return [
        name_of(obj),
        _get(obj, "spec", "gatewayClassName"),
        " ".join(str(a) for a in addresses) if addresses else None,
        _condition_status(obj, "Programmed"),
        created_age(obj, now),
    ]


def _httproute_cells(obj: Obj, now: datetime) -> list[Any]:
    hostnames = _list(obj, "spec", "hostnames")
    shown = json.dumps(hostnames, separators=(",", ":")) if hostnames else None
    return [name_of(obj), shown, created_age(obj, now)]


_GATEWAY = "gateway.networking.k8s.io"
PRINTERS: dict[tuple[str, str], Printer] = {
    ("batch", "Job"): (_JOB_COLUMNS, _job_cells),
    ("batch", "CronJob"): (_CRONJOB_COLUMNS, _cronjob_cells),
    ("apps", "DaemonSet"): (_DAEMONSET_COLUMNS, _daemonset_cells),
    ("autoscaling", "HorizontalPodAutoscaler"): (_HPA_COLUMNS, _hpa_cells),
    ("policy", "PodDisruptionBudget"): (_PDB_COLUMNS, _pdb_cells),
    ("coordination.k8s.io", "Lease"): (_LEASE_COLUMNS, _lease_cells),
    ("events.k8s.io", "Event"): (EVENT_COLUMNS, _events_v1_cells),
    (_GATEWAY, "GatewayClass"): (_GATEWAYCLASS_COLUMNS, _gatewayclass_cells),
    (_GATEWAY, "Gateway"): (_GATEWAY_COLUMNS, _gateway_cells),
    (_GATEWAY, "HTTPRoute"): (_HTTPROUTE_COLUMNS, _httproute_cells),
}
