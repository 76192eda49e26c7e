"""What kube-apiserver's service registry (`pkg/registry/core/service`) does to a
Service around its writes: ClusterIPs and NodePorts allocated before validation, and a
change of `type` followed through.

Faithful:
- create: a ClusterIP for every type but ExternalName (random in 10.96.0.0/12, never
  one an IPAddress holds); NodePorts for NodePort, and for LoadBalancer unless
  `allocateLoadBalancerNodePorts: false` (nodeports.py says how they are chosen and
  refused); ports that share a `port` number (53/UDP and 53/TCP) share one NodePort;
- update, as `beginUpdate` and `PrepareForUpdate` do it: every decode defaults, so a
  Service patched to NodePort gets `externalTrafficPolicy: Cluster` and one patched to
  LoadBalancer `allocateLoadBalancerNodePorts: true`; values the client left out are
  patched in from the stored object (the ClusterIP, and each NodePort by port name);
  new NodePorts are allocated, explicit ones checked, and a port no longer used is
  released (it is free for the next Service at once); then `dropTypeDependentFields`:
  a Service leaving NodePort/LoadBalancer loses its NodePorts and
  `externalTrafficPolicy`, one leaving LoadBalancer its
  `allocateLoadBalancerNodePorts`, one turned ExternalName its `clusterIP(s)`,
  `ipFamilies` and `ipFamilyPolicy` (its IPAddress goes), each only when the client
  did not change it in the same write (then validation refuses the mix); an
  ExternalName Service turned ClusterIP is given an address; `status.loadBalancer` is
  cleared for any type but LoadBalancer.

Simplified: no health-check NodePort (`externalTrafficPolicy: Local` on a
LoadBalancer), no `loadBalancerClass` handling, and no load balancer ever answers, so
`status.loadBalancer` stays empty (as on kind without cloud-provider-kind); a Service
that already had a NodePort and is given a second port with the same one is refused by
validation's duplicate check (upstream's allocator fails it with a 500).
"""

from __future__ import annotations

import copy
import ipaddress
import random
from typing import Any

from kubecourse.embedded import defaults, ipaddresses, nodeports, status
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Store

Obj = dict[str, Any]

SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")
# Fields a client may leave out of an update without meaning to clear them (the IP
# family fields the allocator keeps); `type`, `sessionAffinity` and
# `internalTrafficPolicy` left out are defaulted again, as every decode defaults them.
KEPT_ON_UPDATE = ("ipFamilies", "ipFamilyPolicy")
EXTERNALLY_ACCESSIBLE = ("NodePort", "LoadBalancer")


def needs_cluster_ip(spec: Obj) -> bool:
    return spec.get("type") != "ExternalName"


def needs_node_ports(spec: Obj) -> bool:
    return spec.get("type") in EXTERNALLY_ACCESSIBLE


def allocates_node_ports(spec: Obj) -> bool:
    """`shouldAllocateNodePorts`: a LoadBalancer may opt out."""
    if spec.get("type") == "NodePort":
        return True
    return (
        spec.get("type") == "LoadBalancer"
        and spec.get("allocateLoadBalancerNodePorts") is not False
    )


# ---------------------------------------------------------------- create


def allocate_create(
    store: Store, service: Obj, rand: random.Random | None = None
) -> None:
    """`beginCreate`: the ClusterIP, then the NodePorts."""
    spec = service["spec"]
    if needs_cluster_ip(spec) and not spec.get("clusterIP"):
        spec["clusterIP"] = free_cluster_ip(store, rand)
    _sync_cluster_ips(spec)
    if needs_node_ports(spec):
        allocation = nodeports.Allocation(nodeports.held(store), rand)
        _init_node_ports(service, allocation)


def _sync_cluster_ips(spec: Obj) -> None:
    if spec.get("clusterIP"):
        spec["clusterIPs"] = [spec["clusterIP"]]


