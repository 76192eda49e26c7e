"""The DaemonSet controller: one pod on every node that should run one.

Faithful (`pkg/controller/daemon`): a node should run the daemon pod when the pod
template's `nodeName` (if any), `nodeSelector` and required node affinity match it and
every NoSchedule / NoExecute taint is tolerated, counting the tolerations the
controller adds (`node.kubernetes.io/not-ready` and `unreachable` NoExecute without
tolerationSeconds; `disk-pressure`, `memory-pressure`, `pid-pressure` and
`unschedulable` NoSchedule; `network-unavailable` NoSchedule for hostNetwork pods),
so the control plane's NoSchedule taint keeps pods off it unless the template tolerates
it, and a cordoned node keeps its daemon pod; a pod already there stays while its
NoExecute taints are tolerated.  Each pod is `generateName: <ds>-`, labelled
`controller-revision-hash` (see `history`) and `pod-template-generation`, owned by the
DaemonSet, and pinned by node affinity `requiredDuringSchedulingIgnoredDuringExecution`
`matchFields metadata.name In [node]` for the scheduler to bind.  Extra pods on a node
are deleted (the oldest kept); failed or finished ones are deleted and replaced (event
FailedDaemonPod, with back-off `Timings.daemon_failed_backoff`); a replacement waits
for a terminating pod to go.  RollingUpdate deletes out-of-date pods so that no more
than `maxUnavailable` (default 1; a percentage rounds up) nodes lack an available
current pod, or with `maxSurge` starts the new pod first and deletes the old one once
the new one is available; OnDelete replaces a pod only when someone deletes it.  Nodes
added, relabelled, tainted or cordoned are reconciled.  Status desiredNumberScheduled,
currentNumberScheduled, numberReady, numberAvailable (ready for minReadySeconds),
updatedNumberScheduled, numberMisscheduled, numberUnavailable, observedGeneration;
events SuccessfulCreate "Created pod: x", SuccessfulDelete "Deleted pod: x",
FailedCreate / FailedDelete, after which the work queue retries with back-off.

Simplified: no creation batches or expectations (the store is read after every write),
and orphans matching the selector are adopted without a fresh read of the DaemonSet.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable

from kubecourse.embedded.controllers import history, podutil
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    controller_of,
    owner_reference,
)
from kubecourse.embedded.controllers.scheduler import node_affinity_matches, tolerates
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change

COMPONENT = "daemonset-controller"
DAEMONSETS = "daemonsets.apps"
GENERATION_LABEL = "pod-template-generation"
GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
FAILED_BACKOFF_MAX = 900.0  # upstream failedPodsBackoff: 1 s doubling to 15 min


def _toleration(key: str, effect: str) -> Obj:
    return {"key": f"node.kubernetes.io/{key}", "operator": "Exists", "effect": effect}


DAEMON_TOLERATIONS = (
    _toleration("not-ready", "NoExecute"),
    _toleration("unreachable", "NoExecute"),
    _toleration("disk-pressure", "NoSchedule"),
    _toleration("memory-pressure", "NoSchedule"),
    _toleration("pid-pressure", "NoSchedule"),
    _toleration("unschedulable", "NoSchedule"),
)
HOST_NETWORK_TOLERATION = _toleration("network-unavailable", "NoSchedule")


class DaemonSetController(Controller):
    name = "daemonset"
    watches = (DAEMONSETS, "pods", "nodes")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._failed_backoff: dict[tuple[str, str], tuple[float, float]] = {}

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == DAEMONSETS:
            return super().keys_for(change)
        if change.resource == "nodes":
            return [
                (d["metadata"]["namespace"], d["metadata"]["name"])
                for d in self.store.items(DAEMONSETS)
            ]
        key = podutil.owner_key(change.obj, "DaemonSet")
        if key is not None:
            return [key]
        if controller_of(change.obj) is None and change.type != "DELETED":
            return list(self._selecting(change.obj))
        return []

    def _selecting(self, pod: Obj) -> Iterable[Key]:
        namespace = pod["metadata"].get("namespace") or ""
        for ds in self.store.items(DAEMONSETS, namespace):
            if podutil.selector_matches(
                ds["spec"].get("selector"), pod["metadata"].get("labels")
            ):
                yield (namespace, ds["metadata"]["name"])

    async def reconcile(self, key: Key) -> float | None:
        ds = self.store.get(DAEMONSETS, *key)
        if ds is None or podutil.is_terminating(ds):
            return None
        nodes = sorted(self.store.items("nodes"), key=lambda n: n["metadata"]["name"])
        hash_ = history.ensure_current(self.ctx, ds)

        waits: list[float | None] = []
        failure: StatusError | None = None
        try:
            waits.append(self._manage(ds, nodes, hash_))
            if (ds["spec"].get("updateStrategy") or {}).get(
                "type", "RollingUpdate"
            ) == "RollingUpdate":
                waits.append(self._rolling_update(ds, nodes, hash_))
            pods = self._claim(ds)
            history.clean_up(self.ctx, ds, pods, hash_)
        except StatusError as err:
            failure = err
        waits.append(self._update_status(key, nodes, hash_))
        if failure is not None:
            raise failure  # after the status, as upstream: the queue retries the key
        pending = [w for w in waits if w is not None]
        return min(pending) + 0.05 if pending else None

    # -- which nodes ---------------------------------------------------------------------

    def should_run(self, ds: Obj, node: Obj) -> tuple[bool, bool]:
        """(should run, should continue running) a daemon pod on `node`."""
        pod = {"metadata": {}, "spec": daemon_pod_spec(ds, node["metadata"]["name"])}
        template_node = (
            (ds["spec"].get("template") or {}).get("spec", {}).get("nodeName")
        )
        if template_node and template_node != node["metadata"]["name"]:
            return False, False
        if not node_affinity_matches(
            {"spec": (ds["spec"].get("template") or {}).get("spec") or {}}, node
        ):
            return False, False
        taints = node["spec"].get("taints") or []
        untolerated = [
            t
            for t in taints
            if t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(pod, t)
        ]
        if not untolerated:
            return True, True
        return False, not any(t.get("effect") == "NoExecute" for t in untolerated)

    def _pods_by_node(self, ds: Obj) -> dict[str, list[Obj]]:
        """Daemon pods per node, leaving out deleted pods that already finished."""
        by_node: dict[str, list[Obj]] = {}
        for pod in self._claim(ds):
            if podutil.is_terminal(pod) and podutil.is_terminating(pod):
                continue
            node = _pod_node(pod)
            if node:
                by_node.setdefault(node, []).append(pod)
        return by_node

    def _claim(self, ds: Obj) -> list[Obj]:
        namespace, uid = ds["metadata"]["namespace"], ds["metadata"]["uid"]
        selector = ds["spec"].get("selector")
        claimed: list[Obj] = []
        for pod in list(self.store.items("pods", namespace)):
            ref = controller_of(pod)
            if ref is not None and ref.get("uid") == uid:
                claimed.append(pod)
            elif (
                ref is None
                and not podutil.is_terminating(pod)
                and podutil.selector_matches(selector, pod["metadata"].get("labels"))
            ):
                adopted = copy.deepcopy(pod)
                adopted["metadata"]["ownerReferences"] = [
                    *(pod["metadata"].get("ownerReferences") or []),
                    owner_reference(ds),
                ]
                meta = pod["metadata"]
                claimed.append(
                    self.api.update(
                        self.ctx.rt("pods"), meta["namespace"], meta["name"], adopted
                    )
                )
        return claimed

    # -- manage: one pod per node --------------------------------------------------------

    def _manage(self, ds: Obj, nodes: list[Obj], hash_: str) -> float | None:
        by_node = self._pods_by_node(ds)
        surge = _max_surge(ds, 1) > 0
        create: list[str] = []
        delete: list[Obj] = []
        waits: list[float] = []
        for node in nodes:
            name = node["metadata"]["name"]
            run, keep = self.should_run(ds, node)
            pods = by_node.get(name, [])
            if run and not pods:
                create.append(name)
            elif keep:
                wait = self._prune_node(ds, name, pods, hash_, surge, delete)
                if wait is not None:
                    waits.append(wait)
            else:
                delete += [p for p in pods if not podutil.is_terminating(p)]
        self._sync_nodes(ds, delete, create, hash_)
        return min(waits) if waits else None

    def _prune_node(
        self,
        ds: Obj,
        node: str,
        pods: list[Obj],
        hash_: str,
        surge: bool,
        delete: list[Obj],
    ) -> float | None:
        """Failed, finished and extra pods on a node to delete; when to retry a failed one."""
        running: list[Obj] = []
        wait: float | None = None
        for pod in (p for p in pods if not podutil.is_terminating(p)):
            phase = (pod.get("status") or {}).get("phase")
            if phase == "Failed":
                wait = self._failed_pod(ds, node, pod, delete)
            elif phase == "Succeeded":
                delete.append(pod)
            else:
                running.append(pod)
        running.sort(key=_age_and_phase)
        if not surge:
            delete += running[1:]
            return wait
        delete += self._surge_extras(ds, running, hash_)
        return wait

    def _failed_pod(
        self, ds: Obj, node: str, pod: Obj, delete: list[Obj]
    ) -> float | None:
        key = (ds["metadata"]["uid"], node)
        now = time.monotonic()
        delay, since = self._failed_backoff.get(key, (0.0, 0.0))
        if now < since + delay:
            return since + delay - now
        base = self.ctx.timings.daemon_failed_backoff
        self._failed_backoff[key] = (
            min(delay * 2 if delay else base, FAILED_BACKOFF_MAX),
            now,
        )
        meta = pod["metadata"]
        message = f"Found failed daemon pod {meta['namespace']}/{meta['name']} on node {node}, will try to kill it"
        self._event(ds, "FailedDaemonPod", message, "Warning")
        delete.append(pod)
        return None

    def _surge_extras(self, ds: Obj, running: list[Obj], hash_: str) -> list[Obj]:
        """With maxSurge a node may hold an old and a new pod until the new one is up."""
        newest: Obj | None = None
        oldest_old: Obj | None = None
        extras: list[Obj] = []
        for pod in running:
            current = _hash_of(pod) == hash_
            if current and newest is None:
                newest = pod
            elif not current and oldest_old is None:
                oldest_old = pod
            else:
                extras.append(pod)
        if newest is not None and oldest_old is not None:
            min_ready = int(ds["spec"].get("minReadySeconds") or 0)
            if not podutil.is_ready(oldest_old) or podutil.is_available(
                newest, min_ready
            ):
                extras.append(oldest_old)
        return extras

    def _sync_nodes(
        self, ds: Obj, delete: list[Obj], create: list[str], hash_: str
    ) -> None:
        """Delete and create daemon pods; a refusal is raised (but for a pod already
        gone, or a namespace being terminated)."""
        failure: StatusError | None = None
        for pod in delete:
            meta = pod["metadata"]
            try:
                self.api.delete(self.ctx.rt("pods"), meta["namespace"], meta["name"])
            except StatusError as err:
                if err.code != 404:
                    failure = failure or err
                    self._event(
                        ds, "FailedDelete", f"Error deleting: {err.message}", "Warning"
                    )
                continue
            self._event(ds, "SuccessfulDelete", f"Deleted pod: {meta['name']}")
        for node in create:
            try:
                pod = self.api.create(
                    self.ctx.rt("pods"),
                    ds["metadata"]["namespace"],
                    daemon_pod(ds, node, hash_),
                )
            except StatusError as err:
                if podutil.namespace_terminating(err):
                    return
                self._event(
                    ds, "FailedCreate", f"Error creating: {err.message}", "Warning"
                )
                raise
            self._event(
                ds, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}"
            )
        if failure is not None:
            raise failure

    # -- rolling update ------------------------------------------------------------------

    def _rolling_update(self, ds: Obj, nodes: list[Obj], hash_: str) -> float | None:
        by_node = self._pods_by_node(ds)
        desired = sum(1 for n in nodes if self.should_run(ds, n)[0])
        surge = _max_surge(ds, desired)
        unavailable = podutil.scaled_value(
            _rolling(ds).get("maxUnavailable", 1), desired, round_up=True
        )
        if surge == 0 and unavailable == 0:
            unavailable = 1
        if surge == 0:
            self._sync_nodes(
                ds, self._replace_within(ds, by_node, hash_, unavailable), [], hash_
            )
        else:
            delete, create = self._surge_within(ds, by_node, hash_, surge)
            self._sync_nodes(ds, delete, create, hash_)
        return None

    def _replace_within(
        self, ds: Obj, by_node: dict[str, list[Obj]], hash_: str, max_unavailable: int
    ) -> list[Obj]:
        """Old pods to delete so that at most max_unavailable nodes lack an available pod."""
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        unavailable = 0
        replace: list[Obj] = []
        candidates: list[Obj] = []
        for _node, pods in sorted(by_node.items()):
            found = _new_and_old(pods, hash_)
            if found is None:
                unavailable += 1
                continue
            new, old = found
            if (new is None) == (old is None):
                unavailable += 1
            elif new is not None:
                unavailable += 0 if podutil.is_available(new, min_ready) else 1
            elif old is not None and not podutil.is_available(old, min_ready):
                replace.append(old)
            elif old is not None and unavailable < max_unavailable:
                candidates.append(old)
        room = min(max(max_unavailable - unavailable, 0), len(candidates))
        return replace + candidates[:room]

    def _surge_within(
        self, ds: Obj, by_node: dict[str, list[Obj]], hash_: str, max_surge: int
    ) -> tuple[list[Obj], list[str]]:
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        surging = 0
        delete: list[Obj] = []
        allowed: list[str] = []
        candidates: list[str] = []
        for node, pods in sorted(by_node.items()):
            found = _new_and_old(pods, hash_)
            if found is None:
                surging += 1
                continue
            new, old = found
            if old is None:
                continue
            if new is None:
                if not podutil.is_available(old, min_ready):
                    allowed.append(node)
                elif surging < max_surge:
                    candidates.append(node)
            elif not podutil.is_available(new, min_ready):
                surging += 1
            else:
                delete.append(old)
        room = min(max(max_surge - surging, 0), len(candidates))
        return delete, allowed + candidates[:room]

    # -- status --------------------------------------------------------------------------

    def _update_status(self, key: Key, nodes: list[Obj], hash_: str) -> float | None:
        ds = self.store.get(DAEMONSETS, *key)
        if ds is None:
            return None
        status, wait = self._status(ds, nodes, hash_)
        if status != ds.get("status"):
            new = copy.deepcopy(ds)
            new["status"] = status
            self.api.update(
                self.ctx.rt(DAEMONSETS), key[0], key[1], new, subresource="status"
            )
        return wait

    def _status(
        self, ds: Obj, nodes: list[Obj], hash_: str
    ) -> tuple[Obj, float | None]:
        by_node = self._pods_by_node(ds)
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        generation = str(template_generation(ds))
        counts = dict.fromkeys(
            ("desired", "current", "ready", "available", "updated", "misscheduled"), 0
        )
        waits: list[float] = []
        for node in nodes:
            pods = sorted(by_node.get(node["metadata"]["name"], []), key=_age_and_phase)
            if not self.should_run(ds, node)[0]:
                counts["misscheduled"] += 1 if pods else 0
                continue
            counts["desired"] += 1
            if not pods:
                continue
            pod = pods[0]
            counts["current"] += 1
            counts["ready"] += podutil.is_ready(pod)
            counts["available"] += podutil.is_available(pod, min_ready)
            labels = pod["metadata"].get("labels") or {}
            counts["updated"] += (
                labels.get(history.HASH_LABEL) == hash_
                or labels.get(GENERATION_LABEL) == generation
            )
            wait = podutil.seconds_until_available(pod, min_ready)
            if wait is not None:
                waits.append(wait)
        return _status_body(ds, counts), (min(waits) if waits else None)

    def _event(self, ds: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        self.ctx.record_event(ds, reason, message, component=COMPONENT, type=type_)


# -- the pods ----------------------------------------------------------------------------------


def template_generation(ds: Obj) -> int:
    text = (ds["metadata"].get("annotations") or {}).get(GENERATION_ANNOTATION)
    return (
        int(text)
        if text and str(text).isdigit()
        else int(ds["metadata"].get("generation", 1))
    )


def daemon_pod_spec(ds: Obj, node: str) -> Obj:
    """The template's spec with the daemon tolerations and the node pinned."""
    spec: Obj = copy.deepcopy((ds["spec"].get("template") or {}).get("spec") or {})
    tolerations = spec.setdefault("tolerations", [])
    wanted = [
        *DAEMON_TOLERATIONS,
        *([HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else []),
    ]
    for toleration in wanted:
        if not any(_same_toleration(t, toleration) for t in tolerations):
            tolerations.append(dict(toleration))
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    term = {
        "matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]
    }
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [term]
    }
    return spec


