"""A small cluster state written straight into a store, for the network's unit tests.

No controllers run: nodes, Pods (running, with IPs), Services with their EndpointSlices
and NetworkPolicies are written as the controllers would leave them, so each test says
exactly the state it routes through.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubecourse.embedded.api import Api
from kubecourse.embedded.controllers.base import Context, Timings
from kubecourse.embedded.network import Network
from kubecourse.embedded.network.http import Request, Response
from kubecourse.embedded.network.wire import Connection, exchange
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
SLICES = "endpointslices.discovery.k8s.io"
POLICIES = "networkpolicies.networking.k8s.io"


class World:
    def __init__(self, workers: int = 2) -> None:
        self.store = Store()
        # The kernel's 127 s stays: the shell's waits are faked by its test terminal.
        self.ctx = Context(
            Api(self.store), self.store, Timings(proxy_dial_timeout=0.01)
        )
        self.network = Network(self.ctx)
        self.network.random.seed(7)
        for name in ("default", "other", "traefik"):
            self.namespace(name)
        self.node("kubecourse-control-plane", 0, control_plane=True)
        for index in range(1, workers + 1):
            self.node(f"kubecourse-worker{'' if index == 1 else index}", index)
        self._uid = 0

    # -- objects --------------------------------------------------------------------------

    def namespace(self, name: str, **labels: str) -> None:
        labels = {"kubernetes.io/metadata.name": name, **labels}
        self.store.write("namespaces", {"metadata": {"name": name, "labels": labels}})

    def node(
        self, name: str, index: int, control_plane: bool = False, power: str = "on"
    ) -> Obj:
        labels = {"node-role.kubernetes.io/control-plane": ""} if control_plane else {}
        node = {
            "metadata": {"name": name, "labels": labels, "annotations": {"kubecourse.io/power": power}},
            "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
            "status": {"addresses": [{"type": "InternalIP", "address": f"172.18.0.{index + 2}"}],
                       "conditions": [{"type": "Ready", "status": "True"}]},
        }  # fmt: skip
        return self.store.write("nodes", node)

    def pod(
        self, name: str, ip: str, image: str = "traefik/whoami:v1.10", namespace: str = "default",
        node: str = "kubecourse-worker", labels: dict[str, str] | None = None, ready: bool = True,
        **container: Any,
    ) -> Obj:  # fmt: skip
        self._uid += 1
        spec_container = {"name": "app", "image": image, **container}
        pod = {
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{self._uid}",
                         "labels": labels or {"app": name}},
            "spec": {"nodeName": node, "containers": [spec_container], "hostname": None},
            "status": {"phase": "Running", "podIP": ip, "hostIP": "172.18.0.3",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [{"name": "app", "state": {"running": {}}}]},
        }  # fmt: skip
        del pod["spec"]["hostname"]
        return self.store.write("pods", pod)

    def service(
        self, name: str, ip: str, pods: list[Obj], port: int = 80, target: int = 80,
        namespace: str = "default", port_name: str = "http", **spec: Any,
    ) -> Obj:  # fmt: skip
        service_port: Obj = {
            "name": port_name,
            "port": port,
            "targetPort": target,
            "protocol": "TCP",
        }
        if spec.get("type") == "NodePort":
            service_port["nodePort"] = spec.pop("node_port", 30080)
        svc = {
            "metadata": {"name": name, "namespace": namespace, "uid": f"svc-{name}"},
            "spec": {"clusterIP": ip, "ports": [service_port], **spec},
        }
        self.store.write("services", svc)
        self.endpoints(name, pods, target, namespace, port_name)
        return svc

    def endpoints(self, name: str, pods: list[Obj], target: int = 80, namespace: str = "default",
                  port_name: str = "http") -> None:  # fmt: skip
        endpoints = [
            {"addresses": [p["status"]["podIP"]], "nodeName": p["spec"]["nodeName"],
             "conditions": {"ready": p["status"]["conditions"][0]["status"] == "True",
                            "serving": p["status"]["conditions"][0]["status"] == "True",
                            "terminating": False}}
            for p in pods
        ]  # fmt: skip
        self.store.write(SLICES, {
            "metadata": {"name": f"{name}-abcde", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": [{"name": port_name, "port": target, "protocol": "TCP"}],
        })  # fmt: skip

    def policy(self, name: str, namespace: str = "default", **spec: Any) -> None:
        body = {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {}, **spec},
        }
        self.store.write(POLICIES, body)

    # -- requests -------------------------------------------------------------------------

    def get(
        self, conn: Connection, path: str = "/", host: str = "web", **headers: str
    ) -> Response:
        request = Request("GET", path, "HTTP/1.1", [("Host", host), *headers.items()])
        return asyncio.run(exchange(conn, request))

    def answer(
        self, source: Obj | None, ip: str, port: int = 80, path: str = "/"
    ) -> Response:
        origin = (
            self.network.source_of(source)
            if source is not None
            else self.network.control_plane()
        )
        return self.get(self.network.connect(origin, ip, port), path)


def hostname(response: Response) -> str:
    return response.body.decode().splitlines()[0].removeprefix("Hostname: ")
