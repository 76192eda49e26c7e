"""Watches through the official client: typed events, resume without duplicates, 410."""

from __future__ import annotations

import threading
import time

from kubernetes import client as k8s
from kubernetes import watch

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.store import Store


def _cm(name: str, **labels: str) -> dict:
    return {"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}


def test_watch_yields_added_modified_deleted_and_ends_at_its_timeout(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", _cm("w-existing", watch="one"))

    def later() -> None:
        time.sleep(0.3)
        core.create_namespaced_config_map("default", _cm("w-new", watch="one"))
        core.patch_namespaced_config_map("w-new", "default", {"data": {"k": "v2"}})
        core.delete_namespaced_config_map("w-new", "default")

    threading.Thread(target=later, daemon=True).start()
    w = watch.Watch()
    started = time.monotonic()
    seen = [(e["type"], e["object"].metadata.name) for e in w.stream(core.list_namespaced_config_map, "default", label_selector="watch=one", timeout_seconds=2)]
    assert time.monotonic() - started < 6
    assert seen == [("ADDED", "w-existing"), ("ADDED", "w-new"), ("MODIFIED", "w-new"), ("DELETED", "w-new")]
    assert w.resource_version


def test_watch_from_a_resource_version_replays_only_later_changes(core: k8s.CoreV1Api) -> None:
    first = core.create_namespaced_config_map("default", _cm("r-one", watch="two"))
    core.create_namespaced_config_map("default", _cm("r-two", watch="two"))
    w = watch.Watch()
    events = [(e["type"], e["object"].metadata.name) for e in w.stream(
        core.list_namespaced_config_map, "default", label_selector="watch=two",
        resource_version=first.metadata.resource_version, timeout_seconds=1)]
    assert events == [("ADDED", "r-two")]


def test_field_selector_on_name_limits_a_watch(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", _cm("f-one"))
    core.create_namespaced_config_map("default", _cm("f-two"))
    w = watch.Watch()
    names = [e["object"].metadata.name for e in w.stream(core.list_namespaced_config_map, "default", field_selector="metadata.name=f-two", timeout_seconds=1)]
    assert names == ["f-two"]


def test_too_old_resource_version_is_410_gone() -> None:
    options = ClusterOptions()
    with EmbeddedCluster(options) as small:
        small.store._history = Store(history_limit=3)._history  # keep almost no history
        config = k8s.Configuration(host=small.url)
        config.api_key = {"authorization": "Bearer " + small.token}
        config.ssl_ca_cert = str(small.ca_file)
        with k8s.ApiClient(config) as api_client:
            core = k8s.CoreV1Api(api_client)
            for i in range(6):
                core.create_namespaced_config_map("default", _cm(f"old-{i}"))
            response = core.list_namespaced_config_map("default", watch=True, resource_version="2", timeout_seconds=1, _preload_content=False)
            line = response.readline().decode()
            assert '"type":"ERROR"' in line and '"code":410' in line
