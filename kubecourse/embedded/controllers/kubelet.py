"""Every node's kubelet, simulated: pods bound to a node start, run, become ready, stop.

Faithful, as a kubelet reports it: a newly bound pod gets `hostIP`/`hostIPs`,
`startTime`, conditions PodReadyToStartContainers=False, Initialized=True,
ContainersReady=False and Ready=False (reason ContainersNotReady, "containers with
unready status: [web]") and containers `waiting: ContainerCreating`; its images are
pulled by the image manager (`pulls`: Pulling / Pulled, or ErrImagePull and
ImagePullBackOff for an image that does not exist, ErrImageNeverPull, InvalidImageName);
events Created, Started (component kubelet, host the node, `fieldPath`
`spec.containers{web}`); then phase Running with a pod IP from the node's podCIDR
(`addresses`), complete containerStatuses (normalised image, imageID, containerID,
ready, started, restartCount, `state.running.startedAt`) and Ready/ContainersReady True
once every container is ready.  `status.observedGeneration` and every condition's
`observedGeneration` carry the pod's `metadata.generation`, as the kubelet does since
PodObservedGenerationTracking (GA in 1.35).  Probes (`probes`): readiness, liveness
and startup decided by the annotations `kubecourse.io/readiness|liveness|startup:
fail`.  Containers end, are killed and restart under the restart policy
(`containers`); the last run's log is kept for `kubectl logs --previous`.  Ephemeral
containers (`kubectl debug`) are started in a running pod (`ephemeral`).  A pod being
deleted has its containers stopped (event Killing "Stopping container web") and is then
removed with `finalize_delete` after `timings.pod_termination_delay`, not the whole
grace period.  A node whose Ready condition is not True runs nothing (its kubelet is
down).  Images a Node lists in its `kubecourse.io/loaded-images` annotation are present
on it, as after `kind load docker-image`.

Configuration, read when the containers are created (`podconfig`): a missing
ConfigMap or Secret volume keeps the pod ContainerCreating (Warning FailedMount), a
missing `env` / `envFrom` reference leaves it Pending with `waiting:
CreateContainerConfigError` (Warning Failed "Error: ..."), retried every
`timings.config_retry` and as soon as ConfigMaps or Secrets change.  Each container's
whole environment (`environment.container_env`) is fixed when it is created: its
scripts see it, `$(VAR)` in command and args is expanded from it, `kubectl exec` prints
it.

Init containers (`initcontainers`) run one after another before the app containers,
each on the exec shell; native sidecars keep running beside them.  A container whose
command is a shell script or a program of the simulated shell runs it as a process
(`processes`): its output is its log, its exit code ends it.  Other containers log
what `images.container_log` says and end when `images.finishes` says.

Simplified: no real probes (the rule above decides); a pod's app containers start
together, so one container's image or configuration error holds back the others.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable

from kubecourse.embedded.controllers import (
    addresses,
    containers,
    environment,
    ephemeral,
    initcontainers,
    podconfig,
    podruns,
    podstatus,
    podutil,
    probes,
    pulls,
)
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    parse_time,
)
from kubecourse.embedded.controllers.heartbeat import (
    COMPONENT,
    LEASE_NAMESPACE,
    LEASES,
    Heartbeats,
    parse_micro_time,
    powered_off,
)
from kubecourse.embedded.controllers.podruns import PodProgress
from kubecourse.embedded.controllers.podstatus import names, pod_conditions
from kubecourse.embedded.store import Change
from kubecourse.embedded.system import controlplane

__all__ = ["LEASES", "LEASE_NAMESPACE", "Kubelet", "parse_micro_time", "powered_off"]
READINESS_ANNOTATION = probes.READINESS_ANNOTATION
LOADED_IMAGES_ANNOTATION = pulls.LOADED_IMAGES_ANNOTATION
Waiting = tuple[str, str]  # reason, message


class Kubelet(Controller):
    name = "kubelet"
    watches = ("pods", "nodes", "configmaps", "secrets")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._pods: dict[str, PodProgress] = {}
        self._addresses = addresses.PodAddresses(ctx.store)
        self._image_manager = pulls.ImageManager(ctx, self._container_event)
        self._heartbeats = Heartbeats(ctx)
        ctx.exit_listeners.append(self.enqueue)

    def keys_for(self, change: Change) -> Iterable[Key]:
        """Pod keys are (namespace, name); a node's own heartbeat key is ("", node)."""
        if change.resource == "nodes":
            node = change.obj["metadata"]["name"]
            return [("", node)] + [
                (p["metadata"]["namespace"], p["metadata"]["name"])
                for p in self.store.items("pods")
                if p["spec"].get("nodeName") == node
            ]
        if change.resource in ("configmaps", "secrets"):
            return self._waiting_for_config(
                change.obj["metadata"].get("namespace") or ""
            )
        if change.obj["spec"].get("nodeName") or change.type == "DELETED":
            return super().keys_for(change)
        return []

    def _waiting_for_config(self, namespace: str) -> list[Key]:
        """Pods of the namespace waiting for a ConfigMap or Secret: look again now."""
        keys = []
        for pod in self.store.items("pods", namespace):
            progress = self._pods.get(pod["metadata"]["uid"])
            if progress is not None and progress.retry_at is not None:
                progress.retry_at = None
                keys.append((namespace, pod["metadata"]["name"]))
        return keys

    async def reconcile(self, key: Key) -> float | None:
        if not key[0]:
            return self._heartbeats.beat(key[1])
        pod = self.store.get("pods", *key)
        self._forget_gone(key, pod)
        if (
            pod is None
            or not pod["spec"].get("nodeName")
            or not self._node_running(pod)
        ):
            return None
        progress = self._pods.get(pod["metadata"]["uid"])

        if podutil.is_terminating(pod):
            if controlplane.is_mirror(pod):
                return None  # its static pod runs on; `staticpods` posts a new mirror
            return self._terminate(pod, progress)
        if podutil.is_terminal(pod):
            return None
        if progress is None and (pod.get("status") or {}).get("phase") == "Running":
            progress = self._resume(pod)
        if progress is None or not (pod.get("status") or {}).get("hostIP"):
            return self._accept(pod)
        if progress.started is None:
            return self._start_containers(pod, progress)
        return self._sync_running(pod, progress)

    # -- bookkeeping ------------------------------------------------------------------------

    def _forget_gone(self, key: Key, pod: Obj | None) -> None:
        if pod is not None:
            return
        live = {p["metadata"]["uid"] for p in self.store.items("pods")}
        for uid in [u for u in self._pods if u not in live]:
            self._pods.pop(uid).stop_processes()
        books = (
            self.ctx.logbook,
            self.ctx.previous_logs,
            self.ctx.environ,
            self.ctx.exits,
        )
        for book in books:
            for entry in [k for k in book if k[:2] == key]:
                del book[entry]

    def _resume(self, pod: Obj) -> PodProgress:
        """A pod that was running before the cluster restarted keeps running."""
        started = parse_time(pod["status"].get("startTime"))
        for entry in pod["status"].get("containerStatuses") or []:
            running = (entry.get("state") or {}).get("running") or {}
            started = parse_time(running.get("startedAt")) or started
        moment = started.timestamp() if started else time.time()
        now = time.monotonic()
        progress = PodProgress(
            accepted=now, created=now, started=moment, initialized=True
        )
        self._pods[pod["metadata"]["uid"]] = progress
        for container in pod["spec"]["containers"]:
            try:
                self._configure(pod, container, progress)
            except podconfig.ConfigError:
                progress.env[container["name"]] = {}
            run = containers.run_from_status(pod, container["name"], moment)
            progress.runs[container["name"]] = run
            podruns.launch(self.ctx, pod, container, progress, run.started)
        return progress

    def _node_running(self, pod: Obj) -> bool:
        node = self.store.get("nodes", "", pod["spec"]["nodeName"])
        if node is None or powered_off(node):
            return False
        ready = podutil.condition(node, "Ready")
        return ready is not None and ready.get("status") == "True"

    def _write_status(self, pod: Obj, status: Obj) -> Obj:
        podstatus.observe_generation(pod, status)
        if status == pod.get("status"):
            return pod
        new = copy.deepcopy(pod)
        new["status"] = status
        meta = pod["metadata"]
        return self.api.update(
            self.ctx.rt("pods"),
            meta["namespace"],
            meta["name"],
            new,
            subresource="status",
        )

    def _event(
        self,
        pod: Obj,
        reason: str,
        message: str,
        type_: str = "Normal",
        container: str | None = None,
    ) -> None:
        """An event of the pod, or of one of its containers (`spec.containers{web}`)."""
        self.ctx.record_event(
            pod,
            reason,
            message,
            component=COMPONENT,
            host=pod["spec"]["nodeName"],
            type=type_,
            field_path=container and podstatus.field_path(pod, container),
        )

    def _container_event(self, pod: Obj, event: pulls.Event, container: str) -> None:
        self._event(pod, *event, container=container)

    def _current(self, pod: Obj) -> Obj:
        return (
            self.store.get(
                "pods", pod["metadata"]["namespace"], pod["metadata"]["name"]
            )
            or pod
        )

    # -- stages -----------------------------------------------------------------------------

    def _accept(self, pod: Obj) -> float:
        """The kubelet sees the pod: sandbox being created, images being pulled."""
        progress = PodProgress(accepted=time.monotonic())
        self._pods[pod["metadata"]["uid"]] = progress
        status = copy.deepcopy(pod.get("status") or {})
        host_ip = self._addresses.host_ip(pod)
        status.update(
            {"phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}]}
        )
        status.setdefault("startTime", podutil.iso(time.time() - self._head_start(pod)))
        inits = pod["spec"].get("initContainers") or []
        status["conditions"] = pod_conditions(
            status,
            sandbox=False,
            ready=False,
            unready=names(pod),
            incomplete=[c["name"] for c in inits],
        )
        if inits:
            status["initContainerStatuses"] = [
                podstatus.waiting(c, "PodInitializing") for c in inits
            ]
        waiting = "PodInitializing" if inits else "ContainerCreating"
        status["containerStatuses"] = [
            podstatus.waiting(c, waiting) for c in pod["spec"]["containers"]
        ]
        self._write_status(pod, status)
        if not inits:  # otherwise each image is pulled when its container's turn comes
            self._ensure_images(pod, progress, progress.accepted)
        return self.ctx.timings.container_create_delay

    def _start_containers(self, pod: Obj, progress: PodProgress) -> float | None:
        timings, now = self.ctx.timings, time.monotonic()
        elapsed = now - progress.accepted
        if elapsed < timings.container_create_delay:
            return timings.container_create_delay - elapsed
        if not progress.initialized and pod["spec"].get("initContainers"):
            wait = initcontainers.initialize(self, pod, progress)
            if not progress.initialized:
                return wait
        if progress.created is None:
            wait = self._create(pod, progress, now)
            if progress.created is None:
                return wait
        start_at = progress.created + timings.container_start_delay
        if now < start_at:
            return start_at - now

        progress.started = time.time() - self._head_start(pod)
        self._start_running(pod, progress)
        for container in pod["spec"]["containers"]:
            name = container["name"]
            self._event(pod, "Started", f"Started container {name}", container=name)
        return self._sync_running(self._current(pod), progress)

    def _head_start(self, pod: Obj) -> float:
        """How long a pod's containers ran before it appeared: only a static pod, first
        posted as a mirror pod, has any (`controlplane.STARTED_BEFORE_MIRROR`)."""
        return (
            controlplane.STARTED_BEFORE_MIRROR if controlplane.is_mirror(pod) else 0.0
        )

    def _create(self, pod: Obj, progress: PodProgress, now: float) -> float | None:
        """Volumes, then images, then configuration, in the kubelet's order; while any
        is missing `progress.created` stays None and this says when to look again."""
        retry = self.ctx.timings.config_retry
        if progress.retry_at is not None and now < progress.retry_at:
            return progress.retry_at - now
        if not self._mount_volumes(pod):
            progress.retry_at = now + retry
            return retry
        waiting, wait = self._ensure_images(pod, progress, now)
        if waiting:
            self._not_created(pod, waiting)
            return wait
        if not self._create_containers(pod, progress):
            progress.retry_at = now + retry
            return retry
        progress.retry_at, progress.created = None, now
        return None

    def _mount_volumes(self, pod: Obj) -> bool:
        problem = podconfig.volume_error(self.store, pod)
        if problem is None:
            return True
        volume, message = problem
        self._event(
            pod,
            "FailedMount",
            f'MountVolume.SetUp failed for volume "{volume}" : {message}',
            "Warning",
        )
        return False

    def _ensure_images(
        self, pod: Obj, progress: PodProgress, now: float
    ) -> tuple[dict[str, Waiting], float | None]:
        """Each container's image through the image manager: the containers still
        waiting for theirs, and when to look again."""
        waiting: dict[str, Waiting] = {}
        waits: list[float] = []
        for container in pod["spec"]["containers"]:
            out = self._image_manager.ensure(pod, container, progress.pulls, now)
            if not out.ready:
                reason, message = out.waiting or ("ContainerCreating", "")
                if reason == "ContainerCreating":
                    reason = _creating(pod)
                waiting[container["name"]] = (reason, message)
            if out.wait is not None:
                waits.append(out.wait)
        return waiting, (min(waits) + 0.01 if waits else None)

    def _create_containers(self, pod: Obj, progress: PodProgress) -> bool:
        """Read each container's configuration, create; False while any cannot be."""
        failures: dict[str, Waiting] = {}
        for container in pod["spec"]["containers"]:
            try:
                self._configure(pod, container, progress)
            except podconfig.ConfigError as err:
                name = container["name"]
                failures[name] = ("CreateContainerConfigError", str(err))
                self._event(pod, "Failed", f"Error: {err}", "Warning", container=name)
        if failures:
            self._not_created(pod, failures)
            return False
        for container in pod["spec"]["containers"]:
            name = container["name"]
            self._event(pod, "Created", f"Created container: {name}", container=name)
        return True

    def _configure(self, pod: Obj, container: Obj, progress: PodProgress) -> None:
        """The container's environment, fixed at creation as a real kubelet fixes it:
        what its scripts see and what `kubectl exec env` prints."""
        meta = pod["metadata"]
        env = environment.container_env(self.store, pod, container)
        self.ctx.environ[(meta["namespace"], meta["name"], container["name"])] = env
        progress.env[container["name"]] = dict(env)

    def _not_created(self, pod: Obj, waiting: dict[str, Waiting]) -> None:
        """The sandbox is up (the pod has its IP); the named containers wait."""
        status = copy.deepcopy(self._current(pod)["status"])
        if not status.get("podIP"):
            ip = self._addresses.allocate(pod)
            status.update({"podIP": ip, "podIPs": [{"ip": ip}]})
        status["containerStatuses"] = [
            podstatus.waiting(c, *_reason(waiting.get(c["name"])))
            for c in pod["spec"]["containers"]
        ]
        status["conditions"] = pod_conditions(
            status, sandbox=True, ready=False, unready=names(pod)
        )
        self._write_status(self._current(pod), status)

    def _start_running(self, pod: Obj, progress: PodProgress) -> None:
        started = progress.started
        assert started is not None
        current = self._current(pod)
        status = copy.deepcopy(current["status"])
        ip = status.get("podIP") or self._addresses.allocate(pod)
        status.update({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})
        status["containerStatuses"] = [
            podstatus.running(pod, c, started, ready=False)
            for c in pod["spec"]["containers"]
        ]
        status["conditions"] = pod_conditions(
            status, sandbox=True, ready=False, unready=names(pod)
        )
        self._write_status(current, status)
        for container in pod["spec"]["containers"]:
            progress.runs[container["name"]] = containers.Run(started=started)
            podruns.launch(self.ctx, pod, container, progress, started)

    def _sync_running(self, pod: Obj, progress: PodProgress) -> float | None:
        """Readiness, finished commands and restarts of a running pod; when to look again."""
        now = time.time()
        status = copy.deepcopy(pod["status"])
        waits: list[float] = []
        statuses = []
        for container in pod["spec"]["containers"]:
            entry, wait = self._container_now(pod, container, progress, now)
            statuses.append(entry)
            if wait is not None:
                waits.append(wait)
        status["containerStatuses"] = statuses
        unready, sidecar_waits = initcontainers.sidecar_statuses(
            self, pod, progress, status
        )
        waits += sidecar_waits
        if self._settle_phase(pod, status, unready):
            progress.stop_processes()  # the sidecars are stopped with the Pod
            initcontainers.stop_sidecars(pod, progress, status, now)
            waits = []
        self._report_unhealthy(pod, progress)
        wait = ephemeral.sync(self._debuggers(pod, progress), status, now)
        if wait is not None:
            waits.append(wait)
        self._write_status(pod, status)
        return min(waits) + 0.01 if waits else None

    def _container_now(
        self, pod: Obj, container: Obj, progress: PodProgress, now: float
    ) -> tuple[Obj, float | None]:
        assert progress.started is not None
        name = container["name"]
        run = progress.runs.setdefault(name, containers.Run(started=progress.started))
        replacing = self._replace_image(pod, container, progress, run, now)
        if replacing is not None:
            return replacing
        env = {"HOSTNAME": pod["metadata"]["name"], **progress.env.get(name, {})}
        return self._advance(
            pod,
            container,
            progress,
            podconfig.expanded(container, env),
            now,
            restart=str(pod["spec"].get("restartPolicy") or "Always"),
            ready_after=probes.ready_after(pod, container),
            killer=probes.killer(pod, container),
        )

    def _advance(
        self,
        pod: Obj,
        container: Obj,
        progress: PodProgress,
        runnable: Obj,
        now: float,
        *,
        restart: str,
        ready_after: float | None,
        killer: probes.Killer | None,
    ) -> tuple[Obj, float | None]:
        """One step of a container's run, app or init: its status, the events it
        brings, a relaunch after a restart."""
        name, meta, timings = container["name"], pod["metadata"], self.ctx.timings
        run = progress.runs[name]
        policy = containers.Policy(
            restart=restart,
            ready_after=ready_after,
            started_after=probes.started_after(pod, container),
            killer=killer,
            backoff=(
                timings.container_restart_backoff,
                timings.container_restart_backoff_max,
            ),
            exited=self.ctx.exits.get((meta["namespace"], meta["name"], name)),
            runs_process=name in progress.processes,
        )
        step = containers.advance(pod, runnable, run, now, policy)
        for reason, message, type_ in step.events:
            self._event(pod, reason, message, type_, container=name)
        if step.restarted:
            podruns.relaunch(self.ctx, pod, container, progress, run)
        progress.stop_ended(name, step.status)
        return step.status, step.wait

    def _replace_image(
        self,
        pod: Obj,
        container: Obj,
        progress: PodProgress,
        run: containers.Run,
        now: float,
    ) -> tuple[Obj, float | None] | None:
        """A running container whose image changed (`kubectl set image pod/...`): the
        kubelet kills it, pulls the new image and starts it (restartCount + 1)."""
        name = container["name"]
        if name not in progress.replacing:
            pull = progress.pulls.get(name)
            if pull is None or pull.image == container.get("image"):
                return None
            message = f"Container {name} definition changed, will be restarted"
            self._event(pod, "Killing", message, container=name)
            containers.stopped(pod, container, run, now, probes.KILLED_EXIT_CODE)
            progress.replacing.add(name)
            progress.stop_processes_of(name)
        out = self._image_manager.ensure(
            pod, container, progress.pulls, time.monotonic()
        )
        if not out.ready:
            reason, text = out.waiting or ("ContainerCreating", "")
            entry = podstatus.waiting(
                container, reason, text or None, restarts=run.restarts, last=run.last
            )
            return entry, out.wait
        progress.replacing.discard(name)
        run.started = now
        for event in containers.restart_events(container)[-2:]:  # Created, Started
            self._event(pod, *event, container=name)
        podruns.relaunch(self.ctx, pod, container, progress, run)
        return None

    def _settle_phase(self, pod: Obj, status: Obj, sidecars: list[str]) -> bool:
        """The phase and conditions from the containers' states; True once the Pod
        has completed.  `sidecars`: the sidecars that are not ready."""
        states = [s["state"] for s in status["containerStatuses"]]
        unready = sidecars + [
            s["name"] for s in status["containerStatuses"] if not s["ready"]
        ]
        if states and all("terminated" in s for s in states):
            failed = any(s["terminated"]["exitCode"] != 0 for s in states)
            status["phase"] = "Failed" if failed else "Succeeded"
            status["conditions"] = pod_conditions(
                status, sandbox=False, ready=False, unready=[], completed=True
            )
            return True
        ready = not unready and podstatus.gates_pass(pod, status)
        status["conditions"] = pod_conditions(
            status, sandbox=True, ready=ready, unready=unready
        )
        return False

    def _report_unhealthy(self, pod: Obj, progress: PodProgress) -> None:
        probed = [c for c in pod["spec"]["containers"] if c.get("readinessProbe")]
        failing = bool(probed) and probes.fails(pod, probes.READINESS_ANNOTATION)
        if failing and not progress.unhealthy_reported:
            self._event(
                pod,
                "Unhealthy",
                "Readiness probe failed: " + probes.readiness_failure(pod),
                "Warning",
                container=probed[0]["name"],
            )
        progress.unhealthy_reported = failing

    def _debuggers(self, pod: Obj, progress: PodProgress) -> ephemeral.Debuggers:
        """The pod's ephemeral containers, as the `ephemeral` module runs them."""
        return ephemeral.Debuggers(
            pod=pod,
            book=progress.ephemeral,
            pull=lambda container, now: self._image_manager.ensure(
                pod, container, progress.pulls, now
            ),
            event=lambda *args: self._event(pod, *args),
            exits=self.ctx.exits,
            configure=lambda container: self._configure(pod, container, progress),
            log=lambda container, started: podruns.write_log(
                self.ctx, pod, container, progress, started
            ),
        )

    def _terminate(self, pod: Obj, progress: PodProgress | None) -> float | None:
        if progress is None:
            progress = self._pods.setdefault(
                pod["metadata"]["uid"], PodProgress(accepted=time.monotonic())
            )
        if progress.stopping is None:
            progress.stopping = time.monotonic()
            progress.stop_processes()
            self._stop_containers(pod)
        left = (
            progress.stopping
            + self.ctx.timings.pod_termination_delay
            - time.monotonic()
        )
        if left > 0:
            return left
        meta = pod["metadata"]
        self.api.finalize_delete(self.ctx.rt("pods"), meta["namespace"], meta["name"])
        return None

    def _stop_containers(self, pod: Obj) -> None:
        status = copy.deepcopy(pod.get("status") or {})
        for entry in status.get("containerStatuses") or []:
            if "running" in entry.get("state", {}):
                name = entry["name"]
                self._event(
                    pod, "Killing", f"Stopping container {name}", container=name
                )
            entry["ready"] = False
        if status.get("conditions"):
            status["conditions"] = pod_conditions(
                status, sandbox=True, ready=False, unready=names(pod)
            )
        self._write_status(pod, status)


def _creating(pod: Obj) -> str:
    """What an app container waits in while it is made: after init containers the
    kubelet reports PodInitializing (`kubectl get` shows it), else ContainerCreating."""
    return (
        "PodInitializing" if pod["spec"].get("initContainers") else "ContainerCreating"
    )


def _reason(waiting: Waiting | None) -> tuple[str, str | None]:
    reason, message = waiting or ("ContainerCreating", "")
    return reason, message or None
