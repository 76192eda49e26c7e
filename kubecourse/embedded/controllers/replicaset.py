"""The ReplicaSet controller: keep `spec.replicas` pods alive that match the selector.

Faithful: pods are created from the template with `generateName: <rs>-`, the template's
labels and annotations and a controller ownerReference; pods being deleted (with a
deletionTimestamp) and terminal pods are not counted, so a replacement is created as
soon as a deletion starts; orphans matching the selector are adopted and owned pods that
stop matching are released; scale-down picks victims by `ActivePodsWithRanks` order
(unscheduled, Pending, not ready, lower deletion cost, more pods of the set on the same
node, ready for less time, more restarts, newer; both times on upstream's log2 scale of
nanoseconds with uid order inside a bucket); status
counts replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for
minReadySeconds) and observedGeneration; events SuccessfulCreate / SuccessfulDelete.
A refused create (an exceeded quota, a missing ServiceAccount) is a FailedCreate event
(`Error creating: <the API's message>`) and the condition ReplicaFailure (reason
FailedCreate; FailedDelete for a refused delete), and the sync's error: the work queue
retries the set with back-off (base.py) until the pods can be created, and a successful
sync removes the condition.

Simplified: all missing pods are created at once (no slow-start batches), the rank
counts only this ReplicaSet's pods (upstream also counts the Deployment's other sets'
pods on the node), and timestamps have whole seconds, as the API stores them.
"""

from __future__ import annotations

import copy
import functools
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
    # What varies for the ReplicationController controller (replicationcontroller.py),
    # which upstream is this controller behind an adapter.
    resource = "replicasets.apps"
    owner_kind = "ReplicaSet"
    component = COMPONENT

    def selector(self, rs: Obj) -> Obj | None:
        """The owner's selector as a LabelSelector."""
        selector: Obj | None = rs["spec"].get("selector")
        return selector

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == self.resource:
            return super().keys_for(change)
        keys = {podutil.owner_key(change.obj, self.owner_kind)}
        if controller_of(change.obj) is None and change.type != "DELETED":
            keys.update(self._selecting(change.obj))
        return [k for k in keys if k is not None]

    def _selecting(self, pod: Obj) -> Iterable[Key]:
        namespace = pod["metadata"].get("namespace") or ""
        labels = pod["metadata"].get("labels")
        for rs in self.store.items(self.resource, namespace):
            if podutil.selector_matches(self.selector(rs), labels):
                yield (namespace, rs["metadata"]["name"])

    async def reconcile(self, key: Key) -> float | None:
        rs = self.store.get(self.resource, *key)
        if rs is None or podutil.is_terminating(rs):
            return None

        pods = self._claim_pods(rs)
        active = [p for p in pods if podutil.is_active(p)]
        wanted = int(rs["spec"].get("replicas", 1))
        failure: StatusError | None = None
        try:
            if len(active) < wanted:
                self._create_pods(rs, wanted - len(active))
            elif len(active) > wanted:
                self._delete_pods(rs, rank_victims(active)[: len(active) - wanted])
        except StatusError as err:
            failure = err

        again = self._update_status(key, podutil.pods_of(self.store, rs), failure)
        if failure is not None:
            raise failure  # the work queue retries the key with back-off
        return again

    # -- ownership ---------------------------------------------------------------------

    def _claim_pods(self, rs: Obj) -> list[Obj]:
        """Adopt matching orphans, release owned pods that stopped matching."""
        namespace = rs["metadata"]["namespace"]
        selector = self.selector(rs)
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
        """Create pods until one is refused; the refusal is raised (but for a namespace
        being terminated, which is no error to retry)."""
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
                    component=self.component,
                    type="Warning",
                )
                if podutil.namespace_terminating(err):
                    return
                raise
            self.ctx.record_event(
                rs,
                "SuccessfulCreate",
                f"Created pod: {pod['metadata']['name']}",
                component=self.component,
            )

    def _delete_pods(self, rs: Obj, victims: list[Obj]) -> None:
        """Delete every victim; a refusal (not a pod already gone) is raised after."""
        failure: StatusError | None = None
        for pod in victims:
            meta = pod["metadata"]
            try:
                self.api.delete(self.ctx.rt("pods"), meta["namespace"], meta["name"])
            except StatusError as err:
                if err.code != 404:
                    failure = failure or err
                    self.ctx.record_event(
                        rs,
                        "FailedDelete",
                        f"Error deleting: {err.message}",
                        component=self.component,
                        type="Warning",
                    )
                continue
            self.ctx.record_event(
                rs,
                "SuccessfulDelete",
                f"Deleted pod: {meta['name']}",
                component=self.component,
            )
        if failure is not None:
            raise failure

    # -- status ------------------------------------------------------------------------

    def _update_status(
        self, key: Key, pods: list[Obj], failure: StatusError | None = None
    ) -> float | None:
        rs = self.store.get(self.resource, *key)
        if rs is None:
            return None
        min_ready = int(rs["spec"].get("minReadySeconds") or 0)
        active = [p for p in pods if podutil.is_active(p)]
        new = copy.deepcopy(rs)
        new["status"] = replicaset_status(rs, active, min_ready, failure)
        if new["status"] != rs.get("status"):
            self.api.update(
                self.ctx.rt(self.resource),
                key[0],
                key[1],
                new,
                subresource="status",
            )
        waits = [podutil.seconds_until_available(p, min_ready) for p in active]
        pending = [w for w in waits if w is not None]
        return min(pending) + 0.05 if pending else None


