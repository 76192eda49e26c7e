"""What the Job controller needs to know about pods, indexes, back-off and conditions.

These mirror `pkg/controller/job` helpers: which pods count as failed, when a pod
finished (`getFinishedTime`), the pod failure back-off record, completion indexes and
their `completedIndexes` interval notation (`0-2,4`), the pods a Job creates (tracking
finalizer, index annotation and label, `JOB_COMPLETION_INDEX`), and job conditions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Obj, owner_reference, parse_time

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"
MAX_GENERATED_NAME = (
    58  # a generated name's prefix is cut to leave room for 5 characters
)
FINISHED = ("Complete", "Failed")


# -- pods ----------------------------------------------------------------------------------


def has_finalizer(pod: Obj) -> bool:
    return bool(TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or []))


def only_replace_failed(job: Obj) -> bool:
    spec = job["spec"]
    return (
        spec.get("podReplacementPolicy") == "Failed"
        or spec.get("podFailurePolicy") is not None
    )


def is_pod_failed(pod: Obj, job: Obj) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it succeeded."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return podutil.is_terminating(pod) and phase != "Succeeded"


def is_terminating_unfinished(pod: Obj) -> bool:
    """`CountTerminatingPods`: being deleted and not yet Succeeded or Failed."""
    return podutil.is_terminating(pod) and not podutil.is_terminal(pod)


def finished_at(pod: Obj) -> float:
    """`getFinishedTime`: the last container's end, else Ready=False since, else the
    deletion moment, else creation."""
    ends: list[float] = []
    for entry in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (entry.get("state") or {}).get("terminated")
        moment = parse_time((terminated or {}).get("finishedAt"))
        if moment is None:
            ends = []
            break
        ends.append(moment.timestamp())
    if ends:
        return max(ends)
    ready = podutil.condition(pod, "Ready")
    since = parse_time((ready or {}).get("lastTransitionTime"))
    if ready is not None and ready.get("status") == "False" and since is not None:
        return since.timestamp()
    deleted = parse_time(pod["metadata"].get("deletionTimestamp"))
    if deleted is not None:
        return float(deleted.timestamp()) - float(
            pod["metadata"].get("deletionGracePeriodSeconds") or 0
        )
    return float(podutil.created_at(pod))


def restarts_while_running(pods: list[Obj]) -> int:
    """Container restarts of Pending and Running pods (`pastBackoffLimitOnFailure`)."""
    total = 0
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") in ("Pending", "Running"):
            for key in ("initContainerStatuses", "containerStatuses"):
                total += sum(
                    int(s.get("restartCount") or 0) for s in status.get(key) or []
                )
    return total


# -- back-off --------------------------------------------------------------------------------


@dataclass
class Backoff:
    """`backoffRecord`: consecutive failures since the last success, and when the last
    of them ended."""

    failures: int = 0
    last_failure: float | None = None

    def after(self, succeeded: list[Obj], failed: list[Obj]) -> Backoff:
        failed_at = sorted(finished_at(p) for p in failed)
        if not succeeded:
            if not failed_at:
                return Backoff(self.failures, self.last_failure)
            return Backoff(self.failures + len(failed_at), failed_at[-1])
        last_success = max(finished_at(p) for p in succeeded)
        later = [t for t in failed_at if t > last_success]
        return Backoff(len(later), later[-1] if later else None)

    def remaining(self, now: float, base: float, cap: float) -> float:
        """Seconds before the next pod may be created (10 s, 20 s, 40 s ... up to cap)."""
        if self.failures == 0 or self.last_failure is None:
            return 0.0
        delay = min(base * 2.0 ** (self.failures - 1), cap)
        return max(delay - (now - self.last_failure), 0.0)


# -- completion indexes ----------------------------------------------------------------------


def is_indexed(job: Obj) -> bool:
    return bool(job["spec"].get("completionMode") == "Indexed")


def index_of(pod: Obj) -> int | None:
    text = (pod["metadata"].get("annotations") or {}).get(INDEX_KEY)
    if text is None or not str(text).isdigit():
        return None
    return int(text)


def valid_index(pod: Obj, completions: int) -> int | None:
    index = index_of(pod)
    return index if index is not None and index < completions else None


def parse_indexes(text: str | None, completions: int) -> set[int]:
    found: set[int] = set()
    for part in (text or "").split(","):
        low, _, high = part.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            found.update(
                i for i in range(int(low), int(high or low) + 1) if i < completions
            )
    return found


def format_indexes(indexes: set[int]) -> str:
    """`0-2,4,6-7`, as `orderedIntervals.String()` writes it."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[start], ordered[end]
        parts.append(str(first) if first == last else f"{first}-{last}")
        start = end + 1
    return ",".join(parts)


