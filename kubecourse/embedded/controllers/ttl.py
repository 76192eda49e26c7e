"""The TTL-after-finished controller: delete finished Jobs once their time is up.

Faithful: a Job with `spec.ttlSecondsAfterFinished` whose Complete or Failed condition
is True is deleted that many seconds after the condition's `lastTransitionTime`
(0: at once), with foreground propagation and a uid precondition, so its pods go with
it; a Job being deleted, unfinished or without the field is left alone; no event is
recorded (upstream records none).  Time is `Context.clock`.

Simplified: foreground deletion is treated as background by this API server, so the
Job disappears before its pods rather than after.
"""

from __future__ import annotations

from kubecourse.embedded.controllers import jobutil, podutil
from kubecourse.embedded.controllers.base import Context, Controller, Key, parse_time
from kubecourse.embedded.status import StatusError

JOBS = "jobs.batch"


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished"
    watches = (JOBS,)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        ctx.clock.on_advance(self.resync)

    async def reconcile(self, key: Key) -> float | None:
        job = self.store.get(JOBS, *key)
        if job is None or podutil.is_terminating(job):
            return None
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        finished = jobutil.finished_condition(job)
        if ttl is None or finished is None:
            return None
        moment = parse_time(finished.get("lastTransitionTime"))
        expires = (moment.timestamp() if moment else self.ctx.clock.now()) + int(ttl)
        left = expires - self.ctx.clock.now()
        if left > 0:
            return left + 0.01

        try:
            self.api.delete(
                self.ctx.rt(JOBS),
                key[0],
                key[1],
                propagation_policy="Foreground",
                preconditions={"uid": job["metadata"]["uid"]},
            )
        except StatusError as err:
            if err.code not in (404, 409):
                raise
        return None
