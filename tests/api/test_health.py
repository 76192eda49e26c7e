"""/healthz, /livez, /readyz and /version as kube-apiserver 1.37 writes them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from tests.api import rawhttp


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(
        ClusterOptions(run_controllers=False, system_workloads=False)
    ) as running:
        yield running


def test_readyz_verbose_lists_each_check_then_says_it_passed(
    cluster: EmbeddedCluster,
) -> None:
    answer = rawhttp.request(cluster, "GET", "/readyz?verbose")

    lines = answer.body.decode().splitlines()
    assert answer.status == 200
    assert answer.header("Content-Type") == ["text/plain; charset=utf-8"]
    assert lines[:4] == [
        "[+]ping ok",
        "[+]log ok",
        "[+]etcd ok",
        "[+]etcd-readiness ok",
    ]
    assert "[+]poststarthook/rbac/bootstrap-roles ok" in lines
    assert lines[-2:] == ["[+]shutdown ok", "readyz check passed"]


def test_livez_verbose_shows_an_excluded_check_and_warns_of_an_unknown_one(
    cluster: EmbeddedCluster,
) -> None:
    answer = rawhttp.request(cluster, "GET", "/livez?verbose&exclude=etcd&exclude=nope")

    lines = answer.body.decode().splitlines()
    assert "[+]etcd excluded: ok" in lines
    assert "[+]etcd-readiness ok" not in lines and "[+]shutdown ok" not in lines
    assert lines[-2:] == [
        'warn: some health checks cannot be excluded: no matches for "nope"',
        "livez check passed",
    ]


def test_health_without_verbose_is_ok_and_a_single_check_answers_alone(
    cluster: EmbeddedCluster,
) -> None:
    assert rawhttp.request(cluster, "GET", "/healthz").body == b"ok"
    assert (
        rawhttp.request(
            cluster, "GET", "/readyz/poststarthook/rbac/bootstrap-roles"
        ).body
        == b"ok"
    )
    assert rawhttp.request(cluster, "GET", "/readyz/no-such-check").status == 404


def test_version_is_indented_and_carries_the_emulation_and_compatibility_versions(
    cluster: EmbeddedCluster, core: k8s.CoreV1Api
) -> None:
    answer = rawhttp.request(cluster, "GET", "/version")

    body = json.loads(answer.body)
    assert answer.body.startswith(
        b'{\n  "major": "1",\n  "minor": "37",\n  "emulationMajor": "1",'
    )
    assert (
        body["emulationMinor"],
        body["minCompatibilityMajor"],
        body["minCompatibilityMinor"],
    ) == ("37", "1", "36")
    assert (
        k8s.VersionApi(core.api_client).get_code().git_version == "v1.37.0-kubecourse"
    )