def pending_indexes(
    succeeded: set[int], active: list[Obj], count: int, completions: int
) -> list[int]:
    """The lowest indexes neither succeeded nor running (`firstPendingIndexes`)."""
    taken = succeeded | {
        i for p in active if (i := valid_index(p, completions)) is not None
    }
    return [i for i in range(completions) if i not in taken][:count]


def duplicate_index_pods(active: list[Obj], completions: int) -> list[Obj]:
    """Active pods to remove first: no index, an index out of range, or a repeat."""
    seen: set[int] = set()
    extra: list[Obj] = []
    for pod in sorted(active, key=podutil.created_at):
        index = valid_index(pod, completions)
        if index is None or index in seen:
            extra.append(pod)
        else:
            seen.add(index)
    return extra


# -- the pods a Job makes ---------------------------------------------------------------------


def pod_for(job: Obj, index: int | None) -> Obj:
    template = copy.deepcopy(job["spec"].get("template") or {})
    meta = template.get("metadata") or {}
    name = job["metadata"]["name"]
    metadata: Obj = {
        "generateName": _generate_name(name, index),
        "labels": dict(meta.get("labels") or {}),
        "annotations": dict(meta.get("annotations") or {}),
        "finalizers": [*(meta.get("finalizers") or []), TRACKING_FINALIZER],
        "ownerReferences": [owner_reference(job)],
    }
    spec = template.get("spec") or {}
    if index is not None:
        metadata["annotations"][INDEX_KEY] = str(index)
        metadata["labels"][INDEX_KEY] = str(index)
        spec["hostname"] = f"{name}-{index}"
        _add_index_env(spec)
    if not metadata["annotations"]:
        del metadata["annotations"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _generate_name(job_name: str, index: int | None) -> str:
    suffix = "-" if index is None else f"-{index}-"
    return job_name[: MAX_GENERATED_NAME - len(suffix)] + suffix


def _add_index_env(spec: Obj) -> None:
    field = {
        "fieldRef": {
            "apiVersion": "v1",
            "fieldPath": f"metadata.annotations['{INDEX_KEY}']",
        }
    }
    for container in (spec.get("initContainers") or []) + (
        spec.get("containers") or []
    ):
        env = container.setdefault("env", [])
        if not any(var.get("name") == INDEX_ENV for var in env):
            env.append({"name": INDEX_ENV, "valueFrom": copy.deepcopy(field)})


# -- conditions --------------------------------------------------------------------------------


def condition_true(job: Obj, type_: str) -> Obj | None:
    for entry in (job.get("status") or {}).get("conditions") or []:
        if entry.get("type") == type_ and entry.get("status") == "True":
            return dict(entry)
    return None


def is_finished(job: Obj) -> bool:
    return any(condition_true(job, t) for t in FINISHED)


def finished_condition(job: Obj) -> Obj | None:
    for type_ in FINISHED:
        found = condition_true(job, type_)
        if found is not None:
            return found
    return None


def new_condition(
    type_: str, status: str, reason: str, message: str, stamp: str
) -> Obj:
    return {
        "type": type_,
        "status": status,
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def ensure_condition(conditions: list[Obj], wanted: Obj) -> bool:
    """`ensureJobConditionStatus`: replace a condition that differs; never add a False
    one that was not there.  True when anything changed."""
    for i, entry in enumerate(conditions):
        if entry.get("type") == wanted["type"]:
            same = all(
                entry.get(k) == wanted[k] for k in ("status", "reason", "message")
            )
            if not same:
                conditions[i] = wanted
            return not same
    if wanted["status"] != "False":
        conditions.append(wanted)
        return True
    return False
