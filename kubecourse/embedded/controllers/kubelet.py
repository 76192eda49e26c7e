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

Heartbeats and power: the kubelet of each powered-on node renews the Lease
`kube-node-lease/<node>` (holderIdentity the node, leaseDurationSeconds 40, renewTime in
MicroTime) every `timings.node_lease_renew` (at most a quarter of the grace period), and refreshes the conditions'
`lastHeartbeatTime` every `timings.node_status_update` (upstream's 5 min status report
period; the Lease is the frequent heartbeat).  The annotation `kubecourse.io/power: "off"`
on a Node is the extra that powers it off: its kubelet stops renewing the Lease, posting
node status and reporting its pods (they stay as they are in the API, as on a lost node),
so the node lifecycle controller declares it NotReady after the grace period.  `"on"` (or
removing the annotation) powers it on: heartbeats resume, a Ready condition the node
controller had set to Unknown is set back to True (event NodeReady), and the pods are
synced again (a pod deleted meanwhile is finalized).  Simplified: the containers are not
restarted by a power cycle (as if the node had only been cut off).

Simplified: no real probes (the rule above decides), no liveness restarts or
CrashLoopBackOff; a container whose shell command ends by itself (see `images`) stops
with its exit code only under restartPolicy Never or OnFailure (the pod becomes
Succeeded or Failed, OnFailure does not retry); under Always it is shown Running.  Init
containers are reported completed at once.  Logs are `images.container_log`; each
container's environment (`environment.container_env`) is fixed when it starts, for
`kubectl exec`.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from kubecourse.embedded.controllers import environment, images, podutil
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    parse_time,
    set_condition,
)
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

COMPONENT = "kubelet"
READINESS_ANNOTATION = "kubecourse.io/readiness"
POWER_ANNOTATION = "kubecourse.io/power"
LEASE_NAMESPACE = "kube-node-lease"
LEASES = "leases.coordination.k8s.io"
LEASE_DURATION_SECONDS = 40
HEALTHY_CONDITIONS = {
    "MemoryPressure": ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
}
CONDITION_ORDER = (
    "PodReadyToStartContainers",
    "Initialized",
    "Ready",
    "ContainersReady",
    "PodScheduled",
)


@dataclass
class PodProgress:
    """What the kubelet remembers of a pod it runs (lost on restart, rebuilt from status)."""

    accepted: float
    pulled: bool = False
    started: float | None = None
    stopping: float | None = None
    unhealthy_reported: bool = False


