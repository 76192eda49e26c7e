"""The default scheduler: bind each unscheduled pod to the best node that can run it.

Faithful: only pods with `schedulerName: default-scheduler` and no `nodeName`; the
filters NodeUnschedulable, TaintToleration (NoSchedule and NoExecute taints must be
tolerated), NodeAffinity (`nodeSelector` and required node affinity with In, NotIn,
Exists, DoesNotExist, Gt, Lt), NodeResourcesFit (cpu, memory, ephemeral-storage and the
pod count against `status.allocatable`, counting the requests of every pod already
bound there) in that order, the first failing filter naming the node's reason; the
upstream unschedulable message (`0/4 nodes are available: 1 node(s) had untolerated
taint {node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu. preemption: ...`)
as condition PodScheduled=False/Unschedulable and a Warning FailedScheduling event;
scoring by least-allocated resources (each container that requests no CPU or memory
counted as 100m / 200Mi, on the node as in the pod, for scoring only) plus the spread of pods with the same controller across nodes, with
a random tie-break; binding sets `spec.nodeName` and PodScheduled=True, with the event
`Scheduled` ("Successfully assigned default/web-abc to kubecourse-worker2").  Its
events are written as 1.37's kube-scheduler writes them, through the events.k8s.io/v1
API: `eventTime` (MicroTime), `action` Binding or Scheduling, `reportingController`
default-scheduler, `reportingInstance` default-scheduler-<its node>, no legacy
`source`, `firstTimestamp`, `lastTimestamp` or `count` (repeats grow a `series`).
Unschedulable pods are retried when a node changes or a bound pod goes away.

Volumes (`volumebinding`, the VolumeBinding plugin): a pod whose claims are missing
or unbound in an Immediate class waits (`0/4 nodes are available: pod has unbound
immediate PersistentVolumeClaims. ...`); a claim's volume node affinity restricts
the nodes; a WaitForFirstConsumer claim gets the chosen node in its
`volume.kubernetes.io/selected-node` annotation, and the pod is bound once the claim
is Bound (claims changing re-queue the pods that use them).

Simplified: no preemption (the message says so the way upstream does when no victim
helps), no host ports, inter-pod affinity or topology-spread constraints, and
preferred node affinity is ignored.  Binding writes the pod directly, as the
API server's `pods/binding` subresource does.
"""

from __future__ import annotations

import copy
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kubecourse.embedded.controllers import podutil, volumebinding
from kubecourse.embedded.controllers.base import (
    Context,
    Controller,
    Key,
    Obj,
    controller_of,
    set_condition,
)
from kubecourse.embedded.store import Change

COMPONENT = "default-scheduler"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
SCORING_DEFAULTS = {"cpu": 0.1, "memory": 200 * 2.0**20}
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


@dataclass
class NodeUsage:
    requests: dict[str, float] = field(default_factory=dict)
    # The same with 100m CPU / 200Mi for each container that requests none: what scoring sees.
    scored: dict[str, float] = field(default_factory=dict)
    pods: int = 0
    owners: Counter[str] = field(default_factory=Counter)


