"""The pod garbage collector: Pods left on a Node that no longer exists.

Faithful (`pkg/controller/podgc`), every `timings.podgc_period` (upstream's 20 s
gcCheckPeriod) and when a Node is deleted:

- orphaned Pods, bound to a Node that is gone: once the Node has been missing for
  `timings.podgc_quarantine` (40 s, upstream's quarantineTime, so a Node being
  re-registered is not mistaken for a deleted one), each Pod not yet terminal is
  marked Failed with the condition `DisruptionTarget` (reason `DeletionByPodGC`,
  message `PodGC: node no longer exists`) and then deleted at once (grace period 0);
  its ReplicaSet then counts it gone and replaces it;
- unscheduled terminating Pods (a deletionTimestamp and no node: no kubelet will ever
  finish them) are marked Failed and deleted at once;
- terminated Pods (Succeeded or Failed) beyond `--terminated-pod-gc-threshold`
  (`terminated_pod_threshold`, 12500) are deleted, evicted ones first, then the oldest.

Simplified: terminating Pods on out-of-service Nodes are not collected; the quarantine
is measured from when this controller first saw the Node missing.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    set_condition,
)
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

KEY: Key = ("", "podgc")
GONE_NODE = ("DeletionByPodGC", "PodGC: node no longer exists")


class PodGCController(Controller):
    name = "podgc"
    watches = ("nodes",)
    terminated_pod_threshold = 12500  # kube-controller-manager's default

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._missing_since: dict[str, float] = {}

    def keys_for(self, change: Change) -> Iterable[Key]:
        return [KEY]

    def initial_keys(self) -> Iterable[Key]:
        return [KEY]

    async def reconcile(self, key: Key) -> float | None:
        timings = self.ctx.timings
        waits = [timings.podgc_period]
        for node in self._gone_nodes():
            left = self._quarantine_left(node)
            if left > 0:
                waits.append(left)
                continue
            for pod in self._pods_on(node):
                self._collect(pod, GONE_NODE)
        for pod in list(self.store.items("pods")):
            if podutil.is_terminating(pod) and not pod["spec"].get("nodeName"):
                self._collect(pod, None)
        for pod in self._beyond_threshold():
            self._collect(pod, None)
        return min(waits)

    def _beyond_threshold(self) -> list[Obj]:
        """The terminated Pods past the threshold, evicted ones first, then the oldest."""
        terminated = [p for p in self.store.items("pods") if podutil.is_terminal(p)]
        excess = len(terminated) - self.terminated_pod_threshold
        if excess <= 0:
            return []
        terminated.sort(key=_eviction_then_age)
        return terminated[:excess]

    def _gone_nodes(self) -> set[str]:
        existing = {n["metadata"]["name"] for n in self.store.items("nodes")}
        bound = {
            str(p["spec"]["nodeName"])
            for p in self.store.items("pods")
            if p["spec"].get("nodeName")
        }
        gone = bound - existing
        for name in list(self._missing_since):
            if name not in gone:
                del self._missing_since[name]
        return gone

    def _quarantine_left(self, node: str) -> float:
        since = self._missing_since.setdefault(node, time.monotonic())
        return since + self.ctx.timings.podgc_quarantine - time.monotonic()

    def _pods_on(self, node: str) -> list[Obj]:
        return [
            p for p in self.store.items("pods") if p["spec"].get("nodeName") == node
        ]

    def _collect(self, pod: Obj, reason: tuple[str, str] | None) -> None:
        """Mark the Pod Failed (with the DisruptionTarget condition, if any), then
        delete it with no grace period (`markFailedAndDeletePodWithCondition`)."""
        meta = pod["metadata"]
        pods = self.ctx.rt("pods")
        try:
            if not podutil.is_terminal(pod):
                body = failed(pod, reason)
                name = meta["name"]
                self.api.update(
                    pods, meta["namespace"], name, body, subresource="status"
                )
            self.api.delete(
                pods, meta["namespace"], meta["name"], grace_period_seconds=0
            )
        except StatusError as err:
            if err.code not in (404, 409):
                raise


def _eviction_then_age(pod: Obj) -> tuple[bool, str, str]:
    evicted = (pod.get("status") or {}).get("reason") == "Evicted"
    meta = pod["metadata"]
    return (not evicted, str(meta.get("creationTimestamp") or ""), str(meta["name"]))


def failed(pod: Obj, reason: tuple[str, str] | None) -> Obj:
    """The Pod as PodGC leaves it: phase Failed, and the DisruptionTarget condition."""
    new = copy.deepcopy(pod)
    status = new.setdefault("status", {})
    status["phase"] = "Failed"
    if reason is not None:
        conditions = status.setdefault("conditions", [])
        set_condition(conditions, "DisruptionTarget", "True", *reason)
    return new
