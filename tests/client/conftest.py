"""The facade, widgets and checks against an in-process embedded cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import config as k8s_config

from kubecourse.client import Cluster
from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from tests.api.conftest import FAST


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=FAST)) as running:
        yield running


@pytest.fixture(scope="module")
def cluster(embedded: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    kubeconfig = tmp_path_factory.mktemp("facade") / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(embedded.kubeconfig()))
    api_client = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    return Cluster(api_client, name="kubecourse", flavor="embedded", namespace="default", kubeconfig=Path(kubeconfig))


@pytest.fixture(scope="module")
def shop(cluster: Cluster) -> Cluster:
    """The shop translated and applied, every workload ready."""
    import kubecourse

    root = Path(__file__).resolve().parents[2]
    cluster.apply(kubecourse.translate(root / "shop" / "compose.yaml"))
    cluster.wait_workloads_ready(timeout=60)
    return cluster