class Scheduler(Controller):
    name = "scheduler"
    watches = ("pods", "nodes", volumebinding.PVCS)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._first_seen: dict[Key, float] = {}

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.resource == "nodes":
            return self._waiting()
        if change.resource == volumebinding.PVCS:
            name = change.obj["metadata"]["name"]
            return [k for k in self._waiting(change.obj["metadata"]["namespace"]) if self._uses(k, name)]
        pod = change.obj
        if change.type != "DELETED" and _wants_scheduling(pod):
            return [(pod["metadata"]["namespace"], pod["metadata"]["name"])]
        frees = change.type == "DELETED" or podutil.is_terminal(pod)
        return self._waiting() if frees and pod["spec"].get("nodeName") else []

    def _waiting(self, namespace: str | None = None) -> list[Key]:
        return [
            (p["metadata"]["namespace"], p["metadata"]["name"])
            for p in self.store.items("pods", namespace)
            if _wants_scheduling(p)
        ]

    def _uses(self, key: Key, claim: str) -> bool:
        pod = self.store.get("pods", *key)
        return pod is not None and volumebinding.uses_claim(pod, claim)

    async def reconcile(self, key: Key) -> float | None:
        pod = self.store.get("pods", *key)
        if pod is None or not _wants_scheduling(pod):
            self._first_seen.pop(key, None)
            return None
        wait = self._schedule_delay(key)
        if wait > 0:
            return wait

        nodes = sorted(self.store.items("nodes"), key=lambda n: n["metadata"]["name"])
        unresolvable = volumebinding.prefilter(self.store, pod)
        if unresolvable is not None:
            self._unschedulable(pod, prefilter_message(len(nodes), unresolvable))
            return None
        usage = self._usage()
        fitting, reasons = filter_nodes(pod, nodes, usage, self._volume_check(pod))
        if not fitting:
            self._unschedulable(pod, unschedulable_message(len(nodes), reasons))
            return None
        node = pick_node(pod, fitting, usage)
        if not volumebinding.prebind(self.api, pod, node):
            return None  # its claims are being provisioned; their changes re-queue it
        self._bind(pod, node)
        self._first_seen.pop(key, None)
        return None

    def _volume_check(self, pod: Obj) -> Callable[[Obj], str | None]:
        def check(node: Obj) -> str | None:
            return volumebinding.node_failure(self.store, pod, node, terms_match)

        return check

    def _schedule_delay(self, key: Key) -> float:
        first = self._first_seen.setdefault(key, time.monotonic())
        return first + self.ctx.timings.schedule_delay - time.monotonic()

    def _usage(self) -> dict[str, NodeUsage]:
        usage: dict[str, NodeUsage] = {}
        for pod in self.store.items("pods"):
            node = pod["spec"].get("nodeName")
            if not node or podutil.is_terminal(pod):
                continue
            entry = usage.setdefault(node, NodeUsage())
            entry.pods += 1
            for name, value in podutil.pod_requests(pod).items():
                entry.requests[name] = entry.requests.get(name, 0.0) + value
            for name, value in podutil.pod_requests(pod, SCORING_DEFAULTS).items():
                entry.scored[name] = entry.scored.get(name, 0.0) + value
            owner = controller_of(pod)
            if owner is not None:
                entry.owners[str(owner.get("uid"))] += 1
        return usage

    def _bind(self, pod: Obj, node: str) -> None:
        meta = pod["metadata"]
        self.api.bind(meta["namespace"], meta["name"], node)
        message = f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}"
        self.ctx.record_event(
            pod,
            "Scheduled",
            message,
            component=COMPONENT,
            host=self._hostname(),
            action="Binding",
        )

    def _unschedulable(self, pod: Obj, message: str) -> None:
        new = copy.deepcopy(pod)
        conditions = new.setdefault("status", {}).setdefault("conditions", [])
        if not set_condition(
            conditions, "PodScheduled", "False", "Unschedulable", message
        ):
            return  # same verdict as last time: upstream backs off, we stay quiet
        meta = pod["metadata"]
        self.api.update(
            self.ctx.rt("pods"),
            meta["namespace"],
            meta["name"],
            new,
            subresource="status",
        )
        self.ctx.record_event(
            pod,
            "FailedScheduling",
            message,
            component=COMPONENT,
            host=self._hostname(),
            type="Warning",
            action="Scheduling",
        )

    def _hostname(self) -> str:
        """The node kube-scheduler runs on (its events' `reportingInstance` names it)."""
        for node in self.store.items("nodes"):
            if CONTROL_PLANE_LABEL in (node["metadata"].get("labels") or {}):
                return str(node["metadata"]["name"])
        return "kubecourse-control-plane"


