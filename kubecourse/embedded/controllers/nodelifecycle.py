"""The node lifecycle controller and the taint-eviction controller, as kube-controller-manager runs them.

Faithful: the controller records RegisteredNode ("Node x event: Registered Node x in
Controller") for each node when it first sees it (at its start, or a new node).  A
node whose Lease `kube-node-lease/<node>` has not been renewed for
`timings.node_monitor_grace_period` (as observed by this controller, so a restart of the
cluster starts the count afresh, as upstream's probe timestamps do) gets its Ready,
MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown (reason
NodeStatusUnknown, "Kubelet stopped posting node status.", lastHeartbeatTime kept), an
event NodeNotReady ("Node x status is now: NodeNotReady"), and every pod on it Ready=False
(a Warning NodeNotReady "Node is not ready" on each), which takes them out of endpoints.
Ready Unknown gives the taints `node.kubernetes.io/unreachable` NoSchedule and NoExecute,
Ready False `node.kubernetes.io/not-ready`, both with `timeAdded`; Ready True (the kubelet
posts it again when heartbeats resume) removes them.

Taint eviction: a pod on a node with a NoExecute taint it does not tolerate is deleted at
once; one that tolerates it for `tolerationSeconds` (300 s by default, added at
admission) is deleted once that long has passed since the taint's `timeAdded`; one that
tolerates it without tolerationSeconds stays.  Before deleting, the pod gets condition
DisruptionTarget=True (reason DeletionByTaintManager) and an event TaintManagerEviction
"Marking for deletion Pod ns/name".  The deletion is graceful: on a lost node no kubelet
confirms it, so the pod stays Terminating until the node comes back (its ReplicaSet has
replaced it already).

Simplified: no rate-limited eviction queues or zone states (every node is in one zone,
evicted at once); Ready=False set by hand on a node is honoured but not produced here.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    parse_time,
    set_condition,
)
from kubecourse.embedded.controllers.kubelet import LEASE_NAMESPACE, LEASES
from kubecourse.embedded.controllers.scheduler import tolerates
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

COMPONENT = "node-controller"
EVICTION_COMPONENT = "taint-eviction-controller"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
CONTROLLER_TAINTS = (UNREACHABLE_TAINT, NOT_READY_TAINT)
WATCHED_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."


@dataclass
class Probe:
    """The last renewTime seen on a node's Lease, and when (monotonic) it was seen."""

    renew_time: str | None
    seen: float


