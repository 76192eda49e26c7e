"""One container's life in the simulated runtime: run, end, restart after back-off.

A run ends when its process ends by itself (`images.finishes`: a shell script, a simple
command, a bare shell without stdin), when a failing liveness or startup probe kills it
(`probes.killer`: exit code 137), or when its attached shell exits (the code it gave).
Then the restart policy decides, as the kubelet does: under `Always` every ended
container is restarted, under `OnFailure` one that failed, under `Never` none (it stays
terminated, `Completed` or `Error`).  A restart is in place: at once the first time,
then after the CrashLoopBackOff delay (10 s, 20 s, 40 s ... capped at 5 minutes:
`Timings.container_restart_backoff` and `container_restart_backoff_max`), each raising
`restartCount` and keeping the previous run as `lastState.terminated`; while it waits
the container is `waiting: CrashLoopBackOff` ("back-off 10s restarting failed
container=c pod=p_ns(uid)") and a Warning BackOff event is recorded.  So a bare busybox
in a Deployment shows CrashLoopBackOff with a growing RESTARTS count, as on kind.  The
state is computed from the start time, so a late look still sees every restart that
time allows; the previous run's start and end are kept for `kubectl logs --previous`.

Simplified: a killed container stops at once (no termination grace period); the
back-off is not reset after a long successful run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubecourse.embedded.controllers import images, podstatus, probes
from kubecourse.embedded.controllers.base import Obj, parse_time
from kubecourse.embedded.controllers.podstatus import terminated_state
from kubecourse.embedded.controllers.pulls import pulled_message

Event = tuple[str, str, str]  # reason, message, type
End = tuple[float, int, str]  # when, exit code, why ("exited" or "killed")


@dataclass
class Run:
    """The current run of one container."""

    started: float
    restarts: int = 0
    last: Obj | None = None
    backing_off: bool = False
    failing_since: float | None = None  # a failing liveness/startup probe, from when
    unhealthy: int = 0  # failed probes recorded in this run
    previous: tuple[float, float] | None = None  # the last run's start and end


@dataclass
class Step:
    status: Obj
    wait: float | None = None
    events: list[Event] = field(default_factory=list)
    restarted: bool = False


@dataclass(frozen=True)
class Policy:
    """What the kubelet knows of the container when it looks at it."""

    restart: str  # the pod's restartPolicy
    ready_after: float | None  # seconds after start until ready (None: never)
    started_after: float | None  # seconds after start until `started` (None: never)
    killer: probes.Killer | None
    backoff: tuple[float, float]
    exited: tuple[float, int] | None = None  # an attached shell's or a process's exit
    runs_process: bool = False  # its command runs (`processes`): only `exited` ends it


def restart_delay(restarts: int, base: float, cap: float) -> float:
    """The kubelet's back-off before restart number `restarts + 1`."""
    return 0.0 if restarts == 0 else min(base * 2.0 ** (restarts - 1), cap)


def advance(pod: Obj, container: Obj, run: Run, now: float, policy: Policy) -> Step:
    """The container's status at `now`, moving `run` through any restarts due."""
    step = Step(status={})
    _watch_probe(run, policy, now)
    while True:
        end = _end_of_run(container, run, policy, now, step)
        if end is None or now < end[0]:
            break
        finished, code, _ = end
        if not _restarts(policy.restart, code):
            step.status = podstatus.terminated(
                pod, container, run.started, finished, code,
                restarts=run.restarts, last=run.last,
            )  # fmt: skip
            return step
        delay = restart_delay(run.restarts, *policy.backoff)
        if now < finished + delay:
            _back_off(pod, container, run, (finished, code), delay, step)
            step.wait = finished + delay - now
            return step
        _restart(pod, container, run, (finished, code), delay, step)
        run.failing_since = run.started if policy.killer is not None else None

    step.status = _running_status(pod, container, run, now, policy)
    step.wait = _next_change(run, now, policy, end)
    return step


def _restarts(policy: str, code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and code != 0)


def _watch_probe(run: Run, policy: Policy, now: float) -> None:
    """A probe that starts failing counts from now; one that passes again resets."""
    if policy.killer is None:
        run.failing_since, run.unhealthy = None, 0
    elif run.failing_since is None:
        run.failing_since = max(now, run.started)


