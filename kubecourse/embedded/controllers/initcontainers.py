"""Init containers, as the kubelet runs them before a Pod's app containers.

Faithful: init containers run one after another, in order, each from its image pull
(Pulling / Pulled), Created and Started; each must exit 0 before the next starts.  Their
command runs on the simulated shell (`processes`), so `until nslookup db; do sleep 2;
done` waits until the name resolves and `exit 1` fails.  While they run the Pod is
Pending, its app containers `waiting: PodInitializing`, its condition Initialized False
(ContainersNotInitialized, "containers with incomplete status: [check]"), so `kubectl get`
shows `Init:0/1`.  A failed init container is restarted with the CrashLoopBackOff delay
when the Pod's restartPolicy is Always or OnFailure (`Init:Error`, then
`Init:CrashLoopBackOff`); under Never the Pod fails (phase Failed).  Native sidecars
(`restartPolicy: Always` on an init container) start in order too: the next init
container starts once the sidecar has started (its startupProbe passed); they keep
running beside the app containers, count in READY, and are restarted when they exit.

Simplified: an init container's image is pulled when its turn comes, the app
containers' images after the last one completed (as the kubelet does); probes of a
sidecar follow the `probes` annotations like an app container's.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING

from kubecourse.embedded.controllers import (
    containers,
    podconfig,
    podruns,
    podstatus,
    probes,
)
from kubecourse.embedded.controllers.base import Obj
from kubecourse.embedded.controllers.podstatus import names, pod_conditions

if TYPE_CHECKING:
    from kubecourse.embedded.controllers.kubelet import Kubelet
    from kubecourse.embedded.controllers.podruns import PodProgress

Entry = tuple[Obj, float | None]  # a container's status, when to look again


def is_sidecar(container: Obj) -> bool:
    return container.get("restartPolicy") == "Always"


def sidecars(pod: Obj) -> list[Obj]:
    return [c for c in pod["spec"].get("initContainers") or [] if is_sidecar(c)]


def initialize(kubelet: Kubelet, pod: Obj, progress: PodProgress) -> float | None:
    """Run the Pod's init containers; `progress.initialized` once all are done (or the
    Pod failed); otherwise when to look again."""
    pod = kubelet._current(pod)
    if not kubelet._mount_volumes(pod):
        return kubelet.ctx.timings.config_retry
    pod = _with_sandbox(kubelet, pod)
    specs = pod["spec"]["initContainers"]
    entries: dict[str, Obj] = {}
    waits: list[float] = []
    failed = False
    while progress.init_index < len(specs):
        container = specs[progress.init_index]
        entry, wait = _current(kubelet, pod, container, progress)
        entries[container["name"]] = entry
        if _done(container, entry):
            progress.init_index += 1
            continue
        failed = _failed(pod, entry)
        if wait is not None:
            waits.append(wait)
        break
    if progress.init_index >= len(specs):
        progress.initialized = True
    _write(kubelet, pod, progress, entries, failed)
    return None if progress.initialized or failed else _soonest(waits)


def _soonest(waits: list[float]) -> float | None:
    return min(waits) + 0.01 if waits else None


def _with_sandbox(kubelet: Kubelet, pod: Obj) -> Obj:
    """The sandbox is up before any init container runs: the Pod has its IP."""
    status = pod.get("status") or {}
    if status.get("podIP"):
        return pod
    status = copy.deepcopy(status)
    ip = kubelet._addresses.allocate(pod)
    status.update({"podIP": ip, "podIPs": [{"ip": ip}]})
    status["conditions"] = _conditions(pod, status, _unfinished(pod, 0))
    return kubelet._write_status(pod, status)


def _unfinished(pod: Obj, index: int) -> list[str]:
    return [c["name"] for c in (pod["spec"].get("initContainers") or [])[index:]]


def _conditions(pod: Obj, status: Obj, incomplete: list[str]) -> list[Obj]:
    return pod_conditions(
        status, sandbox=True, ready=False, unready=names(pod), incomplete=incomplete
    )


def _done(container: Obj, entry: Obj) -> bool:
    """Completed (exit 0), or a sidecar that has started."""
    if is_sidecar(container):
        return bool(entry.get("started"))
    terminated = entry["state"].get("terminated")
    return terminated is not None and terminated["exitCode"] == 0


def _failed(pod: Obj, entry: Obj) -> bool:
    """An init container failed under restartPolicy Never: the Pod has failed."""
    terminated = entry["state"].get("terminated")
    never = pod["spec"].get("restartPolicy") == "Never"
    return never and terminated is not None and terminated["exitCode"] != 0


def _current(
    kubelet: Kubelet, pod: Obj, container: Obj, progress: PodProgress
) -> Entry:
    """The init container whose turn it is: created and started, then followed."""
    name = container["name"]
    if name not in progress.runs:
        waiting = _create(kubelet, pod, container, progress)
        if waiting is not None:
            return waiting
    return follow(kubelet, pod, container, progress)


def _create(
    kubelet: Kubelet, pod: Obj, container: Obj, progress: PodProgress
) -> Entry | None:
    name = container["name"]
    out = kubelet._image_manager.ensure(
        pod, container, progress.pulls, time.monotonic()
    )
    if not out.ready:
        reason, message = out.waiting or ("PodInitializing", "")
        if reason == "ContainerCreating":  # an init container waits as PodInitializing
            reason = "PodInitializing"
        return podstatus.waiting(container, reason, message or None), out.wait
    try:
        kubelet._configure(pod, container, progress)
    except podconfig.ConfigError as err:
        kubelet._event(pod, "Failed", f"Error: {err}", "Warning", container=name)
        entry = podstatus.waiting(container, "CreateContainerConfigError", str(err))
        return entry, kubelet.ctx.timings.config_retry
    kubelet._event(pod, "Created", f"Created container: {name}", container=name)
    run = progress.runs[name] = containers.Run(started=time.time())
    podruns.launch(kubelet.ctx, pod, container, progress, run.started)
    kubelet._event(pod, "Started", f"Started container {name}", container=name)
    return None


def follow(kubelet: Kubelet, pod: Obj, container: Obj, progress: PodProgress) -> Entry:
    """An init container's status now: running, ended, restarted after back-off."""
    sidecar = is_sidecar(container)
    return kubelet._advance(
        pod,
        container,
        progress,
        podruns.runnable(pod, container, progress),
        time.time(),
        restart=_restart_policy(pod, container),
        ready_after=probes.ready_after(pod, container) if sidecar else None,
        killer=probes.killer(pod, container) if sidecar else None,
    )


