"""The Swagger 2.0 document (`/openapi/v2`) and its gnostic protobuf encoding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubecourse.embedded import openapi_v2
from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.openapi_v2_proto import (
    decode_document,
    encode_document,
    encode_schema,
)
from kubecourse.embedded.resources import REGISTRY


@pytest.fixture(scope="module")
def served() -> openapi_v2.Served:
    return openapi_v2.served(REGISTRY)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_protobuf_decodes_back_to_the_json_document(
    served: openapi_v2.Served,
) -> None:
    decoded = decode_document(served.protobuf)
    document = json.loads(served.json)
    assert decoded["definitions"] == document["definitions"]
    assert decoded["paths"] == document["paths"]
    assert decoded["info"] == document["info"] and decoded["swagger"] == "2.0"


def test_every_reference_resolves_to_a_definition(served: openapi_v2.Served) -> None:
    refs = set(_refs(served.document))
    assert refs and all(r.startswith("#/definitions/") for r in refs)
    assert {r.removeprefix("#/definitions/") for r in refs} <= set(
        served.document["definitions"]
    )


def test_definitions_keep_descriptions_gvk_and_patch_merge_keys(
    served: openapi_v2.Served,
) -> None:
    definitions = served.document["definitions"]
    deployment = definitions["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    assert "enum" not in deployment["properties"]["kind"]
    containers = definitions["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert (
        containers["x-kubernetes-patch-merge-key"] == "name"
        and containers["x-kubernetes-patch-strategy"] == "merge"
    )
    assert containers["items"] == {"$ref": "#/definitions/io.k8s.api.core.v1.Container"}
    replicas = definitions["io.k8s.api.apps.v1.DeploymentSpec"]["properties"][
        "replicas"
    ]
    assert replicas["type"] == "integer" and replicas["description"].startswith(
        "Number of desired pods."
    )
    assert definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] == {
        "type": "string",
        "format": "int-or-string",
    }


def test_operations_are_swagger_2_with_a_body_parameter_and_the_gvk(
    served: openapi_v2.Served,
) -> None:
    item = served.document["paths"][
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
    ]
    patch = item["patch"]
    assert patch["consumes"] == [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ]
    assert patch["parameters"][0] == {
        "name": "body",
        "in": "body",
        "required": True,
        "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"},
    }
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][
        3
    ].items()
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "kind": "Deployment",
        "version": "v1",
    }
    assert patch["responses"]["200"]["schema"] == {
        "$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"
    }
    assert [p["name"] for p in item["parameters"]] == ["name", "namespace", "pretty"]
    assert (
        "post"
        in served.document["paths"][
            "/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
        ]
    )


def test_the_encoder_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(ValueError, match="notAKeyword"):
        encode_schema({"notAKeyword": 1})
    with pytest.raises(ValueError, match="cookie"):
        encode_document(
            {
                "swagger": "2.0",
                "paths": {
                    "/x": {"get": {"parameters": [{"name": "c", "in": "cookie"}]}}
                },
            }
        )


def test_accept_headers_choose_json_protobuf_or_nothing() -> None:
    assert (
        openapi_v2.negotiate(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        )
        == openapi_v2.PROTOBUF
    )
    assert (
        openapi_v2.negotiate(
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        )
        == openapi_v2.PROTOBUF
    )
    assert openapi_v2.negotiate("application/json, */*") == openapi_v2.JSON
    assert openapi_v2.negotiate("") == openapi_v2.JSON
    assert openapi_v2.negotiate("text/plain") is None


def test_the_document_is_built_on_first_request_not_at_start_up() -> None:
    openapi_v2.served.cache_clear()
    with EmbeddedCluster(ClusterOptions(run_controllers=False)):
        assert openapi_v2.served.cache_info().currsize == 0
    first = openapi_v2.served(REGISTRY)
    assert openapi_v2.served(REGISTRY) is first