class Kubelet(Controller):
    name = "kubelet"
    watches = ("pods", "nodes")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._pods: dict[str, PodProgress] = {}
        self._images: dict[str, set[str]] = {}
        self._last_ip: dict[str, int] = {}
        self._beat_due: dict[str, float] = {}
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
        if change.obj["spec"].get("nodeName") or change.type == "DELETED":
            return super().keys_for(change)
        return []

    async def reconcile(self, key: Key) -> float | None:
        if not key[0]:
            return self._heartbeat(key[1])
        pod = self.store.get("pods", *key)
        self._forget_gone(key, pod)
        if (
            pod is None
            or not pod["spec"].get("nodeName")
            or not self._node_running(pod)
        ):
            return None
        uid = pod["metadata"]["uid"]
        progress = self._pods.get(uid)

        if podutil.is_terminating(pod):
            return self._terminate(pod, progress)
        if podutil.is_terminal(pod):
            return None
        if progress is None and (pod.get("status") or {}).get("podIP"):
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
        for log_key in [k for k in self.ctx.logbook if k[:2] == key]:
            del self.ctx.logbook[log_key]
        for env_key in [k for k in self.ctx.environ if k[:2] == key]:
            del self.ctx.environ[env_key]
        for exit_key in [k for k in self.ctx.exits if k[:2] == key]:
            del self.ctx.exits[exit_key]

    def _resume(self, pod: Obj) -> PodProgress:
        """A pod that was running before the cluster restarted keeps running."""
        started = parse_time(pod["status"].get("startTime"))
        for entry in pod["status"].get("containerStatuses") or []:
            running = (entry.get("state") or {}).get("running") or {}
            started = parse_time(running.get("startedAt")) or started
        moment = started.timestamp() if started else time.time()
        progress = PodProgress(accepted=time.monotonic(), pulled=True, started=moment)
        self._pods[pod["metadata"]["uid"]] = progress
        meta = pod["metadata"]
        for container in pod["spec"]["containers"]:
            log = images.container_log(container, meta["name"], moment)
            self.ctx.logbook[(meta["namespace"], meta["name"], container["name"])] = log
        self._set_environment(pod)
        return progress

    def _node(self, pod: Obj) -> Obj | None:
        return self.store.get("nodes", "", pod["spec"]["nodeName"])

    def _node_running(self, pod: Obj) -> bool:
        node = self._node(pod)
        if node is None or powered_off(node):
            return False
        ready = podutil.condition(node, "Ready")
        return ready is not None and ready.get("status") == "True"

    # -- the node's heartbeats ---------------------------------------------------------------

    def _heartbeat(self, name: str) -> float | None:
        """Renew the node's Lease and refresh its status when due; when to look again."""
        node = self.store.get("nodes", "", name)
        if node is None or powered_off(node):
            self._beat_due.pop(name, None)
            return None
        timings = self.ctx.timings
        lease_age = self._renew_lease(node)
        status_age = self._post_status(node)
        wait = max(
            min(self._renew_interval() - lease_age, timings.node_status_update - status_age),
            0.05,
        )
        # Node writes enqueue this key again: keep one timer per node, not one per write.
        now = time.monotonic()
        due = self._beat_due.get(name)
        if due is not None and now < due <= now + wait + 0.001:
            return None
        self._beat_due[name] = now + wait
        return wait

    def _renew_lease(self, node: Obj) -> float:
        """Seconds since the Lease was renewed (0 when renewed now)."""
        leases = self.ctx.rt(LEASES)
        name = node["metadata"]["name"]
        lease = self.store.get(LEASES, LEASE_NAMESPACE, name)
        if lease is not None:
            renewed = parse_micro_time((lease.get("spec") or {}).get("renewTime"))
            age = time.time() - renewed if renewed is not None else float("inf")
            if 0 <= age < self._renew_interval():
                return age
            new = copy.deepcopy(lease)
            new.setdefault("spec", {}).update(self._lease_spec(name))
            self.api.update(leases, LEASE_NAMESPACE, name, new)
            return 0.0
        body: Obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": name,
                "namespace": LEASE_NAMESPACE,
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
                ],
            },
            "spec": self._lease_spec(name),
        }
        try:
            self.api.create(leases, LEASE_NAMESPACE, body)
        except StatusError as err:
            if err.code != 409:
                raise
        return 0.0

    def _renew_interval(self) -> float:
        """`node_lease_renew`, but at most a quarter of the grace period, so that a lesson
        shortening the grace period alone does not make healthy nodes flap."""
        timings = self.ctx.timings
        return min(timings.node_lease_renew, timings.node_monitor_grace_period / 4)

    def _lease_spec(self, name: str) -> Obj:
        return {
            "holderIdentity": name,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "renewTime": micro_time(),
        }

    def _post_status(self, node: Obj) -> float:
        """Refresh `lastHeartbeatTime` when due, and bring back a Ready condition the node
        controller set to Unknown; seconds since the last post (0 when posted now)."""
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        beat = parse_time(ready.get("lastHeartbeatTime")) if ready else None
        age = time.time() - beat.timestamp() if beat is not None else float("inf")
        recovering = ready is None or ready.get("status") == "Unknown"
        if not recovering and 0 <= age < self.ctx.timings.node_status_update:
            return age
        new = copy.deepcopy(node)
        posted = new.setdefault("status", {}).setdefault("conditions", [])
        stamp = podutil.iso()
        for type_, (status_, reason, message) in HEALTHY_CONDITIONS.items():
            current = next((c for c in posted if c.get("type") == type_), None)
            if current is None:
                current = {"type": type_, "status": status_, "lastTransitionTime": stamp}
                posted.append(current)
            if recovering and current.get("status") == "Unknown":
                current.update(status=status_, reason=reason, message=message, lastTransitionTime=stamp)
        for current in posted:
            current["lastHeartbeatTime"] = stamp
        self.api.update(
            self.ctx.rt("nodes"), None, node["metadata"]["name"], new, subresource="status"
        )
        if recovering:
            name = node["metadata"]["name"]
            self.ctx.record_event(
                new, "NodeReady", f"Node {name} status is now: NodeReady", component=COMPONENT, host=name
            )
        return 0.0

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
            status, sandbox=False, ready=False, unready=_names(pod)
        )
        if pod["spec"].get("initContainers"):
            status["initContainerStatuses"] = [
                self._waiting(c, "PodInitializing")
                for c in pod["spec"]["initContainers"]
            ]
        status["containerStatuses"] = [
            self._waiting(c, "ContainerCreating") for c in pod["spec"]["containers"]
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
            progress.pulled = True
            for container in pod["spec"]["containers"]:
                self._pulled(pod, container, elapsed)
                self._event(pod, "Created", f"Created container: {container['name']}")
        if elapsed < timings.container_create_delay + timings.container_start_delay:
            return (
                timings.container_create_delay + timings.container_start_delay - elapsed
            )

        progress.started = time.time()
        self._start_running(pod, progress.started)
        for container in pod["spec"]["containers"]:
            self._event(pod, "Started", f"Started container {container['name']}")
        return self._sync_running(
            self.store.get(
                "pods", pod["metadata"]["namespace"], pod["metadata"]["name"]
            )
            or pod,
            progress,
        )

    def _start_running(self, pod: Obj, started: float) -> None:
        meta = pod["metadata"]
        status = copy.deepcopy(pod["status"])
        ip = self._allocate_ip(pod)
        status.update({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})
        if pod["spec"].get("initContainers"):
            status["initContainerStatuses"] = [
                self._completed(pod, c, started) for c in pod["spec"]["initContainers"]
            ]
        status["containerStatuses"] = [
            self._running(pod, c, started, ready=False)
            for c in pod["spec"]["containers"]
        ]
        status["conditions"] = pod_conditions(
            status, sandbox=True, ready=False, unready=_names(pod)
        )
        written = self._write_status(pod, status)
        for container in pod["spec"]["containers"]:
            log = images.container_log(container, meta["name"], started)
            self.ctx.logbook[(meta["namespace"], meta["name"], container["name"])] = log
        self._set_environment(written)

    def _set_environment(self, pod: Obj) -> None:
        """Each container's variables, fixed at start as a real kubelet fixes them."""
        meta = pod["metadata"]
        for container in pod["spec"]["containers"]:
            env = environment.container_env(self.store, pod, container)
            self.ctx.environ[(meta["namespace"], meta["name"], container["name"])] = env

    def _sync_running(self, pod: Obj, progress: PodProgress) -> float | None:
        """Readiness and finished commands of a running pod; when to look again."""
        assert progress.started is not None
        now = time.time()
        status = copy.deepcopy(pod["status"])
        waits: list[float] = []
        statuses = []
        for container in pod["spec"]["containers"]:
            entry, wait = self._container_now(pod, container, progress.started, now)
            statuses.append(entry)
            if wait is not None:
                waits.append(wait)
        status["containerStatuses"] = statuses
        self._settle_phase(pod, status)
        self._report_unhealthy(pod, progress)
        self._write_status(pod, status)
        return min(waits) + 0.01 if waits else None

    def _container_now(
        self, pod: Obj, container: Obj, started: float, now: float
    ) -> tuple[Obj, float | None]:
        ends = (
            images.finishes(container)
            if pod["spec"].get("restartPolicy") in ("Never", "OnFailure")
            else None
        )
        if ends is not None and now >= started + ends[0]:
            return self._terminated(
                pod, container, started, started + ends[0], ends[1]
            ), None
        exited = self._exited(pod, container)
        if exited is not None:
            return self._terminated(pod, container, started, *exited), None
        ready_at = self._ready_at(pod, container, started)
        ready = ready_at is not None and now >= ready_at
        waits = [
            t - now
            for t in (ready_at, started + ends[0] if ends else None)
            if t is not None and t > now
        ]
        return self._running(pod, container, started, ready), min(
            waits
        ) if waits else None

    def _exited(self, pod: Obj, container: Obj) -> tuple[float, int] | None:
        """(when, code) if the container's process ended and it is not restarted.

        Simplified: under restartPolicy Always (or OnFailure after a failure) a real
        kubelet restarts the container; here it is shown Running as before."""
        meta = pod["metadata"]
        exited = self.ctx.exits.get((meta["namespace"], meta["name"], container["name"]))
        policy = pod["spec"].get("restartPolicy")
        if exited is None or policy == "Always" or (policy == "OnFailure" and exited[1]):
            return None
        return exited

    def _ready_at(self, pod: Obj, container: Obj, started: float) -> float | None:
        probe = container.get("readinessProbe")
        if probe is None:
            return started
        if _probe_fails(pod):
            return None
        return started + float(probe.get("initialDelaySeconds") or 0)

    def _settle_phase(self, pod: Obj, status: Obj) -> None:
        states = [s["state"] for s in status["containerStatuses"]]
        names = [s["name"] for s in status["containerStatuses"] if not s["ready"]]
        if states and all("terminated" in s for s in states):
            failed = any(s["terminated"]["exitCode"] != 0 for s in states)
            status["phase"] = "Failed" if failed else "Succeeded"
            status["conditions"] = pod_conditions(
                status, sandbox=False, ready=False, unready=[], completed=True
            )
            return
        ready = not names and _gates_pass(pod, status)
        status["conditions"] = pod_conditions(
            status, sandbox=True, ready=ready, unready=names
        )

    def _report_unhealthy(self, pod: Obj, progress: PodProgress) -> None:
        failing = _probe_fails(pod) and any(
            c.get("readinessProbe") for c in pod["spec"]["containers"]
        )
        if failing and not progress.unhealthy_reported:
            self._event(
                pod,
                "Unhealthy",
                "Readiness probe failed: " + _probe_failure(pod),
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
            names = _names(pod)
            status["conditions"] = pod_conditions(
                status, sandbox=True, ready=False, unready=names
            )
        self._write_status(pod, status)

    # -- images, IPs and container statuses --------------------------------------------------

    def _needs_pull(self, pod: Obj, container: Obj) -> bool:
        have = self._images.get(pod["spec"]["nodeName"], set())
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
        self._images.setdefault(pod["spec"]["nodeName"], set()).add(
            images.normalise(image)
        )
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

    def _waiting(self, container: Obj, reason: str) -> Obj:
        return {
            "name": container["name"],
            "image": images.normalise(container["image"]),
            "imageID": "",
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {"waiting": {"reason": reason}},
            "lastState": {},
        }

    def _running(self, pod: Obj, container: Obj, started: float, ready: bool) -> Obj:
        return {
            **self._identity(pod, container),
            "ready": ready,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": podutil.iso(started)}},
            "lastState": {},
        }

    def _terminated(
        self, pod: Obj, container: Obj, started: float, finished: float, code: int
    ) -> Obj:
        identity = self._identity(pod, container)
        return {
            **identity,
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": podutil.iso(started),
                    "finishedAt": podutil.iso(finished),
                    "containerID": identity["containerID"],
                }
            },
            "lastState": {},
        }

    def _completed(self, pod: Obj, container: Obj, started: float) -> Obj:
        return self._terminated(pod, container, started, started, 0)

    def _identity(self, pod: Obj, container: Obj) -> Obj:
        return {
            "name": container["name"],
            "image": images.normalise(container["image"]),
            "imageID": images.image_id(container["image"]),
            "containerID": images.container_id(
                pod["metadata"]["uid"], container["name"]
            ),
        }


