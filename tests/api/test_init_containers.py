"""Init containers and native sidecars through kubectl 1.37: they run in order before
the app containers, must exit 0, wait for what they wait for, and log."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from tests.api.conftest import eventually
from tests.api.test_troubleshooting import kube_env, watch_until

__all__ = ["kube_env"]  # the fixture, shared

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def pod(
    name: str,
    inits: list[dict[str, Any]],
    restart: str = "Always",
    app: str = "sleep 3600",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": restart,
            "initContainers": inits,
            "containers": [
                {"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", app]}
            ],
        },
    }


def init(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": "busybox:1.36",
        "command": ["sh", "-c", script],
        **extra,
    }


def status_column(kubectl: Kubectl, name: str) -> tuple[str, str]:
    """(READY, STATUS) of `kubectl get pod`."""
    fields = kubectl("get", "pod", name, "--no-headers").stdout.split()
    return fields[1], fields[2]


def apply(kubectl: Kubectl, body: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump(body))


def test_a_failing_init_container_keeps_the_pod_initializing_and_logs(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    apply(kubectl, pod("check", [init("check", "echo checking; exit 1")]))

    eventually(
        lambda: (
            status_column(kubectl, "check")[1]
            in ("Init:Error", "Init:CrashLoopBackOff")
        ),
        what="Init:Error or Init:CrashLoopBackOff",
    )
    assert status_column(kubectl, "check")[0] == "0/1"
    assert kubectl("logs", "check", "-c", "check").stdout == "checking\n"
    found = core.read_namespaced_pod("check", "default")
    assert found.status.phase == "Pending"
    initialized = next(c for c in found.status.conditions if c.type == "Initialized")
    assert (initialized.status, initialized.reason, initialized.message) == (
        "False",
        "ContainersNotInitialized",
        "containers with incomplete status: [check]",
    )
    (app,) = found.status.container_statuses
    assert app.state.waiting.reason == "PodInitializing"
    eventually(
        lambda: (
            core.read_namespaced_pod("check", "default")
            .status.init_container_statuses[0]
            .restart_count
            >= 2
        ),
        what="the init container restarted",
    )
    eventually(
        lambda: status_column(kubectl, "check")[1] == "Init:CrashLoopBackOff",
        what="Init:CrashLoopBackOff",
    )


def test_an_init_container_that_fails_under_restart_never_fails_the_pod(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    apply(kubectl, pod("once", [init("check", "exit 3")], restart="Never"))

    eventually(
        lambda: core.read_namespaced_pod("once", "default").status.phase == "Failed",
        what="phase Failed",
    )
    found = core.read_namespaced_pod("once", "default")
    (entry,) = found.status.init_container_statuses
    assert (entry.state.terminated.exit_code, entry.state.terminated.reason) == (
        3,
        "Error",
    )
    assert status_column(kubectl, "once")[1] == "Init:Error"


def test_init_containers_run_in_order_then_the_app_starts(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    inits = [init("first", "echo one"), init("second", "sleep 1; echo two")]
    apply(kubectl, pod("ordered", inits))

    eventually(
        lambda: status_column(kubectl, "ordered") == ("1/1", "Running"),
        what="1/1 Running",
    )
    found = core.read_namespaced_pod("ordered", "default")
    first, second = found.status.init_container_statuses
    assert (
        first.state.terminated.reason == second.state.terminated.reason == "Completed"
    )
    assert first.state.terminated.finished_at <= second.state.terminated.started_at
    app = found.status.container_statuses[0].state.running.started_at
    assert second.state.terminated.finished_at <= app
    assert kubectl("logs", "ordered", "-c", "second").stdout == "two\n"
    events = kubectl(
        "get", "events", "--field-selector", "involvedObject.name=ordered",
        "--sort-by", ".metadata.resourceVersion", "-o",
        "jsonpath={range .items[*]}{.reason} {.involvedObject.fieldPath}{'\\n'}{end}",
    ).stdout.splitlines()  # fmt: skip
    started = [line for line in events if line.startswith("Started")]
    assert started == [
        "Started spec.initContainers{first}",
        "Started spec.initContainers{second}",
        "Started spec.containers{app}",
    ]


def test_an_init_container_waits_until_its_service_resolves(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    wait = "until nslookup nodb; do echo waiting for nodb; sleep 1; done"
    apply(kubectl, pod("waits", [init("wait-for-db", wait)]))
    eventually(
        lambda: (
            "waiting for nodb"
            in kubectl("logs", "waits", "-c", "wait-for-db", check=False).stdout
        ),
        what="the init container waiting",
    )
    assert status_column(kubectl, "waits") == ("0/1", "Init:0/1")

    kubectl("create", "service", "clusterip", "nodb", "--tcp=5432:5432")

    eventually(
        lambda: status_column(kubectl, "waits") == ("1/1", "Running"),
        what="the app running once nodb resolves",
    )


def test_an_init_container_with_nc_waits_until_the_port_answers(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    apply(
        kubectl,
        pod("ncwait", [init("wait", "until nc -z -w 1 web 80; do sleep 1; done")]),
    )
    kubectl("create", "service", "clusterip", "web", "--tcp=80:80")
    assert status_column(kubectl, "ncwait")[1] == "Init:0/1"

    kubectl("run", "web", "--image=traefik/whoami", "--labels=app=web")

    eventually(
        lambda: status_column(kubectl, "ncwait") == ("1/1", "Running"),
        timeout=30,
        what="the app running once web answers on port 80",
    )


def test_a_native_sidecar_keeps_running_beside_the_app_and_counts_in_ready(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    sidecar = init(
        "logger", "while true; do echo side; sleep 1; done", restartPolicy="Always"
    )
    apply(kubectl, pod("sided", [sidecar, init("after", "echo after")]))

    eventually(
        lambda: status_column(kubectl, "sided") == ("2/2", "Running"),
        what="2/2 Running",
    )
    found = core.read_namespaced_pod("sided", "default")
    side, after = found.status.init_container_statuses
    assert side.state.running is not None and side.ready and side.started
    assert after.state.terminated.reason == "Completed"
    assert "side" in kubectl("logs", "sided", "-c", "logger").stdout


def test_get_watch_shows_init_then_pod_initializing_then_running(
    kubectl: Kubectl, kube_env: dict[str, str]
) -> None:
    body = pod("phases", [init("first", "sleep 1")])
    body["spec"]["containers"][0]["image"] = "nginx:1.27-bookworm"  # pulled after
    apply(kubectl, body)

    printed = watch_until(kube_env, ["get", "pod", "phases", "-w"], "Running")

    statuses = [line.split()[2] for line in printed.splitlines()[1:] if line.split()]
    assert statuses[0] == "Init:0/1" and statuses[-1] == "Running"
    assert "PodInitializing" in statuses and "ContainerCreating" not in statuses
