"""Shared fixtures: an in-process embedded cluster with fast timings, and polling."""

from __future__ import annotations

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
)

Eventually = Callable[..., Any]


def poll_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy (returning it); fail naming `what` if never."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what} (last value: {last!r})")


@pytest.fixture(scope="module")
def controller_cluster() -> Iterator[EmbeddedCluster]:
    """A running embedded cluster (store, API, controllers) per test module."""
    with EmbeddedCluster(ClusterOptions(timings=CONTROLLER_TIMINGS)) as running:
        yield running


@pytest.fixture
def eventually() -> Eventually:
    return poll_until
