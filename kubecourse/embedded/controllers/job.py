"""The Job controller: run pods until enough of them succeed, or give up.

Faithful (kube-controller-manager 1.31+, `pkg/controller/job`): pods are created from
the template with `generateName: <job>-` (Indexed: `<job>-<index>-`, hostname
`<job>-<index>`, the `batch.kubernetes.io/job-completion-index` annotation and label and
the `JOB_COMPLETION_INDEX` variable), a controller ownerReference and the
`batch.kubernetes.io/job-tracking` finalizer; matching orphans are adopted.  At most
`parallelism` pods are active, and never more than the completions still missing
(without `completions`, the first success ends the Job once the others finish).
A finished pod is first listed in `status.uncountedTerminatedPods`, then its finalizer
is removed, then it is counted in `succeeded` / `failed` (Indexed Jobs: in
`completedIndexes`, `0-2,4`), so nothing is counted twice or lost.  A deleted pod that
had not succeeded counts as failed (podReplacementPolicy TerminatingOrFailed; with
`Failed`, a replacement waits for it to end).  Failed pods are replaced after the
back-off 10 s, 20 s, 40 s ... (doubling per failure since the last success, capped at
10 minutes, `MaxJobPodFailureBackOff`; older docs say six), from `Timings.job_backoff`
and `job_backoff_max`.  The Job fails when `failed > backoffLimit`, or (restartPolicy
OnFailure) when its running pods' container restarts reach it, with reason
BackoffLimitExceeded "Job has reached the specified backoff limit"; or after
`activeDeadlineSeconds` from `startTime`, reason DeadlineExceeded "Job was active
longer than specified deadline".  Conditions are written as 1.31+ does: first the
interim FailureTarget (or SuccessCriteriaMet, reason CompletionsReached "Reached
expected number of succeeded pods"), the remaining active pods deleted, then Failed
(or Complete, with `completionTime`) once no pod is terminating or uncounted.
`suspend: true` deletes the active pods (condition Suspended, reason JobSuspended,
event Suspended); resuming resets `startTime` (JobResumed, event Resumed).  Status
`active`, `ready`, `terminating`, `startTime`; events SuccessfulCreate "Created pod:
x", SuccessfulDelete "Deleted pod: x", FailedCreate (then retried by the work queue,
after the status is written), Completed "Job completed",
BackoffLimitExceeded / DeadlineExceeded (Warning), TooManySucceededPods.  Time is
`Context.clock`, so tests and lessons can move deadlines forward.

Simplified: no podFailurePolicy, successPolicy, backoffLimitPerIndex or managedBy
(they are stored and ignored); all missing pods are created in one go (no slow-start
batches); adoption does not re-check the Job with a fresh read.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field

from kubecourse.embedded.controllers import jobpods, jobutil, podutil
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    controller_of,
    parse_time,
)
from kubecourse.embedded.controllers.jobutil import new_condition
from kubecourse.embedded.controllers.replicaset import rank_victims
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

COMPONENT = "job-controller"
JOBS = "jobs.batch"
COMPLETIONS_REACHED = (
    "CompletionsReached",
    "Reached expected number of succeeded pods",
)
BACKOFF_EXCEEDED = (
    "BackoffLimitExceeded",
    "Job has reached the specified backoff limit",
)
DEADLINE_EXCEEDED = (
    "DeadlineExceeded",
    "Job was active longer than specified deadline",
)


@dataclass
class Sync:
    """One reconcile's view of a Job (upstream `syncJobCtx`); `job` is a working copy."""

    key: Key
    job: Obj
    pods: list[Obj]
    active: list[Obj]
    succeeded: int = 0
    failed: int = 0
    prev_indexes: set[int] = field(default_factory=set)
    indexes: set[int] = field(default_factory=set)
    finished: Obj | None = None
    terminating: int = 0
    ready: int = 0
    backoff: jobutil.Backoff = field(default_factory=jobutil.Backoff)
    requeue: list[float] = field(default_factory=list)
    error: StatusError | None = None  # a refused create: retried by the work queue

    @property
    def status(self) -> Obj:
        status: Obj = self.job.setdefault("status", {})
        return status


