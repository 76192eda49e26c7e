"""Workload printers: Deployment, ReplicaSet, StatefulSet, ControllerRevision (and the kinds
added with them)."""

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


_CONTROLLER_REVISION_COLUMNS = (
    NAME,
    Column("Controller", description="Controller of the object"),
    Column("Revision", "number", ("apps", "v1", "ControllerRevision", "revision")),
    AGE,
)


def _controller_revision_cells(obj: Obj, now: datetime) -> list[Cell]:
    """printControllerRevision: the owner as `daemonset.apps/name`."""
    controller = "<none>"
    for ref in _get(obj, "metadata", "ownerReferences", default=[]) or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            kind = str(ref.get("kind", "")).lower()
            controller = f"{kind}.{group}/{ref.get('name')}" if group else f"{kind}/{ref.get('name')}"
    return [
        _get(obj, "metadata", "name", default=""),
        controller,
        _int(_get(obj, "revision")),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


# `kubectl get deploy web --subresource=scale`: upstream's printer for autoscaling/v1
# Scale, whose AVAILABLE is the Scale's status.replicas.
_SCALE_COLUMNS = (
    NAME,
    Column("Desired", "integer", ("autoscaling", "v1", "Scale", "spec", "replicas")),
    Column("Available", "integer", ("autoscaling", "v1", "Scale", "status", "replicas")),
)


def _scale_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        _int(_get(obj, "spec", "replicas")),
        _int(_get(obj, "status", "replicas")),
    ]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("apps", "ControllerRevision"): (_CONTROLLER_REVISION_COLUMNS, _controller_revision_cells),
    ("apps", "Deployment"): (_DEPLOYMENT_COLUMNS, _deployment_cells),
    ("apps", "ReplicaSet"): (_REPLICASET_COLUMNS, _replicaset_cells),
    ("apps", "StatefulSet"): (_STATEFULSET_COLUMNS, _statefulset_cells),
    ("autoscaling", "Scale"): (_SCALE_COLUMNS, _scale_cells),
}
