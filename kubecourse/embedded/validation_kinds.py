"""Spec rules of more kinds, as `pkg/apis/{core,apps,coordination}/validation` words them.

Faithful, with upstream's field paths, cause reasons and messages:
- PersistentVolumeClaim: access modes required and known (ReadWriteOncePod alone),
  `spec.resources[storage]` required and greater than zero, `volumeMode`;
- PersistentVolume: access modes, `capacity` holding `storage` only and positive,
  exactly one volume source (`spec: Required value: must specify a volume type`),
  a hostPath's `path`, a local volume's node affinity, the reclaim policy;
- StatefulSet: `podManagementPolicy` (`must be 'OrderedReady' or 'Parallel'`), the
  update strategy, non-negative `minReadySeconds` and `revisionHistoryLimit`;
- Deployment: non-negative `minReadySeconds`, `revisionHistoryLimit` and
  `progressDeadlineSeconds`, the last greater than `minReadySeconds`;
- Node: taint keys (qualified names), values (label values) and effects;
- Lease: `leaseDurationSeconds` above 0, `leaseTransitions` not negative.

Simplified: quantities are compared exactly but their canonical form is printed as
given; volume sources other than hostPath and local are counted, not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubecourse.embedded import quantity, validation_network
from kubecourse.embedded.validation_meta import (
    forbidden,
    invalid,
    label_value_errors,
    not_supported,
    qualified_name_errors,
    required,
)
from kubecourse.embedded.validation_update import PV_SOURCES

Causes = list[dict[str, str]]
Obj = dict[str, Any]

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
NEGATIVE = "must be greater than or equal to 0"
NOT_POSITIVE = "must be greater than zero"


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _non_negative(spec: Obj, name: str) -> Causes:
    value = spec.get(name)
    if isinstance(value, int) and value < 0:
        return [invalid(f"spec.{name}", value, NEGATIVE)]
    return []


def _positive_quantity(field: str, value: Any) -> Causes:
    try:
        parsed = quantity.parse(value)
    except ValueError:
        return []  # the decoder refuses it first
    return [invalid(field, str(value), NOT_POSITIVE)] if parsed <= 0 else []


def _access_mode_causes(modes: Any, field: str, detail: str = "") -> Causes:
    if not modes:
        return [required(field, detail)]
    causes = [
        not_supported(field, m, ACCESS_MODES) for m in modes if m not in ACCESS_MODES
    ]
    known = [m for m in modes if m in ACCESS_MODES]
    if "ReadWriteOncePod" in known and any(m != "ReadWriteOncePod" for m in known):
        detail = "may not use ReadWriteOncePod with other access modes"
        causes.append(forbidden(field, detail))
    return causes


# ---------------------------------------------------------------- storage


def pvc_causes(obj: Obj) -> Causes:
    """`ValidatePersistentVolumeClaimSpec`."""
    spec = _spec(obj)
    modes = spec.get("accessModes")
    causes = _access_mode_causes(
        modes, "spec.accessModes", "at least 1 access mode is required"
    )
    requests = (spec.get("resources") or {}).get("requests") or {}
    field = "spec.resources[storage]"
    if "storage" not in requests:
        causes.append(required(field))
    else:
        causes += _positive_quantity(field, requests["storage"])
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        causes.append(not_supported("spec.volumeMode", mode, VOLUME_MODES))
    return causes


def pv_causes(obj: Obj) -> Causes:
    """`ValidatePersistentVolumeSpec`."""
    spec = _spec(obj)
    causes = _access_mode_causes(spec.get("accessModes"), "spec.accessModes")
    causes += _capacity_causes(spec.get("capacity"))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy is not None and policy not in RECLAIM_POLICIES:
        field = "spec.persistentVolumeReclaimPolicy"
        causes.append(not_supported(field, policy, RECLAIM_POLICIES))
    return causes + _source_causes(spec)


def _capacity_causes(capacity: Any) -> Causes:
    if not capacity:
        return [
            required("spec.capacity"),
            not_supported("spec.capacity", capacity, ("storage",)),
        ]
    causes: Causes = []
    if "storage" not in capacity or len(capacity) > 1:
        causes.append(not_supported("spec.capacity", capacity, ("storage",)))
    for name, value in capacity.items():
        causes += _positive_quantity(f"spec.capacity[{name}]", value)
    return causes


def _source_causes(spec: Obj) -> Causes:
    sources = [name for name in PV_SOURCES if spec.get(name) is not None]
    if not sources:
        return [required("spec", "must specify a volume type")]
    causes = [
        forbidden(f"spec.{name}", "may not specify more than 1 volume type")
        for name in sources[1:]
    ]
    host_path = spec.get("hostPath")
    if isinstance(host_path, dict) and not host_path.get("path"):
        causes.append(required("spec.hostPath.path"))
    if spec.get("local") is not None and spec.get("nodeAffinity") is None:
        causes.append(
            required("spec.nodeAffinity", "Local volume requires node affinity")
        )
    return causes


# ---------------------------------------------------------------- workloads


def statefulset_causes(obj: Obj) -> Causes:
    """The parts of `ValidateStatefulSetSpec` beyond selector, replicas and template."""
    spec = _spec(obj)
    causes: Causes = []
    policy = spec.get("podManagementPolicy")
    if policy not in (None, "OrderedReady", "Parallel"):
        detail = "must be 'OrderedReady' or 'Parallel'"
        causes.append(invalid("spec.podManagementPolicy", policy, detail))
    causes += _statefulset_strategy(spec.get("updateStrategy"))
    return (
        causes
        + _non_negative(spec, "minReadySeconds")
        + _non_negative(spec, "revisionHistoryLimit")
    )


def _statefulset_strategy(strategy: Any) -> Causes:
    if not isinstance(strategy, dict):
        return []
    kind = strategy.get("type")
    if kind == "OnDelete" and strategy.get("rollingUpdate") is not None:
        field = "spec.updateStrategy.rollingUpdate"
        detail = "only allowed for updateStrategy 'RollingUpdate'"
        return [invalid(field, strategy["rollingUpdate"], detail)]
    if kind not in (None, "OnDelete", "RollingUpdate"):
        detail = "must be 'RollingUpdate' or 'OnDelete'"
        return [invalid("spec.updateStrategy", strategy, detail)]
    return []


def deployment_causes(obj: Obj) -> Causes:
    """The counters of `ValidateDeploymentSpec`."""
    spec = _spec(obj)
    causes = _non_negative(spec, "minReadySeconds")
    causes += _non_negative(spec, "revisionHistoryLimit")
    causes += _non_negative(spec, "progressDeadlineSeconds")
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int) and deadline <= int(spec.get("minReadySeconds") or 0):
        field = "spec.progressDeadlineSeconds"
        causes.append(invalid(field, deadline, "must be greater than minReadySeconds"))
    return causes


# ---------------------------------------------------------------- Node, Lease


def node_causes(obj: Obj) -> Causes:
    """`validateNodeTaints`."""
    causes: Causes = []
    for i, taint in enumerate(_spec(obj).get("taints") or []):
        if not isinstance(taint, dict):
            continue
        here = f"spec.taints[{i}]"
        key, value = str(taint.get("key") or ""), str(taint.get("value") or "")
        causes += [invalid(f"{here}.key", key, m) for m in qualified_name_errors(key)]
        errors = label_value_errors(value)
        if errors:
            causes.append(invalid(f"{here}.value", value, ";".join(errors)))
        effect = taint.get("effect")
        if not effect:
            causes.append(required(f"{here}.effect"))
        elif effect not in TAINT_EFFECTS:
            causes.append(not_supported(f"{here}.effect", effect, TAINT_EFFECTS))
    return causes


def lease_causes(obj: Obj) -> Causes:
    """`ValidateLeaseSpec`."""
    spec = _spec(obj)
    duration, transitions = (
        spec.get("leaseDurationSeconds"),
        spec.get("leaseTransitions"),
    )
    causes: Causes = []
    if isinstance(duration, int) and duration <= 0:
        causes.append(
            invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")
        )
    if isinstance(transitions, int) and transitions < 0:
        causes.append(invalid("spec.leaseTransitions", transitions, NEGATIVE))
    return causes


KIND_RULES: dict[str, Callable[[Obj], Causes]] = {
    "PersistentVolumeClaim": pvc_causes,
    "PersistentVolume": pv_causes,
    "StatefulSet": statefulset_causes,
    "Deployment": deployment_causes,
    "Node": node_causes,
    "Lease": lease_causes,
    "Ingress": validation_network.ingress_causes,
    "IngressClass": validation_network.ingress_class_causes,
    "NetworkPolicy": validation_network.network_policy_causes,
    "Endpoints": validation_network.endpoints_causes,
}


def causes(kind: str, obj: Obj) -> Causes:
    rule = KIND_RULES.get(kind)
    return rule(obj) if rule is not None else []
