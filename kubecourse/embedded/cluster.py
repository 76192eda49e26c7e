"""One embedded cluster: store, API server, controllers and the initial objects.

`EmbeddedCluster` runs everything in one asyncio event loop, either in a background
thread (`start()`, for tests and notebooks that want it in-process) or as the main loop
of a daemon process (`serve_forever()`, what `kubecourse up` runs).  The topology
mirrors a kind cluster: `kubecourse-control-plane` (tainted NoSchedule) and three
workers, each with its own podCIDR from 10.244.0.0/16, and what kind installs
(`kubecourse.embedded.system`): the control plane's static pods, CoreDNS, kube-proxy,
kindnet, the local-path provisioner and the `standard` StorageClass.

A new cluster comes up in kind's order: the control-plane node, the API server's
bootstrap objects and kubeadm's and kind's addons first; the workers join once the
addons' pods have a node (so CoreDNS and the provisioner run on the control plane, as
on kind).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from kubecourse.embedded import eviction, metricsapi, plugins
from kubecourse.embedded.api import ACTING_MANAGER, now_iso
from kubecourse.embedded.auth import Authenticator, TokenSigner
from kubecourse.embedded.connections import ApiRunner
from kubecourse.embedded.controllers import default_controllers, images
from kubecourse.embedded.controllers.base import Context, Controller, Timings
from kubecourse.embedded.controllers.bootstrap import (
    BootstrapController,
    ensure_kubernetes_service,
)
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.network import controller as ingress_controller
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.server import ApiHttp
from kubecourse.embedded.store import Store
from kubecourse.embedded.streams import StreamServer
from kubecourse.embedded.system import addons
from kubecourse.embedded.tls import ensure_certificates

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CLUSTER_NAME = "kubecourse"
KUBELET_VERSION = "v1.37.0"


@dataclass
class NodeSpec:
    name: str
    index: int
    control_plane: bool = False
    cpu: str = "4"
    memory: str = "8Gi"
    pods: str = "110"


def default_topology(workers: int = 3) -> list[NodeSpec]:
    nodes = [NodeSpec(f"{CLUSTER_NAME}-control-plane", 0, control_plane=True)]
    for i in range(1, workers + 1):
        suffix = "" if i == 1 else str(i)
        nodes.append(NodeSpec(f"{CLUSTER_NAME}-worker{suffix}", i))
    return nodes


@dataclass
class ClusterOptions:
    host: str = "127.0.0.1"
    port: int = 0
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    state_dir: Path | None = None  # None: in memory only
    timings: Timings = field(default_factory=Timings)
    topology: list[NodeSpec] = field(default_factory=default_topology)
    run_controllers: bool = True  # False: the API server alone (API benchmarks, API tests)
    # False: no kube-system workloads (static pods, CoreDNS, kube-proxy, kindnet, the
    # local-path provisioner's pod): the bare API, or an empty cluster for a test.
    system_workloads: bool = True
    max_pods_per_namespace: int = 500  # the course's built-in Pod quota (see Api._check_pod_quota)
    # The course's Traefik ingress controller in namespace traefik (network/controller.py),
    # installed with the system workloads (an empty cluster has none).
    ingress_controller: bool = True


class EmbeddedCluster:
    def __init__(self, options: ClusterOptions | None = None) -> None:
        self.options = options or ClusterOptions()
        if self.options.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the embedded API server listens on loopback only (127.0.0.1)")
        state = self.options.state_dir
        db = state / "state.sqlite" if state else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kubecourse-pki-")
        self.certificates = ensure_certificates(state / "pki" if state else Path(self._tmp.name))  # type: ignore[union-attr]
        self.store = Store(db)
        self.api = ConvertingApi(self.store, REGISTRY, self.options.max_pods_per_namespace)
        self.ctx = Context(
            self.api, self.store, self.options.timings, system_workloads=self.options.system_workloads
        )
        signer = TokenSigner(self.certificates.key_file)
        self.http = ApiHttp(
            self.api,
            REGISTRY,
            self.options.token,
            logs=self._logs,
            on_eviction=eviction.handler(self.api),
            authn=Authenticator(self.options.token, self.store, signer),
            aggregated={"metrics.k8s.io": metricsapi.handler(self.api, self.ctx.metrics)},
            streams=StreamServer(self.ctx),
        )
        self.controllers: list[Controller] = []
        self.port: int = self.options.port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopped: asyncio.Event | None = None

    # -- addresses -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The CA that signed the server's certificate (for clients' ssl_ca_cert)."""
        return self.certificates.ca_file

    @property
    def token(self) -> str:
        return self.options.token

    def kubeconfig(self, context: str = CLUSTER_NAME) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(self.certificates.ca_pem).decode(),
                    },
                }
            ],
            "users": [{"name": f"{context}-admin", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": context,
                    "context": {"cluster": context, "user": f"{context}-admin", "namespace": "default"},
                }
            ],
            "current-context": context,
            "preferences": {},
        }

    # -- lifecycle -----------------------------------------------------------------------

    async def start_async(self) -> None:
        sock = _bind(self.options.host, self.options.port)  # fail before starting anything
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        joining = self._bootstrap()
        plugins.ensure_builtin_objects(self.api, now_iso())  # every start, as post-start hooks
        self.controllers = [BootstrapController(self.ctx, self.advertise_address)]
        if self.options.run_controllers:
            self.controllers += default_controllers(self.ctx)
        for controller in self.controllers:
            self.store.add_listener(controller.on_change)
            controller.start()
        await self._join(joining)
        self._runner = ApiRunner(
            self.http.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        self.port = sock.getsockname()[1]
        self.http.server_address = f"127.0.0.1:{self.port}"
        await web.SockSite(self._runner, sock, ssl_context=self.certificates.server_context()).start()
        log.debug("embedded API server listening on %s", self.url)

    async def stop_async(self) -> None:
        self.store.close_subscriptions()
        for controller in self.controllers:
            await controller.stop()
        if self._runner is not None:
            self._abort_connections()
            await self._runner.cleanup()
            await asyncio.sleep(0)
        self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._stopped is not None:
            self._stopped.set()

    def _abort_connections(self) -> None:
        # Idle keep-alive TLS connections would otherwise wait for the peer's close_notify
        # and outlive the loop; a stopping server drops them, as kube-apiserver does.
        server = self._runner.server if self._runner is not None else None
        for handler in list(server.connections if server is not None else []):
            transport = handler.transport
            if transport is not None:
                transport.abort()

    async def serve_forever(self) -> None:
        await self.start_async()
        assert self._stopped is not None
        await self._stopped.wait()

    def start(self, timeout: float = 30.0) -> EmbeddedCluster:
        """Run the cluster in a background thread; returns once it answers."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as err:  # reported to the starting thread
                errors.append(err)
                self.store.close()
                loop.close()
                ready.set()
                return
            ready.set()
            assert self._stopped is not None
            loop.run_until_complete(self._stopped.wait())
            _drain(loop)

        self._thread = threading.Thread(target=run, name="kubecourse-embedded", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("the embedded cluster did not start in time")
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.stop_async(), self._loop)
        future.result(timeout=30)
        self._thread.join(timeout=30)
        self._thread = None

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` in the cluster's loop (for tests that poke at internals)."""
        assert self._loop is not None

        async def wrapper() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout=30)

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- initial state -------------------------------------------------------------------

    @property
    def advertise_address(self) -> str:
        """kube-apiserver's --advertise-address: the control-plane node's InternalIP."""
        first = next((s for s in self.options.topology if s.control_plane), None)
        return internal_ip(first or self.options.topology[0])

    def _bootstrap(self) -> list[NodeSpec]:
        """Create what a new cluster starts with (a restarted one keeps what it had, and
        gets kind's addons if it predates them); returns the nodes still to join."""
        joining: list[NodeSpec] = []
        if not self.store.count("namespaces"):
            namespaces = REGISTRY.get("namespaces")
            for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self.api.create(namespaces, None, {"metadata": {"name": name}})
            joining = self._register_nodes()
            ensure_kubernetes_service(self.api, self.advertise_address)
            if self.options.ingress_controller and self.options.system_workloads:
                ingress_controller.install(self.api)
        else:
            self._reregister_nodes()
        if not addons.installed(self.api):
            addons.install(self.api, CLUSTER_NAME, workloads=self.options.system_workloads)
        return joining

    def _register_nodes(self) -> list[NodeSpec]:
        """The control plane now; with addons to place, the workers join later."""
        later = self.options.system_workloads and self.options.run_controllers
        joining = [s for s in self.options.topology if not s.control_plane] if later else []
        for spec in self.options.topology:
            if spec not in joining:
                self._register(spec)
        return joining

    def _register(self, spec: NodeSpec) -> None:
        """The node's kubelet creates its Node (recorded under the manager `kubelet`)."""
        token = ACTING_MANAGER.set("kubelet")
        try:
            self.api.create(REGISTRY.get("nodes"), None, node_object(spec))
        finally:
            ACTING_MANAGER.reset(token)

    def _reregister_nodes(self) -> None:
        """A restart starts every node's kubelet, which registers its Node again if it
        was deleted (a running kubelet never does: upstream's registration is once)."""
        for spec in self.options.topology:
            if self.store.get("nodes", "", spec.name) is None:
                self._register(spec)

    async def _join(self, joining: list[NodeSpec], timeout: float = 10.0) -> None:
        """`kubeadm join`: the workers register once the addons' pods are placed."""
        deadline = time.monotonic() + timeout
        while joining and not self._addons_placed() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for spec in joining:
            self._register(spec)

    def _addons_placed(self) -> bool:
        """CoreDNS's two pods and the provisioner's one have a node."""
        wanted = (("kube-system", "k8s-app", "kube-dns", 2), (addons.LOCAL_PATH_NAMESPACE, "app", "local-path-provisioner", 1))
        for namespace, label, value, count in wanted:
            pods = self.store.items("pods", namespace)
            placed = [p for p in pods if (p["metadata"].get("labels") or {}).get(label) == value and p["spec"].get("nodeName")]
            if len(placed) < count:
                return False
        return True

    def _logs(
        self, namespace: str, pod: str, container: str, previous: bool = False
    ) -> list[tuple[float, str]]:
        """The lines a container has written by now (or in its previous run), each
        with its time."""
        book = self.ctx.previous_logs if previous else self.ctx.logbook
        log = book.get((namespace, pod, container))
        if isinstance(log, images.ContainerLog):
            return log.stamped()
        return [(0.0, line) for line in log or []]


