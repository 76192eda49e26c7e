"""Several processes updating one object at once: no update is lost, losers get 409."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded.cluster import EmbeddedCluster

WORKERS = 4
INCREMENTS = 25


def _increment(kubeconfig: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    api = k8s_config.new_client_from_config(config_file=kubeconfig)
    core = k8s.CoreV1Api(api)
    conflicts = 0
    done = 0
    while done < INCREMENTS:
        cm = core.read_namespaced_config_map("counter", "default")
        cm.data = {"n": str(int(cm.data["n"]) + 1)}
        try:
            core.replace_namespaced_config_map("counter", "default", cm)
            done += 1
        except ApiException as err:
            assert err.status == 409 and json.loads(err.body)["reason"] == "Conflict"
            conflicts += 1
    api.close()
    queue.put(conflicts)


def _watch_counter(core: k8s.CoreV1Api, rv: str, seen: list[int]) -> None:
    """Count the counter's MODIFIED events live, by resourceVersion, until all arrived."""
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_config_map, "default", field_selector="metadata.name=counter",
        resource_version=rv, timeout_seconds=120,
    ):
        if event["type"] == "MODIFIED":
            seen.append(int(event["object"].metadata.resource_version))
        if len(seen) >= WORKERS * INCREMENTS:
            stream.stop()


def _probe(core: k8s.CoreV1Api, stop: threading.Event, answered: list[str]) -> None:
    """Read another object while the writers fight: the server must keep answering."""
    while not stop.wait(0.02):
        answered.append(core.read_namespace("default", _request_timeout=10).metadata.name)


def test_concurrent_read_modify_write_loses_no_update(cluster: EmbeddedCluster, core: k8s.CoreV1Api, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(cluster.kubeconfig()))
    core.create_namespaced_config_map("default", {"metadata": {"name": "counter"}, "data": {"n": "0"}})
    start_rv = core.read_namespaced_config_map("counter", "default").metadata.resource_version
    watchers = [[] for _ in range(3)]  # type: list[list[int]]
    watching = [threading.Thread(target=_watch_counter, args=(core, start_rv, seen)) for seen in watchers]
    stop, answered = threading.Event(), []  # type: threading.Event, list[str]
    probe = threading.Thread(target=_probe, args=(core, stop, answered))
    for thread in (*watching, probe):
        thread.start()

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_increment, args=(str(kubeconfig), queue)) for _ in range(WORKERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    conflicts = sum(queue.get(timeout=5) for _ in procs)
    stop.set()
    for thread in (*watching, probe):
        thread.join(timeout=130)

    final = core.read_namespaced_config_map("counter", "default")
    assert final.data["n"] == str(WORKERS * INCREMENTS)
    for seen in watchers:  # every update seen once, in order, by each live watcher
        assert len(seen) == WORKERS * INCREMENTS
        assert seen == sorted(set(seen))
    assert answered and set(answered) == {"default"}
    events = [e for e in watch.Watch().stream(
        core.list_namespaced_config_map, "default", field_selector="metadata.name=counter",
        resource_version=start_rv, timeout_seconds=1)]
    assert [e["type"] for e in events].count("MODIFIED") == WORKERS * INCREMENTS
    print(f"{conflicts} conflicts resolved by retrying; {len(answered)} reads answered meanwhile")
