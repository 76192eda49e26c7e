"""`kubectl logs` and the client's `read_namespaced_pod_log` with their options:
tail, since, timestamps, limit-bytes and follow, and the refusals of a real server."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api.conftest import eventually, kubectl_binary

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
TICKER = "while true; do echo tick $(hostname); sleep 1; done"
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (.*)$")


def pod(name: str, script: str, restart: str = "Always", **spec: Any) -> dict[str, Any]:
    container = {
        "name": "main",
        "image": "busybox:1.36",
        "command": ["sh", "-c", script],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container], "restartPolicy": restart, **spec},
    }


def running(core: k8s.CoreV1Api, name: str) -> bool:
    return core.read_namespaced_pod(name, "default").status.phase == "Running"


@pytest.fixture(scope="module")
def ticker(kubectl: Kubectl, core: k8s.CoreV1Api) -> str:
    """A pod whose shell loop logs a line a second; three lines written before tests read."""
    kubectl("apply", "-f", "-", input=yaml.safe_dump(pod("ticker", TICKER)))
    eventually(lambda: running(core, "ticker"), what="the ticker to run")
    lines = lambda: core.read_namespaced_pod_log("ticker", "default").splitlines()  # noqa: E731
    eventually(lambda: len(lines()) >= 3, what="three lines")
    return "ticker"


@contextmanager
def following(
    kubeconfig: Path, *args: str
) -> Iterator[tuple[Callable[[], list[str]], subprocess.Popen[str]]]:
    """`kubectl logs -f …` in the background; yields a reader of the lines so far and the process."""
    binary = kubectl_binary()
    assert binary is not None
    env = {
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(kubeconfig.parent),
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.Popen(
        [binary, "logs", "-f", *args], env=env, stdout=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True
    )  # type: ignore[union-attr]
    reader.start()
    try:
        yield (lambda: list(lines)), proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        reader.join(timeout=5)
        proc.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def kubeconfig(
    cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("follow") / "config"
    path.write_text(yaml.safe_dump(cluster.kubeconfig()))
    return path


# ---- options ---------------------------------------------------------------------------


def test_timestamps_prefix_every_line_with_nanosecond_rfc3339(
    kubectl: Kubectl, ticker: str
) -> None:
    lines = kubectl("logs", ticker, "--timestamps").stdout.splitlines()

    assert len(lines) >= 3
    assert all(STAMPED.match(line) for line in lines), lines
    assert STAMPED.match(lines[0]).group(1) == "tick ticker"  # type: ignore[union-attr]


def test_tail_keeps_the_last_lines(kubectl: Kubectl, ticker: str) -> None:
    everything = kubectl("logs", ticker).stdout.splitlines()
    tail = kubectl("logs", ticker, "--tail=2").stdout.splitlines()

    assert tail == everything[-2:] and len(everything) > 2


def test_since_keeps_only_recent_lines(
    kubectl: Kubectl, core: k8s.CoreV1Api, ticker: str
) -> None:
    eventually(
        lambda: len(core.read_namespaced_pod_log(ticker, "default").splitlines()) >= 5,
        what="five lines",
    )
    recent = kubectl("logs", ticker, "--since=2s", "--timestamps").stdout.splitlines()
    everything = kubectl("logs", ticker).stdout.splitlines()

    assert 1 <= len(recent) <= 3 < len(everything)


def test_limit_bytes_cuts_the_output(core: k8s.CoreV1Api, ticker: str) -> None:
    assert core.read_namespaced_pod_log(ticker, "default", limit_bytes=6) == "tick t"


def test_invalid_options_are_refused_as_pod_log_options(
    core: k8s.CoreV1Api, ticker: str
) -> None:
    with pytest.raises(ApiException) as refused:
        core.read_namespaced_pod_log(ticker, "default", tail_lines=-1)

    assert refused.value.status == 422
    assert (
        'PodLogOptions \\"ticker\\" is invalid: tailLines: Invalid value: -1'
        in refused.value.body
    )


# ---- follow ----------------------------------------------------------------------------


def test_follow_prints_lines_as_they_are_written_and_ends_with_the_pod(
    kubectl: Kubectl, kubeconfig: Path, core: k8s.CoreV1Api, ticker: str
) -> None:
    with following(kubeconfig, ticker, "--tail=1") as (read, proc):
        eventually(lambda: len(read()) >= 3, what="two more lines while following")
        assert all(line == "tick ticker\n" for line in read())

        kubectl("delete", "pod", ticker, "--wait=false")
        eventually(lambda: _gone(core, ticker), what="the pod to go")

        assert proc.wait(timeout=10) == 0, "kubectl logs -f ends by itself with the pod"


def _gone(core: k8s.CoreV1Api, name: str) -> bool:
    try:
        core.read_namespaced_pod(name, "default")
    except ApiException as err:
        return err.status == 404
    return False


def test_follow_of_a_finishing_container_ends_when_it_exits(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump(pod("oneshot", "echo first; sleep 1; echo done", "Never")),
    )
    eventually(lambda: running(core, "oneshot"), what="the one-shot pod to run")

    done = kubectl("logs", "-f", "oneshot")

    assert done.stdout.splitlines() == ["first", "done"]
    assert core.read_namespaced_pod("oneshot", "default").status.phase == "Succeeded"


def test_the_client_can_stream_a_followed_log(
    core: k8s.CoreV1Api, kubectl: Kubectl
) -> None:
    kubectl("apply", "-f", "-", input=yaml.safe_dump(pod("streamed", TICKER)))
    eventually(lambda: running(core, "streamed"), what="the pod to run")
    response = core.read_namespaced_pod_log(
        "streamed", "default", follow=True, _preload_content=False
    )

    first = response.readline()
    second = response.readline()
    response.release_conn()

    assert first == second == b"tick streamed\n"


# ---- refusals --------------------------------------------------------------------------


def test_an_unscheduled_pod_has_no_host_to_read_from(kubectl: Kubectl) -> None:
    waiting = pod("nowhere", "echo hi", nodeSelector={"disk": "none-has-it"})
    kubectl("apply", "-f", "-", input=yaml.safe_dump(waiting))

    refused = kubectl("logs", "nowhere", check=False)

    assert refused.returncode != 0
    assert (
        "Error from server (BadRequest): pod nowhere does not have a host assigned"
        in refused.stderr
    )


def test_a_pod_of_two_containers_needs_a_container_name(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    manifest = pod("pair", TICKER)
    manifest["spec"]["containers"].append({"name": "side", "image": "nginx:1.27"})
    manifest["spec"]["initContainers"] = [
        {"name": "setup", "image": "busybox:1.36", "command": ["true"]}
    ]
    kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))
    eventually(lambda: running(core, "pair"), what="the pair to run")

    with pytest.raises(ApiException) as refused:
        core.read_namespaced_pod_log("pair", "default")
    unknown = kubectl("logs", "pair", "-c", "nope", check=False)

    assert refused.value.status == 400
    expected = "a container name must be specified for pod pair, choose one of: [main side] or one of the init containers: [setup]"
    assert expected in refused.value.body
    assert "container nope is not valid for pod pair" in unknown.stderr
    assert "start worker processes" in kubectl("logs", "pair", "-c", "side").stdout