def _restart_policy(pod: Obj, container: Obj) -> str:
    """A sidecar always restarts; another init container only when it failed, and
    not at all under the Pod's restartPolicy Never."""
    if is_sidecar(container):
        return "Always"
    return "Never" if pod["spec"].get("restartPolicy") == "Never" else "OnFailure"


def _write(
    kubelet: Kubelet,
    pod: Obj,
    progress: PodProgress,
    entries: dict[str, Obj],
    failed: bool,
) -> None:
    status = copy.deepcopy(kubelet._current(pod)["status"])
    known = {s["name"]: s for s in status.get("initContainerStatuses") or []}
    statuses = []
    for index, container in enumerate(pod["spec"]["initContainers"]):
        name = container["name"]
        entry = entries.get(name) or known.get(name)
        if entry is None or (index > progress.init_index and name not in entries):
            entry = podstatus.waiting(container, "PodInitializing")
        statuses.append(entry)
    status["initContainerStatuses"] = statuses
    if failed:
        status["phase"] = "Failed"
    elif not progress.initialized:
        status["phase"] = "Pending"
        status["containerStatuses"] = [
            podstatus.waiting(c, "PodInitializing") for c in pod["spec"]["containers"]
        ]
    incomplete = [] if progress.initialized else _unfinished(pod, progress.init_index)
    status["conditions"] = pod_conditions(
        status,
        sandbox=not failed,
        ready=False,
        unready=names(pod),
        incomplete=incomplete,
    )
    kubelet._write_status(kubelet._current(pod), status)


def sidecar_statuses(
    kubelet: Kubelet, pod: Obj, progress: PodProgress, status: Obj
) -> tuple[list[str], list[float]]:
    """The running Pod's sidecars followed into `status`: the unready ones, and when
    to look again."""
    unready: list[str] = []
    waits: list[float] = []
    entries = status.get("initContainerStatuses") or []
    for index, entry in enumerate(entries):
        container = next(
            (c for c in sidecars(pod) if c["name"] == entry.get("name")), None
        )
        if container is None or container["name"] not in progress.runs:
            continue
        new, wait = follow(kubelet, pod, container, progress)
        entries[index] = new
        if not new.get("ready"):
            unready.append(container["name"])
        if wait is not None:
            waits.append(wait)
    return unready, waits


def stop_sidecars(pod: Obj, progress: PodProgress, status: Obj, now: float) -> None:
    """The app containers are done, so the kubelet stops the sidecars: each is shown
    terminated (as a sidecar that exits 0 on SIGTERM; one that ignores it would be
    killed after its grace period, exit code 137)."""
    entries = status.get("initContainerStatuses") or []
    for index, entry in enumerate(entries):
        container = next(
            (c for c in sidecars(pod) if c["name"] == entry.get("name")), None
        )
        if container is None or "running" not in (entry.get("state") or {}):
            continue
        run = progress.runs.get(container["name"])
        started = run.started if run is not None else now
        entries[index] = podstatus.terminated(
            pod,
            container,
            started,
            now,
            0,
            restarts=int(entry.get("restartCount") or 0),
            last=entry.get("lastState"),
        )