class NodeLifecycleController(Controller):
    name = "node-lifecycle"
    watches = ("nodes", LEASES, "pods")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._probes: dict[str, Probe] = {}
        self._due: dict[str, float] = {}
        self._taint_seen: dict[tuple[str, str, str], float] = {}
        self._registered: set[str] = set()

    def keys_for(self, change: Change) -> Iterable[Key]:
        obj = change.obj
        if change.resource == "nodes":
            return [("", obj["metadata"]["name"])]
        if change.resource == LEASES:
            if obj["metadata"].get("namespace") == LEASE_NAMESPACE:
                return [("", obj["metadata"]["name"])]
            return []
        node_name = (obj.get("spec") or {}).get("nodeName")
        if change.type == "DELETED" or not node_name or podutil.is_terminating(obj):
            return []
        node = self.store.get("nodes", "", node_name)
        taints = (node or {}).get("spec", {}).get("taints") or []
        if any(t.get("effect") == "NoExecute" for t in taints):
            return [("", node_name)]
        return []

    async def reconcile(self, key: Key) -> float | None:
        name = key[1]
        node = self.store.get("nodes", "", name)
        if node is None:
            self._probes.pop(name, None)
            self._due.pop(name, None)
            self._registered.discard(name)
            return None
        self._register(node)
        waits: list[float] = []
        lost_in = self._monitor(node)
        if lost_in is not None:
            waits.append(lost_in)
        node = self._sync_taints(self.store.get("nodes", "", name) or node)
        evict_in = self._evict(node)
        if evict_in is not None:
            waits.append(evict_in)
        return self._once(name, min(waits) if waits else None)

    def _register(self, node: Obj) -> None:
        """The controller's first sight of a node (at its start, or a new node)."""
        name = node["metadata"]["name"]
        if name not in self._registered:
            self._registered.add(name)
            message = f"Node {name} event: Registered Node {name} in Controller"
            self.ctx.record_event(node, "RegisteredNode", message, component=COMPONENT)

    def _once(self, name: str, wait: float | None) -> float | None:
        """One pending timer per node, however often its objects change."""
        if wait is None:
            return None
        wait = max(wait, 0.02)
        now = time.monotonic()
        due = self._due.get(name)
        if due is not None and now < due <= now + wait + 0.001:
            return None
        self._due[name] = now + wait
        return wait

    # -- heartbeats -------------------------------------------------------------------------

    def _monitor(self, node: Obj) -> float | None:
        """Mark the node Unknown once its Lease is older than the grace period; else the
        seconds until it would be."""
        name = node["metadata"]["name"]
        lease = self.store.get(LEASES, LEASE_NAMESPACE, name)
        renew_time = ((lease or {}).get("spec") or {}).get("renewTime")
        now = time.monotonic()
        probe = self._probes.get(name)
        if probe is None or probe.renew_time != renew_time:
            probe = self._probes[name] = Probe(renew_time, now)
        left = probe.seen + self.ctx.timings.node_monitor_grace_period - now
        if left > 0:
            return left
        ready = podutil.condition(node, "Ready")
        if ready is not None and ready.get("status") == "Unknown":
            return None
        self._mark_unknown(node)
        return None

    def _mark_unknown(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        new = copy.deepcopy(node)
        conditions = new.setdefault("status", {}).setdefault("conditions", [])
        for type_ in WATCHED_CONDITIONS:
            current = next((c for c in conditions if c.get("type") == type_), None)
            if current is None:
                current = {"type": type_}
                conditions.append(current)
            if current.get("status") != "Unknown":
                current["lastTransitionTime"] = podutil.iso()
            current.update(status="Unknown", reason=UNKNOWN_REASON, message=UNKNOWN_MESSAGE)
        self.api.update(self.ctx.rt("nodes"), None, name, new, subresource="status")
        self.ctx.record_event(
            new, "NodeNotReady", f"Node {name} status is now: NodeNotReady", component=COMPONENT
        )
        for pod in self._pods_on(name):
            self._mark_pod_not_ready(pod)

    def _mark_pod_not_ready(self, pod: Obj) -> None:
        if podutil.is_terminal(pod):
            return
        new = copy.deepcopy(pod)
        conditions = new.setdefault("status", {}).setdefault("conditions", [])
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") == "False":
            return
        ready["status"] = "False"
        ready["lastTransitionTime"] = podutil.iso()
        meta = pod["metadata"]
        try:
            self.api.update(self.ctx.rt("pods"), meta["namespace"], meta["name"], new, subresource="status")
        except StatusError as err:
            if err.code not in (404, 409):
                raise
            return
        self.ctx.record_event(pod, "NodeNotReady", "Node is not ready", component=COMPONENT, type="Warning")

    # -- taints -----------------------------------------------------------------------------

    def _sync_taints(self, node: Obj) -> Obj:
        ready = podutil.condition(node, "Ready")
        status_ = (ready or {}).get("status")
        wanted = {"Unknown": UNREACHABLE_TAINT, "False": NOT_READY_TAINT}.get(str(status_))
        taints = list((node.get("spec") or {}).get("taints") or [])
        kept = [t for t in taints if t.get("key") not in CONTROLLER_TAINTS or t.get("key") == wanted]
        have = {(t.get("key"), t.get("effect")) for t in kept}
        stamp = podutil.iso()
        added = [
            {"key": wanted, "effect": effect, "timeAdded": stamp}
            for effect in ("NoSchedule", "NoExecute")
            if wanted is not None and (wanted, effect) not in have
        ]
        if not added and len(kept) == len(taints):
            return node
        new = copy.deepcopy(node)
        new.setdefault("spec", {})["taints"] = kept + added
        if not new["spec"]["taints"]:
            del new["spec"]["taints"]
        return self.api.update(self.ctx.rt("nodes"), None, node["metadata"]["name"], new)

    # -- taint eviction ---------------------------------------------------------------------

    def _evict(self, node: Obj) -> float | None:
        """Delete the pods whose time on the node's NoExecute taints is up; seconds until
        the next one is due."""
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        if not taints:
            return None
        waits: list[float] = []
        now = time.time()
        name = node["metadata"]["name"]
        # A taint added without timeAdded (kubectl taint) counts from when it was first seen.
        taints = [
            t if t.get("timeAdded") else t | {"timeAdded": podutil.iso(self._taint_seen.setdefault(_taint_key(name, t), now))}
            for t in taints
        ]
        for pod in self._pods_on(name):
            if podutil.is_terminating(pod):
                continue
            left = _time_left(pod, taints, now)
            if left is None:
                continue
            if left > 0:
                waits.append(left)
            else:
                self._delete(pod)
        return min(waits) if waits else None

    def _delete(self, pod: Obj) -> None:
        meta = pod["metadata"]
        new = copy.deepcopy(pod)
        conditions = new.setdefault("status", {}).setdefault("conditions", [])
        pods = self.ctx.rt("pods")
        try:
            if set_condition(
                conditions,
                "DisruptionTarget",
                "True",
                "DeletionByTaintManager",
                "Taint manager: deleting due to NoExecute taint",
            ):
                self.api.update(pods, meta["namespace"], meta["name"], new, subresource="status")
            self.ctx.record_event(
                pod,
                "TaintManagerEviction",
                f"Marking for deletion Pod {meta['namespace']}/{meta['name']}",
                component=EVICTION_COMPONENT,
            )
            self.api.delete(pods, meta["namespace"], meta["name"])
        except StatusError as err:
            if err.code != 404:
                raise

    def _pods_on(self, node: str) -> list[Obj]:
        return [p for p in self.store.items("pods") if (p.get("spec") or {}).get("nodeName") == node]


def _taint_key(node: str, taint: Obj) -> tuple[str, str, str]:
    return (node, str(taint.get("key")), str(taint.get("value", "")))


def _time_left(pod: Obj, taints: list[Obj], now: float) -> float | None:
    """Seconds the pod may stay on a node with these NoExecute taints: 0 or less when it
    must go now, None when it tolerates them for ever."""
    left: float | None = None
    for taint in taints:
        matching = [t for t in pod["spec"].get("tolerations") or [] if tolerates({"spec": {"tolerations": [t]}}, taint)]
        if not matching:
            return 0.0
        bounded = [float(t["tolerationSeconds"]) for t in matching if t.get("tolerationSeconds") is not None]
        if len(bounded) < len(matching):
            continue  # a toleration without tolerationSeconds: for ever
        added = parse_time(taint.get("timeAdded"))
        start = added.timestamp() if added is not None else now
        remaining = start + max(min(bounded), 0.0) - now
        left = remaining if left is None else min(left, remaining)
    return left
