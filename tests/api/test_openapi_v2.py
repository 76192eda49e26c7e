"""Checklist item 50: `/openapi/v2` for kubectl's plaintext-openapiv2 explain, helm and older tools."""

from __future__ import annotations

from collections.abc import Callable
from subprocess import CompletedProcess

from kubecourse.embedded.cluster import EmbeddedCluster
from kubecourse.embedded.openapi_v2_proto import decode_document
from tests.api.rawhttp import request

Kubectl = Callable[..., CompletedProcess[str]]
PROTO = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def test_kubectl_explain_plaintext_openapiv2_prints_the_upstream_description(
    kubectl: Kubectl,
) -> None:
    spec = kubectl("explain", "deployment.spec", "--output=plaintext-openapiv2").stdout
    assert "RESOURCE: spec <Object>" in spec
    assert "DeploymentSpec is the specification of the desired behavior of the" in spec
    assert "replicas\t<integer>" in spec
    field = kubectl(
        "explain", "deployment.spec.replicas", "--output=plaintext-openapiv2"
    ).stdout
    assert (
        "Number of desired pods. This is a pointer to distinguish between explicit"
        in field
    )


def test_json_and_protobuf_carry_etags_and_a_matching_one_is_not_modified(
    cluster: EmbeddedCluster,
) -> None:
    as_json = request(
        cluster, "GET", "/openapi/v2", headers={"Accept": "application/json"}
    )
    as_proto = request(cluster, "GET", "/openapi/v2", headers={"Accept": PROTO})
    assert as_json.header("Content-Type") == ["application/json"]
    assert as_proto.header("Content-Type") == [
        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    ]
    assert decode_document(as_proto.body)["paths"] == as_json.json()["paths"]
    (etag,) = as_proto.header("ETag")
    again = request(
        cluster, "GET", "/openapi/v2", headers={"Accept": PROTO, "If-None-Match": etag}
    )
    assert again.status == 304 and again.body == b""
    assert (
        request(
            cluster,
            "GET",
            "/openapi/v2",
            headers={"Accept": "application/json", "If-None-Match": etag},
        ).status
        == 200
    )


def test_other_media_types_and_methods_are_refused_with_a_status(
    cluster: EmbeddedCluster,
) -> None:
    refused = request(cluster, "GET", "/openapi/v2", headers={"Accept": "text/plain"})
    assert refused.status == 406 and refused.json()["reason"] == "NotAcceptable"
    assert request(cluster, "POST", "/openapi/v2", b"{}").status == 405
    assert request(cluster, "GET", "/openapi/v2", token="wrong").status == 403
