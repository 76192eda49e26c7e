"""Where a connection to an address goes: kube-proxy, the Pod network and the nodes.

`Network.connect(source, ip, port)` is the one path every simulated request takes:

- a Service's ClusterIP and one of its ports: kube-proxy (iptables mode, as on kind)
  picks one of the Service's ready endpoints from its EndpointSlices at random, or the
  one `sessionAffinity: ClientIP` remembers for the client (for `timeoutSeconds`,
  10800 by default), on the target port the slice resolved (a named `targetPort`
  included); with no ready endpoint it falls back to serving terminating ones, and with
  none at all kube-proxy's REJECT rule refuses the connection; a port the Service does
  not have matches no rule and times out; `internalTrafficPolicy: Local` keeps to
  endpoints on the client's node;
- a node's InternalIP: a Service's `nodePort` (NodePort and LoadBalancer Services) on
  any node, the client masqueraded to that node's address
  (`externalTrafficPolicy: Cluster`) or kept and only local endpoints used (`Local`,
  which drops the connection when the node has none); a Pod's `hostPort` on that node;
  a `hostNetwork` Pod's ports; anything else on a node is refused;
- a Pod's IP: that Pod, if it is running on a node that is up; an address in a node's
  Pod range that no Pod has is "no route to host"; `127.0.0.1` from a Pod is that Pod;
- anything else in the Service range times out; an address outside the cluster is
  never connected to (`outside`).

Then NetworkPolicies judge the connection (`network.policy`), and the destination Pod's
containers accept it if one of them listens on the port (`network.catalog`), else it
is refused.  A headless Service has no ClusterIP: DNS gives its Pods' IPs, which are
dialled as Pods.  Names are resolved with the Pod's own resolver (search list, ndots),
the same answers `nslookup` gives.

Simplified: no conntrack (a policy or an endpoint change affects only new
connections, which is also what kube-proxy and kube-network-policies do), no
topology-aware routing, hairpin traffic keeps its source address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kubecourse.embedded.controllers import podutil
from kubecourse.embedded.controllers.base import Context
from kubecourse.embedded.controllers.heartbeat import powered_off
from kubecourse.embedded.network import catalog, policy
from kubecourse.embedded.network.servers import Host
from kubecourse.embedded.network.wire import Connection, NetError, Peer

Obj = dict[str, Any]
SLICES = "endpointslices.discovery.k8s.io"
SERVICE_NAME = "kubernetes.io/service-name"
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")
POD_RANGE = ipaddress.ip_network("10.244.0.0/16")
AFFINITY_TIMEOUT = (
    10800  # seconds: sessionAffinityConfig.clientIP.timeoutSeconds default
)
Volumes = Callable[[Obj, Obj], tuple[dict[str, str], list[str]]]
Resolver = Callable[[Obj, str], list[str] | None]


@dataclass(frozen=True)
class Source:
    """Who opens a connection: a Pod, or a process on a node (the API server, kubelet)."""

    ip: str
    pod: Obj | None = None
    node: str | None = None

    @property
    def end(self) -> policy.End:
        return policy.End(self.ip, self.pod, self.node)


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    node: str | None
    ready: bool
    serving: bool


class Network:
    """The cluster's simulated network, one per cluster."""

    def __init__(
        self,
        ctx: Context,
        volumes: Volumes | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.ctx, self.store, self.timings = ctx, ctx.store, ctx.timings
        self.volumes = volumes or (lambda pod, container: ({}, []))
        self.resolver = resolver or (lambda pod, name: None)
        self._affinity: dict[tuple[str, str, str], tuple[Endpoint, float]] = {}
        # Load balancers that outlive a connection (Traefik's round robin), by owner.
        self.turns: dict[tuple[str, ...], int] = {}
        self.random = random.Random()

    # -- who is asking --------------------------------------------------------------------

    def source_of(self, pod: Obj) -> Source:
        status, spec = pod.get("status") or {}, pod["spec"]
        if spec.get("hostNetwork"):
            return Source(str(status.get("hostIP") or ""), None, spec.get("nodeName"))
        return Source(str(status.get("podIP") or ""), pod, spec.get("nodeName"))

    def node_source(self, name: str) -> Source:
        """A process on node `name` (the API server runs on the control plane)."""
        node = self.store.get("nodes", "", name)
        return Source(internal_ip(node) if node else "", None, name)

    def control_plane(self) -> Source:
        for node in self.store.items("nodes"):
            if "node-role.kubernetes.io/control-plane" in (
                node["metadata"].get("labels") or {}
            ):
                return self.node_source(node["metadata"]["name"])
        return Source("172.18.0.2", None, None)

    def resolve(self, pod: Obj, name: str) -> list[str] | None:
        """A name as the Pod's resolver finds it (an IP address stands for itself)."""
        try:
            return [str(ipaddress.ip_address(name))]
        except ValueError:
            return self.resolver(pod, name)

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    # -- connecting -----------------------------------------------------------------------

    def connect(
        self, source: Source, ip: str, port: int, protocol: str = "TCP"
    ) -> Connection:
        """An accepted connection to `ip:port`, or the NetError the client would see."""
        address, client = Peer(ip, port), Peer(source.ip, self.ephemeral())
        if ip in ("127.0.0.1", "::1"):
            if source.pod is None:
                raise NetError("refused", ip, port)
            return self._accept(
                source.pod, port, Peer("127.0.0.1", client.port), address
            )
        service = self._service_at(ip)
        if service is not None:
            endpoint = self._through_service(source, service, port, protocol)
            return self._to_pod(
                source, endpoint.ip, endpoint.port, client, address, protocol
            )
        node = self._node_at(ip)
        if node is not None:
            return self._to_node(source, node, port, client, address, protocol)
        if _inside(ip, SERVICE_RANGE):
            raise NetError("timeout", ip, port)
        return self._to_pod(source, ip, port, client, address, protocol)

    def connect_pod(self, source: Source, pod: Obj, port: int) -> Connection:
        """To a Pod's own IP (the API server's pod proxy, the ingress controller)."""
        ip = str((pod.get("status") or {}).get("podIP") or "")
        client = Peer(source.ip, self.ephemeral())
        return self._to_pod(source, ip, port, client, Peer(ip, port), "TCP")

    def loopback(self, pod: Obj, port: int) -> Connection:
        """From inside the Pod's network namespace (kubelet's port-forward): no policy."""
        peer = Peer("127.0.0.1", self.ephemeral())
        return self._accept(pod, port, peer, Peer("127.0.0.1", port))

    def dialer(self, pod: Obj) -> PodDialer:
        return PodDialer(self, pod)

    def ephemeral(self) -> int:
        return self.random.randint(32768, 60999)  # Linux's ip_local_port_range

    # -- Services ---------------------------------------------------------------------------

    def _service_at(self, ip: str) -> Obj | None:
        for svc in self.store.items("services"):
            spec = svc.get("spec") or {}
            if ip in (spec.get("clusterIPs") or [spec.get("clusterIP")]) and ip not in (
                "None",
                "",
            ):
                return svc
        return None

    def _through_service(
        self, source: Source, svc: Obj, port: int, protocol: str
    ) -> Endpoint:
        spec = svc["spec"]
        wanted = [p for p in spec.get("ports") or []
                  if int(p.get("port", 0)) == port and (p.get("protocol") or "TCP") == protocol]  # fmt: skip
        if not wanted:
            raise NetError("timeout", str(spec.get("clusterIP")), port)
        usable = self.usable_endpoints(svc, wanted[0])
        if spec.get("internalTrafficPolicy") == "Local":
            usable = [e for e in usable if e.node == source.node]
        if not usable:
            raise NetError(
                "refused", str(spec.get("clusterIP")), port, "has no endpoints"
            )
        return self._choose(svc, wanted[0], source.ip, usable)

    def endpoints(self, svc: Obj, service_port: Obj) -> list[Endpoint]:
        """The Service's endpoints for one of its ports, from its EndpointSlices."""
        meta = svc["metadata"]
        name = service_port.get("name") or ""
        found: list[Endpoint] = []
        for item in self._slices(meta["namespace"], meta["name"]):
            number = next((int(p["port"]) for p in item.get("ports") or []
                           if (p.get("name") or "") == name and p.get("port")), None)  # fmt: skip
            if number is None:
                continue
            for entry in item.get("endpoints") or []:
                conditions = entry.get("conditions") or {}
                ready = conditions.get("ready") is not False
                serving = conditions.get("serving", ready) is not False
                for ip in entry.get("addresses") or []:
                    found.append(
                        Endpoint(str(ip), number, entry.get("nodeName"), ready, serving)
                    )
        return found

    def usable_endpoints(self, svc: Obj, service_port: Obj) -> list[Endpoint]:
        """Ready endpoints; serving (terminating) ones when none is ready, as kube-proxy."""
        every = self.endpoints(svc, service_port)
        ready = [e for e in every if e.ready]
        return ready or [e for e in every if e.serving]

    def _slices(self, namespace: str, name: str) -> Iterator[Obj]:
        for item in self.store.items(SLICES, namespace):
            if (item["metadata"].get("labels") or {}).get(SERVICE_NAME) == name:
                yield item

    def _choose(
        self, svc: Obj, port: Obj, client_ip: str, usable: list[Endpoint]
    ) -> Endpoint:
        spec = svc["spec"]
        if spec.get("sessionAffinity") != "ClientIP":
            return self.random.choice(usable)
        key = (
            str(svc["metadata"].get("uid")),
            str(port.get("name") or port.get("port")),
            client_ip,
        )
        timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get(
            "timeoutSeconds", AFFINITY_TIMEOUT)  # fmt: skip
        remembered = self._affinity.get(key)
        now = time.monotonic()
        if (
            remembered is not None
            and remembered[0] in usable
            and now - remembered[1] < float(timeout)
        ):
            chosen = remembered[0]
        else:
            chosen = self.random.choice(usable)
        self._affinity[key] = (chosen, now)
        return chosen

    # -- nodes ----------------------------------------------------------------------------

    def _node_at(self, ip: str) -> Obj | None:
        for node in self.store.items("nodes"):
            if internal_ip(node) == ip:
                return node
        return None

    def _to_node(
        self,
        source: Source,
        node: Obj,
        port: int,
        client: Peer,
        address: Peer,
        protocol: str,
    ) -> Connection:
        name = node["metadata"]["name"]
        if powered_off(node):
            raise NetError("timeout", address.ip, port)
        for svc in self.store.items("services"):
            for entry in (svc.get("spec") or {}).get("ports") or []:
                if (
                    entry.get("nodePort") == port
                    and (entry.get("protocol") or "TCP") == protocol
                ):
                    return self._node_port(source, node, svc, entry, client, address)
        for pod in self._pods_on(name):
            if _host_port(pod, port, protocol) is not None:
                target = int(_host_port(pod, port, protocol) or port)
                return self._to_pod(
                    source, _pod_ip(pod), target, client, address, protocol
                )
            if pod["spec"].get("hostNetwork") and self._listens(pod, port):
                return self._accept(pod, port, client, address)
        raise NetError("refused", address.ip, port)

    def _on_host_network(
        self, node: Obj, port: int, client: Peer, address: Peer
    ) -> Connection:
        """A Service endpoint that is a node's address: what listens on its network."""
        if powered_off(node):
            raise NetError("timeout", address.ip, port)
        for pod in self._pods_on(node["metadata"]["name"]):
            if pod["spec"].get("hostNetwork") and self._listens(pod, port):
                return self._accept(pod, port, client, address)
        raise NetError("refused", internal_ip(node), port)

    def _node_port(
        self,
        source: Source,
        node: Obj,
        svc: Obj,
        entry: Obj,
        client: Peer,
        address: Peer,
    ) -> Connection:
        usable = self.usable_endpoints(svc, entry)
        local = (svc["spec"].get("externalTrafficPolicy") or "Cluster") == "Local"
        if local:
            usable = [e for e in usable if e.node == node["metadata"]["name"]]
            if not usable:
                raise NetError(
                    "timeout", address.ip, address.port
                )  # dropped, as kube-proxy
        if not usable:
            raise NetError("refused", address.ip, address.port, "has no endpoints")
        chosen = self._choose(svc, entry, source.ip, usable)
        if local:
            return self._to_pod(source, chosen.ip, chosen.port, client, address, "TCP")
        masqueraded = Peer(internal_ip(node), client.port)
        seen = policy.End(
            masqueraded.ip
        )  # forwarded traffic: judged by its address only
        return self._to_pod(
            source, chosen.ip, chosen.port, masqueraded, address, "TCP", seen
        )

    def _pods_on(self, node: str) -> Iterator[Obj]:
        for pod in self.store.items("pods"):
            if pod["spec"].get("nodeName") == node and _running(pod):
                yield pod

    # -- Pods -----------------------------------------------------------------------------

    def _to_pod(
        self, source: Source, ip: str, port: int, client: Peer, address: Peer, protocol: str,
        seen: policy.End | None = None,
    ) -> Connection:  # fmt: skip
        """`seen`: the client as the destination's ingress rules see it, when masqueraded."""
        pod = self._pod_at(ip)
        if pod is None:
            node = self._node_at(ip)  # an endpoint on a node's network (the API server)
            if node is not None:
                return self._on_host_network(node, port, client, address)
            raise self._nobody_at(ip, port)
        node = self.store.get("nodes", "", pod["spec"].get("nodeName") or "")
        if node is None or powered_off(node):
            raise NetError("timeout", ip, port)
        target = policy.End(ip, pod, pod["spec"].get("nodeName"))
        if not policy.allowed(self.store, source.end, target, port, protocol, seen):
            raise NetError("timeout", ip, port, "dropped by a NetworkPolicy")
        return self._accept(pod, port, client, address)

    def _pod_at(self, ip: str) -> Obj | None:
        """The Pod whose sandbox has this address (its containers may not be running)."""
        for pod in self.store.items("pods"):
            spec = pod["spec"]
            if (
                _pod_ip(pod) == ip
                and not spec.get("hostNetwork")
                and not podutil.is_terminal(pod)
            ):
                return pod
        return None

    def _nobody_at(self, ip: str, port: int) -> NetError:
        if not _inside(ip, POD_RANGE):
            return NetError(
                "outside", ip, port, "addresses outside the cluster are not simulated"
            )
        for node in self.store.items("nodes"):
            for cidr in (node.get("spec") or {}).get("podCIDRs") or []:
                if _inside(ip, ipaddress.ip_network(cidr, strict=False)):
                    return NetError(
                        "timeout" if powered_off(node) else "unreachable", ip, port
                    )
        return NetError("timeout", ip, port)

    def _accept(self, pod: Obj, port: int, client: Peer, address: Peer) -> Connection:
        for container, server in self.servers(pod):
            if port in server.ports():
                stream = server.accept(port, client)
                return Connection(pod, container, port, client, stream, address)
        raise NetError("refused", _pod_ip(pod) or address.ip, port)

    def _listens(self, pod: Obj, port: int) -> bool:
        return any(port in server.ports() for _, server in self.servers(pod))

    def _volumes_of(
        self, pod: Obj, container: Obj
    ) -> Callable[[], tuple[dict[str, str], list[str]]]:
        return lambda: self.volumes(pod, container)

    def servers(self, pod: Obj) -> Iterator[tuple[str, Any]]:
        """(container name, server) for each running container that listens."""
        running = _running_containers(pod)
        meta = pod["metadata"]
        for container in pod["spec"].get("containers") or []:
            if container["name"] not in running:
                continue
            key = (meta["namespace"], meta["name"], container["name"])
            env = dict(self.ctx.environ.get(key) or [])
            host = Host(pod, container, env, self._volumes_of(pod, container), self)
            server = catalog.server_for(host)
            if server is not None:
                yield container["name"], server


class PodDialer:
    """What a Pod's programs connect with (`wire.Dialer`)."""

    def __init__(self, network: Network, pod: Obj) -> None:
        self.network, self.pod = network, pod
        self.connect_timeout = network.timings.tcp_connect_timeout

    def connect(self, ip: str, port: int) -> Connection:
        meta = self.pod["metadata"]
        now = (
            self.network.store.get("pods", meta["namespace"], meta["name"]) or self.pod
        )
        return self.network.connect(self.network.source_of(now), ip, port)


def internal_ip(node: Obj) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return ""


def _pod_ip(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("podIP") or "")


def _running(pod: Obj) -> bool:
    return bool(_running_containers(pod)) and not podutil.is_terminal(pod)


def _running_containers(pod: Obj) -> set[str]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return {s["name"] for s in statuses if "running" in (s.get("state") or {})}


def _host_port(pod: Obj, port: int, protocol: str) -> int | None:
    for container in pod["spec"].get("containers") or []:
        for entry in container.get("ports") or []:
            if (
                entry.get("hostPort") == port
                and (entry.get("protocol") or "TCP") == protocol
            ):
                return int(entry["containerPort"])
    return None


def _inside(ip: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(ip) in network
    except ValueError:
        return False