def powered_off(node: Obj) -> bool:
    """The extra: a Node annotated `kubecourse.io/power: "off"` has no running kubelet."""
    annotations = node["metadata"].get("annotations") or {}
    return str(annotations.get(POWER_ANNOTATION, "")).strip().lower() == "off"


def micro_time(moment: float | None = None) -> str:
    """MicroTime, as a Lease's renewTime: `2025-01-01T12:00:00.123456Z`."""
    value = datetime.fromtimestamp(time.time() if moment is None else moment, timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str | None) -> float | None:
    if not text:
        return None
    for layout in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    return None


def _names(pod: Obj) -> list[str]:
    return [c["name"] for c in pod["spec"]["containers"]]


def _pod_cidr(node: Obj) -> str:
    spec = node.get("spec") or {}
    cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    return str(cidrs[0]) if cidrs else "10.244.0.0/24"


def _probe_fails(pod: Obj) -> bool:
    annotations = pod["metadata"].get("annotations") or {}
    return str(annotations.get(READINESS_ANNOTATION, "")).lower() == "fail"


def _probe_failure(pod: Obj) -> str:
    for container in pod["spec"]["containers"]:
        probe = container.get("readinessProbe") or {}
        if "httpGet" in probe:
            return "HTTP probe failed with statuscode: 503"
        if "tcpSocket" in probe:
            ip = (pod.get("status") or {}).get("podIP", "")
            return f"dial tcp {ip}:{probe['tcpSocket'].get('port')}: connect: connection refused"
    return "command terminated with exit code 1"