def free_cluster_ip(store: Store, rand: random.Random | None = None) -> str:
    """A random address of the range, above the bottom block kept for explicit asks."""
    rand = rand or random.Random()
    used = {s["spec"].get("clusterIP") for s in store.items("services")}
    used |= ipaddresses.allocated(store)
    size = SERVICE_RANGE.num_addresses
    reserved = min(max(16, size // 16), 256)
    for _ in range(1000):
        candidate = str(SERVICE_RANGE[rand.randrange(reserved, size - 1)])
        if candidate not in used:
            return candidate
    raise status.StatusError(500, "InternalError", "no free ClusterIP in 10.96.0.0/12")


def _init_node_ports(service: Obj, allocation: nodeports.Allocation) -> None:
    """`initNodePorts`: explicit ports are claimed, the others chosen; a `port` number
    met again (another protocol) reuses the NodePort given the first time."""
    spec = service["spec"]
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    given: dict[Any, int] = {}
    for index, port in enumerate(ports):
        if not port.get("nodePort") and not allocates_node_ports(spec):
            continue
        earlier = given.get(port.get("port"))
        if earlier is None:
            wanted = _requested(port.get("port"), ports[index:])
            port["nodePort"] = _take(service, allocation, index, wanted)
            given[port.get("port")] = port["nodePort"]
        elif not port.get("nodePort"):
            port["nodePort"] = earlier
        elif port["nodePort"] != earlier:
            _take(service, allocation, index, port["nodePort"])


def _requested(number: Any, ports: list[Obj]) -> int:
    """`findRequestedNodePort`: the first explicit NodePort of a port with this number."""
    for port in ports:
        if port.get("port") == number and port.get("nodePort"):
            return int(port["nodePort"])
    return 0


def _take(
    service: Obj, allocation: nodeports.Allocation, index: int, wanted: int
) -> int:
    """Claim `wanted`, or choose a port when it is 0; the registry's errors."""
    try:
        if wanted:
            allocation.allocate(wanted)
            return wanted
        return allocation.allocate_next()
    except nodeports.PortError as err:
        if not wanted:
            raise status.StatusError(
                500, "InternalError", f"failed to allocate a nodePort: {err}"
            ) from err
        cause = {
            "reason": "FieldValueInvalid",
            "field": f"spec.ports[{index}].nodePort",
            "message": f"Invalid value: {wanted}: {err}",
        }
        name = service["metadata"].get("name") or ""
        raise status.invalid(REGISTRY.get("services"), name, [cause]) from err


# ---------------------------------------------------------------- update


def prepare_update(
    store: Store, old: Obj, new: Obj, rand: random.Random | None = None
) -> None:
    """`beginUpdate` then `PrepareForUpdate`, on the merged object about to be validated."""
    spec = new.setdefault("spec", {})
    before = old.get("spec") or {}
    for field in KEPT_ON_UPDATE:
        if field not in spec and field in before:
            spec[field] = copy.deepcopy(before[field])
    defaults.default_service_spec(spec)
    _patch_allocated_values(before, spec)

    drop_type_dependent_fields(before, spec)
    if spec.get("type") != "LoadBalancer" and isinstance(new.get("status"), dict):
        new["status"]["loadBalancer"] = {}

    _update_cluster_ip(store, new, before, rand)
    if needs_node_ports(spec):
        allocation = nodeports.Allocation(nodeports.held(store), rand)
        _update_node_ports(new, before, allocation)


def _patch_allocated_values(before: Obj, spec: Obj) -> None:
    """`patchAllocatedValues`: what the client did not send keeps its allocated value."""
    if needs_cluster_ip(before) and needs_cluster_ip(spec):
        if not spec.get("clusterIP") and before.get("clusterIP"):
            spec["clusterIP"] = before["clusterIP"]
        if not spec.get("clusterIPs") and before.get("clusterIPs"):
            spec["clusterIPs"] = copy.deepcopy(before["clusterIPs"])
    if not (needs_node_ports(before) and needs_node_ports(spec)):
        return
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    in_both = set(nodeports.ports_of({"spec": before})) & set(
        nodeports.ports_of({"spec": spec})
    )
    by_name = {
        p.get("name", ""): p.get("nodePort") or 0
        for p in before.get("ports") or []
        if isinstance(p, dict)
    }
    for port in ports:
        if not port.get("nodePort"):
            kept = by_name.get(port.get("name", ""), 0)
            if kept and kept not in in_both:
                port["nodePort"] = kept


def drop_type_dependent_fields(before: Obj, spec: Obj) -> None:
    """`dropTypeDependentFields`: a field that no longer applies to the new type goes,
    unless the client changed it in this same write."""
    if needs_cluster_ip(before) and not needs_cluster_ip(spec):
        if _same(before, spec, "clusterIP") and _same(before, spec, "clusterIPs"):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        for field in ("ipFamilies", "ipFamilyPolicy"):
            if _same(before, spec, field):
                spec.pop(field, None)
    if needs_node_ports(before) and not needs_node_ports(spec):
        old_ports = set(nodeports.ports_of({"spec": before}))
        if set(nodeports.ports_of({"spec": spec})) <= old_ports:
            for port in spec.get("ports") or []:
                if isinstance(port, dict):
                    port.pop("nodePort", None)
    leaves_load_balancer = (
        before.get("type") == "LoadBalancer" and spec.get("type") != "LoadBalancer"
    )
    if leaves_load_balancer and _same(before, spec, "allocateLoadBalancerNodePorts"):
        spec.pop("allocateLoadBalancerNodePorts", None)
    if _externally_accessible(before) and not _externally_accessible(spec):
        if _same(before, spec, "externalTrafficPolicy"):
            spec.pop("externalTrafficPolicy", None)


def _same(before: Obj, spec: Obj, field: str) -> bool:
    return before.get(field) == spec.get(field)


def _externally_accessible(spec: Obj) -> bool:
    """`ExternallyAccessible`: NodePort, LoadBalancer, or a ClusterIP with external IPs."""
    kind = spec.get("type")
    return kind in EXTERNALLY_ACCESSIBLE or (
        kind == "ClusterIP" and bool(spec.get("externalIPs"))
    )


def _update_cluster_ip(
    store: Store, new: Obj, before: Obj, rand: random.Random | None
) -> None:
    """An ExternalName Service turned into another type is given an address."""
    spec = new["spec"]
    if not needs_cluster_ip(spec) or needs_cluster_ip(before):
        return
    if spec.get("clusterIP"):
        ipaddresses.check_available(store, new)
    else:
        spec["clusterIP"] = free_cluster_ip(store, rand)
    _sync_cluster_ips(spec)


def _update_node_ports(new: Obj, before: Obj, allocation: nodeports.Allocation) -> None:
    """`updateNodePorts`: ports the Service held stay its own; new explicit ones are
    claimed; missing ones chosen.  Those it no longer lists are released by the write
    itself (nodeports.py reads the held ports from the stored Services)."""
    spec = new["spec"]
    held_before = set(nodeports.ports_of({"spec": before}))
    claimed: set[int] = set()
    for index, port in enumerate(spec.get("ports") or []):
        if not isinstance(port, dict):
            continue
        if not port.get("nodePort") and not allocates_node_ports(spec):
            continue
        wanted = int(port.get("nodePort") or 0)
        if wanted and (wanted in held_before or wanted in claimed):
            continue
        port["nodePort"] = _take(new, allocation, index, wanted)
        claimed.add(port["nodePort"])


# ---------------------------------------------------------------- after a write


def cluster_ips_changed(old: Obj, new: Obj) -> bool:
    before = (old.get("spec") or {}).get("clusterIPs")
    return before != (new.get("spec") or {}).get("clusterIPs")
