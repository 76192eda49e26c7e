"""Which pods a Job owns, and the `batch.kubernetes.io/job-tracking` finalizer on them.

Faithful: a Job's pods are those whose controller ownerReference has its uid; an orphan
matching the selector is adopted with an ownerReference and the finalizer (upstream
`ClaimPods` with the finalizer); the finalizer is removed by a patch that drops only
it; a pod whose Job is gone (or that has no controller any more) loses the finalizer so
it can go (upstream's orphan worker).
"""

from __future__ import annotations

import copy

from kubecourse.embedded.controllers import jobutil, podutil
from kubecourse.embedded.controllers.base import (
    Context,
    Obj,
    controller_of,
    owner_reference,
)
from kubecourse.embedded.controllers.jobutil import TRACKING_FINALIZER
from kubecourse.embedded.status import StatusError

JOBS = "jobs.batch"


def claim(ctx: Context, job: Obj) -> list[Obj]:
    """The Job's pods, adopting matching orphans (ownerReference plus finalizer)."""
    namespace, uid = job["metadata"]["namespace"], job["metadata"]["uid"]
    selector = job["spec"].get("selector")
    owned: list[Obj] = []
    for pod in list(ctx.store.items("pods", namespace)):
        ref = controller_of(pod)
        if ref is not None and ref.get("uid") == uid:
            owned.append(pod)
        elif (
            ref is None
            and not podutil.is_terminating(pod)
            and podutil.selector_matches(selector, pod["metadata"].get("labels"))
        ):
            owned.append(_adopt(ctx, job, pod))
    return owned


def _adopt(ctx: Context, job: Obj, pod: Obj) -> Obj:
    new = copy.deepcopy(pod)
    meta = new["metadata"]
    meta["ownerReferences"] = [
        *(meta.get("ownerReferences") or []),
        owner_reference(job),
    ]
    if TRACKING_FINALIZER not in (meta.get("finalizers") or []):
        meta["finalizers"] = [*(meta.get("finalizers") or []), TRACKING_FINALIZER]
    return ctx.api.update(ctx.rt("pods"), meta["namespace"], meta["name"], new)


def remove_finalizer(ctx: Context, pod: Obj) -> None:
    meta = pod["metadata"]
    current = ctx.store.get("pods", meta["namespace"], meta["name"])
    if current is None or not jobutil.has_finalizer(current):
        return
    new = copy.deepcopy(current)
    left = [f for f in new["metadata"]["finalizers"] if f != TRACKING_FINALIZER]
    if left:
        new["metadata"]["finalizers"] = left
    else:
        del new["metadata"]["finalizers"]  # omitempty: no empty list is stored
    try:
        ctx.api.update(ctx.rt("pods"), meta["namespace"], meta["name"], new)
    except StatusError as err:
        if err.code != 404:
            raise


def release_orphans(ctx: Context, namespace: str) -> None:
    """Pods still carrying the finalizer whose Job is gone (`orphanWorker`)."""
    for pod in list(ctx.store.items("pods", namespace)):
        if jobutil.has_finalizer(pod) and not _owner_alive(ctx, pod):
            remove_finalizer(ctx, pod)


def _owner_alive(ctx: Context, pod: Obj) -> bool:
    ref = controller_of(pod)
    if ref is None or ref.get("kind") != "Job":
        return False
    job = ctx.store.get(JOBS, pod["metadata"]["namespace"], str(ref.get("name")))
    return job is not None and job["metadata"]["uid"] == ref.get("uid")
