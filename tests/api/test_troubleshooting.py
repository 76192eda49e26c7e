"""What a course teaches to troubleshoot, through kubectl 1.37 and the Python client:
failed pulls, crash loops, previous logs, probes, `kubectl debug`, rollout history."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api.conftest import eventually, kubectl_binary
from tests.api.test_exec import on_a_tty


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()[1:]]


def pod_row(kubectl: Any, name: str) -> list[str]:
    found = rows(kubectl("get", "pod", name).stdout)
    return found[0] if found else []


@pytest.fixture(scope="module")
def kube_env(
    cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("tty")
    (folder / "config").write_text(yaml.safe_dump(cluster.kubeconfig()))
    return {**os.environ, "KUBECONFIG": str(folder / "config"), "HOME": str(folder)}


def watch_until(
    env: dict[str, str],
    args: list[str],
    wanted: str,
    timeout: float = 20,
    after: str | None = None,
) -> str:
    """Run `kubectl get -w` until a line shows `wanted` (printed after a line showing
    `after`, when given); what it printed by then."""
    binary = kubectl_binary() or "kubectl"
    process = subprocess.Popen([binary, *args], stdout=subprocess.PIPE, env=env)
    assert process.stdout is not None
    output, deadline = b"", time.monotonic() + timeout
    try:
        while not _shown_in_order(output, after, wanted) and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                output += os.read(process.stdout.fileno(), 4096)
    finally:
        process.terminate()
        process.wait(5)
        process.stdout.close()
    return output.decode()


def _shown_in_order(output: bytes, first: str | None, then: str) -> bool:
    start = 0 if first is None else output.find(first.encode())
    return start >= 0 and then.encode() in output[start:]


# -- image pulls ----------------------------------------------------------------------


def test_get_pods_watch_shows_err_image_pull_then_image_pull_back_off(
    kubectl: Any, kube_env: dict[str, str]
) -> None:
    kubectl("run", "typo", "--image=ngnix")

    # The watch may start at either state, as the container alternates between them.
    printed = watch_until(
        kube_env, ["get", "pod", "typo", "-w"], "ImagePullBackOff", after="ErrImagePull"
    )

    statuses = [line.split()[2] for line in printed.splitlines()[1:]]
    assert "ErrImagePull" in statuses
    assert "ImagePullBackOff" in statuses[statuses.index("ErrImagePull") + 1 :]
    refused = kubectl("logs", "typo", check=False)
    assert refused.stderr.startswith(
        'Error from server (BadRequest): container "typo" in pod "typo"'
    )
    assert "is waiting to start: " in refused.stderr


def test_describe_shows_the_waiting_reason_and_the_pull_events(kubectl: Any) -> None:
    kubectl("run", "badtag", "--image=nginx:doesnotexist-9999")
    eventually(lambda: pod_row(kubectl, "badtag")[2:3] == ["ImagePullBackOff"])

    described = kubectl("describe", "pod", "badtag").stdout

    # The container alternates ErrImagePull (a pull failed) and ImagePullBackOff (waiting
    # out the back-off), as on a real node; describe shows whichever it is in now.
    assert re.search(r"\n      Reason:       (ImagePullBackOff|ErrImagePull)\n", described)
    assert (
        'spec.containers{badtag}: Pulling image "nginx:doesnotexist-9999"' in described
    )
    assert (
        'Failed to pull image "nginx:doesnotexist-9999": rpc error: code = NotFound desc = '
        'failed to pull and unpack image "docker.io/library/nginx:doesnotexist-9999"'
    ) in described
    assert "spec.containers{badtag}: Error: ErrImagePull" in described
    assert (
        'spec.containers{badtag}: Back-off pulling image "nginx:doesnotexist-9999"'
        in described
    )
    assert "spec.containers{badtag}: Error: ImagePullBackOff" in described


def test_set_image_on_a_deployment_that_cannot_pull_recovers(kubectl: Any) -> None:
    kubectl("create", "deployment", "shop", "--image=myregistry.example/nope/app:v1")
    eventually(
        lambda: any(r[2] in ("ErrImagePull", "ImagePullBackOff")
                    for r in rows(kubectl("get", "pods", "-l", "app=shop").stdout)),
        what="a failing pull",
    )  # fmt: skip

    kubectl("set", "image", "deployment/shop", "app=nginx:1.27")

    done = kubectl("rollout", "status", "deployment/shop", "--timeout=30s").stdout
    assert 'deployment "shop" successfully rolled out' in done


def test_the_python_client_reads_the_pull_error_as_a_waiting_state(
    core: k8s.CoreV1Api,
) -> None:
    body = {
        "metadata": {"name": "local"},
        "spec": {"containers": [{"name": "app", "image": "localhost:5000/app:1"}]},
    }
    core.create_namespaced_pod("default", body)

    def waiting() -> Any:
        statuses = core.read_namespaced_pod(
            "local", "default"
        ).status.container_statuses
        return (
            statuses
            and statuses[0].state.waiting
            and statuses[0].state.waiting.reason == "ErrImagePull"
            and statuses[0]
        )

    status = eventually(waiting, what="ErrImagePull")
    assert status.state.waiting.message.endswith(
        "dial tcp 127.0.0.1:5000: connect: connection refused"
    )


# -- processes, restarts and logs -------------------------------------------------------


def test_run_restart_never_echo_hello_completes_and_logs_hello(kubectl: Any) -> None:
    kubectl("run", "once", "--image=busybox", "--restart=Never", "--", "echo", "hello")

    eventually(lambda: pod_row(kubectl, "once")[2:3] == ["Completed"], what="Completed")

    assert kubectl("logs", "once").stdout == "hello\n"


def test_python_dash_c_print_completes_with_its_output(kubectl: Any) -> None:
    kubectl(
        "run",
        "py",
        "--image=python:3.12",
        "--restart=Never",
        "--",
        "python",
        "-c",
        "print(6 * 7)",
    )

    eventually(lambda: pod_row(kubectl, "py")[2:3] == ["Completed"], what="Completed")

    assert kubectl("logs", "py").stdout == "42\n"


def test_a_bare_busybox_deployment_crash_loops_with_growing_restarts(
    kubectl: Any, apps: k8s.AppsV1Api
) -> None:
    kubectl("create", "deployment", "bare", "--image=busybox:1.36")

    def crash_looping() -> list[str] | None:
        found = rows(kubectl("get", "pods", "-l", "app=bare").stdout)
        return (
            found[0]
            if found and found[0][2] == "CrashLoopBackOff" and int(found[0][3]) >= 2
            else None
        )

    row = eventually(crash_looping, what="CrashLoopBackOff with restarts")
    assert row[1] == "0/1"
    later = eventually(
        lambda: (r := crash_looping()) and int(r[3]) > int(row[3]) and r,
        what="more restarts",
    )
    assert int(later[3]) > int(row[3])
    assert kubectl("logs", "deploy/bare").stdout == ""  # its last run wrote nothing
    described = kubectl("describe", "pods", "-l", "app=bare").stdout
    assert "      Reason:       CrashLoopBackOff" in described
    assert (
        "    Last State:     Terminated\n      Reason:       Completed\n      Exit Code:    0"
        in described
    )


def test_logs_previous_prints_the_run_before_the_restart(kubectl: Any) -> None:
    script = "echo attempt on $HOSTNAME; sleep 0.3; exit 1"
    kubectl(
        "run",
        "flaky",
        "--image=busybox:1.36",
        "--restart=OnFailure",
        "--command",
        "--",
        "sh",
        "-c",
        script,
    )
    eventually(
        lambda: (r := pod_row(kubectl, "flaky")) and r[3] != "0", what="a restart"
    )

    assert kubectl("logs", "flaky", "--previous").stdout == "attempt on flaky\n"
    refused = kubectl("logs", "once", "--previous", check=False)
    assert (
        'previous terminated container "once" in pod "once" not found' in refused.stderr
    )


def test_a_failing_liveness_probe_restarts_the_container_with_its_events(
    kubectl: Any, core: k8s.CoreV1Api
) -> None:
    probe = {
        "httpGet": {"path": "/healthz", "port": 80},
        "periodSeconds": 1,
        "failureThreshold": 2,
    }
    body = {
        "metadata": {"name": "sick", "annotations": {"kubecourse.io/liveness": "fail"}},
        "spec": {
            "containers": [
                {"name": "web", "image": "nginx:1.27", "livenessProbe": probe}
            ]
        },
    }
    core.create_namespaced_pod("default", body)

    eventually(
        lambda: (r := pod_row(kubectl, "sick")) and r[3] != "0",
        timeout=20,
        what="a restart",
    )

    described = kubectl("describe", "pod", "sick").stdout
    assert (
        "spec.containers{web}: Liveness probe failed: HTTP probe failed with statuscode: 500"
        in described
    )
    assert (
        "spec.containers{web}: Container web failed liveness probe, will be restarted"
        in described
    )
    status = core.read_namespaced_pod("sick", "default").status.container_statuses[0]
    assert status.last_state.terminated.exit_code == 137


# -- kubectl debug ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def target(core: k8s.CoreV1Api) -> str:
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    )
    eventually(
        lambda: core.read_namespaced_pod("web", "default").status.phase == "Running"
    )
    return "web"


def test_kubectl_debug_it_adds_an_ephemeral_container_and_attaches_to_it(
    kube_env: dict[str, str], core: k8s.CoreV1Api, target: str
) -> None:
    args = ["debug", "-it", target, "--image=busybox:1.36", "--target=web"]

    output, code = on_a_tty(kube_env, args, ["hostname\r", "exit\r"], until=b"exit\r\n")

    assert code == 0
    assert 'Targeting container "web"' in output
    assert "/ # hostname\r\nweb\r\n/ # exit\r\n" in output
    pod = core.read_namespaced_pod(target, "default")
    (debugger,) = [c for c in pod.spec.ephemeral_containers if c.tty]
    assert (debugger.target_container_name, debugger.image) == ("web", "busybox:1.36")
    status = eventually(
        lambda: next((s for s in core.read_namespaced_pod(target, "default").status.ephemeral_container_statuses or []
                      if s.name == debugger.name and s.state.terminated), None),
        what="the debugger's exit",
    )  # fmt: skip
    assert status.ready is False and status.restart_count == 0


def test_kubectl_debug_copy_to_starts_a_copy_with_the_debugger(
    kubectl: Any, target: str
) -> None:
    done = kubectl(
        "debug",
        target,
        "-i",
        "--copy-to=web-debug",
        "--image=busybox:1.36",
        input="echo in-the-copy\nexit\n",
    )

    assert "in-the-copy" in done.stdout
    names = kubectl(
        "get", "pod", "web-debug", "-o", "jsonpath={.spec.containers[*].name}"
    ).stdout.split()
    assert names[0] == "web" and names[1].startswith("debugger-")


def test_kubectl_debug_node_runs_a_host_pod_on_that_node(kubectl: Any) -> None:
    done = kubectl(
        "debug",
        "node/kubecourse-worker",
        "-i",
        "--image=busybox:1.36",
        input="hostname\nexit\n",
    )

    assert "Creating debugging pod node-debugger-kubecourse-worker-" in done.stdout
    assert "kubecourse-worker\n" in done.stdout
    name = done.stdout.split("Creating debugging pod ")[1].split()[0]
    spec = kubectl(
        "get", "pod", name, "-o", "jsonpath={.spec.nodeName} {.spec.hostNetwork}"
    ).stdout
    assert spec == "kubecourse-worker true"


def test_the_ephemeralcontainers_subresource_through_the_python_client(
    core: k8s.CoreV1Api, target: str
) -> None:
    added = {
        "name": "probe",
        "image": "busybox:1.36",
        "command": ["sh", "-c", "echo checked"],
    }
    current = (
        core.read_namespaced_pod(target, "default").spec.ephemeral_containers or []
    )
    body = {
        "spec": {
            "ephemeralContainers": [
                *[core.api_client.sanitize_for_serialization(c) for c in current],
                added,
            ]
        }
    }

    pod = core.patch_namespaced_pod_ephemeralcontainers(target, "default", body)

    assert "probe" in [c.name for c in pod.spec.ephemeral_containers]
    eventually(
        lambda: any(s.name == "probe" and s.state.terminated
                    for s in core.read_namespaced_pod(target, "default").status.ephemeral_container_statuses or []),
        what="the probe container done",
    )  # fmt: skip
    assert (
        core.read_namespaced_pod_log(target, "default", container="probe")
        == "checked\n"
    )


@pytest.mark.parametrize(
    ("container", "cause"),
    [
        ({"name": "web", "image": "busybox"}, "spec.ephemeralContainers[0].name: Duplicate value: \"web\""),
        ({"name": "d1", "image": "busybox", "targetContainerName": "nope"}, 'targetContainerName: Not found: "nope"'),
        ({"name": "d2", "image": "busybox", "ports": [{"containerPort": 80}]}, "ports: Forbidden: cannot be set for an Ephemeral Container"),
        ({"name": "d3"}, "spec.ephemeralContainers[0].image: Required value"),
    ],
)  # fmt: skip
def test_invalid_ephemeral_containers_are_refused_naming_the_field(
    core: k8s.CoreV1Api, container: dict[str, Any], cause: str
) -> None:
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": f"plain-{container['name']}"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    )
    with pytest.raises(ApiException) as refused:
        core.patch_namespaced_pod_ephemeralcontainers(
            f"plain-{container['name']}",
            "default",
            {"spec": {"ephemeralContainers": [container]}},
        )
    assert refused.value.status == 422
    assert cause in json.loads(refused.value.body)["message"]
    assert not core.read_namespaced_pod(
        f"plain-{container['name']}", "default"
    ).spec.ephemeral_containers


# -- rollout history and events ---------------------------------------------------------


def test_rollout_history_shows_the_change_cause_of_each_revision(kubectl: Any) -> None:
    kubectl("create", "deployment", "cc", "--image=nginx:1.26")
    kubectl("annotate", "deployment", "cc", "kubernetes.io/change-cause=initial")
    eventually(
        lambda: "initial" in kubectl("rollout", "history", "deployment/cc").stdout
    )
    kubectl("set", "image", "deployment/cc", "nginx=nginx:1.27")
    kubectl(
        "annotate",
        "deployment",
        "cc",
        "kubernetes.io/change-cause=bump to 1.27",
        "--overwrite",
    )

    history = eventually(
        lambda: (
            (h := kubectl("rollout", "history", "deployment/cc").stdout)
            and "bump" in h
            and h
        )
    )

    table = history.split("REVISION  CHANGE-CAUSE\n")[1]
    assert [line.split(maxsplit=1) for line in table.strip().splitlines()] == [
        ["1", "initial"],
        ["2", "bump to 1.27"],
    ]


def test_scheduler_events_are_events_k8s_io_events_kubectl_lists(
    kubectl: Any, api_client: k8s.ApiClient, target: str
) -> None:
    events = k8s.EventsV1Api(api_client).list_namespaced_event(
        "default", field_selector=f"regarding.name={target}"
    )

    (scheduled,) = [e for e in events.items if e.reason == "Scheduled"]
    assert (scheduled.action, scheduled.reporting_controller) == (
        "Binding",
        "default-scheduler",
    )
    assert scheduled.reporting_instance == "default-scheduler-kubecourse-control-plane"
    assert (
        scheduled.deprecated_first_timestamp is None
        and scheduled.event_time is not None
    )
    listed = kubectl(
        "get", "events", "--field-selector", f"involvedObject.name={target}"
    ).stdout
    assert (
        f"Scheduled   pod/{target}   Successfully assigned default/{target} to"
        in listed
    )
    assert "Scheduled" in kubectl("events", "--for", f"pod/{target}").stdout


def test_a_running_pod_reports_its_observed_generation(
    core: k8s.CoreV1Api, target: str
) -> None:
    pod = core.read_namespaced_pod(target, "default")

    assert pod.status.observed_generation == pod.metadata.generation
    assert {c.observed_generation for c in pod.status.conditions} == {
        pod.metadata.generation
    }
