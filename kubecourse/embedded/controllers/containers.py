"""One container's life in the simulated runtime: run, end, restart after back-off.

A container whose shell command ends by itself (see `images.finishes`) stops with its
exit code after its run time, under restartPolicy Never or OnFailure.  Under
OnFailure a non-zero exit is restarted in place, as the kubelet does: at once the
first time, then after the CrashLoopBackOff delay (10 s, 20 s, 40 s ... capped at
5 minutes: `Timings.container_restart_backoff` and `container_restart_backoff_max`),
each restart raising `restartCount` and keeping the previous run as
`lastState.terminated`; while it waits the container is `waiting: CrashLoopBackOff`
("back-off 10s restarting failed container=c pod=p_ns(uid)") and a Warning BackOff
event is recorded.  The state is computed from the start time, so a late look still
sees every restart that time allows.

Simplified: under restartPolicy Always a command that ends is shown still Running (no
CrashLoopBackOff for Deployments); `kubectl logs --previous` is not kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubecourse.embedded.controllers import images, podstatus
from kubecourse.embedded.controllers.base import Obj
from kubecourse.embedded.controllers.podstatus import terminated_state

Event = tuple[str, str, str]  # reason, message, type


@dataclass
class Run:
    """The current run of one container."""

    started: float
    restarts: int = 0
    last: Obj | None = None
    backing_off: bool = False


@dataclass
class Step:
    status: Obj
    wait: float | None = None
    events: list[Event] = field(default_factory=list)
    restarted: bool = False


def restart_delay(restarts: int, base: float, cap: float) -> float:
    """The kubelet's back-off before restart number `restarts + 1`."""
    return 0.0 if restarts == 0 else min(base * 2.0 ** (restarts - 1), cap)


def advance(
    pod: Obj,
    container: Obj,
    run: Run,
    now: float,
    *,
    ready_after: float | None,
    backoff: tuple[float, float],
) -> Step:
    """The container's status at `now`, moving `run` through any restarts due;
    `ready_after` is how long after starting it turns ready (None: never)."""
    policy = pod["spec"].get("restartPolicy")
    ends = images.finishes(container) if policy in ("Never", "OnFailure") else None
    step = Step(status={})
    while ends is not None and now >= run.started + ends[0]:
        finished = run.started + ends[0]
        code = ends[1]
        if code == 0 or policy == "Never":
            step.status = podstatus.terminated(
                pod,
                container,
                run.started,
                finished,
                code,
                restarts=run.restarts,
                last=run.last,
            )
            return step
        delay = restart_delay(run.restarts, *backoff)
        if now < finished + delay:
            _back_off(pod, container, run, finished, code, delay, step)
            step.wait = finished + delay - now
            return step
        _restart(pod, container, run, finished, code, delay, step)

    ready_at = None if ready_after is None else run.started + ready_after
    ready = ready_at is not None and now >= ready_at
    step.status = podstatus.running(
        pod, container, run.started, ready, restarts=run.restarts, last=run.last
    )
    waits = [
        t - now
        for t in (ready_at, run.started + ends[0] if ends else None)
        if t is not None and t > now
    ]
    step.wait = min(waits) if waits else None
    return step


def _back_off(
    pod: Obj,
    container: Obj,
    run: Run,
    finished: float,
    code: int,
    delay: float,
    step: Step,
) -> None:
    last = {
        "terminated": terminated_state(
            pod, container, run.started, finished, code, run.restarts
        )
    }
    meta = pod["metadata"]
    who = f"{meta['name']}_{meta['namespace']}({meta['uid']})"
    message = f"back-off {_go_duration(delay)} restarting failed container={container['name']} pod={who}"
    ident = podstatus.identity(pod, container, run.restarts)
    step.status = podstatus.waiting(
        container,
        "CrashLoopBackOff",
        message,
        restarts=run.restarts,
        last=last,
        identity=ident,
    )
    if not run.backing_off:
        run.backing_off = True
        step.events.append(
            (
                "BackOff",
                f"Back-off restarting failed container {container['name']} in pod {who}",
                "Warning",
            )
        )


def _restart(
    pod: Obj,
    container: Obj,
    run: Run,
    finished: float,
    code: int,
    delay: float,
    step: Step,
) -> None:
    run.last = {
        "terminated": terminated_state(
            pod, container, run.started, finished, code, run.restarts
        )
    }
    run.restarts += 1
    run.started = finished + delay
    run.backing_off = False
    step.restarted = True
    image = container["image"]
    step.events += [
        ("Pulled", f'Container image "{image}" already present on machine', "Normal"),
        ("Created", f"Created container: {container['name']}", "Normal"),
        ("Started", f"Started container {container['name']}", "Normal"),
    ]


def _go_duration(seconds: float) -> str:
    """Go's Duration.String() for whole seconds and minutes: `10s`, `1m20s`, `5m0s`."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{seconds:g}s" if seconds != whole else f"{whole}s"
    return f"{whole // 60}m{whole % 60}s"
