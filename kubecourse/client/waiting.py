"""Waiting for the cluster, and watching it: the polling and streaming part of `Cluster`.

`wait_for`, `wait_ready` and `wait_workloads_ready` poll through the facade and raise
`WaitTimeout` (a TimeoutError too) naming what never happened; `stream` lists then
watches a kind for the widgets' background threads, reconnecting as kubectl's
`--watch` does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from kubecourse.client.apierrors import translated_errors
from kubecourse.client.base import ALIASES, ClusterBase, Names, Obj
from kubecourse.client.guards import (
    callable_arg,
    count_arg,
    name_arg,
    optional_name_arg,
    seconds_arg,
    selector_arg,
)
from kubecourse.errors import ArgumentError, ClusterError, WaitTimeout

log = logging.getLogger(__name__)

Workload = k8s.V1Deployment | k8s.V1StatefulSet


class Waiting(ClusterBase):
    """The waiting and watching helpers of `Cluster`."""

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 60,
        what: str = "the condition",
    ) -> None:
        """Poll `predicate` until it holds; raise WaitTimeout naming `what` if it never does."""
        callable_arg(predicate, "predicate")
        seconds_arg(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {what}")

    def wait_ready(
        self, deployment: str, timeout: float = 120, namespace: str | None = None
    ) -> None:
        """Wait until a Deployment's desired replicas are all updated and ready."""
        name_arg(deployment, "deployment", "a Deployment")
        ns = optional_name_arg(namespace, "namespace") or self.namespace
        resource = self.resource("Deployment")

        def done() -> bool:
            with self._looking_for(resource, deployment, ns, "deployment"):
                d = self.apps.read_namespaced_deployment(deployment, ns)
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

    def wait_workloads_ready(
        self, timeout: float = 180, namespace: str | None = None
    ) -> Names:
        """Wait until every Deployment and StatefulSet in the namespace has all its
        replicas ready; returns their names.  The error names the ones still waiting."""
        seconds_arg(timeout)
        ns = optional_name_arg(namespace, "namespace") or self.namespace

        def waiting() -> Names:
            with translated_errors():
                workloads: Iterable[Workload] = [
                    *self.apps.list_namespaced_deployment(ns).items,
                    *self.apps.list_namespaced_stateful_set(ns).items,
                ]
            return [
                f"{_name(w)} ({_ready_replicas(w)}/{w.spec.replicas} ready)"
                for w in workloads
                if _ready_replicas(w)
                < (w.spec.replicas if w.spec.replicas is not None else 1)
                or _observed_generation(w) < _generation(w)
            ]

        deadline = time.monotonic() + timeout
        while (left := waiting()) and time.monotonic() < deadline:
            time.sleep(0.3)
        if left:
            raise WaitTimeout(
                f"still not ready after {timeout:.0f} s: {', '.join(left)}"
            )
        with translated_errors():
            names = [_name(d) for d in self.apps.list_namespaced_deployment(ns).items]
            names += [
                _name(s) for s in self.apps.list_namespaced_stateful_set(ns).items
            ]
        if not names:
            self._require_namespace(ns)
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
        ns = optional_name_arg(namespace, "namespace") or self.namespace
        labels = selector_arg(selector)
        if not isinstance(stop, threading.Event):
            raise ArgumentError(f"stop must be a threading.Event, not {stop!r}")
        callable_arg(on_event, "on_event")
        count_arg(timeout_seconds, "timeout_seconds", minimum=1)
        while not stop.is_set():
            try:
                self._stream_once(list_fn, ns, labels, stop, on_event, timeout_seconds)
            except (ApiException, urllib3.exceptions.HTTPError) as err:
                log.debug("watch of %s interrupted (%s); retrying", kind, err)
                stop.wait(1.0)

    def _stream_once(
        self,
        list_fn: Any,
        ns: str,
        selector: str | None,
        stop: threading.Event,
        on_event: Callable[[str, Obj], None],
        timeout_seconds: int,
    ) -> None:
        initial = list_fn(ns, label_selector=selector)
        on_event(
            "SYNC",
            {"items": self.api_client.sanitize_for_serialization(initial)["items"]},
        )
        rv = initial.metadata.resource_version
        watcher = k8s_watch.Watch()
        while not stop.is_set():
            for event in watcher.stream(
                list_fn,
                ns,
                label_selector=selector,
                resource_version=rv,
                timeout_seconds=timeout_seconds,
                allow_watch_bookmarks=True,
            ):
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
        name_arg(kind, "kind", "a kind")
        resolved = ALIASES.get(kind.lower(), ("", kind))[1]
        if resolved not in functions:
            raise ClusterError(
                f"streaming {kind} is not supported; use one of {sorted(functions)}"
            )
        return functions[resolved]


def _name(obj: Workload) -> str:
    return (obj.metadata.name if obj.metadata else None) or ""


def _generation(obj: Workload) -> int:
    return (obj.metadata.generation if obj.metadata else None) or 0


def _observed_generation(obj: Workload) -> int:
    return (obj.status.observed_generation if obj.status else None) or 0


def _ready_replicas(obj: Workload) -> int:
    return (obj.status.ready_replicas if obj.status else None) or 0