def replicaset_status(
    rs: Obj, active: list[Obj], min_ready: int, failure: StatusError | None = None
) -> Obj:
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
    conditions = replica_failure(rs, len(active), failure)
    if conditions:
        status["conditions"] = conditions
    return status


def replica_failure(rs: Obj, active: int, failure: StatusError | None) -> list[Obj]:
    """The set's conditions after a sync: a ReplicaFailure condition is added when
    creating or deleting pods failed (upstream `calculateStatus`; FailedCreate when
    pods were missing), kept while syncs keep failing, and removed by a success."""
    conditions = list((rs.get("status") or {}).get("conditions") or [])
    existing = [c for c in conditions if c.get("type") == "ReplicaFailure"]
    if failure is None:
        return [c for c in conditions if c.get("type") != "ReplicaFailure"]
    if existing:
        return conditions
    wanted = int(rs["spec"].get("replicas", 1))
    reason = "FailedCreate" if active < wanted else "FailedDelete"
    condition: Obj = {
        "type": "ReplicaFailure",
        "status": "True",
        "lastTransitionTime": podutil.iso(),
        "reason": reason,
        "message": failure.message,
    }
    return [*conditions, condition]


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
    """Pods in the order a ReplicaSet deletes them (upstream `ActivePodsWithRanks` with
    the LogarithmicScaleDown and PodDeletionCost gates on, as they are by default)."""
    moment = time.time() if now is None else now
    per_node = Counter(p["spec"].get("nodeName") or "" for p in pods)

    def first(a: Obj, b: Obj) -> int:
        return -1 if _deleted_before(a, b, per_node, moment) else 1

    return sorted(pods, key=functools.cmp_to_key(first))


def _deleted_before(a: Obj, b: Obj, per_node: Counter[str], now: float) -> bool:
    """Whether `a` goes before `b`; the eight rules of upstream's `Less`, in order."""
    node_a, node_b = a["spec"].get("nodeName") or "", b["spec"].get("nodeName") or ""
    if node_a != node_b and not (node_a and node_b):
        return not node_a  # 1. unscheduled first
    phase_a, phase_b = _phase_rank(a), _phase_rank(b)
    if phase_a != phase_b:
        return phase_a < phase_b  # 2. Pending, then Unknown, then Running
    ready_a, ready_b = podutil.is_ready(a), podutil.is_ready(b)
    if ready_a != ready_b:
        return not ready_a  # 3. not ready first
    if _deletion_cost(a) != _deletion_cost(b):
        return _deletion_cost(a) < _deletion_cost(b)  # 4. lower deletion cost first
    if per_node[node_a] != per_node[node_b]:
        return per_node[node_a] > per_node[node_b]  # 5. doubled up first
    if ready_a and ready_b:
        order = _newer_first(a, b, podutil.ready_since(a), podutil.ready_since(b), now)
        if order is not None:
            return order  # 6. ready for less time first
    if _max_restarts(a) != _max_restarts(b):
        return _max_restarts(a) > _max_restarts(b)  # 7. more restarts first
    order = _newer_first(a, b, _created(a), _created(b), now)
    return bool(order)  # 8. newer first


def _newer_first(
    a: Obj, b: Obj, since_a: float | None, since_b: float | None, now: float
) -> bool | None:
    """Rules 6 and 8: the more recent time first, compared on a log2 scale of the age in
    nanoseconds (pods in the same bucket by uid); a missing time counts as newest.  None
    when the times are equal, so the next rule decides."""
    if since_a == since_b:
        return None
    if since_a is None or since_b is None:
        return since_a is None
    rank_diff = _log2_rank(now - since_a) - _log2_rank(now - since_b)
    if rank_diff == 0:
        return str(a["metadata"].get("uid", "")) < str(b["metadata"].get("uid", ""))
    return rank_diff < 0


def _log2_rank(seconds: float) -> int:
    nanoseconds = seconds * 1e9
    return int(math.log2(nanoseconds)) if nanoseconds > 0 else -1


def _phase_rank(pod: Obj) -> int:
    return PHASE_RANK.get((pod.get("status") or {}).get("phase") or "", 0)


def _created(pod: Obj) -> float | None:
    return podutil.created_at(pod) if pod["metadata"].get("creationTimestamp") else None


def _max_restarts(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def _deletion_cost(pod: Obj) -> int:
    text = (pod["metadata"].get("annotations") or {}).get(DELETION_COST, "0")
    try:
        return int(text)
    except ValueError:
        return 0
