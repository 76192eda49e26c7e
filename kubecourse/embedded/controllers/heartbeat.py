"""A node's heartbeats, as its kubelet sends them: the Lease and the node status.

Faithful: the kubelet of each powered-on node renews the Lease `kube-node-lease/<node>`
(holderIdentity the node, leaseDurationSeconds 40, renewTime in MicroTime) every
`timings.node_lease_renew` (at most a quarter of the grace period), and refreshes the
conditions' `lastHeartbeatTime` every `timings.node_status_update` (upstream's 5 min
status report period; the Lease is the frequent heartbeat).  A Ready condition the
node lifecycle controller set to Unknown is set back to True (event NodeReady); the
kubelet's own node events (starting, cordon) are in `nodeevents`.  The
annotation `kubecourse.io/power: "off"` on a Node is the extra that powers it off: no
heartbeat is sent.
"""

from __future__ import annotations

import copy
import time
from datetime import datetime, timezone

from kubecourse.embedded.controllers import nodeevents, podutil
from kubecourse.embedded.controllers.base import Context, Obj, parse_time
from kubecourse.embedded.status import StatusError

COMPONENT = "kubelet"
POWER_ANNOTATION = "kubecourse.io/power"
LEASE_NAMESPACE = "kube-node-lease"
LEASES = "leases.coordination.k8s.io"
LEASE_DURATION_SECONDS = 40
HEALTHY_CONDITIONS = {
    "MemoryPressure": (
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    "DiskPressure": (
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ),
    "PIDPressure": (
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
    "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
}


class Heartbeats:
    """Every node's heartbeat timers (one kubelet process per node, upstream)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._beat_due: dict[str, float] = {}
        self._unschedulable: dict[str, bool] = {}  # per running kubelet: what it last saw

    def beat(self, name: str) -> float | None:
        """Renew the node's Lease and refresh its status when due; when to look again."""
        node = self.ctx.store.get("nodes", "", name)
        if node is None or powered_off(node):
            self._beat_due.pop(name, None)
            self._unschedulable.pop(name, None)  # its kubelet is down; it starts afresh
            return None
        self._watch_node(node)
        timings = self.ctx.timings
        lease_age = self._renew_lease(node)
        status_age = self._post_status(node)
        wait = max(
            min(
                self._renew_interval() - lease_age,
                timings.node_status_update - status_age,
            ),
            0.05,
        )
        # Node writes enqueue this key again: keep one timer per node, not one per write.
        now = time.monotonic()
        due = self._beat_due.get(name)
        if due is not None and now < due <= now + wait + 0.001:
            return None
        self._beat_due[name] = now + wait
        return wait

    def _watch_node(self, node: Obj) -> None:
        """A kubelet starting, and cordon / uncordon as its kubelet notices them."""
        name = node["metadata"]["name"]
        cordoned = bool(node["spec"].get("unschedulable"))
        if name not in self._unschedulable:
            nodeevents.kubelet_started(self.ctx, node)
            self._unschedulable[name] = False
        if self._unschedulable[name] != cordoned:
            nodeevents.schedulable_changed(self.ctx, node)
            self._unschedulable[name] = cordoned

    def _renew_lease(self, node: Obj) -> float:
        """Seconds since the Lease was renewed (0 when renewed now)."""
        leases = self.ctx.rt(LEASES)
        name = node["metadata"]["name"]
        lease = self.ctx.store.get(LEASES, LEASE_NAMESPACE, name)
        if lease is not None:
            renewed = parse_micro_time((lease.get("spec") or {}).get("renewTime"))
            age = time.time() - renewed if renewed is not None else float("inf")
            if 0 <= age < self._renew_interval():
                return age
            new = copy.deepcopy(lease)
            new.setdefault("spec", {}).update(self._lease_spec(name))
            self.ctx.api.update(leases, LEASE_NAMESPACE, name, new)
            return 0.0
        body: Obj = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": name,
                "namespace": LEASE_NAMESPACE,
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Node",
                        "name": name,
                        "uid": node["metadata"]["uid"],
                    }
                ],
            },
            "spec": self._lease_spec(name),
        }
        try:
            self.ctx.api.create(leases, LEASE_NAMESPACE, body)
        except StatusError as err:
            # 403/404: kube-node-lease is being deleted or not re-created yet; try again
            # at the next renewal, as a kubelet does
            if err.code not in (403, 404, 409):
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
                current = {
                    "type": type_,
                    "status": status_,
                    "lastTransitionTime": stamp,
                }
                posted.append(current)
            if recovering and current.get("status") == "Unknown":
                current.update(
                    status=status_,
                    reason=reason,
                    message=message,
                    lastTransitionTime=stamp,
                )
        for current in posted:
            current["lastHeartbeatTime"] = stamp
        self.ctx.api.update(
            self.ctx.rt("nodes"),
            None,
            node["metadata"]["name"],
            new,
            subresource="status",
        )
        if recovering:
            nodeevents.status_is_now(self.ctx, new, "NodeReady")
        return 0.0


def powered_off(node: Obj) -> bool:
    """The extra: a Node annotated `kubecourse.io/power: "off"` has no running kubelet."""
    annotations = node["metadata"].get("annotations") or {}
    return str(annotations.get(POWER_ANNOTATION, "")).strip().lower() == "off"


def micro_time(moment: float | None = None) -> str:
    """MicroTime, as a Lease's renewTime: `2025-01-01T12:00:00.123456Z`."""
    value = datetime.fromtimestamp(
        time.time() if moment is None else moment, timezone.utc
    )
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str | None) -> float | None:
    if not text:
        return None
    for layout in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return (
                datetime.strptime(text, layout).replace(tzinfo=timezone.utc).timestamp()
            )
        except ValueError:
            continue
    return None
