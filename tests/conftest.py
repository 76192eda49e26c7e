"""Shared fixtures: an in-process embedded cluster with fast timings, and polling."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings

CONTROLLER_TIMINGS = Timings(
    schedule_delay=0.01,
    container_create_delay=0.05,
    container_start_delay=0.05,
    pod_termination_delay=0.05,
    job_backoff=0.2,
    container_restart_backoff=0.2,
    config_retry=0.2,
    image_pull_backoff=0.2,
    daemon_failed_backoff=0.1,
    workqueue_max_delay=0.2,
    podgc_period=0.2,
    podgc_quarantine=0.3,
)

Eventually = Callable[..., Any]


def poll_until(
    predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
) -> Any:
    """Poll until `predicate()` is truthy (returning it); fail naming `what` if never."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what} (last value: {last!r})")


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


@pytest.fixture(scope="module")
def controller_cluster() -> Iterator[EmbeddedCluster]:
    """A running embedded cluster (store, API, controllers) per test module; a
    reconcile that raised fails the module at teardown."""
    failures = _Failures()
    logger = logging.getLogger("kubecourse.embedded.controllers")
    logger.addHandler(failures)
    try:
        with EmbeddedCluster(ClusterOptions(timings=CONTROLLER_TIMINGS)) as running:
            yield running
    finally:
        logger.removeHandler(failures)
    assert not failures.messages, "controllers failed:\n" + "\n".join(failures.messages)


@pytest.fixture(scope="session")
def eventually() -> Eventually:
    return poll_until


class InCluster:
    """The cluster's `Api` and store, called in the cluster's own event loop."""

    def __init__(self, cluster: EmbeddedCluster) -> None:
        self.cluster = cluster

    def create(self, resource: str, namespace: str | None, body: dict[str, Any]) -> Any:
        rt = self.cluster.api.registry.get(resource)
        return self.cluster.call(lambda: self.cluster.api.create(rt, namespace, body))

    def get(self, resource: str, namespace: str | None, name: str) -> Any:
        obj = self.cluster.call(
            lambda: self.cluster.store.get(resource, namespace or "", name)
        )
        return None if obj is None else copy.deepcopy(obj)

    def items(self, resource: str, namespace: str | None = None) -> list[Any]:
        return self.cluster.call(
            lambda: copy.deepcopy(list(self.cluster.store.items(resource, namespace)))
        )

    def patch(self, resource: str, namespace: str | None, name: str, body: Any) -> Any:
        rt = self.cluster.api.registry.get(resource)
        return self.cluster.call(
            lambda: self.cluster.api.patch(rt, namespace, name, "merge", body)
        )

    def update(self, resource: str, namespace: str | None, body: dict[str, Any]) -> Any:
        rt = self.cluster.api.registry.get(resource)
        name = body["metadata"]["name"]
        return self.cluster.call(
            lambda: self.cluster.api.update(rt, namespace, name, body)
        )

    def delete(self, resource: str, namespace: str | None, name: str) -> Any:
        rt = self.cluster.api.registry.get(resource)
        return self.cluster.call(lambda: self.cluster.api.delete(rt, namespace, name))

    def namespace(self, name: str) -> str:
        self.create("namespaces", None, {"metadata": {"name": name}})
        return name


@pytest.fixture(scope="module")
def kube(controller_cluster: EmbeddedCluster) -> InCluster:
    return InCluster(controller_cluster)
