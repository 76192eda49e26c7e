"""`metadata.generation`, kind by kind, as kube-apiserver's registry strategies keep it.

Generation is not a generic field: each kind's strategy decides.  Faithful:

| kinds | on create | bumped (+1) when |
|---|---|---|
| Pod, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, HorizontalPodAutoscaler (1.37's `HPAGeneration`), PodDisruptionBudget, Ingress, IngressClass, NetworkPolicy, ReplicationController, CustomResourceDefinition | 1 | `spec` changes |
| PodTemplate | 1 | `template` changes |
| PriorityClass | 1 | never |
| Deployment | 1 | `spec` or `metadata.annotations` change (annotations are copied to its ReplicaSets) |
| EndpointSlice | 1 | anything but metadata changes, or its labels do |
| custom resources (the Gateway API kinds) | 1 | anything but `metadata` and `status` changes |
| every other kind (Namespace, Node, Service, Endpoints, ConfigMap, Secret, ServiceAccount, Event, Lease, PersistentVolume(Claim), ...) | none | never |

A client cannot set or change it (a value sent on create or update is replaced), and
the first graceful or finalizer-held deletion (setting `deletionTimestamp`) bumps a
generation that exists, as the generic registry store does.  Status writes never bump
it: status strategies keep the old spec.
"""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.resources import ResourceType

Obj = dict[str, Any]

SPEC_KINDS = frozenset(
    {
        "Pod",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "IngressClass",
        "NetworkPolicy",
        "ReplicationController",
        "CustomResourceDefinition",
    }
)
# Generation 1 at creation, bumped by a change of `template` (PodTemplate) or never
# (PriorityClass, whose strategy keeps the old one).
OTHER_KINDS = frozenset({"PodTemplate", "PriorityClass"})


def tracks_generation(rt: ResourceType) -> bool:
    return (
        rt.custom
        or rt.kind in SPEC_KINDS
        or rt.kind in OTHER_KINDS
        or rt.kind in ("Deployment", "EndpointSlice")
    )


def on_create(rt: ResourceType, meta: Obj) -> None:
    """Generation 1 for kinds that keep one; no generation at all for the others."""
    meta.pop("generation", None)
    if tracks_generation(rt):
        meta["generation"] = 1


def on_update(rt: ResourceType, old: Obj, new: Obj) -> None:
    """Keep the stored generation, bumped when this kind's strategy would bump it."""
    meta = new["metadata"]
    meta.pop("generation", None)
    current = old["metadata"].get("generation")
    if current is None:
        return
    meta["generation"] = int(current) + 1 if _changed(rt, old, new) else int(current)


def on_deletion(obj: Obj) -> None:
    """The write that first sets `deletionTimestamp` bumps an existing generation."""
    meta = obj["metadata"]
    if meta.get("generation"):
        meta["generation"] = int(meta["generation"]) + 1


def _changed(rt: ResourceType, old: Obj, new: Obj) -> bool:
    if rt.custom:
        return _without(old, "metadata", "status") != _without(
            new, "metadata", "status"
        )
    if rt.kind == "EndpointSlice":
        labels = old["metadata"].get("labels") != new["metadata"].get("labels")
        return labels or _without(old, "metadata") != _without(new, "metadata")
    if rt.kind == "PriorityClass":
        return False
    if rt.kind == "PodTemplate":
        return old.get("template") != new.get("template")
    spec_changed = (old.get("spec") or {}) != (new.get("spec") or {})
    if rt.kind == "Deployment":
        annotations = old["metadata"].get("annotations") or {}
        return spec_changed or annotations != (new["metadata"].get("annotations") or {})
    return spec_changed


def _without(obj: Obj, *keys: str) -> Obj:
    return {
        k: v
        for k, v in obj.items()
        if k not in keys and k not in ("apiVersion", "kind")
    }
