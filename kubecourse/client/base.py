"""What every part of `Cluster` stands on: the clients, kinds by any name, and 404s.

`ClusterBase` holds the official client's APIs for one connected cluster and finds the
resource for a kind as kubectl does (`Deployment`, `deploy`, `deployments`,
`networkpolicy`).  `_looking_for` turns the API server's 404 into one that says what
is missing, in which namespace, and what is there instead (`kubecourse.client.guards`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError
from kubernetes.dynamic.resource import ResourceList

from kubecourse.client.apierrors import translated_errors
from kubecourse.client.guards import name_arg, not_found
from kubecourse.errors import ClusterError, NotFoundError

Obj = dict[str, Any]
Names = list[str]

# kubectl's names for the kinds the course uses (the rest are found through discovery).
ALIASES = {
    "po": ("v1", "Pod"), "pod": ("v1", "Pod"), "pods": ("v1", "Pod"),
    "svc": ("v1", "Service"), "service": ("v1", "Service"), "services": ("v1", "Service"),
    "ep": ("v1", "Endpoints"), "endpoints": ("v1", "Endpoints"),
    "no": ("v1", "Node"), "node": ("v1", "Node"), "nodes": ("v1", "Node"),
    "ns": ("v1", "Namespace"), "namespace": ("v1", "Namespace"), "namespaces": ("v1", "Namespace"),
    "cm": ("v1", "ConfigMap"), "configmap": ("v1", "ConfigMap"), "configmaps": ("v1", "ConfigMap"),
    "secret": ("v1", "Secret"), "secrets": ("v1", "Secret"),
    "event": ("v1", "Event"), "events": ("v1", "Event"), "ev": ("v1", "Event"),
    "pvc": ("v1", "PersistentVolumeClaim"), "persistentvolumeclaim": ("v1", "PersistentVolumeClaim"),
    "deploy": ("apps/v1", "Deployment"), "deployment": ("apps/v1", "Deployment"),
    "deployments": ("apps/v1", "Deployment"),
    "rs": ("apps/v1", "ReplicaSet"), "replicaset": ("apps/v1", "ReplicaSet"),
    "replicasets": ("apps/v1", "ReplicaSet"),
    "sts": ("apps/v1", "StatefulSet"), "statefulset": ("apps/v1", "StatefulSet"),
    "statefulsets": ("apps/v1", "StatefulSet"),
    "endpointslice": ("discovery.k8s.io/v1", "EndpointSlice"),
    "endpointslices": ("discovery.k8s.io/v1", "EndpointSlice"),
    "ing": ("networking.k8s.io/v1", "Ingress"), "ingress": ("networking.k8s.io/v1", "Ingress"),
    "ingresses": ("networking.k8s.io/v1", "Ingress"),
}  # fmt: skip


class ClusterBase:
    """The clients of one connected cluster (see `Cluster`)."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        name: str,
        flavor: str,
        namespace: str,
        kubeconfig: Path | None = None,
    ) -> None:
        self.api_client = api_client
        self.name = name
        self.flavor = flavor
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self.core = k8s.CoreV1Api(api_client)
        self.apps = k8s.AppsV1Api(api_client)
        self.discovery_api = k8s.DiscoveryV1Api(api_client)
        self._dynamic: DynamicClient | None = None
        self._created_namespaces: set[str] = set()

    @property
    def server(self) -> str:
        return str(self.api_client.configuration.host)

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            with translated_errors():
                self._dynamic = DynamicClient(self.api_client)
        return self._dynamic

    def resource(self, kind: str, api_version: str | None = None) -> Any:
        """The dynamic resource for a kind, a plural, or a kubectl short name."""
        name_arg(kind, "kind", "a kind (Deployment, svc, pods ...)")
        if api_version is None and kind.lower() in ALIASES:
            api_version, kind = ALIASES[kind.lower()]
        try:
            with translated_errors():
                if api_version:
                    return self.dynamic.resources.get(
                        api_version=api_version, kind=kind
                    )
                return self._resource_by_any_name(kind)
        except ResourceNotFoundError as err:
            raise ClusterError(
                f"the cluster does not serve the kind {kind!r}"
                + (f" in {api_version}" if api_version else "")
                + "; check the spelling (kubectl api-resources lists them)"
            ) from err

    def _resource_by_any_name(self, word: str) -> Any:
        """Like kubectl: a kind in any case, its plural, singular or a short name."""
        try:
            return self.dynamic.resources.get(kind=word)
        except ResourceNotUniqueError:
            found = self.dynamic.resources.search(kind=word)
        except ResourceNotFoundError:
            found = [
                r for r in self.dynamic.resources.search() if _called(r, word.lower())
            ]
        found = [r for r in found if not isinstance(r, ResourceList)]
        preferred = [r for r in found if r.preferred] or found
        groups = sorted({r.group_version for r in preferred})
        if len(groups) > 1:
            raise ClusterError(
                f"{word!r} is served by several API groups ({', '.join(groups)}); "
                "pass api_version= to say which"
            )
        if not preferred:
            raise ResourceNotFoundError(word)
        return preferred[0]

    def _namespace_for(self, resource: Any, namespace: str | None) -> str | None:
        return (namespace or self.namespace) if resource.namespaced else None

    def _live(self, resource: Any, name: str, namespace: str | None) -> Obj | None:
        try:
            with translated_errors():
                return dict(resource.get(name=name, namespace=namespace).to_dict())
        except NotFoundError:
            return None

    def _exists(self, resource: Any, name: str, namespace: str | None) -> bool:
        return self._live(resource, name, namespace) is not None

    # -- what a 404 means ------------------------------------------------------------------

    @contextmanager
    def _looking_for(
        self,
        resource: Any,
        name: str,
        namespace: str | None,
        argument: str | None = None,
    ) -> Iterator[None]:
        """Translate API errors; a 404 names what is missing, where, and what is there."""
        try:
            with translated_errors():
                yield
        except NotFoundError as err:
            raise self._missing(err, resource, name, namespace, argument) from err

    def _missing(
        self,
        err: NotFoundError,
        resource: Any,
        name: str,
        namespace: str | None,
        argument: str | None = None,
    ) -> NotFoundError:
        ns = namespace if resource.namespaced else None
        exists = ns is None or self._namespace_exists(ns)
        names: Names = []
        if exists:
            try:
                with translated_errors():
                    listed = resource.get(namespace=ns).to_dict()["items"]
                names = [item["metadata"]["name"] for item in listed]
            except ClusterError:  # the 404 is what matters; the listing is a courtesy
                pass
        return not_found(
            err,
            resource.kind,
            name,
            ns,
            namespace_exists=exists,
            existing=names,
            argument=argument,
        )

    def _namespace_exists(self, namespace: str) -> bool:
        try:
            with translated_errors():
                self.core.read_namespace(namespace)
        except NotFoundError:
            return False
        return True

    def _require_namespace(self, namespace: str) -> None:
        """An empty list from a namespace that does not exist is an error, not silence."""
        if not self._namespace_exists(namespace):
            status = {"kind": "Status", "status": "Failure", "code": 404, "reason": "NotFound",
                      "details": {"name": namespace, "kind": "namespaces"},
                      "message": f'namespace "{namespace}" does not exist; '
                                 "`kubectl get namespaces` lists the namespaces"}  # fmt: skip
            raise NotFoundError(status)


def _called(resource: Any, word: str) -> bool:
    if isinstance(resource, ResourceList):
        return False
    names = (resource.kind.lower(), resource.name, resource.singular_name)
    return word in names or word in (resource.short_names or [])
