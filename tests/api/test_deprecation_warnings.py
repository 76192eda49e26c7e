"""Checklist item 49: the `Warning:` header a 1.33+ server sends for v1 Endpoints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from subprocess import CompletedProcess

import pytest
from kubernetes import client as k8s

from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api.conftest import eventually, service
from tests.api.rawhttp import request

Kubectl = Callable[..., CompletedProcess[str]]
MESSAGE = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"
HEADER = f'299 - "{MESSAGE}"'
ENDPOINTS = "/api/v1/namespaces/default/endpoints"


def test_kubectl_get_endpoints_prints_the_deprecation_warning_once_on_stderr(
    kubectl: Kubectl,
) -> None:
    kubectl("create", "service", "clusterip", "listed", "--tcp=80:80")
    listed = eventually(
        lambda: (done := kubectl("get", "endpoints")).stdout and done,
        what="the endpoints listed",
    )
    assert listed.stderr == f"Warning: {MESSAGE}\n"
    assert listed.stdout.splitlines()[0].split() == ["NAME", "ENDPOINTS", "AGE"]
    missing = kubectl("get", "ep", "nope", check=False)
    assert missing.stderr.splitlines() == [
        f"Warning: {MESSAGE}",
        'Error from server (NotFound): endpoints "nope" not found',
    ]


def test_kubectl_reads_of_other_kinds_carry_no_warning(kubectl: Kubectl) -> None:
    for kind in ("endpointslices", "pods", "services"):
        assert kubectl("get", kind).stderr in (
            "",
            "No resources found in default namespace.\n",
        )


def test_every_verb_on_endpoints_gets_the_header_and_other_kinds_none(
    cluster: EmbeddedCluster,
) -> None:
    # A Service without a selector: its Endpoints are written by hand, as upstream allows.
    request(
        cluster,
        "POST",
        "/api/v1/namespaces/default/services",
        {"metadata": {"name": "verbs"}, "spec": {"ports": [{"port": 80}]}},
    )
    body = {"metadata": {"name": "verbs"}}
    replies = [
        request(cluster, "POST", ENDPOINTS, body),
        request(cluster, "GET", f"{ENDPOINTS}/verbs"),
        request(cluster, "GET", "/api/v1/endpoints"),
        request(cluster, "GET", f"{ENDPOINTS}?watch=true&timeoutSeconds=1"),
        request(
            cluster,
            "PATCH",
            f"{ENDPOINTS}/verbs",
            {"metadata": {"labels": {"a": "b"}}},
            {"Content-Type": "application/merge-patch+json"},
        ),
        request(cluster, "DELETE", f"{ENDPOINTS}/verbs"),
        request(cluster, "GET", f"{ENDPOINTS}/verbs"),  # 404 now, still warned
    ]
    assert [r.status for r in replies] == [201, 200, 200, 200, 200, 200, 404]
    assert all(r.header("Warning") == [HEADER] for r in replies)
    assert (
        request(cluster, "GET", "/api/v1/namespaces/default/services").header("Warning")
        == []
    )


def test_the_deprecation_warning_comes_before_an_unknown_field_warning(
    cluster: EmbeddedCluster,
) -> None:
    reply = request(
        cluster, "POST", ENDPOINTS, {"metadata": {"name": "verbs"}, "colour": "red"}
    )
    assert reply.status == 201
    assert reply.header("Warning") == [HEADER, '299 - "unknown field \\"colour\\""']


def test_the_python_client_reads_endpoints_and_ignores_the_header(
    core: k8s.CoreV1Api, caplog: pytest.LogCaptureFixture
) -> None:
    core.create_namespaced_service("default", service("warned"))
    caplog.set_level(logging.DEBUG, logger="kubernetes")
    listed, code, headers = core.list_namespaced_endpoints_with_http_info("default")
    assert code == 200 and isinstance(listed, k8s.V1EndpointsList)
    assert headers["Warning"] == HEADER
    assert not [r for r in caplog.records if MESSAGE in r.getMessage()]
