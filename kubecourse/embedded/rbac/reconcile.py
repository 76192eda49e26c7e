"""At every start, bring the bootstrap RBAC objects back, as kube-apiserver's
`rbac/bootstrap-roles` post-start hook does.

Faithful (`pkg/registry/rbac/reconciliation`, in its "add missing, keep extra" mode):
a missing object is created; an existing one annotated
`rbac.authorization.kubernetes.io/autoupdate: "true"` (or without the annotation) gets
the labels, annotations, rules (broken down to the pieces it lacks), aggregation
selectors and subjects it is missing, and keeps whatever was added to it; one annotated
`"false"` is left alone; a binding whose roleRef differs is deleted and re-created.
Nothing is written when nothing is missing, so restarts do not duplicate or bump
objects.

kubeadm's objects (`kubeadm:cluster-admins` and the others without the annotation) are
created when missing and otherwise left alone.  kubeadm itself creates them once, at
`kubeadm init`; re-creating them at start is a simplification that lets a learner who
deleted `kubeadm:cluster-admins`, and with it the admin's rights, get them back by
restarting the cluster (`kubecourse down && kubecourse up`).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from kubecourse.embedded.rbac.bootstrap import KINDS_BY_KEY, bootstrap_objects
from kubecourse.embedded.rbac.policy import AUTOUPDATE
from kubecourse.embedded.rbac.rules import covers
from kubecourse.embedded.resources import REGISTRY

if TYPE_CHECKING:
    from kubecourse.embedded.api import Api

Obj = dict[str, Any]
KEYS = {kind: key for key, kind in KINDS_BY_KEY.items()}


def ensure(api: Api) -> None:
    for wanted in bootstrap_objects():
        key = KEYS[wanted["kind"]]
        meta = wanted["metadata"]
        namespace = meta.get("namespace") or ""
        existing = api.store.get(key, namespace, meta["name"])
        rt = REGISTRY.get(key)
        if existing is None:
            api.create(rt, namespace or None, wanted)
        elif AUTOUPDATE in meta.get("annotations", {}):
            _reconcile(api, key, existing, wanted)


def _reconcile(api: Api, key: str, existing: Obj, wanted: Obj) -> None:
    if (existing["metadata"].get("annotations") or {}).get(AUTOUPDATE) == "false":
        return
    rt = REGISTRY.get(key)
    meta = existing["metadata"]
    namespace = meta.get("namespace") or None
    if "roleRef" in wanted and existing.get("roleRef") != wanted["roleRef"]:
        api.delete(rt, namespace, meta["name"])
        api.create(rt, namespace, wanted)
        return
    merged = reconciled(existing, wanted)
    if merged != existing:
        api.update(rt, namespace, meta["name"], merged)


def reconciled(existing: Obj, wanted: Obj) -> Obj:
    """`existing` with what it lacks of `wanted` added (labels, annotations, rules,
    aggregation selectors, subjects)."""
    merged = copy.deepcopy(existing)
    meta = merged["metadata"]
    for field in ("labels", "annotations"):
        values = {**wanted["metadata"].get(field, {}), **(meta.get(field) or {})}
        if values:
            meta[field] = values
    if "roleRef" in wanted:
        _add_subjects(merged, wanted.get("subjects") or [])
    elif wanted.get("aggregationRule") is not None:
        _add_selectors(merged, wanted["aggregationRule"]["clusterRoleSelectors"])
    else:
        _, missing = covers(merged.get("rules") or [], wanted.get("rules") or [])
        if missing:
            merged["rules"] = list(merged.get("rules") or []) + missing
    return merged


def _add_subjects(binding: Obj, subjects: list[Obj]) -> None:
    present = list(binding.get("subjects") or [])
    missing = [s for s in subjects if s not in present]
    if missing:
        binding["subjects"] = present + missing


def _add_selectors(role: Obj, selectors: list[Obj]) -> None:
    rule = role.get("aggregationRule") or {}
    present = list(rule.get("clusterRoleSelectors") or [])
    missing = [s for s in selectors if s not in present]
    if missing:
        role["aggregationRule"] = {**rule, "clusterRoleSelectors": present + missing}
