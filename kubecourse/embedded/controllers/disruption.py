"""The disruption controller: each PodDisruptionBudget's status, as upstream keeps it.

Faithful: `expectedPods` and `desiredHealthy` follow upstream's rules: an integer
`minAvailable` counts the matching pods; a percentage `minAvailable` or any
`maxUnavailable` counts the replicas their controllers ask for (a ReplicaSet, the
Deployment above it, a StatefulSet: each counted once), rounding percentages up;
`currentHealthy` counts matching pods that are Ready and not being deleted, leaving
out pods an eviction has just disrupted; `disruptionsAllowed` is
`currentHealthy - desiredHealthy`, never below 0 (and 0 when nothing is expected);
`observedGeneration`; the `DisruptionAllowed` condition (`SufficientPods` /
`InsufficientPods`, or `SyncFailed` with upstream's message when a pod's controller
has no scale); `disruptedPods` entries drop once their pod is gone or being deleted,
or after two minutes.  A budget selecting no pods records the `NoPods` event.

Simplified: controllers without a scale the simulator knows (DaemonSet, Job, custom
resources) make a percentage or `maxUnavailable` budget fail to sync, where upstream
would also ask the generic scale subresource.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import (
    Controller,
    Key,
    Obj,
    controller_of,
    parse_time,
    set_condition,
)
from kubecourse.embedded.selectors import label_selector_from_spec
from kubecourse.embedded.store import Change

PDB = "poddisruptionbudgets.policy"
DISRUPTED_POD_TIMEOUT = 120.0


class SyncError(Exception):
    pass


class DisruptionController(Controller):
    name = "disruption"
    watches = (PDB, "pods", "replicasets.apps", "deployments.apps", "statefulsets.apps")

    def keys_for(self, change: Change) -> Iterable[Key]:
        meta = change.obj["metadata"]
        namespace = meta.get("namespace") or ""
        if change.resource == PDB:
            return [(namespace, meta["name"])]
        return [
            (namespace, p["metadata"]["name"]) for p in self.store.items(PDB, namespace)
        ]

    async def reconcile(self, key: Key) -> float | None:
        namespace, name = key
        pdb = self.store.get(PDB, namespace, name)
        if pdb is None:
            return None
        pods = self._pods(pdb)
        new = copy.deepcopy(pdb)
        try:
            expected, desired = self._expectations(pdb, pods)
        except SyncError as err:
            self._failed(new, str(err))
        else:
            self._fill(new, pods, expected, desired)
        if new.get("status") != pdb.get("status"):
            rt = self.ctx.rt(PDB)
            self.api.update(rt, namespace, name, new, subresource="status")
        if not pods:
            self.ctx.record_event(
                pdb, "NoPods", "No matching pods found", component="controllermanager"
            )
        return (
            DISRUPTED_POD_TIMEOUT
            if (new.get("status") or {}).get("disruptedPods")
            else None
        )

    def _pods(self, pdb: Obj) -> list[Obj]:
        selector = (pdb.get("spec") or {}).get("selector")
        if selector is None:
            return []
        try:
            parsed = label_selector_from_spec(selector)
        except ValueError:
            return []
        namespace = pdb["metadata"]["namespace"]
        return [
            p
            for p in self.store.items("pods", namespace)
            if parsed.matches(p["metadata"].get("labels"))
        ]

    def _expectations(self, pdb: Obj, pods: list[Obj]) -> tuple[int, int]:
        spec = pdb.get("spec") or {}
        low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
        if high is not None:
            expected = self._expected_scale(pods)
            unavailable = podutil.scaled_value(high, expected, round_up=True)
            return expected, max(0, expected - unavailable)
        if isinstance(low, int) and not isinstance(low, bool):
            return len(pods), low
        if low is None:
            return len(pods), len(pods)
        expected = self._expected_scale(pods)
        return expected, math.ceil(float(str(low).rstrip("%")) * expected / 100)

    def _expected_scale(self, pods: list[Obj]) -> int:
        scales: dict[str, int] = {}
        for pod in pods:
            ref = controller_of(pod)
            if ref is None:
                raise SyncError(
                    f"found no controllers for pod {pod['metadata']['name']!r}"
                )
            uid, replicas = self._scale_of(pod["metadata"]["namespace"], ref)
            scales[uid] = replicas
        return sum(scales.values())

    def _scale_of(self, namespace: str, ref: Obj) -> tuple[str, int]:
        kinds = {
            "ReplicaSet": "replicasets.apps",
            "StatefulSet": "statefulsets.apps",
            "ReplicationController": "replicationcontrollers",
        }
        resource = kinds.get(str(ref.get("kind")))
        owner = self.store.get(resource, namespace, ref["name"]) if resource else None
        if owner is None:
            raise SyncError(f"found no controllers for pod {ref.get('name')!r}")
        parent = controller_of(owner)
        if (
            ref.get("kind") == "ReplicaSet"
            and parent
            and parent.get("kind") == "Deployment"
        ):
            deployment = self.store.get("deployments.apps", namespace, parent["name"])
            if deployment is not None:
                owner = deployment
        return owner["metadata"]["uid"], int(
            (owner.get("spec") or {}).get("replicas", 1)
        )

    def _fill(self, pdb: Obj, pods: list[Obj], expected: int, desired: int) -> None:
        pdb_status = pdb.setdefault("status", {})
        disrupted = _still_disrupted(pdb_status.get("disruptedPods") or {}, pods)
        healthy = sum(
            1
            for p in pods
            if podutil.is_ready(p)
            and not podutil.is_terminating(p)
            and p["metadata"]["name"] not in disrupted
        )
        allowed = healthy - desired if expected > 0 else 0
        pdb_status.update(
            currentHealthy=healthy,
            desiredHealthy=desired,
            expectedPods=expected,
            disruptionsAllowed=max(0, allowed),
            observedGeneration=pdb["metadata"].get("generation", 1),
        )
        if disrupted:
            pdb_status["disruptedPods"] = disrupted
        else:
            pdb_status.pop("disruptedPods", None)
        reason = "SufficientPods" if allowed > 0 else "InsufficientPods"
        _condition(pdb_status, "True" if allowed > 0 else "False", reason, "")

    def _failed(self, pdb: Obj, message: str) -> None:
        pdb_status = pdb.setdefault("status", {})
        pdb_status["disruptionsAllowed"] = 0
        pdb_status["observedGeneration"] = pdb["metadata"].get("generation", 1)
        _condition(pdb_status, "False", "SyncFailed", message)


def _condition(pdb_status: Obj, value: str, reason: str, message: str) -> None:
    conditions = pdb_status.setdefault("conditions", [])
    set_condition(conditions, "DisruptionAllowed", value, reason, message)
    for condition in conditions:
        condition.pop("lastProbeTime", None)
        condition.setdefault("observedGeneration", pdb_status.get("observedGeneration"))
        condition["observedGeneration"] = pdb_status.get("observedGeneration")


def _still_disrupted(disrupted: dict[str, str], pods: list[Obj]) -> dict[str, str]:
    live = {p["metadata"]["name"]: p for p in pods}
    now = time.time()
    kept = {}
    for name, stamp in disrupted.items():
        pod = live.get(name)
        moment = parse_time(stamp)
        expired = moment is None or now - moment.timestamp() > DISRUPTED_POD_TIMEOUT
        if pod is not None and not podutil.is_terminating(pod) and not expired:
            kept[name] = stamp
    return kept
