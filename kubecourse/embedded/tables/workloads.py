"""Workload printers: Deployment, ReplicaSet, StatefulSet (and the kinds added with them)."""

from __future__ import annotations

from datetime import datetime

from kubecourse.embedded.tables.common import (
    _CONTAINERS,
    _IMAGES,
    _READY_PODS,
    AGE,
    NAME,
    Cell,
    Column,
    Obj,
    Printer,
    _get,
    _images,
    _int,
    _names,
    _template_containers,
    _wide,
    age,
    format_label_selector,
)

# ---------------------------------------------------------------- workloads

_DEPLOYMENT_COLUMNS = (
    NAME,
    _READY_PODS,
    Column(
        "Up-to-date",
        description=("apps", "v1", "Deployment", "status", "updatedReplicas"),
    ),
    Column(
        "Available",
        description=("apps", "v1", "Deployment", "status", "availableReplicas"),
    ),
    AGE,
    _CONTAINERS,
    _IMAGES,
    _wide("Selector", ("apps", "v1", "Deployment", "spec", "selector")),
)


def _deployment_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _template_containers(obj)
    return [
        _get(obj, "metadata", "name", default=""),
        f"{_int(_get(obj, 'status', 'readyReplicas'))}/{_int(_get(obj, 'spec', 'replicas'))}",
        _int(_get(obj, "status", "updatedReplicas")),
        _int(_get(obj, "status", "availableReplicas")),
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _names(containers),
        _images(containers),
        format_label_selector(_get(obj, "spec", "selector")),
    ]


_REPLICASET_COLUMNS = (
    NAME,
    Column("Desired", "integer", ("apps", "v1", "ReplicaSet", "spec", "replicas")),
    Column("Current", "integer", ("apps", "v1", "ReplicaSet", "status", "replicas")),
    Column("Ready", "integer", ("apps", "v1", "ReplicaSet", "status", "readyReplicas")),
    AGE,
    _CONTAINERS,
    _IMAGES,
    _wide("Selector", ("apps", "v1", "ReplicaSet", "spec", "selector")),
)


def _replicaset_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _template_containers(obj)
    return [
        _get(obj, "metadata", "name", default=""),
        _int(_get(obj, "spec", "replicas")),
        _int(_get(obj, "status", "replicas")),
        _int(_get(obj, "status", "readyReplicas")),
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _names(containers),
        _images(containers),
        format_label_selector(_get(obj, "spec", "selector")),
    ]


_STATEFULSET_COLUMNS = (NAME, _READY_PODS, AGE, _CONTAINERS, _IMAGES)


def _statefulset_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _template_containers(obj)
    return [
        _get(obj, "metadata", "name", default=""),
        f"{_int(_get(obj, 'status', 'readyReplicas'))}/{_int(_get(obj, 'spec', 'replicas'))}",
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _names(containers),
        _images(containers),
    ]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("apps", "Deployment"): (_DEPLOYMENT_COLUMNS, _deployment_cells),
    ("apps", "ReplicaSet"): (_REPLICASET_COLUMNS, _replicaset_cells),
    ("apps", "StatefulSet"): (_STATEFULSET_COLUMNS, _statefulset_cells),
}