def _gates_pass(pod: Obj, status: Obj) -> bool:
    gates = [g.get("conditionType") for g in pod["spec"].get("readinessGates") or []]
    present = {c["type"]: c.get("status") for c in status.get("conditions") or []}
    return all(present.get(gate) == "True" for gate in gates)


def pod_conditions(
    status: Obj,
    *,
    sandbox: bool,
    ready: bool,
    unready: list[str],
    completed: bool = False,
) -> list[Obj]:
    """The kubelet's conditions, keeping transition times, in a real pod's order."""
    conditions = copy.deepcopy(status.get("conditions") or [])
    set_condition(
        conditions, "PodReadyToStartContainers", "True" if sandbox else "False"
    )
    set_condition(conditions, "Initialized", "True")
    if ready:
        set_condition(conditions, "Ready", "True")
        set_condition(conditions, "ContainersReady", "True")
    else:
        reason = "PodCompleted" if completed else "ContainersNotReady"
        message = (
            None
            if completed
            else f"containers with unready status: [{' '.join(unready)}]"
        )
        set_condition(conditions, "Ready", "False", reason, message)
        set_condition(conditions, "ContainersReady", "False", reason, message)
    rank = {name: i for i, name in enumerate(CONDITION_ORDER)}
    return sorted(conditions, key=lambda c: rank.get(c["type"], len(rank)))
