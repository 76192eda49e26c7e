"""What the kubelet keeps of each Pod it runs, and how it starts a container's run.

A run starts as a process on the simulated shell (`processes`) when the container's
command can run there, its log being what the process writes; otherwise its log is
what `images.container_log` says the image writes.  On a restart the last run's log
is kept for `kubectl logs --previous`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubecourse.embedded.controllers import (
    containers,
    ephemeral,
    images,
    podconfig,
    processes,
    pulls,
)
from kubecourse.embedded.controllers.base import Context, Obj


@dataclass
class PodProgress:
    """What the kubelet remembers of a pod it runs (lost on restart, rebuilt from status)."""

    accepted: float
    created: float | None = None  # images pulled, configuration read, containers made
    started: float | None = None
    stopping: float | None = None
    unhealthy_reported: bool = False
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    runs: dict[str, containers.Run] = field(default_factory=dict)
    pulls: dict[str, pulls.Pull] = field(default_factory=dict)
    retry_at: float | None = None  # a missing ConfigMap or Secret: when to look again
    ephemeral: dict[str, ephemeral.Debugger] = field(default_factory=dict)
    replacing: set[str] = field(default_factory=set)  # containers getting a new image
    init_index: int = 0  # the init container whose turn it is
    initialized: bool = False  # every init container completed (or started: sidecars)
    processes: dict[str, processes.Process] = field(default_factory=dict)

    def stop_ended(self, name: str, status: Obj) -> None:
        """A container that is no longer running has no process (killed by a probe,
        waiting out its back-off)."""
        process = self.processes.get(name)
        if process is not None and "running" not in status.get("state", {}):
            process.stop()

    def stop_processes_of(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None:
            process.stop()

    def stop_processes(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.processes.clear()


def runnable(pod: Obj, container: Obj, progress: PodProgress) -> Obj:
    """The container with `$(VAR)` in its command and args expanded."""
    env = {
        "HOSTNAME": pod["metadata"]["name"],
        **progress.env.get(container["name"], {}),
    }
    return podconfig.expanded(container, env)


def launch(
    ctx: Context, pod: Obj, container: Obj, progress: PodProgress, started: float
) -> None:
    """Start the container's process: its command on the simulated shell when it
    can run there (`processes`), else what `images` says it logs."""
    meta, name = pod["metadata"], container["name"]
    key = (meta["namespace"], meta["name"], name)
    old = progress.processes.pop(name, None)
    if old is not None:
        old.stop()
    command = runnable(pod, container, progress)
    process = processes.start(
        ctx,
        ctx.store.get("pods", meta["namespace"], meta["name"]) or pod,
        command,
        started,
        lambda code: ctx.container_exited(*key, code),
    )
    if process is None:
        log = write_log(ctx, pod, container, progress, started)
        note = _unsimulated(ctx, pod, command)
        if note is not None:
            log.noted(note)
        return
    progress.processes[name] = process
    ctx.logbook[key] = process.book


def relaunch(
    ctx: Context, pod: Obj, container: Obj, progress: PodProgress, run: containers.Run
) -> None:
    """A restart: the last run's log is kept for `--previous`, a new run starts."""
    meta = pod["metadata"]
    key = (meta["namespace"], meta["name"], container["name"])
    process = progress.processes.get(container["name"])
    if process is not None:
        ctx.previous_logs[key] = process.book
        launch(ctx, pod, container, progress, run.started)
        return
    write_log(ctx, pod, container, progress, run.started)
    if run.previous is not None:
        write_log(ctx, pod, container, progress, *run.previous)


def write_log(
    ctx: Context,
    pod: Obj,
    container: Obj,
    progress: PodProgress,
    started: float,
    until: float | None = None,
) -> images.ContainerLog:
    meta = pod["metadata"]
    env = {"HOSTNAME": meta["name"], **progress.env.get(container["name"], {})}
    runnable = podconfig.expanded(container, env)
    log = images.container_log(runnable, meta["name"], started, env)
    key = (meta["namespace"], meta["name"], container["name"])
    if until is None:
        ctx.logbook[key] = log
    else:
        log.end(until)
        ctx.previous_logs[key] = log
    return log


def _unsimulated(ctx: Context, pod: Obj, container: Obj) -> str | None:
    if ctx.sandboxes is None or images.system_image(container):
        return None
    sandbox = ctx.sandboxes(pod, container)
    return processes.unsimulated(images.process(container), sandbox)
