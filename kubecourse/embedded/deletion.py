"""What a DELETE does to an object's finalizers: kube-apiserver's deletion propagation.

The API server does not delete dependents itself; it records the propagation policy as a
finalizer on the owner and leaves the rest to the garbage collector
(controllers/garbage.py):

- `Foreground`: the owner keeps existing, with a `deletionTimestamp` and the
  `foregroundDeletion` finalizer, until the collector has deleted its dependents (those
  with `blockOwnerDeletion: true` hold it back) and removed the finalizer;
- `Orphan` (or the legacy `orphanDependents: true`): the `orphan` finalizer; the collector
  removes the ownerReferences from every dependent, then the finalizer;
- `Background`: no finalizer; the owner goes at once and the collector deletes the
  dependents afterwards.

Faithful: the rules of the generic registry store (`shouldOrphanDependents`,
`shouldDeleteDependents`, `deletionFinalizersForGarbageCollection`, `markAsDeleting`):
an explicit `orphanDependents` wins over everything, then `propagationPolicy`, then a
GC finalizer already on the object, then the kind's default policy; the two GC
finalizers are replaced, other finalizers are kept; a deletion that leaves finalizers
sets `deletionTimestamp` (kept when already earlier), `deletionGracePeriodSeconds: 0`
and bumps `metadata.generation`.  Default policies are upstream's for the served
versions: batch/v1 Jobs orphan their pods (and the server warns when the client sent no
policy), everything else served here (apps/v1, batch/v1 CronJob, core kinds) deletes
dependents in the background.  `DeleteOptions` are validated as upstream does (422
`DeleteOptions.meta.k8s.io "" is invalid` naming `propagationPolicy`).

A dry-run DELETE answers what the DELETE would (`dry_run_answer`) and writes nothing.

Simplified: Namespaces ignore the propagation policy (their own finalization is the
namespace controller's), and the policy of a deletion already pending gracefully (a
Terminating Pod) is left as it was, as upstream.
"""

from __future__ import annotations

import copy
import time
from datetime import datetime, timezone
from typing import Any

from kubecourse.embedded import generation, status
from kubecourse.embedded.resources import ResourceType

Obj = dict[str, Any]

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
GC_FINALIZERS = (ORPHAN, FOREGROUND)
POLICIES = ("Foreground", "Background", "Orphan")

# Kinds whose served version orphans dependents when no policy is sent (backwards
# compatibility upstream: batch/v1 Job; apps/v1 and batch/v1 CronJob delete them).
ORPHAN_BY_DEFAULT = {("batch", "v1", "Job")}
JOB_DELETE_WARNING = (
    "child pods are preserved by default when jobs are deleted; set "
    "propagationPolicy=Background to remove them or set propagationPolicy=Orphan to "
    "suppress this warning"
)


def check_options(policy: Any, orphan_dependents: Any) -> None:
    """Reject DeleteOptions upstream rejects: an unknown policy, or both fields set."""
    if policy is not None and orphan_dependents is not None:
        _invalid(
            "propagationPolicy",
            policy,
            "orphanDependents and deletionPropagation cannot be both set",
        )
    if policy is not None and policy not in POLICIES:
        _invalid(
            "propagationPolicy",
            policy,
            'supported values: "Foreground", "Background", "Orphan", "nil"',
            "FieldValueNotSupported",
            "Unsupported value",
        )
    if orphan_dependents is not None and not isinstance(orphan_dependents, bool):
        raise status.bad_request(
            f"DeleteOptions.orphanDependents must be a boolean, not {orphan_dependents!r}"
        )


def _invalid(
    field: str,
    value: Any,
    detail: str,
    reason: str = "FieldValueInvalid",
    summary: str = "Invalid value",
) -> None:
    message = f'{field}: {summary}: "{value}": {detail}'
    raise status.StatusError(
        422,
        "Invalid",
        f'DeleteOptions.meta.k8s.io "" is invalid: {message}',
        {
            "group": "meta.k8s.io",
            "kind": "DeleteOptions",
            "causes": [status.cause(field, f'{summary}: "{value}": {detail}', reason)],
        },
    )


def default_orphans(rt: ResourceType) -> bool:
    return (rt.group, rt.version, rt.kind) in ORPHAN_BY_DEFAULT


def warnings_for(
    rt: ResourceType, policy: str | None, orphan_dependents: bool | None
) -> list[str]:
    """The `Warning:` texts a DELETE gets (a Job deleted without a policy)."""
    if policy is None and orphan_dependents is None and default_orphans(rt):
        return [JOB_DELETE_WARNING]
    return []


