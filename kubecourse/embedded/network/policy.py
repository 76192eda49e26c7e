"""NetworkPolicy enforcement on a new connection, as kindnet enforces it (kind 0.24+).

kind's network plugin, kindnet, embeds kube-network-policies since kind v0.24: the first
packet of every new connection from or to a Pod is judged in user space against the
NetworkPolicies, after kube-proxy's DNAT (so against the Pod a Service chose, on its
target port), and a connection that is not allowed is dropped: the client sees a
timeout, not a refusal.  The rules are the API's:

- A Pod is isolated for ingress (egress) when a policy in its namespace selects it
  (`podSelector`, `{}` for all) and lists `Ingress` (`Egress`) in `policyTypes`; without
  `policyTypes` a policy is `Ingress`, plus `Egress` when it has egress rules.  A Pod no
  policy isolates accepts (sends) everything.
- An isolated Pod accepts a connection that one rule of one selecting policy allows
  (policies add up): a rule matches when its `ports` are empty or one of them matches
  (`protocol`, default TCP; `port` as a number or the destination Pod's named
  `containerPort`; `endPort` for a range) and its `from` (`to`) is empty or one peer
  matches: `ipBlock` (`cidr` minus `except`) on the other end's address; `podSelector`
  alone, Pods of the policy's namespace; `namespaceSelector` alone, every Pod of the
  selected namespaces; both, the selected Pods of the selected namespaces.  Selectors
  never match an address that is not a Pod's (a node, the API server).
- Both ends must agree: the source Pod's egress and the destination Pod's ingress.
- Traffic a node's own processes start towards Pods on that same node is always
  allowed (kube-network-policies accepts root-owned host traffic there: kubelet probes,
  a hostNetwork Pod); from another node it is judged by its source address.

Simplified: AdminNetworkPolicies are not served; a policy changed later does not cut
connections already open (kube-network-policies' default, without its strict mode).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
POLICIES = "networkpolicies.networking.k8s.io"


@dataclass(frozen=True)
class End:
    """One end of a connection: its address, its Pod (None for a node or the API
    server), and the node it is on."""

    ip: str
    pod: Obj | None = None
    node: str | None = None


def allowed(
    store: Store, source: End, target: End, port: int, protocol: str = "TCP",
    seen: End | None = None,
) -> bool:  # fmt: skip
    """Whether kube-network-policies lets this new connection through; `seen` is the
    source as the target sees it when it was masqueraded (a NodePort)."""
    if source.pod is not None and not _allows(
        store, source.pod, "Egress", target, port, protocol
    ):
        return False
    if target.pod is None:
        return True
    inbound = seen or source
    if inbound.pod is None and inbound.node is not None and inbound.node == target.node:
        return True  # the node's own traffic to its Pods
    return _allows(
        store, target.pod, "Ingress", inbound, port, protocol, dest=target.pod
    )


def selecting(store: Store, pod: Obj, direction: str) -> list[Obj]:
    """The policies that isolate `pod` in `direction` ("Ingress" or "Egress")."""
    namespace = pod["metadata"]["namespace"]
    labels = pod["metadata"].get("labels") or {}
    return [
        policy
        for policy in store.items(POLICIES, namespace)
        if direction in policy_types(policy)
        and podutil.selector_matches(
            (policy.get("spec") or {}).get("podSelector") or {}, labels
        )
    ]


def policy_types(policy: Obj) -> list[str]:
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    if types:
        return [str(t) for t in types]
    return ["Ingress", *(["Egress"] if spec.get("egress") else [])]


def _allows(
    store: Store, pod: Obj, direction: str, other: End, port: int, protocol: str,
    dest: Obj | None = None,
) -> bool:  # fmt: skip
    policies = selecting(store, pod, direction)
    if not policies:
        return True
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    port_owner = dest if dest is not None else other.pod
    for policy in policies:
        namespace = policy["metadata"]["namespace"]
        for rule in (policy.get("spec") or {}).get(key) or []:
            if _ports_match(
                rule.get("ports"), port, protocol, port_owner
            ) and _peers_match(store, rule.get(peers_key), other, namespace):
                return True
    return False


def _ports_match(
    ports: Iterable[Obj] | None, port: int, protocol: str, pod: Obj | None
) -> bool:
    listed = list(ports or [])
    if not listed:
        return True
    for entry in listed:
        if str(entry.get("protocol") or "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, int) or str(wanted).isdigit():
            low, high = int(wanted), int(entry.get("endPort") or wanted)
            if low <= port <= high:
                return True
        elif pod is not None and _named_port(pod, str(wanted), protocol) == port:
            return True
    return False


def _named_port(pod: Obj, name: str, protocol: str) -> int | None:
    for container in pod["spec"].get("containers") or []:
        for entry in container.get("ports") or []:
            if (
                entry.get("name") == name
                and str(entry.get("protocol") or "TCP") == protocol
            ):
                return int(entry["containerPort"])
    return None


def _peers_match(
    store: Store, peers: Iterable[Obj] | None, other: End, namespace: str
) -> bool:
    listed = list(peers or [])
    if not listed:
        return True
    return any(_peer_matches(store, peer, other, namespace) for peer in listed)


def _peer_matches(store: Store, peer: Obj, other: End, namespace: str) -> bool:
    block = peer.get("ipBlock")
    if block is not None:
        return _in_block(other.ip, block)
    if other.pod is None:
        return False
    pods, namespaces = peer.get("podSelector"), peer.get("namespaceSelector")
    meta = other.pod["metadata"]
    if pods is not None and not podutil.selector_matches(
        pods, meta.get("labels") or {}
    ):
        return False
    if namespaces is None:
        return bool(meta["namespace"] == namespace)
    ns = store.get("namespaces", "", meta["namespace"])
    return podutil.selector_matches(
        namespaces, ((ns or {}).get("metadata") or {}).get("labels") or {}
    )


def _in_block(ip: str, block: Obj) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        if address not in ipaddress.ip_network(str(block.get("cidr")), strict=False):
            return False
        return not any(
            address in ipaddress.ip_network(str(e), strict=False)
            for e in block.get("except") or []
        )
    except ValueError:
        return False
