"""The CronJob controller: create a Job at each scheduled time (`cronjob_controllerv2`).

Faithful: the schedule is read as `robfig/cron` reads it (`kubecourse.embedded.cron`),
in `spec.timeZone` when set, else UTC (kind's controller-manager runs in UTC); the Job
for a scheduled time is named `<cronjob>-<minutes since the epoch>`, carries the job
template's labels and annotations plus `batch.kubernetes.io/cronjob-scheduled-timestamp`
(RFC 3339 in the time zone) and a controller ownerReference; only the most recent
missed time is started, none before `lastScheduleTime` (or creation); with
`startingDeadlineSeconds` a time later than that is skipped (Warning MissSchedule)
and earlier times are not looked at; more than 100 missed times gives the Warning
TooManyMissedTimes ("too many missed start times. Set or decrease
.spec.startingDeadlineSeconds or check clock skew") and still starts the latest;
`concurrencyPolicy` Allow, Forbid (Normal JobAlreadyActive) and Replace (the running
Jobs deleted first); `suspend` stops new Jobs; finished Jobs beyond
`successfulJobsHistoryLimit` (3) and `failedJobsHistoryLimit` (1) are deleted, oldest
start first; status `active` (object references), `lastScheduleTime`,
`lastSuccessfulTime`; events SuccessfulCreate "Created job x", SawCompletedJob "Saw
completed job: x, status: Complete", SuccessfulDelete "Deleted job x", MissingJob,
UnexpectedJob, UnknownTimeZone, UnparseableSchedule.  The next look is timed for the
next scheduled time plus 100 ms.

Time is `Context.clock`: `cluster.call(lambda: cluster.ctx.clock.advance(60))` makes
a minute pass at once and wakes this controller, so no test waits for a real minute.

Simplified: Jobs are matched to their CronJob by controller reference name, as
upstream; `kubectl create job --from=cronjob/x` Jobs (annotation
`cronjob.kubernetes.io/instantiate: manual`) are owned but never in `active`, as
upstream, so they show as UnexpectedJob while they run.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from kubecourse.embedded import cron
from kubecourse.embedded.controllers import jobutil, podutil
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    controller_of,
    owner_reference,
    parse_time,
)
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

COMPONENT = "cronjob-controller"
CRONJOBS = "cronjobs.batch"
JOBS = "jobs.batch"
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
NEXT_SCHEDULE_DELTA = 0.1
MANY_MISSED = 100
TOO_MANY_MISSED = "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"


class CronJobController(Controller):
    name = "cronjob"
    watches = (CRONJOBS, JOBS)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        ctx.clock.on_advance(self.resync)

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == CRONJOBS:
            return super().keys_for(change)
        key = podutil.owner_key(change.obj, "CronJob")
        return [key] if key is not None else []

    async def reconcile(self, key: Key) -> float | None:
        stored = self.store.get(CRONJOBS, *key)
        if stored is None:
            return None
        cronjob = copy.deepcopy(stored)
        jobs = [
            j
            for j in self.store.items(JOBS, key[0])
            if (ref := controller_of(j)) is not None and ref.get("name") == key[1]
        ]

        cleaned = self._cleanup_finished(cronjob, jobs)
        try:
            requeue, changed = self._sync(cronjob, jobs)
        except StatusError:
            self._write_status(key, cronjob)
            raise  # a Job refused: the work queue retries the key with back-off
        if cleaned or changed:
            self._write_status(key, cronjob)
        return requeue

    # -- the active list and history ----------------------------------------------------

    def _sync(self, cronjob: Obj, jobs: list[Obj]) -> tuple[float | None, bool]:
        changed = self._reconcile_active(cronjob, jobs)
        if podutil.is_terminating(cronjob):
            return None, changed
        zone = self._zone(cronjob)
        schedule = self._schedule(cronjob)
        if zone is None or schedule is None or cronjob["spec"].get("suspend"):
            return None, changed
        return self._schedule_next(cronjob, schedule, zone, changed)

    def _reconcile_active(self, cronjob: Obj, jobs: list[Obj]) -> bool:
        status = cronjob.setdefault("status", {})
        changed = False
        for job in jobs:
            uid = job["metadata"]["uid"]
            listed = any(ref.get("uid") == uid for ref in status.get("active") or [])
            finished = jobutil.finished_condition(job)
            if not listed and finished is None:
                self._event(
                    cronjob,
                    "UnexpectedJob",
                    f"Saw a job that the controller did not create or forgot: {job['metadata']['name']}",
                    "Warning",
                )
            elif listed and finished is not None:
                _drop_active(cronjob, uid)
                self._event(
                    cronjob,
                    "SawCompletedJob",
                    f"Saw completed job: {job['metadata']['name']}, status: {finished['type']}",
                )
                changed = True
            if finished is not None and finished["type"] == "Complete":
                changed |= _note_success(status, job)

        present = {j["metadata"]["uid"] for j in jobs}
        for ref in list(status.get("active") or []):
            if (
                ref.get("uid") not in present
                and self.store.get(
                    JOBS, str(ref.get("namespace")), str(ref.get("name"))
                )
                is None
            ):
                self._event(
                    cronjob, "MissingJob", f"Active job went missing: {ref.get('name')}"
                )
                _drop_active(cronjob, str(ref.get("uid")))
                changed = True
        return changed

    def _cleanup_finished(self, cronjob: Obj, jobs: list[Obj]) -> bool:
        spec = cronjob["spec"]
        changed = False
        for kind, limit_field in (
            ("Complete", "successfulJobsHistoryLimit"),
            ("Failed", "failedJobsHistoryLimit"),
        ):
            limit = spec.get(limit_field)
            done = [
                j
                for j in jobs
                if (jobutil.finished_condition(j) or {}).get("type") == kind
            ]
            if limit is None or len(done) <= int(limit):
                continue
            for job in sorted(done, key=_start_order)[: len(done) - int(limit)]:
                changed |= self._delete_job(cronjob, job)
        return changed

    # -- scheduling ----------------------------------------------------------------------

    def _zone(self, cronjob: Obj) -> timezone | ZoneInfo | None:
        name = cronjob["spec"].get("timeZone")
        if name is None:
            return timezone.utc
        try:
            return cron.load_zone(str(name))
        except cron.CronError as err:
            self._event(
                cronjob,
                "UnknownTimeZone",
                f'invalid timeZone: "{name}": {err}',
                "Warning",
            )
            return None

    def _schedule(self, cronjob: Obj) -> cron.Schedule | None:
        text = str(cronjob["spec"].get("schedule") or "")
        try:
            return cron.parse(text)
        except cron.CronError as err:
            self._event(
                cronjob,
                "UnparseableSchedule",
                f'unparseable schedule: "{text}" : {err}',
                "Warning",
            )
            return None

    def _schedule_next(
        self,
        cronjob: Obj,
        schedule: cron.Schedule,
        zone: timezone | ZoneInfo,
        changed: bool,
    ) -> tuple[float | None, bool]:
        now = datetime.fromtimestamp(self.ctx.clock.now(), timezone.utc)
        due = self._due_time(cronjob, schedule, zone, now)
        if due is None or self._already_started(cronjob, due):
            return self._next_wait(cronjob, schedule, zone, now), changed
        deadline = cronjob["spec"].get("startingDeadlineSeconds")
        if deadline is not None and due + timedelta(seconds=int(deadline)) < now:
            stamp = due.strftime("%a, %d %b %Y %H:%M:%S +0000")
            self._event(
                cronjob,
                "MissSchedule",
                f"Missed scheduled time to start a job: {stamp}",
                "Warning",
            )
            return self._next_wait(cronjob, schedule, zone, now), changed

        policy = cronjob["spec"].get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and (cronjob.get("status") or {}).get("active"):
            message = "Not starting job because prior execution is running and concurrency policy is Forbid"
            self._event(cronjob, "JobAlreadyActive", message)
            return self._next_wait(cronjob, schedule, zone, now), changed
        if policy == "Replace":
            changed |= self._replace_active(cronjob)
        changed |= self._start_job(cronjob, due, zone)
        return self._next_wait(cronjob, schedule, zone, now), changed

    def _due_time(
        self,
        cronjob: Obj,
        schedule: cron.Schedule,
        zone: timezone | ZoneInfo,
        now: datetime,
    ) -> datetime | None:
        """`nextScheduleTime`: the most recent unmet time, warning when many were missed."""
        _, recent, missed = self._most_recent(
            cronjob, schedule, zone, now, with_deadline=True
        )
        if recent is None or recent > now:
            return None
        if missed > MANY_MISSED:
            self._event(cronjob, "TooManyMissedTimes", TOO_MANY_MISSED, "Warning")
        return recent

    def _most_recent(
        self,
        cronjob: Obj,
        schedule: cron.Schedule,
        zone: timezone | ZoneInfo,
        now: datetime,
        *,
        with_deadline: bool,
    ) -> tuple[datetime, datetime | None, int]:
        """`mostRecentScheduleTime`: the earliest time to look from, the most recent
        scheduled time not after now, and roughly how many were missed."""
        status = cronjob.get("status") or {}
        earliest = parse_time(status.get("lastScheduleTime")) or parse_time(
            cronjob["metadata"].get("creationTimestamp")
        )
        assert earliest is not None
        deadline = cronjob["spec"].get("startingDeadlineSeconds")
        if with_deadline and deadline is not None:
            earliest = max(earliest, now - timedelta(seconds=int(deadline)))
        first = schedule.next(earliest, zone)
        second = schedule.next(first, zone) if first is not None else None
        if first is None or second is None or now < first:
            return earliest, None, 0
        if now < second:
            return earliest, first, 0
        period = max(round((second - first).total_seconds()), 1)
        missed = int((now - first).total_seconds()) // period + 1
        moment = schedule.next(first + timedelta(seconds=(missed - 2) * period), zone)
        recent = None
        while moment is not None and moment <= now:
            recent, moment = moment, schedule.next(moment, zone)
        return earliest, recent, missed

    def _next_wait(
        self,
        cronjob: Obj,
        schedule: cron.Schedule,
        zone: timezone | ZoneInfo,
        now: datetime,
    ) -> float | None:
        """`nextScheduleTimeDuration`: seconds until the next scheduled time, plus 100 ms."""
        earliest, recent, missed = self._most_recent(
            cronjob, schedule, zone, now, with_deadline=False
        )
        base = recent if recent is not None else (earliest if missed == 0 else now)
        following = schedule.next(base, zone)
        if following is None:
            return None
        return max((following - now).total_seconds(), 0.0) + NEXT_SCHEDULE_DELTA

    def _already_started(self, cronjob: Obj, due: datetime) -> bool:
        status = cronjob.get("status") or {}
        name = job_name(cronjob, due)
        if any(ref.get("name") == name for ref in status.get("active") or []):
            return True
        last = parse_time(status.get("lastScheduleTime"))
        return last is not None and last == due

    # -- jobs ----------------------------------------------------------------------------

    def _start_job(
        self, cronjob: Obj, due: datetime, zone: timezone | ZoneInfo
    ) -> bool:
        namespace = cronjob["metadata"]["namespace"]
        body = job_from_template(cronjob, due, zone)
        try:
            job = self.api.create(self.ctx.rt(JOBS), namespace, body)
        except StatusError as err:
            if podutil.namespace_terminating(err):
                raise
            if err.code != 409:
                self._event(
                    cronjob,
                    "FailedCreate",
                    f"Error creating job: {err.message}",
                    "Warning",
                )
                raise
            existing = self.store.get(JOBS, namespace, body["metadata"]["name"])
            owner = controller_of(existing) if existing else None
            if (
                existing is None
                or owner is None
                or owner.get("uid") != cronjob["metadata"]["uid"]
            ):
                return False
            job = existing
        else:
            self._event(
                cronjob, "SuccessfulCreate", f"Created job {job['metadata']['name']}"
            )
        status = cronjob.setdefault("status", {})
        if not any(
            ref.get("uid") == job["metadata"]["uid"]
            for ref in status.get("active") or []
        ):
            status["active"] = [*(status.get("active") or []), _reference(job)]
        status["lastScheduleTime"] = due.strftime("%Y-%m-%dT%H:%M:%SZ")
        return True

    def _replace_active(self, cronjob: Obj) -> bool:
        changed = False
        for ref in list((cronjob.get("status") or {}).get("active") or []):
            job = self.store.get(JOBS, str(ref.get("namespace")), str(ref.get("name")))
            if job is not None:
                changed |= self._delete_job(cronjob, job)
        return changed

    def _delete_job(self, cronjob: Obj, job: Obj) -> bool:
        meta = job["metadata"]
        try:
            self.api.delete(
                self.ctx.rt(JOBS),
                meta["namespace"],
                meta["name"],
                propagation_policy="Background",
            )
        except StatusError as err:
            self._event(
                cronjob, "FailedDelete", f"Deleted job: {err.message}", "Warning"
            )
            return False
        _drop_active(cronjob, meta["uid"])
        self._event(cronjob, "SuccessfulDelete", f"Deleted job {meta['name']}")
        return True

    def _write_status(self, key: Key, cronjob: Obj) -> None:
        stored = self.store.get(CRONJOBS, *key)
        if stored is None:
            return
        status = cronjob.get("status") or {}
        if not status.get("active"):
            status.pop("active", None)
        if stored.get("status") == status:
            return
        new = copy.deepcopy(stored)
        new["status"] = status
        self.api.update(
            self.ctx.rt(CRONJOBS), key[0], key[1], new, subresource="status"
        )

    def _event(
        self, cronjob: Obj, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        self.ctx.record_event(cronjob, reason, message, component=COMPONENT, type=type_)


def job_name(cronjob: Obj, due: datetime) -> str:
    return f"{cronjob['metadata']['name']}-{int(due.timestamp()) // 60}"


def job_from_template(cronjob: Obj, due: datetime, zone: timezone | ZoneInfo) -> Obj:
    """`getJobFromTemplate2`: the Job for one scheduled time."""
    template = copy.deepcopy(cronjob["spec"].get("jobTemplate") or {})
    meta = template.get("metadata") or {}
    annotations = dict(meta.get("annotations") or {})
    annotations[SCHEDULED_ANNOTATION] = _rfc3339(due.astimezone(zone))
    metadata: Obj = {
        "name": job_name(cronjob, due),
        "annotations": annotations,
        "ownerReferences": [owner_reference(cronjob)],
    }
    if meta.get("labels"):
        metadata["labels"] = dict(meta["labels"])
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": template.get("spec") or {},
    }


def _rfc3339(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S%z")
    if text.endswith("+0000"):
        return text[:-5] + "Z"
    return f"{text[:-2]}:{text[-2:]}"


def _reference(job: Obj) -> Obj:
    meta = job["metadata"]
    return {
        "kind": "Job",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "batch/v1",
        "resourceVersion": meta["resourceVersion"],
    }


def _drop_active(cronjob: Obj, uid: str) -> None:
    status = cronjob.setdefault("status", {})
    status["active"] = [
        ref for ref in status.get("active") or [] if ref.get("uid") != uid
    ]


def _note_success(status: Obj, job: Obj) -> bool:
    text = (job.get("status") or {}).get("completionTime")
    completed = parse_time(text)
    last = parse_time(status.get("lastSuccessfulTime"))
    if completed is None or (last is not None and completed <= last):
        return False
    status["lastSuccessfulTime"] = text
    return True


def _start_order(job: Obj) -> tuple[int, float, str]:
    """`byJobStartTime`: jobs without a start time last, then by start, then by name."""
    started = parse_time((job.get("status") or {}).get("startTime"))
    return (
        0 if started else 1,
        started.timestamp() if started else 0.0,
        job["metadata"]["name"],
    )