def _end_of_run(
    container: Obj, run: Run, policy: Policy, now: float, step: Step
) -> End | None:
    """When and how the current run ends (the earliest of its ways), if it does."""
    ends: list[End] = []
    finite = None if policy.runs_process else images.finishes(container)
    if finite is not None:
        ends.append((run.started + finite[0], finite[1], "exited"))
    if policy.exited is not None and policy.exited[0] > run.started:
        ends.append((policy.exited[0], policy.exited[1], "exited"))
    killer = policy.killer
    if killer is not None and run.failing_since is not None:
        kill_at = killer.kill_at(run.started, run.failing_since)
        ends.append((kill_at, probes.KILLED_EXIT_CODE, "killed"))
    if not ends:
        return None
    end = min(ends)
    if killer is not None and run.failing_since is not None:
        _probe_failures(container, run, killer, min(now, end[0]), step, end)
    return end


def _probe_failures(
    container: Obj, run: Run, killer: probes.Killer, until: float, step: Step, end: End
) -> None:
    """The Unhealthy events of the failed probes up to `until`, and the Killing."""
    assert run.failing_since is not None
    while run.unhealthy < killer.threshold:
        moment = killer.failure_at(run.started, run.failing_since, run.unhealthy + 1)
        if moment > until or moment > end[0]:
            return
        run.unhealthy += 1
        message = f"{killer.kind} probe failed: {killer.detail}"
        step.events.append(("Unhealthy", message, "Warning"))
    if end[2] == "killed" and until >= end[0] and run.unhealthy == killer.threshold:
        message = probes.killing_message(killer, container["name"])
        step.events.append(("Killing", message, "Normal"))
        run.unhealthy += 1  # past the threshold: the kill is recorded once


def _running_status(
    pod: Obj, container: Obj, run: Run, now: float, policy: Policy
) -> Obj:
    ready_at = None if policy.ready_after is None else run.started + policy.ready_after
    started = policy.started_after is not None and now >= (
        run.started + policy.started_after
    )
    status = podstatus.running(
        pod,
        container,
        run.started,
        ready_at is not None and now >= ready_at,
        restarts=run.restarts,
        last=run.last,
    )
    status["started"] = started
    return status


def _next_change(run: Run, now: float, policy: Policy, end: End | None) -> float | None:
    moments = [end[0] if end else None]
    for after in (policy.ready_after, policy.started_after):
        moments.append(None if after is None else run.started + after)
    killer = policy.killer
    if killer is not None and run.failing_since is not None:
        number = min(run.unhealthy + 1, killer.threshold)
        moments.append(killer.failure_at(run.started, run.failing_since, number))
    waits = [t - now for t in moments if t is not None and t > now]
    return min(waits) if waits else None


def _back_off(
    pod: Obj,
    container: Obj,
    run: Run,
    ended: tuple[float, int],
    delay: float,
    step: Step,
) -> None:
    finished, code = ended
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
    ended: tuple[float, int],
    delay: float,
    step: Step,
) -> None:
    finished, code = ended
    stopped(pod, container, run, finished, code)
    run.started = finished + delay
    step.restarted = True
    step.events += restart_events(container)


def stopped(pod: Obj, container: Obj, run: Run, finished: float, code: int) -> None:
    """The run ended: it becomes the last state and the previous run; the next one
    counts as a restart."""
    run.last = {
        "terminated": terminated_state(
            pod, container, run.started, finished, code, run.restarts
        )
    }
    run.previous = (run.started, finished)
    run.restarts += 1
    run.backing_off = False
    run.unhealthy = 0


def restart_events(container: Obj) -> list[Event]:
    """What the kubelet records when it starts a container again."""
    image, name = container["image"], container["name"]
    if container.get("imagePullPolicy") == "Always":
        pulled = [
            ("Pulling", f'Pulling image "{image}"', "Normal"),
            ("Pulled", pulled_message(image, 0.5), "Normal"),
        ]
    else:
        pulled = [
            (
                "Pulled",
                f'Container image "{image}" already present on machine',
                "Normal",
            )
        ]
    return pulled + [
        ("Created", f"Created container: {name}", "Normal"),
        ("Started", f"Started container {name}", "Normal"),
    ]


def _go_duration(seconds: float) -> str:
    """Go's Duration.String() for whole seconds and minutes: `10s`, `1m20s`, `5m0s`."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{seconds:g}s" if seconds != whole else f"{whole}s"
    return f"{whole // 60}m{whole % 60}s"


def run_from_status(pod: Obj, name: str, started: float) -> Run:
    """A container's current run as its status reports it (restarts, last state)."""
    for entry in pod["status"].get("containerStatuses") or []:
        if entry.get("name") != name:
            continue
        running = parse_time(
            ((entry.get("state") or {}).get("running") or {}).get("startedAt")
        )
        return Run(
            started=running.timestamp() if running else started,
            restarts=int(entry.get("restartCount") or 0),
            last=entry.get("lastState") or None,
        )
    return Run(started=started)