def _should_orphan(
    rt: ResourceType, finalizers: list[str], policy: str | None, orphan: bool | None
) -> bool:
    if orphan is not None:
        return orphan
    if policy is not None:
        return policy == "Orphan"
    for finalizer in finalizers:
        if finalizer in GC_FINALIZERS:
            return finalizer == ORPHAN
    return default_orphans(rt)


def _should_delete_dependents(
    finalizers: list[str], policy: str | None, orphan: bool | None
) -> bool:
    if orphan is not None:
        return False
    if policy is not None:
        return policy == "Foreground"
    for finalizer in finalizers:
        if finalizer in GC_FINALIZERS:
            return finalizer == FOREGROUND
    return False


def finalizers_after_delete(
    rt: ResourceType, obj: Obj, policy: str | None, orphan_dependents: bool | None
) -> list[str]:
    """The object's finalizers once this DELETE has recorded its propagation policy."""
    current = [str(f) for f in obj["metadata"].get("finalizers") or []]
    kept = [f for f in current if f not in GC_FINALIZERS]
    if _should_orphan(rt, current, policy, orphan_dependents):
        kept.append(ORPHAN)
    if _should_delete_dependents(current, policy, orphan_dependents):
        kept.append(FOREGROUND)
    if set(kept) == set(current):
        return current
    return kept


def mark_deleting(obj: Obj, finalizers: list[str], now: str) -> None:
    """Like `markAsDeleting`: set the finalizers, the deletion time and a zero grace."""
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp"):
        generation.on_deletion(obj)
    if not meta.get("deletionTimestamp") or meta["deletionTimestamp"] > now:
        meta["deletionTimestamp"] = now
    meta["deletionGracePeriodSeconds"] = 0
    set_finalizers(obj, finalizers)


def set_finalizers(obj: Obj, finalizers: list[str]) -> None:
    if finalizers:
        obj["metadata"]["finalizers"] = list(finalizers)
    else:
        obj["metadata"].pop("finalizers", None)


def is_deleting_dependents(obj: Obj) -> bool:
    """Being deleted in the foreground: waiting for its dependents to go."""
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and FOREGROUND in (
        meta.get("finalizers") or []
    )


def is_orphaning(obj: Obj) -> bool:
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and ORPHAN in (
        meta.get("finalizers") or []
    )


def dry_run_answer(
    rt: ResourceType,
    obj: Obj,
    grace: int | None,
    policy: str | None,
    orphan: bool | None,
    *,
    now: str,
    returns_object: bool,
) -> Obj:
    """What a DELETE with `dryRun=All` answers: what the deletion itself would answer
    (the object marked for deletion, the deleted object, or a Success Status), with
    nothing written."""
    answer = copy.deepcopy(obj)
    if rt.kind == "Namespace":
        if not answer["metadata"].get("deletionTimestamp"):
            mark_deleting(answer, list(answer["metadata"].get("finalizers") or []), now)
            answer.setdefault("status", {})["phase"] = "Terminating"
        return answer
    finalizers = finalizers_after_delete(rt, obj, policy, orphan)
    if rt.kind == "Pod" and _graceful(answer, grace):
        _mark_graceful(answer, grace, finalizers)
        return answer
    if finalizers:
        mark_deleting(answer, finalizers, now)
        return answer
    if returns_object or rt.kind == "Pod":
        return answer
    return _success(rt, obj)


def _graceful(pod: Obj, grace: int | None) -> bool:
    spec, phase = pod.get("spec") or {}, (pod.get("status") or {}).get("phase")
    seconds = int(spec.get("terminationGracePeriodSeconds", 30)) if grace is None else grace
    return seconds > 0 and bool(spec.get("nodeName")) and phase not in ("Succeeded", "Failed")


def _mark_graceful(pod: Obj, grace: int | None, finalizers: list[str]) -> None:
    meta = pod["metadata"]
    if meta.get("deletionTimestamp"):
        return
    seconds = int(pod["spec"].get("terminationGracePeriodSeconds", 30)) if grace is None else grace
    deadline = datetime.fromtimestamp(time.time() + seconds, timezone.utc)
    meta["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["deletionGracePeriodSeconds"] = seconds
    generation.on_deletion(pod)
    set_finalizers(pod, finalizers)


def _success(rt: ResourceType, obj: Obj) -> Obj:
    details: Obj = {"name": obj["metadata"]["name"], "kind": rt.plural, "uid": obj["metadata"]["uid"]}
    if rt.group:
        details["group"] = rt.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
