"""The events a kubelet records about its Node, as `kubectl describe node` lists them.

Faithful: when a kubelet starts (the cluster starting, or a powered-off node powered
on) it records Starting "Starting kubelet.", NodeHasSufficientMemory,
NodeHasNoDiskPressure and NodeHasSufficientPID ("Node x status is now: ..."),
NodeAllocatableEnforced "Updated Node Allocatable limit across pods", and NodeReady on
a node that has just registered; it records NodeNotSchedulable / NodeSchedulable when
it sees `spec.unschedulable` change (cordon, uncordon).  As upstream, the kubelet's
events name the node with its name as uid (the node controller's use the real uid;
`kubectl describe node` asks for both).

Simplified: the events come at once rather than at the kubelet's next status sync.
"""

from __future__ import annotations

import copy
import time

from kubecourse.embedded.controllers.base import Context, Obj, parse_time

COMPONENT = "kubelet"
JUST_REGISTERED = 60.0  # seconds: a node this young gets its first NodeReady
CONDITION_EVENTS = (
    "NodeHasSufficientMemory",
    "NodeHasNoDiskPressure",
    "NodeHasSufficientPID",
)


def kubelet_ref(node: Obj) -> Obj:
    """The node as the kubelet's event recorder names it: uid = node name."""
    ref = copy.deepcopy(node)
    ref["metadata"]["uid"] = node["metadata"]["name"]
    return ref


def record(ctx: Context, node: Obj, reason: str, message: str) -> None:
    name = node["metadata"]["name"]
    ctx.record_event(kubelet_ref(node), reason, message, component=COMPONENT, host=name)


def status_is_now(ctx: Context, node: Obj, reason: str) -> None:
    record(
        ctx, node, reason, f"Node {node['metadata']['name']} status is now: {reason}"
    )


def kubelet_started(ctx: Context, node: Obj) -> None:
    record(ctx, node, "Starting", "Starting kubelet.")
    for reason in CONDITION_EVENTS:
        status_is_now(ctx, node, reason)
    record(
        ctx,
        node,
        "NodeAllocatableEnforced",
        "Updated Node Allocatable limit across pods",
    )
    created = parse_time(node["metadata"].get("creationTimestamp"))
    if created is not None and time.time() - created.timestamp() < JUST_REGISTERED:
        status_is_now(ctx, node, "NodeReady")


def schedulable_changed(ctx: Context, node: Obj) -> None:
    cordoned = bool((node.get("spec") or {}).get("unschedulable"))
    status_is_now(ctx, node, "NodeNotSchedulable" if cordoned else "NodeSchedulable")
