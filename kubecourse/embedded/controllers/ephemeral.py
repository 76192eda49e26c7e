"""Ephemeral containers in a running pod, as the kubelet starts them (`kubectl debug`).

Faithful: a container added through the `ephemeralcontainers` subresource is pulled by
the image manager (Pulling / Pulled, or the pull errors), created and started (events
Created, Started with `fieldPath` `spec.ephemeralContainers{debugger-x}`), and reported
in `status.ephemeralContainerStatuses` (`ready: false`, no `started`, as the kubelet
writes them).  It is never restarted: when its process ends (a bare shell without stdin
at once, a script when it is done, an attached shell when it exits) it stays
`terminated`.  It does not count for the pod's phase or readiness.

Simplified: the process runs in its own namespaces whatever `targetContainerName` says
(no process runs anyway).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kubecourse.embedded.controllers import images, podconfig, podstatus, pulls
from kubecourse.embedded.controllers.base import Obj

Waiting = tuple[str, str]


@dataclass
class Debugger:
    """What the kubelet remembers of one ephemeral container."""

    started: float | None = None
    created: bool = False


@dataclass
class Debuggers:
    """A pod's ephemeral containers and the kubelet's tools to run them."""

    pod: Obj
    book: dict[str, Debugger]
    pull: Callable[[Obj, float], pulls.Outcome]  # (container, monotonic now)
    event: Callable[..., None]  # (reason, message, type, container)
    exits: dict[tuple[str, str, str], tuple[float, int]]
    configure: Callable[[Obj], None]
    log: Callable[[Obj, float], object]


def sync(debuggers: Debuggers, status: Obj, now: float) -> float | None:
    """Start, or report, every ephemeral container; when to look again."""
    specs = debuggers.pod["spec"].get("ephemeralContainers") or []
    if not specs:
        return None
    waits: list[float] = []
    entries = []
    for container in specs:
        entry, wait = _one(debuggers, container, now, time.monotonic())
        entries.append(entry)
        if wait is not None:
            waits.append(wait)
    status["ephemeralContainerStatuses"] = entries
    return min(waits) if waits else None


def _one(
    debuggers: Debuggers, container: Obj, now: float, monotonic: float
) -> tuple[Obj, float | None]:
    name = container["name"]
    state = debuggers.book.setdefault(name, Debugger())
    if state.started is None:
        out = debuggers.pull(container, monotonic)
        if not out.ready:
            reason, message = out.waiting or ("ContainerCreating", "")
            return podstatus.waiting(container, reason, message or None), out.wait
        _start(debuggers, container, state, now)
    assert state.started is not None
    return _status(debuggers, container, state.started, now)


def _start(debuggers: Debuggers, container: Obj, state: Debugger, now: float) -> None:
    name = container["name"]
    try:
        debuggers.configure(container)
    except podconfig.ConfigError:  # simplified: a debugger starts without them
        pass
    debuggers.event("Created", f"Created container: {name}", "Normal", name)
    debuggers.event("Started", f"Started container {name}", "Normal", name)
    state.started = now
    debuggers.log(container, now)


def _status(
    debuggers: Debuggers, container: Obj, started: float, now: float
) -> tuple[Obj, float | None]:
    pod = debuggers.pod
    meta = pod["metadata"]
    ends = images.finishes(container)
    end = (started + ends[0], ends[1]) if ends is not None else None
    exited = debuggers.exits.get((meta["namespace"], meta["name"], container["name"]))
    if exited is not None and exited[0] >= started and (end is None or exited < end):
        end = exited
    if end is not None and now >= end[0]:
        entry = podstatus.terminated(pod, container, started, end[0], end[1])
    else:
        entry = podstatus.running(pod, container, started, ready=False)
    entry.pop("started", None)
    wait = end[0] - now if end is not None and end[0] > now else None
    return entry, wait