def _wants_scheduling(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    return (
        not spec.get("nodeName")
        and spec.get("schedulerName", COMPONENT) == COMPONENT
        and not podutil.is_terminating(pod)
        and not podutil.is_terminal(pod)
    )


# -- filters ---------------------------------------------------------------------------


def filter_nodes(
    pod: Obj,
    nodes: list[Obj],
    usage: dict[str, NodeUsage],
    volumes: Callable[[Obj], str | None] | None = None,
) -> tuple[list[Obj], dict[str, list[str]]]:
    """Nodes that pass every filter, and for the others the reasons they failed."""
    fitting: list[Obj] = []
    reasons: dict[str, list[str]] = {}
    for node in nodes:
        failed = node_failures(
            pod, node, usage.get(node["metadata"]["name"], NodeUsage())
        )
        volume_failure = volumes(node) if volumes is not None and not failed else None
        if volume_failure:
            failed = [volume_failure]
        if failed:
            reasons[node["metadata"]["name"]] = failed
        else:
            fitting.append(node)
    return fitting, reasons


def node_failures(pod: Obj, node: Obj, usage: NodeUsage) -> list[str]:
    for check in (_unschedulable_node, _untolerated_taint, _affinity_mismatch):
        reason = check(pod, node)
        if reason:
            return [reason]
    return _insufficient(pod, node, usage)


def _unschedulable_node(pod: Obj, node: Obj) -> str | None:
    if not node["spec"].get("unschedulable"):
        return None
    taint = {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}
    return None if tolerates(pod, taint) else "node(s) were unschedulable"


def _untolerated_taint(pod: Obj, node: Obj) -> str | None:
    for taint in node["spec"].get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(
            pod, taint
        ):
            return f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"
    ready = podutil.condition(node, "Ready")
    if (
        ready is not None
        and ready.get("status") != "True"
        and not node["spec"].get("taints")
    ):
        return "node(s) were not ready"
    return None


def tolerates(pod: Obj, taint: Obj) -> bool:
    for toleration in pod["spec"].get("tolerations") or []:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        operator = toleration.get("operator", "Equal")
        key = toleration.get("key")
        if operator == "Exists" and (not key or key == taint.get("key")):
            return True
        if (
            operator == "Equal"
            and key == taint.get("key")
            and toleration.get("value", "") == taint.get("value", "")
        ):
            return True
    return False


def node_affinity_matches(pod: Obj, node: Obj) -> bool:
    """`nodeSelector` and required node affinity (matchExpressions and matchFields)."""
    return _affinity_mismatch(pod, node) is None


def _affinity_mismatch(pod: Obj, node: Obj) -> str | None:
    labels = node["metadata"].get("labels") or {}
    selector = pod["spec"].get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return "node(s) didn't match Pod's node affinity/selector"
    affinity = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    terms = (affinity or {}).get("nodeSelectorTerms")
    if terms and not any(_term_matches(term, node) for term in terms):
        return "node(s) didn't match Pod's node affinity/selector"
    return None


def terms_match(terms: list[Obj], node: Obj) -> bool:
    """Node selector terms (ORed), as a PersistentVolume's node affinity holds them."""
    return any(_term_matches(term, node) for term in terms)


def _term_matches(term: Obj, node: Obj) -> bool:
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    expressions = term.get("matchExpressions") or []
    field_expressions = term.get("matchFields") or []
    if not expressions and not field_expressions:
        return False  # an empty term matches nothing
    return all(_requirement(e, labels) for e in expressions) and all(
        _requirement(e, fields) for e in field_expressions
    )


def _requirement(expression: Obj, labels: dict[str, str]) -> bool:
    key, operator = expression.get("key", ""), expression.get("operator")
    values = [str(v) for v in expression.get("values") or []]
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            actual, wanted = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return actual > wanted if operator == "Gt" else actual < wanted
    return False


def _insufficient(pod: Obj, node: Obj, usage: NodeUsage) -> list[str]:
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    failures: list[str] = []
    if usage.pods + 1 > int(podutil.quantity(allocatable.get("pods", "110"))):
        failures.append("Too many pods")
    for name, wanted in sorted(podutil.pod_requests(pod).items()):
        if wanted <= 0:
            continue
        capacity = podutil.quantity(allocatable[name]) if name in allocatable else 0.0
        if usage.requests.get(name, 0.0) + wanted > capacity + 1e-9:
            failures.append(f"Insufficient {name}")
    return failures


def prefilter_message(total: int, reason: str) -> str:
    """A PreFilter verdict (UnschedulableAndUnresolvable) holds for every node."""
    return (
        f"0/{total} nodes are available: {reason}. "
        f"preemption: 0/{total} nodes are available: {total} {NOT_HELPFUL}."
    )


def unschedulable_message(total: int, reasons: dict[str, list[str]]) -> str:
    counts = Counter(reason for failed in reasons.values() for reason in failed)
    parts = sorted(f"{count} {reason}" for reason, count in counts.items())
    preemption = Counter(
        NO_VICTIMS
        if any(r.startswith(("Insufficient", "Too many")) for r in failed)
        else NOT_HELPFUL
        for failed in reasons.values()
    )
    helped = sorted(f"{count} {reason}" for reason, count in preemption.items())
    return (
        f"0/{total} nodes are available: {', '.join(parts)}. "
        f"preemption: 0/{total} nodes are available: {', '.join(helped)}."
    )


# -- scoring ---------------------------------------------------------------------------


def pick_node(pod: Obj, nodes: list[Obj], usage: dict[str, NodeUsage]) -> str:
    """The highest scoring node; ties broken at random, as upstream."""
    scored = [
        (score_node(pod, node, usage, nodes), str(node["metadata"]["name"]))
        for node in nodes
    ]
    best = max(score for score, _ in scored)
    return random.choice([name for score, name in scored if score >= best - 1e-9])


def score_node(
    pod: Obj, node: Obj, usage: dict[str, NodeUsage], nodes: list[Obj]
) -> float:
    return _least_allocated(pod, node, usage) + 2 * _spread(pod, node, usage, nodes)


def _least_allocated(pod: Obj, node: Obj, usage: dict[str, NodeUsage]) -> float:
    """Upstream NodeResourcesFit's LeastAllocated over cpu and memory, every container
    that requests nothing counted as 100m CPU / 200Mi (on the node and in the pod)."""
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    used = usage.get(node["metadata"]["name"], NodeUsage()).scored
    wanted = podutil.pod_requests(pod, SCORING_DEFAULTS)
    scores: list[float] = []
    for name in SCORING_DEFAULTS:
        capacity = podutil.quantity(allocatable.get(name, "0"))
        if capacity <= 0:
            continue
        requested = used.get(name, 0.0) + wanted.get(name, 0.0)
        scores.append(max(0.0, (capacity - requested) * 100 / capacity))
    return sum(scores) / len(scores) if scores else 0.0


def _spread(
    pod: Obj, node: Obj, usage: dict[str, NodeUsage], nodes: list[Obj]
) -> float:
    """100 for the node with the fewest pods of the same controller, 0 for the most."""
    owner = controller_of(pod)
    if owner is None:
        return 0.0
    uid = str(owner.get("uid"))
    counts = [usage.get(n["metadata"]["name"], NodeUsage()).owners[uid] for n in nodes]
    most = max(counts)
    if most == 0:
        return 100.0
    mine = usage.get(node["metadata"]["name"], NodeUsage()).owners[uid]
    return (most - mine) * 100 / most
