"""Printers of the kinds served beyond the checklist: ReplicationController,
PodTemplate, ComponentStatus, ResourceQuota, PriorityClass, IPAddress, ServiceCIDR,
and (upstream's default table convertor, `NAME  CREATED AT`) LimitRange and
CustomResourceDefinition.

Faithful to the upstream printers: RC `DESIRED CURRENT READY AGE` (containers, images
and the selector map at priority 1), ComponentStatus `STATUS MESSAGE ERROR` from the
Healthy condition, ResourceQuota `REQUEST` / `LIMIT` as `pods: 1/2, requests.cpu:
500m/1` (resources sorted, `limits.*` in LIMIT), PriorityClass with its
PREEMPTIONPOLICY (a server Table is always wide), IPAddress PARENTREF as
`services/default/kubernetes`.  IPAddress rows carry an AGE cell that has no column,
as upstream's do (kubectl prints only the defined columns).
"""

from __future__ import annotations

from datetime import datetime

from kubecourse.embedded import quantity
from kubecourse.embedded.selectors import format_labels
from kubecourse.embedded.tables.common import (
    _CONTAINERS,
    _IMAGES,
    AGE,
    CREATED_AT_COLUMNS,
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
    _template_containers,
    _wide,
    created_age,
    name_and_created_at,
    name_of,
)

_RC = ("", "v1", "ReplicationController")
_PC = ("scheduling.k8s.io", "v1", "PriorityClass")


# ---------------------------------------------------------------- workloads

_RC_COLUMNS = (
    NAME,
    Column("Desired", "integer", (*_RC, "spec", "replicas")),
    Column("Current", "integer", (*_RC, "status", "replicas")),
    Column("Ready", "integer", (*_RC, "status", "readyReplicas")),
    AGE,
    _CONTAINERS,
    _IMAGES,
    _wide("Selector", (*_RC, "spec", "selector")),
)


def _rc_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _template_containers(obj)
    return [
        name_of(obj),
        _int(_get(obj, "spec", "replicas")),
        _int(_get(obj, "status", "replicas")),
        _int(_get(obj, "status", "readyReplicas")),
        created_age(obj, now),
        _names(containers),
        _images(containers),
        format_labels(_get(obj, "spec", "selector")),
    ]


_POD_TEMPLATE_COLUMNS = (
    NAME,
    Column("Containers", description="Names of each container in the template."),
    Column(
        "Images", description="Images referenced by each container in the template."
    ),
    Column("Pod Labels", description="The labels for the pod template."),
)


def _pod_template_cells(obj: Obj, now: datetime) -> list[Cell]:
    containers = _list(obj, "template", "spec", "containers")
    return [
        name_of(obj),
        _names(containers),
        _images(containers),
        format_labels(_get(obj, "template", "metadata", "labels")),
    ]


# ---------------------------------------------------------------- cluster state

_COMPONENT_STATUS_COLUMNS = (
    NAME,
    Column("Status", description="Status of the component conditions"),
    Column("Message", description="Message of the component conditions"),
    Column("Error", description="Error of the component conditions"),
)


def _component_status_cells(obj: Obj, now: datetime) -> list[Cell]:
    state, message, error = "Unknown", "", ""
    for condition in _list(obj, "conditions"):
        if condition.get("type") == "Healthy":
            state = "Healthy" if condition.get("status") == "True" else "Unhealthy"
            message = str(condition.get("message") or "")
            error = str(condition.get("error") or "")
            break
    return [name_of(obj), state, message, error]


_QUOTA_COLUMNS = (
    NAME,
    Column(
        "Request",
        description="Request represents a minimum amount of cpu/memory that a "
        "container may consume.",
    ),
    Column(
        "Limit",
        description="Limits control the maximum amount of cpu/memory that a "
        "container may use independent of contention on the node.",
    ),
    AGE,
)


def _quota_cells(obj: Obj, now: datetime) -> list[Cell]:
    hard = _get(obj, "status", "hard", default={}) or {}
    used = _get(obj, "status", "used", default={}) or {}
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        column = (
            limits
            if resource.split(".")[0] == "limits" and "." in resource
            else requests
        )
        column.append(
            f"{resource}: {_shown(used.get(resource))}/{_shown(hard[resource])}"
        )
    return [name_of(obj), ", ".join(requests), ", ".join(limits), created_age(obj, now)]


def _shown(value: object) -> str:
    """`Quantity.String()`: a missing quantity is `0`."""
    if value is None:
        return "0"
    try:
        return quantity.canonical(value)
    except ValueError:
        return str(value)


_PC_COLUMNS = (
    NAME,
    Column("Value", "integer", (*_PC, "value")),
    Column("Global-Default", "boolean", (*_PC, "globalDefault")),
    AGE,
    Column("PreemptionPolicy", description=(*_PC, "preemptionPolicy")),
)


def _pc_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        name_of(obj),
        _int(_get(obj, "value")),
        bool(_get(obj, "globalDefault", default=False)),
        created_age(obj, now),
        str(_get(obj, "preemptionPolicy", default="")),
    ]


# ---------------------------------------------------------------- networking

_SERVICE_CIDR_COLUMNS = (
    NAME,
    Column(
        "CIDRs", description=("networking.k8s.io", "v1", "ServiceCIDR", "spec", "cidrs")
    ),
    AGE,
)


def _service_cidr_cells(obj: Obj, now: datetime) -> list[Cell]:
    cidrs = ",".join(str(c) for c in _list(obj, "spec", "cidrs"))
    return [name_of(obj), cidrs, created_age(obj, now)]


_IP_ADDRESS_COLUMNS = (
    NAME,
    Column(
        "ParentRef",
        description=("networking.k8s.io", "v1", "IPAddress", "spec", "parentRef"),
    ),
)


def _ip_address_cells(obj: Obj, now: datetime) -> list[Cell]:
    ref = _get(obj, "spec", "parentRef")
    shown = "<none>"
    if ref:
        group, resource = ref.get("group") or "", ref.get("resource") or ""
        shown = (f"{resource}.{group}" if group else resource).lower()
        if ref.get("namespace"):
            shown += f"/{ref['namespace']}"
        shown += f"/{ref.get('name', '')}"
    return [name_of(obj), shown, created_age(obj, now)]


# ---------------------------------------------------------------- default convertor

PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "ReplicationController"): (_RC_COLUMNS, _rc_cells),
    ("", "PodTemplate"): (_POD_TEMPLATE_COLUMNS, _pod_template_cells),
    ("", "ComponentStatus"): (_COMPONENT_STATUS_COLUMNS, _component_status_cells),
    ("", "ResourceQuota"): (_QUOTA_COLUMNS, _quota_cells),
    ("", "LimitRange"): (CREATED_AT_COLUMNS, name_and_created_at),
    ("scheduling.k8s.io", "PriorityClass"): (_PC_COLUMNS, _pc_cells),
    ("networking.k8s.io", "ServiceCIDR"): (_SERVICE_CIDR_COLUMNS, _service_cidr_cells),
    ("networking.k8s.io", "IPAddress"): (_IP_ADDRESS_COLUMNS, _ip_address_cells),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (
        CREATED_AT_COLUMNS,
        name_and_created_at,
    ),
}
