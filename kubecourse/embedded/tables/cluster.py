"""Cluster, config and storage printers: Node, Namespace, Event, ConfigMap, Secret, ServiceAccount, PVC, PV."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kubecourse.embedded.tables.common import (
    AGE,
    NAME,
    Cell,
    Column,
    Obj,
    Printer,
    _access_modes,
    _core,
    _get,
    _int,
    _list,
    _wide,
    age,
)

# ---------------------------------------------------------------- cluster

_NODE_INFO = ("", "v1", "Node", "status", "nodeInfo")
_NODE_COLUMNS = (
    NAME,
    Column("Status", description="The status of the node"),
    Column("Roles", description="The roles of the node"),
    AGE,
    Column("Version", description=(*_NODE_INFO, "kubeletVersion")),
    _wide("Internal-IP", _core("Node", "status", "addresses")),
    _wide("External-IP", _core("Node", "status", "addresses")),
    _wide("OS-Image", (*_NODE_INFO, "osImage")),
    _wide("Kernel-Version", (*_NODE_INFO, "kernelVersion")),
    _wide("Container-Runtime", (*_NODE_INFO, "containerRuntimeVersion")),
)

_ROLE_PREFIX = "node-role.kubernetes.io/"


def node_roles(node: Obj) -> list[str]:
    """Roles from `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`."""
    roles: set[str] = set()
    for key, value in (_get(node, "metadata", "labels", default={}) or {}).items():
        if key.startswith(_ROLE_PREFIX) and key != _ROLE_PREFIX:
            roles.add(key.removeprefix(_ROLE_PREFIX))
        elif key == "kubernetes.io/role" and value:
            roles.add(str(value))
    return sorted(roles)


def node_status(node: Obj) -> str:
    """`Ready`, `NotReady` (Ready is False or Unknown), `Unknown` (no Ready condition),
    with `,SchedulingDisabled` for a cordoned node."""
    status = [
        "Ready" if c.get("status") == "True" else "NotReady"
        for c in _list(node, "status", "conditions")
        if c.get("type") == "Ready"
    ][-1:] or ["Unknown"]
    if _get(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_address(node: Obj, kind: str) -> str:
    for address in _list(node, "status", "addresses"):
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def _node_cells(node: Obj, now: datetime) -> list[Cell]:
    info = _get(node, "status", "nodeInfo", default={})
    return [
        _get(node, "metadata", "name", default=""),
        node_status(node),
        ",".join(node_roles(node)) or "<none>",
        age(_get(node, "metadata", "creationTimestamp"), now),
        str(info.get("kubeletVersion", "")),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        str(info.get("osImage") or "<unknown>"),
        str(info.get("kernelVersion") or "<unknown>"),
        str(info.get("containerRuntimeVersion") or "<unknown>"),
    ]


_NAMESPACE_COLUMNS = (
    NAME,
    Column("Status", description="The status of the namespace"),
    AGE,
)


def _namespace_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        _get(obj, "status", "phase", default=""),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_EVENT_COLUMNS = (
    Column("Last Seen", description=_core("Event", "lastTimestamp")),
    Column("Type", description=_core("Event", "type")),
    Column("Reason", description=_core("Event", "reason")),
    Column("Object", description=_core("Event", "involvedObject")),
    _wide("Subobject", _core("Event", "involvedObject", "fieldPath")),
    _wide("Source", _core("Event", "source")),
    Column("Message", description=_core("Event", "message")),
    _wide("First Seen", _core("Event", "firstTimestamp")),
    _wide("Count", _core("Event", "count")),
    Column(
        "Name",
        priority=1,
        format="name",
        description=_core("Event", "metadata", "name"),
    ),
)


def _event_source(event: Obj) -> str:
    component = (
        _get(event, "source", "component") or event.get("reportingComponent") or ""
    )
    host = _get(event, "source", "host") or event.get("reportingInstance") or ""
    return f"{component}, {host}" if host else str(component)


def _event_cells(event: Obj, now: datetime) -> list[Cell]:
    first = age(event.get("firstTimestamp") or event.get("eventTime"), now)
    last = age(event["lastTimestamp"], now) if event.get("lastTimestamp") else first
    count = _int(event.get("count")) or 1
    if isinstance(event.get("series"), Mapping):
        last = age(_get(event, "series", "lastObservedTime"), now)
        count = _int(_get(event, "series", "count"))
    involved = _get(event, "involvedObject", default={})
    target = str(involved.get("kind", "")).lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    return [
        last,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        str(involved.get("fieldPath", "")),
        _event_source(event),
        str(event.get("message", "")).strip(),
        first,
        count,
        _get(event, "metadata", "name", default=""),
    ]


# ---------------------------------------------------------------- config and storage

_CONFIGMAP_COLUMNS = (NAME, Column("Data", "integer", _core("ConfigMap", "data")), AGE)


def _configmap_cells(obj: Obj, now: datetime) -> list[Cell]:
    data = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [
        _get(obj, "metadata", "name", default=""),
        data,
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_SECRET_COLUMNS = (
    NAME,
    Column("Type", description=_core("Secret", "type")),
    Column("Data", "integer", _core("Secret", "data")),
    AGE,
)


def _secret_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        obj.get("type", ""),
        len(obj.get("data") or {}),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_SERVICEACCOUNT_COLUMNS = (
    NAME,
    Column("Secrets", "integer", _core("ServiceAccount", "secrets")),
    AGE,
)


def _serviceaccount_cells(obj: Obj, now: datetime) -> list[Cell]:
    return [
        _get(obj, "metadata", "name", default=""),
        len(_list(obj, "secrets")),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


_PVC = ("", "v1", "PersistentVolumeClaim")
_PVC_COLUMNS = (
    NAME,
    Column("Status", description=(*_PVC, "status", "phase")),
    Column("Volume", description=(*_PVC, "spec", "volumeName")),
    Column("Capacity", description=(*_PVC, "status", "capacity")),
    Column("Access Modes", description=(*_PVC, "status", "accessModes")),
    Column("StorageClass", description="StorageClass of the pvc"),
    Column("VolumeAttributesClass", description="VolumeAttributesClass of the pvc"),
    AGE,
    _wide("VolumeMode", (*_PVC, "spec", "volumeMode")),
)

_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def _storage_class(obj: Obj) -> str:
    annotations = _get(obj, "metadata", "annotations", default={}) or {}
    if _STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[_STORAGE_CLASS_ANNOTATION])
    return str(_get(obj, "spec", "storageClassName", default=""))


def _phase_or_terminating(obj: Obj) -> str:
    if _get(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    return str(_get(obj, "status", "phase", default=""))


def _pvc_cells(obj: Obj, now: datetime) -> list[Cell]:
    bound = bool(_get(obj, "spec", "volumeName"))
    return [
        _get(obj, "metadata", "name", default=""),
        _phase_or_terminating(obj),
        _get(obj, "spec", "volumeName", default=""),
        str(_get(obj, "status", "capacity", "storage", default="")) if bound else "",
        _access_modes(_list(obj, "status", "accessModes")) if bound else "",
        _storage_class(obj),
        _get(obj, "spec", "volumeAttributesClassName", default="") or "<unset>",
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _get(obj, "spec", "volumeMode", default="") or "<unset>",
    ]


_PV = ("", "v1", "PersistentVolume")
_PV_COLUMNS = (
    NAME,
    Column("Capacity", description=(*_PV, "spec", "capacity")),
    Column("Access Modes", description=(*_PV, "spec", "accessModes")),
    Column(
        "Reclaim Policy", description=(*_PV, "spec", "persistentVolumeReclaimPolicy")
    ),
    Column("Status", description=(*_PV, "status", "phase")),
    Column("Claim", description=(*_PV, "spec", "claimRef")),
    Column("StorageClass", description="StorageClass of the pv"),
    Column("VolumeAttributesClass", description="VolumeAttributesClass of the pv"),
    Column("Reason", description=(*_PV, "status", "reason")),
    AGE,
    _wide("VolumeMode", (*_PV, "spec", "volumeMode")),
)


def _pv_cells(obj: Obj, now: datetime) -> list[Cell]:
    claim = _get(obj, "spec", "claimRef")
    return [
        _get(obj, "metadata", "name", default=""),
        str(_get(obj, "spec", "capacity", "storage", default="0")),
        _access_modes(_list(obj, "spec", "accessModes")),
        _get(obj, "spec", "persistentVolumeReclaimPolicy", default=""),
        _phase_or_terminating(obj),
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        _storage_class(obj),
        _get(obj, "spec", "volumeAttributesClassName", default="") or "<unset>",
        _get(obj, "status", "reason", default=""),
        age(_get(obj, "metadata", "creationTimestamp"), now),
        _get(obj, "spec", "volumeMode", default="") or "<unset>",
    ]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Node"): (_NODE_COLUMNS, _node_cells),
    ("", "Namespace"): (_NAMESPACE_COLUMNS, _namespace_cells),
    ("", "Event"): (_EVENT_COLUMNS, _event_cells),
    ("", "ConfigMap"): (_CONFIGMAP_COLUMNS, _configmap_cells),
    ("", "Secret"): (_SECRET_COLUMNS, _secret_cells),
    ("", "ServiceAccount"): (_SERVICEACCOUNT_COLUMNS, _serviceaccount_cells),
    ("", "PersistentVolumeClaim"): (_PVC_COLUMNS, _pvc_cells),
    ("", "PersistentVolume"): (_PV_COLUMNS, _pv_cells),
}
