"""kube-apiserver's bootstrap controller: the `kubernetes` Service and the system namespaces.

Faithful (`pkg/controlplane/controller/kubernetesservice` and `systemnamespaces`):
every `timings.apiserver_endpoint_interval` (upstream's EndpointInterval, 10 s) the
namespace `default` is created if missing, then the Service `default/kubernetes`
(ClusterIP 10.96.0.1, port `https` 443 -> 6443, labels `component: apiserver`,
`provider: kubernetes`, no selector), its Endpoints (the advertise address, the
control-plane node's InternalIP, port `https` 6443, label
`endpointslice.kubernetes.io/skip-mirror: "true"`) and the EndpointSlice `kubernetes`
(label `kubernetes.io/service-name: kubernetes`, the address ready); what is missing is
re-created and what differs is put back, so a deleted `kubernetes` Service returns
within the interval.  Every `timings.system_namespaces_interval` (1 min) kube-system,
kube-public and kube-node-lease are created if missing.  The API server itself refuses
to delete default, kube-system and kube-public (NamespaceLifecycle, in `api`).

Simplified: one API server, so no lease-based endpoint reconciler; no ClusterIP and
NodePort repair loops.
"""

from __future__ import annotations

import copy

from kubecourse.embedded.api import Api
from kubecourse.embedded.controllers.base import Context, Controller, Key, Obj
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.system import CONTROL_PLANE_PORT

SERVICE_IP = "10.96.0.1"
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
SERVICE_NAME = "kubernetes.io/service-name"
SLICES = "endpointslices.discovery.k8s.io"
KUBERNETES: Key = ("", "kubernetes")
NAMESPACES: Key = ("", "namespaces")


class BootstrapController(Controller):
    name = "bootstrap"
    watches = ()

    def __init__(self, ctx: Context, advertise_address: str) -> None:
        super().__init__(ctx)
        self.advertise_address = advertise_address

    def initial_keys(self) -> list[Key]:
        return [NAMESPACES, KUBERNETES]

    async def reconcile(self, key: Key) -> float | None:
        timings = self.ctx.timings
        if key == NAMESPACES:
            ensure_system_namespaces(self.api)
            return timings.system_namespaces_interval
        ensure_kubernetes_service(self.api, self.advertise_address)
        return timings.apiserver_endpoint_interval


def ensure_system_namespaces(api: Api) -> None:
    for name in SYSTEM_NAMESPACES:
        _ensure_namespace(api, name)


def ensure_kubernetes_service(api: Api, address: str) -> None:
    """UpdateKubernetesService: namespace, Service, Endpoints, EndpointSlice."""
    _ensure_namespace(api, "default")
    if api.store.get("services", "default", "kubernetes") is None:
        _create(api, "services", kubernetes_service())
    _reconcile(api, "endpoints", kubernetes_endpoints(address))
    _reconcile(api, SLICES, kubernetes_slice(address))


def kubernetes_service() -> Obj:
    return {
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "clusterIP": SERVICE_IP,
            "ipFamilyPolicy": "SingleStack",
            "sessionAffinity": "None",
            "type": "ClusterIP",
            "ports": [
                {
                    "name": "https",
                    "port": 443,
                    "protocol": "TCP",
                    "targetPort": CONTROL_PLANE_PORT,
                }
            ],
        },
    }


def kubernetes_endpoints(address: str) -> Obj:
    return {
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {SKIP_MIRROR: "true"},
        },
        "subsets": [
            {
                "addresses": [{"ip": address}],
                "ports": [
                    {"name": "https", "port": CONTROL_PLANE_PORT, "protocol": "TCP"}
                ],
            }
        ],
    }


def kubernetes_slice(address: str) -> Obj:
    return {
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {SERVICE_NAME: "kubernetes"},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": CONTROL_PLANE_PORT, "protocol": "TCP"}],
    }


def _ensure_namespace(api: Api, name: str) -> None:
    if api.store.get("namespaces", "", name) is None:
        _create(api, "namespaces", {"metadata": {"name": name}})


def _reconcile(api: Api, resource: str, wanted: Obj) -> None:
    """Create the object, or put back its labels and content if someone changed them."""
    meta = wanted["metadata"]
    current = api.store.get(resource, meta["namespace"], meta["name"])
    if current is None:
        _create(api, resource, wanted)
        return
    content = {k: v for k, v in wanted.items() if k != "metadata"}
    labels = current["metadata"].get("labels") or {}
    if (
        all(current.get(k) == v for k, v in content.items())
        and labels == meta["labels"]
    ):
        return
    updated = copy.deepcopy(current)
    updated.update(copy.deepcopy(content))
    updated["metadata"]["labels"] = dict(meta["labels"])
    api.update(api.registry.get(resource), meta["namespace"], meta["name"], updated)


def _create(api: Api, resource: str, body: Obj) -> None:
    rt = api.registry.get(resource)
    namespace = body["metadata"].get("namespace") if rt.namespaced else None
    try:
        api.create(rt, namespace, copy.deepcopy(body))
    except StatusError as err:
        # 409: created meanwhile; 403: its namespace is terminating (retried next interval)
        if err.code not in (403, 409):
            raise
