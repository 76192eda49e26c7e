"""What an update may not change, as `pkg/apis/*/validation`'s `Validate*Update` say.

Faithful, with upstream's field paths and messages:
- PersistentVolumeClaim: the spec is frozen but for `volumeName` (set once), and for a
  Bound claim `resources.requests` and `volumeAttributesClassName` (`spec: Forbidden:
  spec is immutable after creation except resources.requests and
  volumeAttributesClassName for bound claims`); a request below `status.capacity`
  is refused (`field can not be less than status.capacity`, the
  RecoverVolumeExpansionFailure rule);
- StatefulSet: only replicas, ordinals, template, updateStrategy,
  revisionHistoryLimit, persistentVolumeClaimRetentionPolicy and minReadySeconds
  change (`spec: Forbidden: updates to statefulset spec for fields other than ...`),
  which also covers its selector;
- PersistentVolume: the volume source (`spec.persistentvolumesource: Forbidden:
  spec.persistentvolumesource is immutable after creation`) and `volumeMode`;
- IngressClass `spec.controller`; a NonIndexed Job's `spec.completions`; a Node's
  `spec.podCIDRs` once set; an EndpointSlice's `addressType`.

Simplified: upstream appends a `cmp.Diff` of the Go structs to the PVC and PV
messages (whose spacing Go randomises on purpose); here the diff lists the changed
fields with their JSON values in the same `-`/`+` shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubecourse.embedded import quantity
from kubecourse.embedded.validation_meta import forbidden, invalid

Causes = list[dict[str, str]]
Obj = dict[str, Any]

PVC_IMMUTABLE = (
    "spec is immutable after creation except resources.requests and "
    "volumeAttributesClassName for bound claims"
)
STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
STATEFULSET_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
    "'template', 'updateStrategy', 'revisionHistoryLimit', "
    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
# The members of `PersistentVolumeSource` (a PV spec's other fields may change).
PV_SOURCES = (
    "gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd",
    "iscsi", "cinder", "cephfs", "fc", "flocker", "flexVolume", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "local", "storageos", "csi",
)  # fmt: skip
POD_CIDR_FORBIDDEN = 'node updates may not change podCIDR except from "" to valid'


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _go_field(name: str) -> str:
    return name[:1].upper() + name[1:]


def spec_diff(type_name: str, old: Obj, new: Obj) -> str:
    """The changed fields in `cmp.Diff`'s shape, values as JSON."""
    lines = [f"  {type_name}{{"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        for sign, side in (("-", old), ("+", new)):
            if key in side:
                shown = json.dumps(side[key], separators=(",", ":"), sort_keys=True)
                lines.append(f"{sign} \t{_go_field(key)}: {shown},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- PersistentVolumeClaim


def _storage(spec: Obj) -> Any:
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def pvc_update_causes(old: Obj, new: Obj) -> Causes:
    """`ValidatePersistentVolumeClaimUpdate`."""
    old_spec, new_spec = dict(_spec(old)), dict(_spec(new))
    if not old_spec.get("volumeName"):
        old_spec["volumeName"] = new_spec.get("volumeName")  # set once, by the binder
    if (new.get("status") or {}).get("phase") == "Bound":
        _keep_bound_claim_fields(old_spec, new_spec)
    old_spec = {k: v for k, v in old_spec.items() if v is not None}
    new_spec = {k: v for k, v in new_spec.items() if v is not None}
    causes: Causes = []
    if old_spec != new_spec:
        diff = spec_diff("core.PersistentVolumeClaimSpec", old_spec, new_spec)
        causes.append(forbidden("spec", f"{PVC_IMMUTABLE}\n{diff}"))
    return causes + _shrink_causes(old, new)


def _keep_bound_claim_fields(old_spec: Obj, new_spec: Obj) -> None:
    """A Bound claim may change its storage request and volume attributes class."""
    requests = (new_spec.get("resources") or {}).get("requests")
    if isinstance(requests, dict):
        resources = dict(new_spec["resources"])
        resources["requests"] = {**requests, "storage": _storage(old_spec)}
        if resources["requests"]["storage"] is None:
            del resources["requests"]["storage"]
        new_spec["resources"] = resources
    if new_spec.get("volumeAttributesClassName") is not None:
        new_spec["volumeAttributesClassName"] = old_spec.get(
            "volumeAttributesClassName"
        )


def _shrink_causes(old: Obj, new: Obj) -> Causes:
    old_size, new_size = (
        _quantity(_storage(_spec(old))),
        _quantity(_storage(_spec(new))),
    )
    capacity = _quantity(
        ((old.get("status") or {}).get("capacity") or {}).get("storage")
    )
    if old_size is None or new_size is None or new_size >= old_size:
        return []
    if capacity is not None and new_size <= capacity:
        field = "spec.resources.requests.storage"
        return [forbidden(field, "field can not be less than status.capacity")]
    return []


def _quantity(value: Any) -> Any:
    try:
        return quantity.parse(value) if value is not None else None
    except ValueError:
        return None


# ---------------------------------------------------------------- the other kinds


def statefulset_update_causes(old: Obj, new: Obj) -> Causes:
    """`ValidateStatefulSetUpdate`: the spec beyond the mutable fields is frozen."""
    frozen_old = {k: v for k, v in _spec(old).items() if k not in STATEFULSET_MUTABLE}
    frozen_new = {k: v for k, v in _spec(new).items() if k not in STATEFULSET_MUTABLE}
    if frozen_old != frozen_new:
        return [forbidden("spec", STATEFULSET_FORBIDDEN)]
    return []


def pv_update_causes(old: Obj, new: Obj) -> Causes:
    """`ValidatePersistentVolumeUpdate`: the volume source and the volume mode."""
    old_spec, new_spec = _spec(old), _spec(new)
    old_source = {k: old_spec[k] for k in PV_SOURCES if k in old_spec}
    new_source = {k: new_spec[k] for k in PV_SOURCES if k in new_spec}
    causes: Causes = []
    if old_source != new_source:
        diff = spec_diff("core.PersistentVolumeSource", old_source, new_source)
        detail = f"spec.persistentvolumesource is immutable after creation\n{diff}"
        causes.append(forbidden("spec.persistentvolumesource", detail))
    if old_spec.get("volumeMode") != new_spec.get("volumeMode"):
        mode = new_spec.get("volumeMode")
        causes.append(invalid("volumeMode", mode, "field is immutable"))
    return causes


def _immutable(field: str, old: Any, new: Any) -> Causes:
    """`ValidateImmutableField`: any change, nil to a value included."""
    return [] if old == new else [invalid(field, new, "field is immutable")]


def ingress_class_update_causes(old: Obj, new: Obj) -> Causes:
    return _immutable(
        "spec.controller", _spec(old).get("controller"), _spec(new).get("controller")
    )


def job_update_causes(old: Obj, new: Obj) -> Causes:
    """A NonIndexed Job's completions are fixed (an Indexed one's are elastic)."""
    if _spec(new).get("completionMode") == "Indexed":
        return []
    return _immutable(
        "spec.completions", _spec(old).get("completions"), _spec(new).get("completions")
    )


def node_update_causes(old: Obj, new: Obj) -> Causes:
    old_cidrs = _spec(old).get("podCIDRs") or []
    new_cidrs = _spec(new).get("podCIDRs") or []
    if not old_cidrs:
        return []  # the node IPAM controller assigns them once
    changed = len(old_cidrs) != len(new_cidrs) or any(
        a != b for a, b in zip(old_cidrs, new_cidrs, strict=True)
    )
    return [forbidden("spec.podCIDRs", POD_CIDR_FORBIDDEN)] if changed else []


def endpoint_slice_update_causes(old: Obj, new: Obj) -> Causes:
    return _immutable("addressType", old.get("addressType"), new.get("addressType"))


UPDATE_VALIDATORS: dict[str, Callable[[Obj, Obj], Causes]] = {
    "PersistentVolumeClaim": pvc_update_causes,
    "StatefulSet": statefulset_update_causes,
    "PersistentVolume": pv_update_causes,
    "IngressClass": ingress_class_update_causes,
    "Job": job_update_causes,
    "Node": node_update_causes,
    "EndpointSlice": endpoint_slice_update_causes,
}


def update_causes(kind: str, old: Obj, new: Obj) -> Causes:
    validator = UPDATE_VALIDATORS.get(kind)
    return validator(old, new) if validator is not None else []
