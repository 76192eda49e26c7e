"""Upstream schemas load from the installed package and become complete OpenAPI v3
documents that kubectl can validate, patch and explain with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from kubecourse.embedded import schemas
from kubecourse.embedded.openapi import (
    convert_schema,
    document_hash,
    group_version_path,
    openapi_v3_document,
    openapi_v3_document_bytes,
    openapi_v3_root,
    referenced_definitions,
)
from kubecourse.embedded.resources import REGISTRY, Registry, ResourceType

DEPLOYMENT = ("apps", "v1", "Deployment")

# ---------------------------------------------------------------- schemas.py


def test_schemas_come_from_the_newest_release_in_the_package() -> None:
    release = schemas.schema_release()
    assert release.startswith("v1.")
    assert int(release.split(".")[1]) >= 37


def test_definitions_are_loaded_once() -> None:
    assert schemas.definitions() is schemas.definitions()
    assert "io.k8s.api.core.v1.Pod" in schemas.definitions()


def test_definition_name_by_group_version_kind() -> None:
    assert schemas.definition_name(*DEPLOYMENT) == "io.k8s.api.apps.v1.Deployment"
    assert schemas.definition_name("", "v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert (
        schemas.definition_name("autoscaling", "v1", "Scale")
        == "io.k8s.api.autoscaling.v1.Scale"
    )
    assert (
        schemas.definition_name("policy", "v1", "Eviction")
        == "io.k8s.api.policy.v1.Eviction"
    )
    assert schemas.definition_name("apps", "v1", "Nope") is None


def test_resolve_follows_refs() -> None:
    resolved = schemas.resolve({"$ref": "#/$defs/io.k8s.api.apps.v1.DeploymentSpec"})
    assert "replicas" in resolved["properties"]
    assert schemas.resolve({"type": "string"}) == {"type": "string"}
    assert schemas.resolve({"$ref": "#/$defs/not.there"}) == {
        "$ref": "#/$defs/not.there"
    }


def test_field_schema_gives_the_real_description() -> None:
    replicas = schemas.field_schema(*DEPLOYMENT, ["spec", "replicas"])
    assert replicas is not None
    assert replicas["description"].startswith("Number of desired pods.")


def test_field_schema_keeps_the_fields_patch_strategy_beside_the_target() -> None:
    strategy = schemas.field_schema(*DEPLOYMENT, ["spec", "strategy"])
    assert strategy is not None
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"
    assert "rollingUpdate" in strategy["properties"]


def test_field_schema_enters_lists_by_field_name_or_index() -> None:
    containers = schemas.field_schema(
        *DEPLOYMENT, ["spec", "template", "spec", "containers"]
    )
    assert containers is not None
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    for step in ("image", "0"):
        found = schemas.field_schema(
            *DEPLOYMENT, ["spec", "template", "spec", "containers", step]
        )
        assert found is not None
    image = schemas.field_schema(
        *DEPLOYMENT, ["spec", "template", "spec", "containers", "[]", "image"]
    )
    assert image is not None and "image name" in image["description"].lower()


def test_field_schema_enters_map_values_by_any_key() -> None:
    value = schemas.field_schema(*DEPLOYMENT, ["metadata", "labels", "app"])
    assert value is not None and "string" in value["type"]


def test_field_schema_is_none_off_the_schema() -> None:
    assert schemas.field_schema(*DEPLOYMENT, ["spec", "nope"]) is None
    assert schemas.field_schema(*DEPLOYMENT, ["spec", "replicas", "deeper"]) is None
    assert schemas.field_schema("x", "v1", "Thing", ["spec"]) is None


def test_unknown_fields_lists_dotted_paths_with_list_indexes() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}, "colour": "blue"},
        "spec": {
            "foo": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "ok", "image": "nginx"},
                        {
                            "name": "x",
                            "imagee": "nginx",
                            "resources": {"limits": {"cpu": "1"}},
                        },
                    ]
                }
            },
        },
    }
    assert schemas.unknown_fields(obj, *DEPLOYMENT) == [
        "metadata.colour",
        "spec.foo",
        "spec.template.spec.containers[1].imagee",
    ]


def test_free_form_fields_accept_anything() -> None:
    obj = {
        "metadata": {
            "name": "web",
            "managedFields": [
                {"manager": "kubectl", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
            ],
            "annotations": {"anything/goes": "x"},
        }
    }
    assert schemas.unknown_fields(obj, *DEPLOYMENT) == []


def test_preserve_unknown_fields_subtrees_accept_anything() -> None:
    crd = {
        "spec": {
            "versions": [
                {
                    "name": "v1",
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ]
        }
    }
    found = schemas.unknown_fields(
        crd, "apiextensions.k8s.io", "v1", "CustomResourceDefinition"
    )
    assert found == []


def test_unknown_kind_has_no_unknown_fields() -> None:
    assert schemas.unknown_fields({"spec": {"x": 1}}, "x", "v1", "Thing") == []


def test_valid_objects_have_no_unknown_fields() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]}
            ],
            "tolerations": [{"key": "k", "operator": "Exists"}],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    assert schemas.unknown_fields(pod, "", "v1", "Pod") == []


# ---------------------------------------------------------------- conversion


def test_conversion_rewrites_refs_and_nullable_types() -> None:
    converted = convert_schema(
        {
            "type": ["object", "null"],
            "properties": {
                "a": {"$ref": "#/$defs/x.Y"},
                "b": {"$ref": "#/$defs/x.Y", "description": "b"},
                "c": {"type": ["integer", "null"], "format": "int32"},
                "d": {"items": {"$ref": "#/$defs/x.Z"}, "type": ["array", "null"]},
                "e": {
                    "oneOf": [
                        {"type": ["string", "null"]},
                        {"type": ["integer", "null"]},
                    ]
                },
            },
        }
    )
    assert converted == {
        "type": "object",
        "properties": {
            "a": {"$ref": "#/components/schemas/x.Y"},
            "b": {"allOf": [{"$ref": "#/components/schemas/x.Y"}], "description": "b"},
            "c": {"type": "integer", "format": "int32"},
            "d": {"items": {"$ref": "#/components/schemas/x.Z"}, "type": "array"},
            "e": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        },
    }


def test_conversion_drops_the_package_enum_on_api_version_and_kind_only() -> None:
    converted = convert_schema(
        schemas.definitions()["io.k8s.api.apps.v1.Deployment"], top_level=True
    )
    assert "enum" not in converted["properties"]["apiVersion"]
    assert "enum" not in converted["properties"]["kind"]
    assert convert_schema({"enum": ["a"], "type": "string"}) == {
        "enum": ["a"],
        "type": "string",
    }


def test_referenced_definitions_are_transitive() -> None:
    names = referenced_definitions(["io.k8s.api.apps.v1.Deployment"])
    assert "io.k8s.api.core.v1.Container" in names
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in names
    assert "io.k8s.apimachinery.pkg.util.intstr.IntOrString" in names
    assert "io.k8s.api.batch.v1.Job" not in names


# ---------------------------------------------------------------- documents


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):  # JSONSchemaProps has a `$ref` property
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


@pytest.mark.parametrize(("group", "version"), REGISTRY.group_versions())
def test_every_reference_resolves_inside_the_document(group: str, version: str) -> None:
    document = openapi_v3_document(REGISTRY, group, version)
    components = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in components


@pytest.mark.parametrize(("group", "version"), REGISTRY.group_versions())
def test_documents_use_only_openapi_3_types(group: str, version: str) -> None:
    text = openapi_v3_document_bytes(REGISTRY, group, version).decode()
    assert '"null"' not in text
    assert "#/$defs/" not in text
    assert json.loads(text)["openapi"] == "3.0.0"


def test_object_meta_is_complete_so_client_side_apply_finds_annotations() -> None:
    components = openapi_v3_document(REGISTRY, "apps", "v1")["components"]["schemas"]
    meta = components["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
    assert {"annotations", "labels", "name", "finalizers", "ownerReferences"} <= set(
        meta["properties"]
    )
    assert meta["properties"]["finalizers"]["x-kubernetes-patch-strategy"] == "merge"


def test_top_level_kinds_carry_their_group_version_kind() -> None:
    components = openapi_v3_document(REGISTRY, "apps", "v1")["components"]["schemas"]
    assert components["io.k8s.api.apps.v1.Deployment"][
        "x-kubernetes-group-version-kind"
    ] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert "io.k8s.api.apps.v1.DeploymentList" in components
    assert "io.k8s.api.autoscaling.v1.Scale" in components


def test_descriptions_and_merge_keys_survive_for_kubectl_explain() -> None:
    components = openapi_v3_document(REGISTRY, "apps", "v1")["components"]["schemas"]
    spec = components["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]
    assert spec["replicas"]["description"].startswith("Number of desired pods.")
    assert spec["replicas"]["type"] == "integer"
    containers = components["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["items"] == {
        "$ref": "#/components/schemas/io.k8s.api.core.v1.Container"
    }


def test_deployment_paths_cover_collection_item_and_subresources() -> None:
    paths = openapi_v3_document(REGISTRY, "apps", "v1")["paths"]
    base = "/apis/apps/v1/namespaces/{namespace}/deployments"
    assert set(paths[base]) == {"get", "post", "delete", "parameters"}
    assert set(paths[base + "/{name}"]) == {
        "get",
        "put",
        "patch",
        "delete",
        "parameters",
    }
    assert set(paths[base + "/{name}/scale"]) == {"get", "put", "patch", "parameters"}
    assert set(paths[base + "/{name}/status"]) == {"get", "put", "patch", "parameters"}
    assert set(paths["/apis/apps/v1/deployments"]) == {"get", "parameters"}


def test_patch_operation_has_what_kubectl_apply_looks_for() -> None:
    paths = openapi_v3_document(REGISTRY, "apps", "v1")["paths"]
    patch = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "kind": "Deployment",
        "version": "v1",
    }
    assert patch["x-kubernetes-action"] == "patch"
    assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= {
        p["name"] for p in patch["parameters"]
    }
    assert set(patch["requestBody"]["content"]) == {
        "application/strategic-merge-patch+json",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
    }
    ok = patch["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/io.k8s.api.apps.v1.Deployment"}


def test_every_write_operation_takes_field_validation() -> None:
    for group, version in REGISTRY.group_versions():
        for path, item in openapi_v3_document(REGISTRY, group, version)[
            "paths"
        ].items():
            for method in ("post", "put", "patch"):
                # exec / attach / portforward POSTs are connections, not writes
                if method in item and item[method]["x-kubernetes-action"] != "connect":
                    names = {p["name"] for p in item[method]["parameters"]}
                    assert {"fieldValidation", "fieldManager", "dryRun"} <= names, (
                        path,
                        method,
                    )


def test_scale_subresource_speaks_scale() -> None:
    paths = openapi_v3_document(REGISTRY, "apps", "v1")["paths"]
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["get"]["x-kubernetes-group-version-kind"]["kind"] == "Scale"
    body = scale["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/io.k8s.api.autoscaling.v1.Scale"}


def test_core_document_has_pods_nodes_eviction_binding_and_log() -> None:
    document = openapi_v3_document(REGISTRY, "", "v1")
    paths = document["paths"]
    pod = "/api/v1/namespaces/{namespace}/pods/{name}"
    assert (
        paths[pod + "/eviction"]["post"]["x-kubernetes-group-version-kind"]["kind"]
        == "Eviction"
    )
    assert (
        paths[pod + "/binding"]["post"]["x-kubernetes-group-version-kind"]["kind"]
        == "Binding"
    )
    log = paths[pod + "/log"]["get"]
    assert "text/plain" in log["responses"]["200"]["content"]
    assert {"container", "follow", "tailLines"} <= {
        p["name"] for p in log["parameters"]
    }
    assert "/api/v1/nodes/{name}/status" in paths
    assert "/api/v1/namespaces/{name}/finalize" in paths
    assert "put" in paths["/api/v1/namespaces/{name}/finalize"]
    assert "io.k8s.api.policy.v1.Eviction" in document["components"]["schemas"]


def test_cluster_scoped_paths_have_no_namespace_parameter() -> None:
    paths = openapi_v3_document(REGISTRY, "", "v1")["paths"]
    names = {p["name"] for p in paths["/api/v1/nodes/{name}"]["parameters"]}
    assert names == {"name", "pretty"}
    assert "/api/v1/namespaces/{namespace}/nodes" not in paths


def test_list_operation_takes_selectors_and_watch_parameters() -> None:
    paths = openapi_v3_document(REGISTRY, "", "v1")["paths"]
    listing = paths["/api/v1/namespaces/{namespace}/pods"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {
        "labelSelector",
        "fieldSelector",
        "watch",
        "resourceVersion",
        "timeoutSeconds",
        "limit",
    } <= names
    assert listing["x-kubernetes-action"] == "list"
    assert (
        paths["/api/v1/pods"]["get"]["operationId"] == "listCoreV1PodForAllNamespaces"
    )


def test_pod_delete_returns_the_pod_and_others_a_status() -> None:
    paths = openapi_v3_document(REGISTRY, "", "v1")["paths"]
    pod_ok = paths["/api/v1/namespaces/{namespace}/pods/{name}"]["delete"]["responses"][
        "200"
    ]
    svc_ok = paths["/api/v1/namespaces/{namespace}/services/{name}"]["delete"][
        "responses"
    ]["200"]
    assert pod_ok["content"]["application/json"]["schema"]["$ref"].endswith(
        "core.v1.Pod"
    )
    assert svc_ok["content"]["application/json"]["schema"]["$ref"].endswith(
        "meta.v1.Status"
    )


def test_operation_ids_follow_the_upstream_pattern() -> None:
    paths = openapi_v3_document(REGISTRY, "apps", "v1")["paths"]
    item = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert item["patch"]["operationId"] == "patchAppsV1NamespacedDeployment"
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["get"]["operationId"] == "readAppsV1NamespacedDeploymentScale"
    networking = openapi_v3_document(REGISTRY, "networking.k8s.io", "v1")["paths"]
    assert networking["/apis/networking.k8s.io/v1/ingressclasses/{name}"]["get"][
        "operationId"
    ] == ("readNetworkingV1IngressClass")


def test_unserved_group_version_has_no_document() -> None:
    with pytest.raises(KeyError):
        openapi_v3_document(REGISTRY, "storage.k8s.io", "v1")


def test_kind_without_an_upstream_schema_is_an_error() -> None:
    registry = Registry((ResourceType("example.com", "v1", "Widget", "widgets", True),))
    with pytest.raises(KeyError, match="no upstream schema"):
        openapi_v3_document(registry, "example.com", "v1")


def test_documents_are_cached_and_serialised_once() -> None:
    first = openapi_v3_document(REGISTRY, "apps", "v1")
    assert openapi_v3_document(REGISTRY, "apps", "v1") is first
    assert json.loads(openapi_v3_document_bytes(REGISTRY, "apps", "v1")) == first


# ---------------------------------------------------------------- the index


def test_root_lists_every_group_version_with_its_hash() -> None:
    root = openapi_v3_root(REGISTRY)
    assert set(root["paths"]) == {
        "api/v1",
        "apis/apps/v1",
        "apis/authentication.k8s.io/v1",
        "apis/authorization.k8s.io/v1",
        "apis/autoscaling/v1",
        "apis/autoscaling/v2",
        "apis/batch/v1",
        "apis/coordination.k8s.io/v1",
        "apis/discovery.k8s.io/v1",
        "apis/events.k8s.io/v1",
        "apis/gateway.networking.k8s.io/v1",
        "apis/metrics.k8s.io/v1beta1",
        "apis/networking.k8s.io/v1",
        "apis/policy/v1",
        "apis/scheduling.k8s.io/v1",
        "apis/apiextensions.k8s.io/v1",
    }
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url == f"/openapi/v3/apis/apps/v1?hash={document_hash('apps', 'v1')}"


def test_hash_is_stable_and_differs_between_documents() -> None:
    assert document_hash("apps", "v1") == document_hash("apps", "v1")
    assert document_hash("apps", "v1") != document_hash("", "v1")
    assert len(document_hash("", "v1")) == 128
    assert document_hash("", "v1") == document_hash("", "v1").upper()


def test_root_can_use_a_given_hash_function() -> None:
    root = openapi_v3_root(
        REGISTRY, lambda group, version: f"{group or 'core'}-{version}"
    )
    assert (
        root["paths"]["api/v1"]["serverRelativeURL"]
        == "/openapi/v3/api/v1?hash=core-v1"
    )


def test_group_version_paths() -> None:
    assert group_version_path("", "v1") == "api/v1"
    assert group_version_path("apps", "v1") == "apis/apps/v1"


def test_streaming_subresources_are_connect_operations_without_a_schema() -> None:
    paths = openapi_v3_document(REGISTRY, "", "v1")["paths"]
    item = paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]
    assert (item["get"]["operationId"], item["post"]["operationId"]) == (
        "connectCoreV1GetNamespacedPodExec",
        "connectCoreV1PostNamespacedPodExec",
    )
    assert item["post"]["x-kubernetes-action"] == "connect"
    assert item["get"]["x-kubernetes-group-version-kind"]["kind"] == "PodExecOptions"
    assert {"command", "container", "stdin", "stdout", "stderr", "tty"} <= {
        p["name"] for p in item["get"]["parameters"]
    }
    forward = paths["/api/v1/namespaces/{namespace}/pods/{name}/portforward"]
    assert forward["get"]["operationId"] == "connectCoreV1GetNamespacedPodPortforward"
