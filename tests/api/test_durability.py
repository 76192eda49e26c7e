"""SIGKILL the daemon under write load: every acknowledged write survives the restart."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded import daemon

# Killing or restarting the server under the client leaves the client's pooled TLS
# sockets to the garbage collector; those warnings are about the test's client.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

_CLIENTS: list[k8s.ApiClient] = []


def _core(home: Path) -> k8s.CoreV1Api:
    api = k8s_config.new_client_from_config(config_file=str(home / "kubeconfig"))
    _CLIENTS.append(api)
    return k8s.CoreV1Api(api)


def teardown_function() -> None:
    while _CLIENTS:
        _CLIENTS.pop().close()


def test_acknowledged_writes_survive_sigkill_and_versions_keep_increasing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    info = daemon.ensure_running(home)
    try:
        core = _core(home)
        acknowledged: list[tuple[str, int]] = []
        stop = threading.Event()

        def write_load() -> None:
            i = 0
            while not stop.is_set() and i < 5000:
                try:
                    cm = core.create_namespaced_config_map("default", {"metadata": {"name": f"d-{i}"}, "data": {"i": str(i)}})
                except Exception:  # the server died mid-request: not acknowledged
                    return
                acknowledged.append((cm.metadata.name, int(cm.metadata.resource_version)))
                i += 1

        writer = threading.Thread(target=write_load)
        writer.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(info.pid, signal.SIGKILL)
        writer.join(timeout=30)
        stop.set()
        assert len(acknowledged) >= 150

        daemon.ensure_running(home)
        core = _core(home)
        names = {c.metadata.name for c in core.list_namespaced_config_map("default").items}
        missing = [name for name, _ in acknowledged if name not in names]
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:3]}"
        after = core.create_namespaced_config_map("default", {"metadata": {"name": "after-restart"}})
        assert int(after.metadata.resource_version) > max(rv for _, rv in acknowledged)
    finally:
        daemon.stop(home)


def test_a_watch_from_before_the_restart_gets_410_and_a_relist_works(tmp_path: Path) -> None:
    home = tmp_path / "home"
    daemon.ensure_running(home)
    try:
        core = _core(home)
        old_rv = core.list_namespaced_config_map("default").metadata.resource_version
        core.create_namespaced_config_map("default", {"metadata": {"name": "before"}})
        daemon.stop(home)
        daemon.ensure_running(home)
        core = _core(home)
        response = core.list_namespaced_config_map("default", watch=True, resource_version=old_rv, timeout_seconds=2, _preload_content=False)
        first = response.readline().decode()
        response.release_conn()
        assert '"type":"ERROR"' in first and '"code":410' in first
        relisted = core.list_namespaced_config_map("default")
        assert "before" in {c.metadata.name for c in relisted.items}
    except ApiException as err:  # pragma: no cover - shows the body when it fails
        raise AssertionError(err.body) from err
    finally:
        daemon.stop(home)