def node_object(spec: NodeSpec) -> Obj:
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
    }
    taints: list[Obj] = []
    if spec.control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
    capacity = {
        "cpu": spec.cpu,
        "memory": spec.memory,
        "pods": spec.pods,
        "ephemeral-storage": "100Gi",
        "hugepages-2Mi": "0",
    }
    node: Obj = {
        "metadata": {"name": spec.name, "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {
            "podCIDR": f"10.244.{spec.index}.0/24",
            "podCIDRs": [f"10.244.{spec.index}.0/24"],
            "providerID": f"kind://docker/{CLUSTER_NAME}/{spec.name}",
        },
        "status": node_status(spec, capacity),
    }
    if taints:
        node["spec"]["taints"] = taints
    return node


def node_status(spec: NodeSpec, capacity: Obj) -> Obj:
    now = now_iso()

    def condition(type_: str, status_: str, reason: str, message: str) -> Obj:
        return {
            "type": type_,
            "status": status_,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }

    return {
        "capacity": capacity,
        "allocatable": dict(capacity),
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [
            {"type": "InternalIP", "address": internal_ip(spec)},
            {"type": "Hostname", "address": spec.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": f"{spec.index:032x}",
            "systemUUID": f"{spec.index:08x}-0000-0000-0000-000000000000",
            "bootID": f"{spec.index:08x}-b007-0000-0000-000000000000",
            "kernelVersion": "6.1.0-kubecourse",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
            "containerRuntimeVersion": "containerd://2.1.0",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


def internal_ip(spec: NodeSpec) -> str:
    """The node's address on kind's docker network (172.18.0.0/16, from .2)."""
    return f"172.18.0.{spec.index + 2}"


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host if host != "localhost" else "127.0.0.1", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Finish what is left in the loop (handlers of closed connections), then close it."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(asyncio.sleep(0))  # let transports run their close callbacks
    loop.close()
