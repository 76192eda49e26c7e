"""The ReplicaSet controller: keep `spec.replicas` pods alive that match the selector.

Faithful: pods are created from the template with `generateName: <rs>-`, the template's
labels and annotations and a controller ownerReference; pods being deleted (with a
deletionTimestamp) and terminal pods are not counted, so a replacement is created as
soon as a deletion starts; orphans matching the selector are adopted and owned pods that
stop matching are released; scale-down picks victims by `ActivePodsWithRanks` order
(unscheduled, Pending, not ready, lower deletion cost, more pods of the set on the same
node, ready for less time on a log2 scale, more restarts, newer, then uid); status
counts replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for
minReadySeconds) and observedGeneration; events SuccessfulCreate / SuccessfulDelete.

Simplified: all missing pods are created at once (no slow-start batches), the rank
counts only this ReplicaSet's pods (upstream also counts the Deployment's other sets'
pods on the node), and the age comparison uses whole seconds.
"""

from __future__ import annotations

import copy
import math
import time
from collections import Counter
from collections.abc import Iterable

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import (
    Controller,
    Key,
    Obj,
    controller_of,
    owner_reference,
)
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

COMPONENT = "replicaset-controller"
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


class ReplicaSetController(Controller):
    name = "replicaset"
    watches = ("replicasets.apps", "pods")

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == "replicasets.apps":
            return super().keys_for(change)
        keys = {podutil.owner_key(change.obj, "ReplicaSet")}
        if controller_of(change.obj) is None and change.type != "DELETED":
            keys.update(self._selecting(change.obj))
        return [k for k in keys if k is not None]

    def _selecting(self, pod: Obj) -> Iterable[Key]:
        namespace = pod["metadata"].get("namespace") or ""
        labels = pod["metadata"].get("labels")
        for rs in self.store.items("replicasets.apps", namespace):
            if podutil.selector_matches(rs["spec"].get("selector"), labels):
                yield (namespace, rs["metadata"]["name"])

    async def reconcile(self, key: Key) -> float | None:
        rs = self.store.get("replicasets.apps", *key)
        if rs is None or podutil.is_terminating(rs):
            return None

        pods = self._claim_pods(rs)
        active = [p for p in pods if podutil.is_active(p)]
        wanted = int(rs["spec"].get("replicas", 1))
        if len(active) < wanted:
            self._create_pods(rs, wanted - len(active))
        elif len(active) > wanted:
            self._delete_pods(rs, rank_victims(active)[: len(active) - wanted])

        return self._update_status(key, podutil.pods_of(self.store, rs))

    # -- ownership ---------------------------------------------------------------------

    def _claim_pods(self, rs: Obj) -> list[Obj]:
        """Adopt matching orphans, release owned pods that stopped matching."""
        namespace = rs["metadata"]["namespace"]
        selector = rs["spec"].get("selector")
        uid = rs["metadata"]["uid"]
        claimed: list[Obj] = []
        for pod in list(self.store.items("pods", namespace)):
            ref = controller_of(pod)
            matches = podutil.selector_matches(selector, pod["metadata"].get("labels"))
            if ref is not None and ref.get("uid") == uid:
                if matches:
                    claimed.append(pod)
                else:
                    self._set_owner(pod, None)
            elif ref is None and matches and not podutil.is_terminating(pod):
                claimed.append(self._set_owner(pod, rs))
        return claimed

    def _set_owner(self, pod: Obj, owner: Obj | None) -> Obj:
        new = copy.deepcopy(pod)
        refs = [
            r
            for r in new["metadata"].get("ownerReferences") or []
            if not r.get("controller")
        ]
        if owner is not None:
            refs.append(owner_reference(owner))
        new["metadata"]["ownerReferences"] = refs
        meta = pod["metadata"]
        return self.api.update(
            self.ctx.rt("pods"), meta["namespace"], meta["name"], new
        )

    # -- scaling -----------------------------------------------------------------------

    def _create_pods(self, rs: Obj, count: int) -> None:
        for _ in range(count):
            try:
                pod = self.api.create(
                    self.ctx.rt("pods"),
                    rs["metadata"]["namespace"],
                    pod_from_template(rs),
                )
            except StatusError as err:
                self.ctx.record_event(
                    rs,
                    "FailedCreate",
                    f"Error creating: {err.message}",
                    component=COMPONENT,
                    type="Warning",
                )
                return
            self.ctx.record_event(
                rs,
                "SuccessfulCreate",
                f"Created pod: {pod['metadata']['name']}",
                component=COMPONENT,
            )

    def _delete_pods(self, rs: Obj, victims: list[Obj]) -> None:
        for pod in victims:
            meta = pod["metadata"]
            try:
                self.api.delete(self.ctx.rt("pods"), meta["namespace"], meta["name"])
            except StatusError:
                continue  # already gone
            self.ctx.record_event(
                rs,
                "SuccessfulDelete",
                f"Deleted pod: {meta['name']}",
                component=COMPONENT,
            )

    # -- status ------------------------------------------------------------------------

    def _update_status(self, key: Key, pods: list[Obj]) -> float | None:
        rs = self.store.get("replicasets.apps", *key)
        if rs is None:
            return None
        min_ready = int(rs["spec"].get("minReadySeconds") or 0)
        active = [p for p in pods if podutil.is_active(p)]
        new = copy.deepcopy(rs)
        new["status"] = replicaset_status(rs, active, min_ready)
        if new["status"] != rs.get("status"):
            self.api.update(
                self.ctx.rt("replicasets.apps"),
                key[0],
                key[1],
                new,
                subresource="status",
            )
        waits = [podutil.seconds_until_available(p, min_ready) for p in active]
        pending = [w for w in waits if w is not None]
        return min(pending) + 0.05 if pending else None