def daemon_pod(ds: Obj, node: str, hash_: str) -> Obj:
    template = ds["spec"].get("template") or {}
    template_meta = template.get("metadata") or {}
    labels = {
        **(template_meta.get("labels") or {}),
        history.HASH_LABEL: hash_,
        GENERATION_LABEL: str(template_generation(ds)),
    }
    metadata: Obj = {
        "generateName": f"{ds['metadata']['name']}-",
        "labels": labels,
        "ownerReferences": [owner_reference(ds)],
    }
    if template_meta.get("annotations"):
        metadata["annotations"] = dict(template_meta["annotations"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": daemon_pod_spec(ds, node),
    }


def _same_toleration(a: Obj, b: Obj) -> bool:
    fields = ("key", "operator", "value", "effect")
    return all(
        a.get(f, "Equal" if f == "operator" else "")
        == b.get(f, "Equal" if f == "operator" else "")
        for f in fields
    )


def _pod_node(pod: Obj) -> str | None:
    """The node a daemon pod is on, or is pinned to while it waits for the scheduler."""
    if pod["spec"].get("nodeName"):
        return str(pod["spec"]["nodeName"])
    required = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for field in term.get("matchFields") or []:
            if (
                field.get("key") == "metadata.name"
                and field.get("operator") == "In"
                and len(field.get("values") or []) == 1
            ):
                return str(field["values"][0])
    return None


def _hash_of(pod: Obj) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(history.HASH_LABEL)


def _new_and_old(pods: list[Obj], hash_: str) -> tuple[Obj | None, Obj | None] | None:
    """`findUpdatedPodsOnNode`: the node's current and old pod, None if several of either."""
    new: Obj | None = None
    old: Obj | None = None
    for pod in pods:
        if podutil.is_terminating(pod):
            continue
        if _hash_of(pod) == hash_:
            if new is not None:
                return None
            new = pod
        else:
            if old is not None:
                return None
            old = pod
    return new, old


def _age_and_phase(pod: Obj) -> tuple[float, int]:
    """`podByCreationTimestampAndPhase`: older first; a running pod before a pending one."""
    phase = (pod.get("status") or {}).get("phase")
    return (podutil.created_at(pod), 0 if phase == "Running" else 1)


def _rolling(ds: Obj) -> Obj:
    rolling: Obj = (ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
    return rolling


def _max_surge(ds: Obj, desired: int) -> int:
    if (ds["spec"].get("updateStrategy") or {}).get(
        "type", "RollingUpdate"
    ) != "RollingUpdate":
        return 0
    return podutil.scaled_value(_rolling(ds).get("maxSurge", 0), desired, round_up=True)


def _status_body(ds: Obj, counts: dict[str, int]) -> Obj:
    status: Obj = {
        "currentNumberScheduled": counts["current"],
        "desiredNumberScheduled": counts["desired"],
        "numberMisscheduled": counts["misscheduled"],
        "numberReady": counts["ready"],
        "observedGeneration": int(ds["metadata"].get("generation", 1)),
    }
    optional = {
        "numberAvailable": counts["available"],
        "updatedNumberScheduled": counts["updated"],
        "numberUnavailable": counts["desired"] - counts["available"],
    }
    status.update(
        {k: v for k, v in optional.items() if v}
    )  # omitempty, as a real server answers
    collisions = (ds.get("status") or {}).get("collisionCount")
    if collisions is not None:
        status["collisionCount"] = collisions
    return status
