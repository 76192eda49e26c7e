"""Connecting to a cluster: the embedded one by default, or a kubeconfig context.

    cluster = connect()                      # the embedded cluster (started if needed)
    cluster = connect("kind-kubecourse")     # a kind cluster; or KUBECOURSE_CONTEXT=...

Only local course clusters are accepted (the embedded one, kind, minikube, Docker
Desktop, or any context whose server is on loopback) unless `allow_remote=True`: the
course creates and deletes things, and must never do that on a cluster it was not
pointed at.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from kubecourse.client.apierrors import translated_errors
from kubecourse.client.cluster import Cluster
from kubecourse.client.guards import optional_name_arg
from kubecourse.client.rows import EndpointRow, NodeRow, PodRow, Rows
from kubecourse.errors import NotConnectedError, UnsafeClusterError

__all__ = ["Cluster", "EndpointRow", "NodeRow", "PodRow", "Rows", "connect"]

LOCAL_CONTEXT_PREFIXES = ("kind-", "minikube", "docker-desktop", "rancher-desktop", "orbstack", "kubecourse")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
COURSE_NAMESPACE = "kubecourse"


def connect(
    context: str | None = None,
    *,
    namespace: str | None = None,
    kubeconfig: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    allow_remote: bool = False,
) -> Cluster:
    """Connect to the course's cluster.

    With no `context` (and no KUBECOURSE_CONTEXT), the embedded cluster under
    `$KUBECOURSE_HOME` is used, started in the background if it is not running.
    """
    optional_name_arg(context, "context", "a kubeconfig context")
    optional_name_arg(namespace, "namespace")
    context = context or os.environ.get("KUBECOURSE_CONTEXT") or None
    if context is None:
        return _connect_embedded(home, namespace)
    return _connect_context(context, kubeconfig, namespace, allow_remote)


def _connect_embedded(home: str | os.PathLike[str] | None, namespace: str | None) -> Cluster:
    from kubecourse.embedded import daemon

    try:
        info = daemon.ensure_running(home)
    except RuntimeError as err:
        raise NotConnectedError(f"could not start the embedded cluster: {err}") from err
    api_client = k8s_config.new_client_from_config(config_file=str(info.kubeconfig))
    cluster = Cluster(api_client, name="kubecourse", flavor="embedded", namespace=namespace or "default", kubeconfig=info.kubeconfig)
    if cluster.namespace != "default":
        with translated_errors():
            cluster.ensure_namespace(cluster.namespace)
    return cluster


def _connect_context(
    context: str,
    kubeconfig: str | os.PathLike[str] | None,
    namespace: str | None,
    allow_remote: bool,
) -> Cluster:
    path = str(kubeconfig) if kubeconfig else None
    try:
        api_client = k8s_config.new_client_from_config(config_file=path, context=context)
    except (ConfigException, OSError) as err:
        raise NotConnectedError(
            f"cannot use kubeconfig context {context!r}: {err}. "
            "`kubectl config get-contexts` lists the contexts you have."
        ) from err
    host = urlparse(api_client.configuration.host).hostname or ""
    flavor = _flavor(context, host)
    if flavor == "other" and not allow_remote:
        raise UnsafeClusterError(
            f"context {context!r} points at {host!r}, which is not a local course cluster "
            "(kind, minikube or loopback). The course creates and deletes objects, so it "
            "refuses; pass allow_remote=True if this cluster is really yours to use."
        )
    cluster = Cluster(api_client, name=context, flavor=flavor, namespace=namespace or COURSE_NAMESPACE,
                      kubeconfig=Path(path) if path else None)
    with translated_errors():
        cluster.ensure_namespace(cluster.namespace)
    return cluster


def _flavor(context: str, host: str) -> str:
    if context.startswith("kind-"):
        return "kind"
    if context.startswith("minikube"):
        return "minikube"
    if context.startswith(LOCAL_CONTEXT_PREFIXES) or host in LOOPBACK_HOSTS:
        return "local"
    return "other"


