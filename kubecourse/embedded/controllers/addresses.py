"""Pod IPs from the node's podCIDR, handed out as the host-local IPAM kind uses does.

Sequential from .2, after the last one handed out, wrapping round to reuse released
addresses; never .0, .1 (the gateway) or the broadcast address; hostNetwork Pods get
the node's InternalIP.
"""

from __future__ import annotations

import ipaddress

from kubecourse.embedded.controllers.base import Obj
from kubecourse.embedded.store import Store


class PodAddresses:
    """One cluster's pod IP allocation, node by node."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._last: dict[str, int] = {}

    def host_ip(self, pod: Obj) -> str:
        node = self._node(pod)
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP":
                return str(address["address"])
        return ""

    def allocate(self, pod: Obj) -> str:
        """The next free address after the last one given out on this node."""
        if pod["spec"].get("hostNetwork"):
            return self.host_ip(pod)
        node_name = pod["spec"]["nodeName"]
        network = ipaddress.ip_network(_pod_cidr(self._node(pod)), strict=False)
        used = {
            p["status"]["podIP"]
            for p in self.store.items("pods")
            if p["spec"].get("nodeName") == node_name
            and (p.get("status") or {}).get("podIP")
        }
        hosts = [str(ip) for ip in network.hosts()][1:]  # .1 is the gateway
        start = self._last.get(node_name, _highest(hosts, used))
        for offset in range(1, len(hosts) + 1):
            index = (start + offset) % len(hosts)
            if hosts[index] not in used:
                self._last[node_name] = index
                return hosts[index]
        raise RuntimeError(f"no free pod IP left on {node_name}")

    def _node(self, pod: Obj) -> Obj:
        return self.store.get("nodes", "", pod["spec"]["nodeName"]) or {}


def _highest(hosts: list[str], used: set[str]) -> int:
    taken = [i for i, ip in enumerate(hosts) if ip in used]
    return max(taken) if taken else -1


def _pod_cidr(node: Obj) -> str:
    spec = node.get("spec") or {}
    cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    return str(cidrs[0]) if cidrs else "10.244.0.0/24"
