"""Every node's kubelet, simulated: pods bound to a node start, run, become ready, stop.

Faithful, as a kubelet reports it: a newly bound pod gets `hostIP`/`hostIPs`,
`startTime`, conditions PodReadyToStartContainers=False, Initialized=True,
ContainersReady=False and Ready=False (reason ContainersNotReady, "containers with
unready status: [web]") and containers `waiting: ContainerCreating`; events Pulling /
Pulled (or "already present on machine" for an IfNotPresent image the node has),
Created, Started (component kubelet, host the node); then phase Running with a pod IP
from the node's podCIDR (sequential like the host-local IPAM kind uses: from .2, after
the last one handed out, wrapping round to reuse released addresses; never .0, .1 - the
gateway - or .255; hostNetwork pods get the node's IP), complete containerStatuses
(normalised image, imageID, containerID, ready, started, restartCount,
`state.running.startedAt`) and Ready/ContainersReady True once every container is
ready.  A readinessProbe passes after `initialDelaySeconds` unless the pod carries the
annotation `kubecourse.io/readiness: fail` (then Ready stays False and an Unhealthy
event is recorded); the annotation can be changed on a running pod.  A pod being
deleted has its containers stopped (event Killing "Stopping container web") and is then
removed with `finalize_delete` after `timings.pod_termination_delay`, not the whole grace
period.  A node whose Ready condition is not True runs nothing (its kubelet is down).

Configuration, read when the containers are created (`podconfig`): a configMap, secret
or projected volume whose ConfigMap or Secret is missing keeps the pod
ContainerCreating with the Warning FailedMount `MountVolume.SetUp failed for volume
"cfg" : configmap "cfg" not found`; an `env` / `envFrom` reference to a missing
ConfigMap, Secret or key gives the pod its IP (the sandbox exists) but leaves it
Pending with the container `waiting: CreateContainerConfigError` (`configmap "cfg" not
found`) and the Warning Failed "Error: ...", retried every `timings.config_retry` and as
soon as ConfigMaps or Secrets change; `optional: true` references are skipped.  The
resolved environment is what shell scripts see (`echo $GREETING`), and `$(VAR)` in
command and args is expanded as the kubelet expands it.

Heartbeats and power are in `heartbeat`; container restarts under restartPolicy
OnFailure (CrashLoopBackOff) in `containers`.  Each container's whole environment
(`environment.container_env`, Service variables included) is fixed when it is created:
its scripts see it and `kubectl exec` prints it.  A container whose attached shell
left with `exit` ends with that code under restartPolicy Never (or OnFailure and 0).

Simplified: no real probes (the rule above decides), no liveness restarts; a pod's
containers start together, so one container's configuration error holds back the
others.  Init containers are reported completed at once.  Logs are
`images.container_log`.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from kubecourse.embedded.controllers import (
    containers,
    environment,
    images,
    podconfig,
    podstatus,
    podutil,
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
from kubecourse.embedded.controllers.podstatus import names, pod_conditions
from kubecourse.embedded.store import Change
from kubecourse.embedded.system import PRELOADED_IMAGES, controlplane

__all__ = ["LEASES", "LEASE_NAMESPACE", "Kubelet", "parse_micro_time", "powered_off"]
READINESS_ANNOTATION = podstatus.READINESS_ANNOTATION


@dataclass
class PodProgress:
    """What the kubelet remembers of a pod it runs (lost on restart, rebuilt from status)."""

    accepted: float
    pulled: bool = False
    started: float | None = None
    stopping: float | None = None
    unhealthy_reported: bool = False
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    runs: dict[str, containers.Run] = field(default_factory=dict)
    retry_at: float | None = None  # a missing ConfigMap or Secret: when to look again


class Kubelet(Controller):
    name = "kubelet"
    watches = ("pods", "nodes", "configmaps", "secrets")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._pods: dict[str, PodProgress] = {}
        self._images: dict[str, set[str]] = {}
        self._last_ip: dict[str, int] = {}
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
            del self._pods[uid]
        for book in (self.ctx.logbook, self.ctx.environ, self.ctx.exits):
            for entry in [k for k in book if k[:2] == key]:
                del book[entry]

    def _resume(self, pod: Obj) -> PodProgress:
        """A pod that was running before the cluster restarted keeps running."""
        started = parse_time(pod["status"].get("startTime"))
        for entry in pod["status"].get("containerStatuses") or []:
            running = (entry.get("state") or {}).get("running") or {}
            started = parse_time(running.get("startedAt")) or started
        moment = started.timestamp() if started else time.time()
        progress = PodProgress(accepted=time.monotonic(), pulled=True, started=moment)
        self._pods[pod["metadata"]["uid"]] = progress
        for container in pod["spec"]["containers"]:
            try:
                self._configure(pod, container, progress)
            except podconfig.ConfigError:
                progress.env[container["name"]] = {}
            run = _run_from_status(pod, container["name"], moment)
            progress.runs[container["name"]] = run
            self._write_log(pod, container, progress, run.started)
        return progress

    def _node(self, pod: Obj) -> Obj | None:
        return self.store.get("nodes", "", pod["spec"]["nodeName"])

    def _node_running(self, pod: Obj) -> bool:
        node = self._node(pod)
        if node is None or powered_off(node):
            return False
        ready = podutil.condition(node, "Ready")
        return ready is not None and ready.get("status") == "True"

    def _write_status(self, pod: Obj, status: Obj) -> Obj:
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
        self, pod: Obj, reason: str, message: str, type_: str = "Normal"
    ) -> None:
        host = pod["spec"]["nodeName"]
        self.ctx.record_event(
            pod, reason, message, component=COMPONENT, host=host, type=type_
        )

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
        self._pods[pod["metadata"]["uid"]] = PodProgress(accepted=time.monotonic())
        status = copy.deepcopy(pod.get("status") or {})
        host_ip = self._host_ip(pod)
        status.update(
            {"phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}]}
        )
        status.setdefault("startTime", podutil.iso())
        status["conditions"] = pod_conditions(
            status, sandbox=False, ready=False, unready=names(pod)
        )
        if pod["spec"].get("initContainers"):
            status["initContainerStatuses"] = [
                podstatus.waiting(c, "PodInitializing")
                for c in pod["spec"]["initContainers"]
            ]
        status["containerStatuses"] = [
            podstatus.waiting(c, "ContainerCreating") for c in pod["spec"]["containers"]
        ]
        self._write_status(pod, status)
        for container in pod["spec"]["containers"]:
            if self._needs_pull(pod, container):
                self._event(pod, "Pulling", f'Pulling image "{container["image"]}"')
        return self.ctx.timings.container_create_delay

    def _start_containers(self, pod: Obj, progress: PodProgress) -> float | None:
        timings = self.ctx.timings
        elapsed = time.monotonic() - progress.accepted
        if elapsed < timings.container_create_delay:
            return timings.container_create_delay - elapsed
        if not progress.pulled:
            now = time.monotonic()
            if progress.retry_at is not None and now < progress.retry_at:
                return progress.retry_at - now
            progress.pulled = self._mount_volumes(pod) and self._create_containers(
                pod, progress, elapsed
            )
            if not progress.pulled:
                progress.retry_at = now + timings.config_retry
                return timings.config_retry
            progress.retry_at = None
        if elapsed < timings.container_create_delay + timings.container_start_delay:
            return (
                timings.container_create_delay + timings.container_start_delay - elapsed
            )

        progress.started = time.time()
        self._start_running(pod, progress)
        for container in pod["spec"]["containers"]:
            self._event(pod, "Started", f"Started container {container['name']}")
        return self._sync_running(self._current(pod), progress)

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

    def _create_containers(
        self, pod: Obj, progress: PodProgress, elapsed: float
    ) -> bool:
        """Pull, read each container's configuration, create; False while any cannot be."""
        failures: dict[str, str] = {}
        for container in pod["spec"]["containers"]:
            self._pulled(pod, container, elapsed)
            try:
                self._configure(pod, container, progress)
            except podconfig.ConfigError as err:
                failures[container["name"]] = str(err)
                self._event(pod, "Failed", f"Error: {err}", "Warning")
        if failures:
            self._config_error(pod, failures)
            return False
        for container in pod["spec"]["containers"]:
            self._event(pod, "Created", f"Created container: {container['name']}")
        return True

    def _configure(self, pod: Obj, container: Obj, progress: PodProgress) -> None:
        """The container's environment, fixed at creation as a real kubelet fixes it:
        what its scripts see and what `kubectl exec env` prints."""
        meta = pod["metadata"]
        env = environment.container_env(self.store, pod, container)
        self.ctx.environ[(meta["namespace"], meta["name"], container["name"])] = env
        progress.env[container["name"]] = dict(env)

    def _config_error(self, pod: Obj, failures: dict[str, str]) -> None:
        """The sandbox is up (the pod has its IP); the named containers cannot be made."""
        status = copy.deepcopy(pod["status"])
        if not status.get("podIP"):
            ip = self._allocate_ip(pod)
            status.update({"podIP": ip, "podIPs": [{"ip": ip}]})
        status["containerStatuses"] = [
            podstatus.waiting(c, "CreateContainerConfigError", failures[c["name"]])
            if c["name"] in failures
            else podstatus.waiting(c, "ContainerCreating")
            for c in pod["spec"]["containers"]
        ]
        status["conditions"] = pod_conditions(
            status, sandbox=True, ready=False, unready=names(pod)
        )
        self._write_status(pod, status)

    def _start_running(self, pod: Obj, progress: PodProgress) -> None:
        started = progress.started
        assert started is not None
        current = self._current(pod)
        status = copy.deepcopy(current["status"])
        ip = status.get("podIP") or self._allocate_ip(pod)
        status.update({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})
        if pod["spec"].get("initContainers"):
            status["initContainerStatuses"] = [
                podstatus.completed(pod, c, started)
                for c in pod["spec"]["initContainers"]
            ]
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
            self._write_log(pod, container, progress, started)

    def _write_log(
        self, pod: Obj, container: Obj, progress: PodProgress, started: float
    ) -> None:
        meta = pod["metadata"]
        env = {"HOSTNAME": meta["name"], **progress.env.get(container["name"], {})}
        runnable = podconfig.expanded(container, env)
        log = images.container_log(runnable, meta["name"], started, env)
        self.ctx.logbook[(meta["namespace"], meta["name"], container["name"])] = log

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
        self._settle_phase(pod, status)
        self._report_unhealthy(pod, progress)
        self._write_status(pod, status)
        return min(waits) + 0.01 if waits else None

    def _container_now(
        self, pod: Obj, container: Obj, progress: PodProgress, now: float
    ) -> tuple[Obj, float | None]:
        assert progress.started is not None
        run = progress.runs.setdefault(
            container["name"], containers.Run(started=progress.started)
        )
        exited = self._exited(pod, container)
        if exited is not None:
            ended, code = exited
            status = podstatus.terminated(
                pod, container, run.started, ended, code, restarts=run.restarts, last=run.last
            )
            return status, None
        env = {
            "HOSTNAME": pod["metadata"]["name"],
            **progress.env.get(container["name"], {}),
        }
        timings = self.ctx.timings
        step = containers.advance(
            pod,
            podconfig.expanded(container, env),
            run,
            now,
            ready_after=self._ready_after(pod, container),
            backoff=(
                timings.container_restart_backoff,
                timings.container_restart_backoff_max,
            ),
        )
        for reason, message, type_ in step.events:
            self._event(pod, reason, message, type_)
        if step.restarted:
            self._write_log(pod, container, progress, run.started)
        return step.status, step.wait

    def _exited(self, pod: Obj, container: Obj) -> tuple[float, int] | None:
        """(when, code) if the container's process ended from outside its script (an
        attached shell left with `exit`) and its restart policy keeps it ended.

        Simplified: under restartPolicy Always (or OnFailure after a failure) a real
        kubelet restarts such a container; here it stays Running."""
        meta = pod["metadata"]
        exited = self.ctx.exits.get((meta["namespace"], meta["name"], container["name"]))
        policy = pod["spec"].get("restartPolicy")
        if exited is None or policy == "Always" or (policy == "OnFailure" and exited[1]):
            return None
        return exited

    def _ready_after(self, pod: Obj, container: Obj) -> float | None:
        probe = container.get("readinessProbe")
        if probe is None:
            return 0.0
        if podstatus.probe_fails(pod):
            return None
        return float(probe.get("initialDelaySeconds") or 0)

    def _settle_phase(self, pod: Obj, status: Obj) -> None:
        states = [s["state"] for s in status["containerStatuses"]]
        unready = [s["name"] for s in status["containerStatuses"] if not s["ready"]]
        if states and all("terminated" in s for s in states):
            failed = any(s["terminated"]["exitCode"] != 0 for s in states)
            status["phase"] = "Failed" if failed else "Succeeded"
            status["conditions"] = pod_conditions(
                status, sandbox=False, ready=False, unready=[], completed=True
            )
            return
        ready = not unready and podstatus.gates_pass(pod, status)
        status["conditions"] = pod_conditions(
            status, sandbox=True, ready=ready, unready=unready
        )

    def _report_unhealthy(self, pod: Obj, progress: PodProgress) -> None:
        failing = podstatus.probe_fails(pod) and any(
            c.get("readinessProbe") for c in pod["spec"]["containers"]
        )
        if failing and not progress.unhealthy_reported:
            self._event(
                pod,
                "Unhealthy",
                "Readiness probe failed: " + podstatus.probe_failure(pod),
                "Warning",
            )
        progress.unhealthy_reported = failing

    def _terminate(self, pod: Obj, progress: PodProgress | None) -> float | None:
        if progress is None:
            progress = self._pods.setdefault(
                pod["metadata"]["uid"], PodProgress(accepted=time.monotonic())
            )
        if progress.stopping is None:
            progress.stopping = time.monotonic()
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
                self._event(pod, "Killing", f"Stopping container {entry['name']}")
            entry["ready"] = False
        if status.get("conditions"):
            status["conditions"] = pod_conditions(
                status, sandbox=True, ready=False, unready=names(pod)
            )
        self._write_status(pod, status)

    # -- images and IPs -------------------------------------------------------------------

    def _node_images(self, node: str) -> set[str]:
        """What the node's containerd holds: kind's preloaded images, then pulls."""
        return self._images.setdefault(node, {images.normalise(i) for i in PRELOADED_IMAGES})

    def _needs_pull(self, pod: Obj, container: Obj) -> bool:
        have = self._node_images(pod["spec"]["nodeName"])
        policy = container.get("imagePullPolicy", "IfNotPresent")
        return policy == "Always" or (
            policy == "IfNotPresent"
            and images.normalise(container["image"]) not in have
        )

    def _pulled(self, pod: Obj, container: Obj, elapsed: float) -> None:
        image = container["image"]
        if not self._needs_pull(pod, container):
            self._event(
                pod, "Pulled", f'Container image "{image}" already present on machine'
            )
            return
        self._node_images(pod["spec"]["nodeName"]).add(images.normalise(image))
        took = f"{int(elapsed * 1000)}ms"
        size = 10_000_000 + int(hashlib.sha256(image.encode()).hexdigest()[:6], 16) * 4
        message = f'Successfully pulled image "{image}" in {took} ({took} including waiting). Image size: {size} bytes.'
        self._event(pod, "Pulled", message)

    def _host_ip(self, pod: Obj) -> str:
        node = self._node(pod) or {}
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return str(address["address"])
        return ""

    def _allocate_ip(self, pod: Obj) -> str:
        """The next free address after the last one given out on this node."""
        if pod["spec"].get("hostNetwork"):
            return self._host_ip(pod)
        node_name = pod["spec"]["nodeName"]
        network = ipaddress.ip_network(_pod_cidr(self._node(pod) or {}), strict=False)
        used = {
            p["status"]["podIP"]
            for p in self.store.items("pods")
            if p["spec"].get("nodeName") == node_name
            and (p.get("status") or {}).get("podIP")
        }
        hosts = [str(ip) for ip in network.hosts()][1:]  # .1 is the gateway
        start = self._last_ip.get(node_name, self._highest(hosts, used))
        for offset in range(1, len(hosts) + 1):
            index = (start + offset) % len(hosts)
            if hosts[index] not in used:
                self._last_ip[node_name] = index
                return hosts[index]
        raise RuntimeError(f"no free pod IP left on {node_name}")

    def _highest(self, hosts: list[str], used: set[str]) -> int:
        taken = [i for i, ip in enumerate(hosts) if ip in used]
        return max(taken) if taken else -1


def _run_from_status(pod: Obj, name: str, started: float) -> containers.Run:
    """A container's current run as its status reports it (restarts, last state)."""
    for entry in pod["status"].get("containerStatuses") or []:
        if entry.get("name") != name:
            continue
        running = parse_time(
            ((entry.get("state") or {}).get("running") or {}).get("startedAt")
        )
        return containers.Run(
            started=running.timestamp() if running else started,
            restarts=int(entry.get("restartCount") or 0),
            last=entry.get("lastState") or None,
        )
    return containers.Run(started=started)


def _pod_cidr(node: Obj) -> str:
    spec = node.get("spec") or {}
    cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    return str(cidrs[0]) if cidrs else "10.244.0.0/24"