def replicaset_status(rs: Obj, active: list[Obj], min_ready: int) -> Obj:
    template_labels = (rs["spec"].get("template") or {}).get("metadata", {}).get(
        "labels"
    ) or {}
    labelled = [
        p
        for p in active
        if all(
            (p["metadata"].get("labels") or {}).get(k) == v
            for k, v in template_labels.items()
        )
    ]
    status: Obj = {
        "replicas": len(active),
        "fullyLabeledReplicas": len(labelled),
        "readyReplicas": sum(1 for p in active if podutil.is_ready(p)),
        "availableReplicas": sum(
            1 for p in active if podutil.is_available(p, min_ready)
        ),
        "observedGeneration": int(rs["metadata"].get("generation", 1)),
    }
    for field in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if status[field] == 0:
            del status[field]  # omitempty, as a real server answers
    conditions = (rs.get("status") or {}).get("conditions")
    if conditions:
        status["conditions"] = conditions
    return status


def pod_from_template(rs: Obj) -> Obj:
    template = copy.deepcopy(rs["spec"].get("template") or {})
    template_meta = template.get("metadata") or {}
    metadata: Obj = {
        "generateName": f"{rs['metadata']['name']}-",
        "namespace": rs["metadata"]["namespace"],
        "labels": dict(template_meta.get("labels") or {}),
        "ownerReferences": [owner_reference(rs)],
    }
    if template_meta.get("annotations"):
        metadata["annotations"] = dict(template_meta["annotations"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec") or {},
    }


# -- victim ranking ----------------------------------------------------------------------


def rank_victims(pods: list[Obj], now: float | None = None) -> list[Obj]:
    """Pods in the order a ReplicaSet deletes them (upstream `ActivePodsWithRanks`)."""
    moment = time.time() if now is None else now
    per_node = Counter(p["spec"].get("nodeName") or "" for p in pods)
    return sorted(pods, key=lambda p: _victim_key(p, per_node, moment))


def _victim_key(pod: Obj, per_node: Counter[str], now: float) -> tuple[object, ...]:
    node = pod["spec"].get("nodeName") or ""
    ready = podutil.is_ready(pod)
    since = podutil.ready_since(pod) if ready else None
    return (
        1 if node else 0,
        PHASE_RANK.get((pod.get("status") or {}).get("phase", "Pending"), 3),
        1 if ready else 0,
        _deletion_cost(pod),
        -per_node[node] if node else 0,
        _log2_bucket(now - since) if since is not None else 0,
        -podutil.restart_count(pod),
        -podutil.created_at(pod),
        pod["metadata"].get("uid", ""),
    )


def _deletion_cost(pod: Obj) -> int:
    text = (pod["metadata"].get("annotations") or {}).get(DELETION_COST, "0")
    try:
        return int(text)
    except ValueError:
        return 0


def _log2_bucket(seconds: float) -> int:
    return int(math.log2(seconds)) if seconds >= 1 else 0
