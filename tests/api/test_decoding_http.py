"""Bad input refused as kube-apiserver refuses it, through kubectl, the Python client and
raw HTTP: typed decoding, body and Accept negotiation, options, headers, lists."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api.conftest import deployment
from tests.api.rawhttp import request

Kubectl = Callable[..., CompletedProcess[str]]
CM_PATH = "/api/v1/namespaces/default/configmaps"


def bad_configmap(name: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name},
            "data": {"port": 8080},
        }
    )


def test_kubectl_apply_of_a_number_in_configmap_data_prints_upstreams_error(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    done = kubectl("apply", "-f", "-", input=bad_configmap("num"), check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be '
        "handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
    )
    assert "num" not in [
        c.metadata.name for c in core.list_namespaced_config_map("default").items
    ]


def test_kubectl_131_prints_the_same_decoding_error(kubectl_131: Kubectl) -> None:
    done = kubectl_131("create", "-f", "-", input=bad_configmap("num131"), check=False)
    assert (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number'
        in done.stderr
    )


def test_kubectl_apply_patch_and_server_side_apply_refuse_an_env_number(
    kubectl: Kubectl, apps: k8s.AppsV1Api
) -> None:
    good = deployment("typed")
    kubectl("apply", "-f", "-", input=yaml.safe_dump(good))
    bad = json.loads(json.dumps(good))
    bad["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "PORT", "value": 8080}
    ]
    applied = kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert applied.stderr.startswith(
        'The request is invalid: patch: Invalid value: "map['
    )
    assert applied.stderr.strip().endswith("cannot convert int64 to string")
    server_side = kubectl(
        "apply", "--server-side", "-f", "-", input=yaml.safe_dump(bad), check=False
    )
    assert server_side.stderr.strip() == (
        "Error from server: failed to create typed patch object (default/typed; apps/v1, Kind=Deployment): "
        '.spec.template.spec.containers[name="app"].env[name="PORT"].value: expected string, got '
        "&value.valueUnstructured{Value:8080}"
    )
    assert (
        apps.read_namespaced_deployment("typed", "default")
        .spec.template.spec.containers[0]
        .env
        is None
    )


def test_the_typed_client_lists_every_namespaced_kind_after_bad_writes(
    api_client: k8s.ApiClient, cluster: EmbeddedCluster
) -> None:
    core, apps, batch = (
        k8s.CoreV1Api(api_client),
        k8s.AppsV1Api(api_client),
        k8s.BatchV1Api(api_client),
    )
    core.create_namespace({"metadata": {"name": "battery"}})
    battery = [
        ("configmaps", {"metadata": {"name": "a"}, "data": {"n": 1}}),
        ("secrets", {"metadata": {"name": "a"}, "data": {"p": "not base64!"}}),
        (
            "pods",
            {
                "metadata": {"name": "a"},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "x",
                            "resources": {"limits": {"cpu": "lots"}},
                        }
                    ]
                },
            },
        ),
        ("services", {"metadata": {"name": "a"}, "spec": {"ports": [{"port": "80"}]}}),
    ]
    for plural, body in battery:
        assert (
            request(
                cluster, "POST", f"/api/v1/namespaces/battery/{plural}", body
            ).status
            == 400
        )
    bad = deployment("d", replicas=1)
    bad["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "X", "value": True}
    ]
    assert (
        request(
            cluster, "POST", "/apis/apps/v1/namespaces/battery/deployments", bad
        ).status
        == 400
    )
    for lister in (
        core.list_namespaced_pod,
        core.list_namespaced_config_map,
        core.list_namespaced_secret,
        core.list_namespaced_service,
        core.list_namespaced_endpoints,
        core.list_namespaced_event,
        core.list_namespaced_service_account,
        core.list_namespaced_persistent_volume_claim,
        apps.list_namespaced_deployment,
        apps.list_namespaced_replica_set,
        apps.list_namespaced_stateful_set,
        apps.list_namespaced_daemon_set,
        batch.list_namespaced_job,
        batch.list_namespaced_cron_job,
    ):
        lister("battery")  # deserialises every item into its typed model


def test_malformed_bodies_answer_the_decoders_words(cluster: EmbeddedCluster) -> None:
    json_reply = request(
        cluster,
        "POST",
        CM_PATH,
        b'{"metadata": {"name": "x",}}',
        {"Content-Type": "application/json"},
    )
    assert json_reply.status == 400 and json_reply.json()["message"] == (
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse "
        'error: invalid character \'}\' looking for beginning of object key string ({"metadata": {"name": "x",}})'
    )
    yaml_reply = request(
        cluster,
        "POST",
        CM_PATH,
        b"metadata:\n  name: x\n bad: [",
        {"Content-Type": "application/yaml"},
    )
    assert yaml_reply.status == 400
    assert (
        "(must be of type ConfigMap): error converting YAML to JSON: yaml: line 3: "
        in yaml_reply.json()["message"]
    )
    created = request(
        cluster,
        "POST",
        CM_PATH,
        b"metadata:\n  name: from-yaml\ndata:\n  a: '1'\n",
        {"Content-Type": "application/yaml"},
    )
    assert created.status == 201 and created.json()["data"] == {"a": "1"}


def test_unknown_body_types_are_415_listing_what_each_verb_takes(
    cluster: EmbeddedCluster,
) -> None:
    plain = request(cluster, "POST", CM_PATH, b"{}", {"Content-Type": "text/plain"})
    assert (plain.status, plain.json()["reason"]) == (415, "UnsupportedMediaType")
    assert plain.json()["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    )
    patch = request(
        cluster,
        "PATCH",
        CM_PATH + "/from-yaml",
        b"{}",
        {"Content-Type": "application/json"},
    )
    assert patch.status == 415 and patch.json()["message"].endswith(
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml"
    )


def test_an_oversized_body_says_the_limit(cluster: EmbeddedCluster) -> None:
    body = {"metadata": {"name": "big"}, "data": {"x": "y" * (4 * 1024 * 1024)}}
    reply = request(cluster, "POST", CM_PATH, body)
    assert (
        reply.status == 413
        and reply.json()["message"] == "Request entity too large: limit is 3145728"
    )


def test_accept_picks_json_or_yaml_and_refuses_what_is_not_served(
    cluster: EmbeddedCluster,
) -> None:
    as_yaml = request(cluster, "GET", CM_PATH, headers={"Accept": "application/yaml"})
    assert (
        as_yaml.header("Content-Type") == ["application/yaml"]
        and yaml.safe_load(as_yaml.body)["kind"] == "ConfigMapList"
    )
    kubectls = request(
        cluster,
        "GET",
        CM_PATH,
        headers={"Accept": "application/vnd.kubernetes.protobuf,application/json"},
    )
    assert kubectls.status == 200 and kubectls.header("Content-Type") == [
        "application/json"
    ]
    for accept in ("application/vnd.kubernetes.protobuf", "text/html"):
        refused = request(cluster, "GET", CM_PATH, headers={"Accept": accept})
        assert (refused.status, refused.json()["reason"]) == (406, "NotAcceptable")
        assert (
            refused.json()["message"]
            == "only the following media types are accepted: application/json, application/yaml"
        )


def test_responses_carry_kube_apiservers_headers(cluster: EmbeddedCluster) -> None:
    reply = request(cluster, "GET", CM_PATH)
    assert reply.header("Server") == []
    assert reply.header("Content-Type") == ["application/json"]
    assert reply.header("Cache-Control") == ["no-cache, private"]
    uuid.UUID(reply.header("Audit-Id")[0])
    assert request(cluster, "GET", CM_PATH).header("Audit-Id") != reply.header(
        "Audit-Id"
    )
    for name in ("X-Kubernetes-Pf-Flowschema-Uid", "X-Kubernetes-Pf-Prioritylevel-Uid"):
        uuid.UUID(reply.header(name)[0])


def test_bodies_are_encoded_as_gos_json_encoder_writes_them(
    cluster: EmbeddedCluster,
) -> None:
    data = {"greeting": "h\u00e9llo <b>&</b>"}
    request(cluster, "POST", CM_PATH, {"metadata": {"name": "go-json"}, "data": data})

    body = request(cluster, "GET", CM_PATH + "/go-json").body

    assert "h\u00e9llo".encode() in body  # UTF-8 as it is, not \u00e9
    assert b"\\u003cb\\u003e\\u0026\\u003c/b\\u003e" in body
    assert body.endswith(b"}\n")
    assert body.startswith(  # TypeMeta, then ObjectMeta in Go's struct order
        b'{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"go-json",'
        b'"namespace":"default","uid":'
    )
    assert json.loads(body)["data"] == data


def test_list_items_carry_no_api_version_or_kind_and_kubectl_still_prints_them(
    cluster: EmbeddedCluster, kubectl: Kubectl
) -> None:
    items = request(cluster, "GET", CM_PATH).json()["items"]
    assert items and all(
        "kind" not in item and "apiVersion" not in item for item in items
    )
    printed = yaml.safe_load(kubectl("get", "configmaps", "-o", "yaml").stdout)
    assert {item["kind"] for item in printed["items"]} == {"ConfigMap"}


def test_list_options_are_validated_as_upstream(cluster: EmbeddedCluster) -> None:
    without_rv = request(
        cluster, "GET", CM_PATH + "?resourceVersionMatch=NotOlderThan"
    ).json()
    assert without_rv["code"] == 422 and without_rv["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is '
        "forbidden unless resourceVersion is provided"
    )
    exact_zero = request(
        cluster, "GET", CM_PATH + "?resourceVersion=0&resourceVersionMatch=Exact"
    ).json()
    assert exact_zero["message"].endswith(
        'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'
    )
    unbounded = request(cluster, "GET", CM_PATH + "?limit=-1").json()
    assert "continue" not in unbounded["metadata"] and len(unbounded["items"]) >= 2


def test_a_field_manager_over_128_bytes_is_invalid_create_options(
    core: k8s.CoreV1Api,
) -> None:
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(
            "default", {"metadata": {"name": "fm"}}, field_manager="m" * 129
        )
    assert err.value.status == 422 and json.loads(err.value.body)["message"] == (
        'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes'
    )


def test_delete_preconditions_and_dry_run_answer_as_upstream(
    core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    apps.create_namespaced_deployment("default", deployment("pre"))
    stale = k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(resource_version="1"))
    with pytest.raises(ApiException) as err:
        apps.delete_namespaced_deployment("pre", "default", body=stale)
    rv = apps.read_namespaced_deployment("pre", "default").metadata.resource_version
    assert err.value.status == 409 and json.loads(err.value.body)["message"] == (
        'Operation cannot be fulfilled on Deployment.apps "pre": the ResourceVersion in the precondition (1) '
        f"does not match the ResourceVersion in record ({rv}). The object might have been modified"
    )
    answer = apps.delete_namespaced_deployment("pre", "default", dry_run="All")
    assert answer["kind"] == "Status" and answer["status"] == "Success"
    assert (
        apps.read_namespaced_deployment("pre", "default").metadata.deletion_timestamp
        is None
    )


def test_creating_in_a_terminating_namespace_names_the_object(
    core: k8s.CoreV1Api,
) -> None:
    core.create_namespace({"metadata": {"name": "ending"}})
    core.create_namespaced_config_map(
        "ending", {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    )
    core.delete_namespace("ending")
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("ending", {"metadata": {"name": "late"}})
    body = json.loads(err.value.body)
    assert err.value.status == 403 and body["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace ending because it is being terminated'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "NamespaceTerminating",
            "message": "namespace ending is being terminated",
            "field": "metadata.namespace",
        }
    ]
    core.patch_namespaced_config_map(
        "held", "ending", {"metadata": {"finalizers": None}}
    )


def test_namespaces_are_not_deleted_as_a_collection(
    cluster: EmbeddedCluster, api_client: k8s.ApiClient
) -> None:
    resources = k8s.CoreV1Api(api_client).get_api_resources().resources
    assert (
        "deletecollection"
        not in next(r for r in resources if r.name == "namespaces").verbs
    )
    assert request(cluster, "DELETE", "/api/v1/namespaces").status == 405


def test_new_field_selectors_and_the_endpoints_managed_by_label(
    core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "sel"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "sel"},
                "ports": [{"port": 80}],
            },
        },
    )
    node_ports = core.list_namespaced_service(
        "default", field_selector="spec.type=NodePort"
    ).items
    assert [s.metadata.name for s in node_ports] == ["sel"]
    ip = node_ports[0].spec.cluster_ip
    assert [
        s.metadata.name
        for s in core.list_namespaced_service(
            "default", field_selector=f"spec.clusterIP={ip}"
        ).items
    ] == ["sel"]
    assert (
        k8s.BatchV1Api(core.api_client)
        .list_namespaced_job("default", field_selector="status.successful=0")
        .items
        == []
    )
    assert (
        apps.list_namespaced_replica_set(
            "default", field_selector="status.replicas=999"
        ).items
        == []
    )
    endpoints = core.read_namespaced_endpoints("sel", "default")
    assert (
        endpoints.metadata.labels["endpoints.kubernetes.io/managed-by"]
        == "endpoint-controller"
    )


def test_kubectl_prints_pod_validation_causes_with_upstreams_fields(
    kubectl: Kubectl,
) -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad"},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox", "imagePullPolicy": "Sometimes"}
            ]
        },
    }
    done = kubectl("apply", "-f", "-", input=yaml.safe_dump(pod), check=False)
    assert done.stderr.strip() == (
        'The Pod "bad" is invalid: spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "IfNotPresent", "Never"'
    )


def test_a_core_event_reads_with_upstreams_zero_values(cluster: EmbeddedCluster) -> None:
    path = "/api/v1/namespaces/default/events"
    event = {
        "metadata": {"name": "hand-made"},
        "involvedObject": {"kind": "Pod", "name": "x", "namespace": "default"},
        "reason": "Test",
        "message": "hi",
    }
    assert request(cluster, "POST", path, event).status == 201

    stored = request(cluster, "GET", path + "/hand-made").json()

    assert stored["source"] == {}
    assert stored["firstTimestamp"] is stored["lastTimestamp"] is stored["eventTime"] is None
    assert stored["reportingComponent"] == stored["reportingInstance"] == ""


def test_empty_metadata_lists_and_maps_are_left_out_as_go_omits_them(
    cluster: EmbeddedCluster,
) -> None:
    request(cluster, "POST", CM_PATH, {"metadata": {"name": "bare", "labels": {"a": "b"}}})
    emptied = [
        {"op": "add", "path": "/metadata/finalizers", "value": []},
        {"op": "remove", "path": "/metadata/labels/a"},
    ]
    patched = request(
        cluster,
        "PATCH",
        CM_PATH + "/bare",
        json.dumps(emptied).encode(),
        {"Content-Type": "application/json-patch+json"},
    ).json()

    assert "finalizers" not in patched["metadata"] and "labels" not in patched["metadata"]