class JobController(Controller):
    name = "job"
    watches = (JOBS, "pods")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._backoff: dict[Key, jobutil.Backoff] = {}
        ctx.clock.on_advance(self.resync)

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == JOBS:
            return super().keys_for(change)
        pod = change.obj
        key = podutil.owner_key(pod, "Job")
        if key is not None or controller_of(pod) is not None:
            return [key] if key is not None else []
        namespace = pod["metadata"].get("namespace") or ""
        selecting = [] if change.type == "DELETED" else list(self._selecting(pod))
        if not selecting and jobutil.has_finalizer(pod):
            return [(namespace, "")]  # an orphan still tracked: release it
        return selecting

    def _selecting(self, pod: Obj) -> Iterable[Key]:
        namespace = pod["metadata"].get("namespace") or ""
        for job in self.store.items(JOBS, namespace):
            if podutil.selector_matches(
                job["spec"].get("selector"), pod["metadata"].get("labels")
            ):
                yield (namespace, job["metadata"]["name"])

    async def reconcile(self, key: Key) -> float | None:
        job = self.store.get(JOBS, *key) if key[1] else None
        if job is None:
            self._backoff.pop(key, None)
            jobpods.release_orphans(self.ctx, key[0])
            return None
        if jobutil.is_finished(job):
            self._backoff.pop(key, None)
            return None

        sync = self._observe(key, job)
        self._decide(sync)
        self._act(sync)
        self._track(sync)
        if sync.error is not None:
            raise sync.error  # after the status: upstream returns manageJob's error last
        return min(sync.requeue) + 0.01 if sync.requeue else None

    # -- observe -------------------------------------------------------------------------

    def _observe(self, key: Key, stored: Obj) -> Sync:
        job = copy.deepcopy(stored)
        pods = jobpods.claim(self.ctx, job)
        active = [p for p in pods if podutil.is_active(p)]
        sync = Sync(key, job, pods, active)
        status = sync.status
        status.setdefault("uncountedTerminatedPods", {})
        uncounted = status["uncountedTerminatedPods"]
        new_succeeded, new_failed = self._newly_finished(sync, uncounted)

        sync.succeeded = (
            int(status.get("succeeded") or 0)
            + len(new_succeeded)
            + len(uncounted.get("succeeded") or [])
        )
        sync.failed = (
            int(status.get("failed") or 0)
            + len(new_failed)
            + len(uncounted.get("failed") or [])
        )
        sync.terminating = sum(1 for p in pods if jobutil.is_terminating_unfinished(p))
        sync.ready = sum(1 for p in active if podutil.is_ready(p))
        sync.backoff = self._backoff.get(key, jobutil.Backoff()).after(
            new_succeeded, new_failed
        )
        if not status.get("startTime") and not _suspended(job):
            status["startTime"] = self.ctx.clock.iso()
        return sync

    def _newly_finished(
        self, sync: Sync, uncounted: Obj
    ) -> tuple[list[Obj], list[Obj]]:
        """Tracked pods that finished and are not counted yet (`getNewFinishedPods`)."""
        counted_s = set(uncounted.get("succeeded") or [])
        counted_f = set(uncounted.get("failed") or [])
        valid = [
            p
            for p in sync.pods
            if jobutil.has_finalizer(p) and self._has_valid_index(sync.job, p)
        ]
        succeeded = [
            p
            for p in valid
            if p["metadata"]["uid"] not in counted_s
            and (p.get("status") or {}).get("phase") == "Succeeded"
        ]
        failed = [
            p
            for p in valid
            if p["metadata"]["uid"] not in counted_f
            and jobutil.is_pod_failed(p, sync.job)
        ]
        return succeeded, failed

    def _has_valid_index(self, job: Obj, pod: Obj) -> bool:
        if not jobutil.is_indexed(job):
            return True
        return (
            jobutil.valid_index(pod, int(job["spec"].get("completions") or 0))
            is not None
        )

    # -- decide ----------------------------------------------------------------------------

    def _decide(self, sync: Sync) -> None:
        """Is the Job done (interim condition), and when must it be looked at again."""
        job, stamp = sync.job, self.ctx.clock.iso()
        met = jobutil.condition_true(job, "SuccessCriteriaMet")
        target = jobutil.condition_true(job, "FailureTarget")
        if met is not None:
            sync.finished = met
        elif target is not None:
            sync.finished = new_condition(
                "Failed", "True", target["reason"], target["message"], stamp
            )
        elif sync.failed > int(
            job["spec"].get("backoffLimit", 6)
        ) or self._past_restart_limit(sync):
            sync.finished = new_condition(
                "FailureTarget", "True", *BACKOFF_EXCEEDED, stamp
            )
        elif self._deadline_left(job) == 0.0:
            sync.finished = new_condition(
                "FailureTarget", "True", *DEADLINE_EXCEEDED, stamp
            )
        elif (left := self._deadline_left(job)) is not None:
            sync.requeue.append(left)

        if jobutil.is_indexed(job):
            completions = int(job["spec"].get("completions") or 0)
            sync.prev_indexes = jobutil.parse_indexes(
                sync.status.get("completedIndexes"), completions
            )
            done = {
                i
                for p in sync.pods
                if jobutil.has_finalizer(p)
                and (p.get("status") or {}).get("phase") == "Succeeded"
                and (i := jobutil.valid_index(p, completions)) is not None
            }
            sync.indexes = sync.prev_indexes | done
            sync.succeeded = len(sync.indexes)

    def _past_restart_limit(self, sync: Sync) -> bool:
        template_spec = (sync.job["spec"].get("template") or {}).get("spec") or {}
        if template_spec.get("restartPolicy") != "OnFailure":
            return False
        restarts = jobutil.restarts_while_running(sync.pods)
        limit = int(sync.job["spec"].get("backoffLimit", 6))
        return restarts > 0 if limit == 0 else restarts >= limit

    def _deadline_left(self, job: Obj) -> float | None:
        """Seconds until activeDeadlineSeconds runs out (0 when it has), or None."""
        deadline = job["spec"].get("activeDeadlineSeconds")
        started = parse_time((job.get("status") or {}).get("startTime"))
        if deadline is None or started is None or _suspended(job):
            return None
        return max(started.timestamp() + int(deadline) - self.ctx.clock.now(), 0.0)

    # -- act ---------------------------------------------------------------------------------

    def _act(self, sync: Sync) -> None:
        active = len(sync.active)
        if sync.finished is not None:
            deleted, ready = self._delete_pods(
                sync.job, sync.active, keep_finalizers=True
            )
            active -= deleted
            sync.terminating += deleted
            sync.ready -= ready
        else:
            managed = not podutil.is_terminating(sync.job)
            if managed:
                active = self._manage(sync)
            if self._complete(sync, active):
                sync.finished = new_condition(
                    "SuccessCriteriaMet",
                    "True",
                    *COMPLETIONS_REACHED,
                    self.ctx.clock.iso(),
                )
            elif managed:
                self._suspension(sync)

        status = sync.status
        if active:
            status["active"] = active
        else:
            status.pop("active", None)
        status["ready"] = sync.ready
        status["terminating"] = sync.terminating

    def _complete(self, sync: Sync, active: int) -> bool:
        completions = sync.job["spec"].get("completions")
        if completions is None:
            return sync.succeeded > 0 and active == 0
        return sync.succeeded >= int(completions) and active == 0

    def _manage(self, sync: Sync) -> int:
        """Create or delete pods towards the wanted number of active ones (`manageJob`)."""
        job, active = sync.job, sync.active
        if _suspended(job):
            removed, ready = self._delete_pods(job, active, keep_finalizers=False)
            sync.terminating += removed
            sync.ready -= ready
            return len(active) - removed

        want = self._wanted_active(sync)
        victims = self._victims(job, active, max(len(active) - want, 0))
        if victims:
            removed, ready = self._delete_pods(job, victims, keep_finalizers=False)
            sync.terminating += removed
            sync.ready -= ready
            return len(active) - removed

        blocking = sync.terminating if jobutil.only_replace_failed(job) else 0
        missing = want - blocking - len(active)
        if missing <= 0:
            return len(active)
        timings = self.ctx.timings
        wait = sync.backoff.remaining(
            self.ctx.clock.now(), timings.job_backoff, timings.job_backoff_max
        )
        if wait > 0:
            sync.requeue.append(wait)
            return len(active)
        created, sync.error = self._create_pods(
            job, self._indexes_to_add(sync, missing)
        )
        return len(active) + created

    def _wanted_active(self, sync: Sync) -> int:
        spec = sync.job["spec"]
        parallelism = int(spec.get("parallelism", 1))
        if spec.get("completions") is None:
            return len(sync.active) if sync.succeeded > 0 else parallelism
        return max(min(int(spec["completions"]) - sync.succeeded, parallelism), 0)

    def _victims(self, job: Obj, active: list[Obj], at_least: int) -> list[Obj]:
        chosen: list[Obj] = []
        if jobutil.is_indexed(job):
            chosen = jobutil.duplicate_index_pods(
                active, int(job["spec"].get("completions") or 0)
            )
        if len(chosen) < at_least:
            rest = [p for p in active if p not in chosen]
            chosen += rank_victims(rest)[: at_least - len(chosen)]
        return chosen

    def _indexes_to_add(self, sync: Sync, missing: int) -> list[int | None]:
        if not jobutil.is_indexed(sync.job):
            return [None] * missing
        completions = int(sync.job["spec"].get("completions") or 0)
        return list(
            jobutil.pending_indexes(sync.indexes, sync.active, missing, completions)
        )

    def _create_pods(
        self, job: Obj, indexes: list[int | None]
    ) -> tuple[int, StatusError | None]:
        """Create pods until one is refused: how many were, and the refusal (none for a
        namespace being terminated, which is no error to retry)."""
        created = 0
        for index in indexes:
            try:
                pod = self.api.create(
                    self.ctx.rt("pods"),
                    job["metadata"]["namespace"],
                    jobutil.pod_for(job, index),
                )
            except StatusError as err:
                if podutil.namespace_terminating(err):
                    return created, None  # the namespace is going away
                self._event(
                    job, "FailedCreate", f"Error creating: {err.message}", "Warning"
                )
                return created, err
            created += 1
            self._event(
                job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}"
            )
        return created, None

    def _delete_pods(
        self, job: Obj, pods: list[Obj], *, keep_finalizers: bool
    ) -> tuple[int, int]:
        """Delete pods (first releasing them unless the Job must still count them);
        how many went, and how many of those were ready."""
        deleted = ready = 0
        for pod in pods:
            meta = pod["metadata"]
            try:
                if not keep_finalizers:
                    jobpods.remove_finalizer(self.ctx, pod)
                self.api.delete(self.ctx.rt("pods"), meta["namespace"], meta["name"])
            except StatusError as err:
                if err.code != 404:
                    continue
            deleted += 1
            ready += 1 if podutil.is_ready(pod) else 0
            self._event(job, "SuccessfulDelete", f"Deleted pod: {meta['name']}")
        return deleted, ready

    def _suspension(self, sync: Sync) -> None:
        conditions = sync.status.setdefault("conditions", [])
        stamp = self.ctx.clock.iso()
        if _suspended(sync.job):
            wanted = new_condition(
                "Suspended", "True", "JobSuspended", "Job suspended", stamp
            )
            if jobutil.ensure_condition(conditions, wanted):
                self._event(sync.job, "Suspended", "Job suspended")
        else:
            wanted = new_condition(
                "Suspended", "False", "JobResumed", "Job resumed", stamp
            )
            if jobutil.ensure_condition(conditions, wanted):
                self._event(sync.job, "Resumed", "Job resumed")
                sync.status["startTime"] = (
                    stamp  # activeDeadlineSeconds counts from here
                )
        if not conditions:
            del sync.status["conditions"]

    # -- track and finish (`trackJobStatusAndRemoveFinalizers`) --------------------------------

    def _track(self, sync: Sync) -> None:
        releasable = self._list_uncounted(sync)
        self._interim_condition(sync)
        self._write_status(sync)
        self._backoff[sync.key] = sync.backoff

        for pod in releasable:
            jobpods.remove_finalizer(self.ctx, pod)
        self._count_released(sync)
        finished = self._enact_finished(sync)
        self._write_status(sync)
        if finished:
            self._record_finished(sync)

    def _list_uncounted(self, sync: Sync) -> list[Obj]:
        """Add finished tracked pods to uncountedTerminatedPods; the pods to release."""
        job, uncounted = sync.job, sync.status["uncountedTerminatedPods"]
        succeeded = list(uncounted.get("succeeded") or [])
        failed = list(uncounted.get("failed") or [])
        completions = int(job["spec"].get("completions") or 0)
        releasable: list[Obj] = []
        for pod in sorted(sync.pods, key=lambda p: jobutil.index_of(p) or 0):
            uid = pod["metadata"]["uid"]
            pod_failed = jobutil.is_pod_failed(pod, job)
            phase = (pod.get("status") or {}).get("phase")
            if not jobutil.has_finalizer(pod) or not self._can_release(
                sync, pod, pod_failed
            ):
                continue
            releasable.append(pod)
            if phase == "Succeeded" and uid not in failed:
                index = (
                    jobutil.valid_index(pod, completions)
                    if jobutil.is_indexed(job)
                    else None
                )
                if index is not None:
                    sync.indexes.add(index)
                elif not jobutil.is_indexed(job) and uid not in succeeded:
                    succeeded.append(uid)
            elif pod_failed or (
                sync.finished is not None
                and sync.finished["type"] != "SuccessCriteriaMet"
            ):
                if uid not in failed and self._has_valid_index(job, pod):
                    failed.append(uid)
        _set_uncounted(uncounted, succeeded, failed)
        if jobutil.is_indexed(job):
            sync.status["succeeded"] = len(sync.indexes)
            _set_or_drop(
                sync.status, "completedIndexes", jobutil.format_indexes(sync.indexes)
            )
        return releasable

    def _can_release(self, sync: Sync, pod: Obj, pod_failed: bool) -> bool:
        if podutil.is_terminating(sync.job) or sync.finished is not None:
            return True
        return (pod.get("status") or {}).get("phase") == "Succeeded" or pod_failed

    def _interim_condition(self, sync: Sync) -> None:
        """Write FailureTarget / SuccessCriteriaMet now; aim for Failed / Complete."""
        finished, stamp = sync.finished, self.ctx.clock.iso()
        if finished is None:
            return
        conditions = sync.status.setdefault("conditions", [])
        if finished["type"] == "FailureTarget":
            conditions.append(finished)
            sync.finished = new_condition(
                "Failed", "True", finished["reason"], finished["message"], stamp
            )
        elif finished["type"] == "SuccessCriteriaMet":
            if jobutil.condition_true(sync.job, "SuccessCriteriaMet") is None:
                conditions.append(finished)
            sync.finished = new_condition(
                "Complete", "True", finished["reason"], finished["message"], stamp
            )

    def _count_released(self, sync: Sync) -> None:
        """`cleanUncountedPodsWithoutFinalizers`: move released pods into the counters."""
        namespace = sync.job["metadata"]["namespace"]
        tracked = {
            p["metadata"]["uid"]
            for p in self.store.items("pods", namespace)
            if jobutil.has_finalizer(p)
        }
        uncounted, status = sync.status["uncountedTerminatedPods"], sync.status
        for field_name in ("succeeded", "failed"):
            listed = list(uncounted.get(field_name) or [])
            left = [uid for uid in listed if uid in tracked]
            if len(left) != len(listed):
                status[field_name] = (
                    int(status.get(field_name) or 0) + len(listed) - len(left)
                )
            _set_or_drop(uncounted, field_name, left)

    def _enact_finished(self, sync: Sync) -> bool:
        uncounted = sync.status["uncountedTerminatedPods"]
        if sync.finished is None or uncounted or sync.terminating > 0:
            return False
        conditions = sync.status.setdefault("conditions", [])
        jobutil.ensure_condition(conditions, sync.finished)
        if sync.finished["type"] == "Complete":
            sync.status["completionTime"] = sync.finished["lastTransitionTime"]
        return True

    def _record_finished(self, sync: Sync) -> None:
        job, finished = sync.job, sync.finished
        assert finished is not None
        if finished["type"] != "Complete":
            self._event(job, finished["reason"], finished["message"], "Warning")
            return
        completions = job["spec"].get("completions")
        if completions is not None and int(sync.status.get("succeeded") or 0) > int(
            completions
        ):
            message = "Too many succeeded pods running after completion count reached"
            self._event(job, "TooManySucceededPods", message, "Warning")
        self._event(job, "Completed", "Job completed")

    # -- writes ------------------------------------------------------------------------------

    def _write_status(self, sync: Sync) -> None:
        namespace, name = sync.key
        stored = self.store.get(JOBS, namespace, name)
        if stored is None:
            return
        for field_name in ("succeeded", "failed"):
            if not sync.status.get(field_name):
                sync.status.pop(field_name, None)  # omitempty
        if stored.get("status") == sync.status:
            return
        new = copy.deepcopy(stored)
        new["status"] = copy.deepcopy(sync.status)
        sync.job = self.api.update(
            self.ctx.rt(JOBS), namespace, name, new, subresource="status"
        )

    def _event(
        self, job: Obj, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        self.ctx.record_event(job, reason, message, component=COMPONENT, type=type_)


def _suspended(job: Obj) -> bool:
    return bool(job["spec"].get("suspend"))


def _set_uncounted(uncounted: Obj, succeeded: list[str], failed: list[str]) -> None:
    _set_or_drop(uncounted, "succeeded", succeeded)
    _set_or_drop(uncounted, "failed", failed)


def _set_or_drop(target: Obj, key: str, value: object) -> None:
    if value:
        target[key] = value
    else:
        target.pop(key, None)
