"""Conformance checklist (shared reference §4), the Python-client and wire items: the
official client v37, and raw HTTPS where the client hides what is checked."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from kubecourse.embedded.openapi_v2_proto import decode_document
from tests.api.conftest import deployment, eventually, service


def raw(
    cluster: EmbeddedCluster,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One HTTPS request with exactly the headers given (http.client adds no Content-Type)."""
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    host, port = cluster.url.removeprefix("https://").rsplit(":", 1)
    connection = http.client.HTTPSConnection(
        host, int(port), context=context, timeout=10
    )
    try:
        connection.request(
            method,
            path,
            body=body,
            headers={"Authorization": f"Bearer {cluster.token}", **(headers or {})},
        )
        response = connection.getresponse()
        text = response.read()
        return (
            response.status,
            dict(response.getheaders()),
            json.loads(text) if text else None,
        )
    finally:
        connection.close()


def running(core: k8s.CoreV1Api, app: str, count: int) -> list[k8s.V1Pod]:
    def ready() -> list[k8s.V1Pod] | None:
        pods = core.list_namespaced_pod("default", label_selector=f"app={app}").items
        up = [
            p
            for p in pods
            if p.status.phase == "Running" and not p.metadata.deletion_timestamp
        ]
        return up if len(up) == count else None

    found: list[k8s.V1Pod] = eventually(ready, what=f"{count} running {app} pods")
    return found


# ---- items 1, 2, 3, 44, 50: discovery, version, OpenAPI -----------------------------------


def test_discovery_documents_named_by_the_checklist_deserialise(
    api_client: k8s.ApiClient,
) -> None:
    assert k8s.CoreApi(api_client).get_api_versions().versions == ["v1"]
    groups = {
        g.name: g.preferred_version.group_version
        for g in k8s.ApisApi(api_client).get_api_versions().groups
    }
    assert (
        groups["apps"] == "apps/v1"
        and groups["discovery.k8s.io"] == "discovery.k8s.io/v1"
        and groups["policy"] == "policy/v1"
    )
    lists = {
        "v1": k8s.CoreV1Api(api_client).get_api_resources(),
        "apps/v1": k8s.AppsV1Api(api_client).get_api_resources(),
        "discovery.k8s.io/v1": k8s.DiscoveryV1Api(api_client).get_api_resources(),
        "policy/v1": k8s.PolicyV1Api(api_client).get_api_resources(),
    }
    names = {gv: {r.name for r in found.resources} for gv, found in lists.items()}
    assert {
        "pods",
        "pods/log",
        "pods/eviction",
        "services",
        "endpoints",
        "nodes",
        "namespaces",
        "events",
        "configmaps",
    } <= names["v1"]
    assert {"deployments", "deployments/scale", "replicasets"} <= names["apps/v1"]
    assert names["discovery.k8s.io/v1"] == {"endpointslices"}
    assert {"poddisruptionbudgets", "poddisruptionbudgets/status"} <= names["policy/v1"]
    assert all(found.group_version == gv for gv, found in lists.items())


def test_version_reports_major_minor_and_git_version(api_client: k8s.ApiClient) -> None:
    info = k8s.VersionApi(api_client).get_code()
    assert (info.major, info.minor) == ("1", "37")
    assert info.git_version.startswith("v1.37.") and info.platform


def test_aggregated_discovery_v2_is_served_for_core_and_named_groups(
    cluster: EmbeddedCluster,
) -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    for path in ("/api", "/apis"):
        code, headers, body = raw(cluster, "GET", path, headers={"Accept": accept})
        assert code == 200
        assert (
            "g=apidiscovery.k8s.io" in headers["Content-Type"]
            and "v=v2" in headers["Content-Type"]
        )
        assert (body["kind"], body["apiVersion"]) == (
            "APIGroupDiscoveryList",
            "apidiscovery.k8s.io/v2",
        )
    apps = next(item for item in body["items"] if item["metadata"]["name"] == "apps")
    deployments = next(
        r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments"
    )
    assert (
        deployments["shortNames"] == ["deploy"] and deployments["scope"] == "Namespaced"
    )
    assert {s["subresource"] for s in deployments["subresources"]} >= {
        "scale",
        "status",
    }


def test_openapi_v3_documents_carry_field_validation_and_the_gvk_on_writes(
    cluster: EmbeddedCluster,
) -> None:
    code, _, root = raw(cluster, "GET", "/openapi/v3")
    assert code == 200
    for gv in ("api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1", "apis/policy/v1"):
        assert gv in root["paths"], gv
    code, _, document = raw(
        cluster,
        "GET",
        "/" + root["paths"]["apis/apps/v1"]["serverRelativeURL"].lstrip("/"),
    )
    assert code == 200 and document["openapi"].startswith("3.")
    item = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    for verb in ("put", "patch"):
        parameters = {p["name"] for p in item[verb]["parameters"]} | {
            p.get("name") for p in item.get("parameters", [])
        }
        assert "fieldValidation" in parameters, verb
        assert item[verb]["x-kubernetes-group-version-kind"] == {
            "group": "apps",
            "version": "v1",
            "kind": "Deployment",
        }
    post = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]
    assert "fieldValidation" in {p["name"] for p in post["parameters"]}
    assert post["x-kubernetes-group-version-kind"]["kind"] == "Deployment"


def test_openapi_v2_is_served_as_json_and_as_gnostic_protobuf(cluster: EmbeddedCluster) -> None:
    """Checklist item 50: one Swagger 2.0 document, JSON or protobuf, each with its ETag."""
    code, headers, body = raw(cluster, "GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert code == 200 and headers["Content-Type"] == "application/json"
    assert body["swagger"] == "2.0" and "io.k8s.api.apps.v1.Deployment" in body["definitions"]
    proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    connection = http.client.HTTPSConnection("127.0.0.1", cluster.port, context=context, timeout=10)
    try:
        connection.request("GET", "/openapi/v2", headers={"Authorization": f"Bearer {cluster.token}", "Accept": proto})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert decode_document(data)["definitions"] == body["definitions"]
    assert response.getheader("ETag") != headers["ETag"]


# ---- items 18, 19: typed CRUD and request bodies ------------------------------------------


def test_typed_crud_on_deployments_without_validation_errors(
    apps: k8s.AppsV1Api,
) -> None:
    created = apps.create_namespaced_deployment("default", k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name="crud-d", labels={"app": "crud-d"}),
        spec=k8s.V1DeploymentSpec(
            replicas=1, selector=k8s.V1LabelSelector(match_labels={"app": "crud-d"}),
            template=k8s.V1PodTemplateSpec(
                metadata=k8s.V1ObjectMeta(labels={"app": "crud-d"}),
                spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="app", image="nginx:1.26")]),
            ),
        ),
    ))  # fmt: skip
    assert isinstance(created, k8s.V1Deployment) and created.metadata.uid
    assert "crud-d" in [
        d.metadata.name for d in apps.list_namespaced_deployment("default").items
    ]
    smp = apps.patch_namespaced_deployment(
        "crud-d", "default", {"metadata": {"labels": {"tier": "web"}}}
    )
    assert smp.metadata.labels == {"app": "crud-d", "tier": "web"}
    jp = apps.patch_namespaced_deployment(
        "crud-d", "default", [{"op": "replace", "path": "/spec/replicas", "value": 2}]
    )
    assert jp.spec.replicas == 2
    current = apps.read_namespaced_deployment("crud-d", "default")
    current.spec.template.spec.containers[0].image = "nginx:1.27"
    replaced = apps.replace_namespaced_deployment("crud-d", "default", current)
    assert replaced.spec.template.spec.containers[0].image == "nginx:1.27"
    assert int(replaced.metadata.resource_version) > int(
        created.metadata.resource_version
    )
    gone = apps.delete_namespaced_deployment(
        "crud-d", "default"
    )  # v37 types this reply as a plain object
    assert (gone["kind"], gone["status"], gone["details"]["name"]) == (
        "Status",
        "Success",
        "crud-d",
    )
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("crud-d", "default")
    assert err.value.status == 404


def test_typed_crud_on_pods_and_services_and_pod_delete_returns_the_pod(
    core: k8s.CoreV1Api,
) -> None:
    pod = core.create_namespaced_pod("default", k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="crud-p", labels={"app": "crud-p"}),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="nginx:1.26")]),
    ))  # fmt: skip
    assert isinstance(pod, k8s.V1Pod)
    core.patch_namespaced_pod(
        "crud-p",
        "default",
        [{"op": "add", "path": "/metadata/annotations", "value": {"a": "1"}}],
    )
    core.patch_namespaced_pod(
        "crud-p", "default", {"metadata": {"labels": {"extra": "yes"}}}
    )
    read = core.read_namespaced_pod("crud-p", "default")
    assert (
        read.metadata.annotations == {"a": "1"}
        and read.metadata.labels["extra"] == "yes"
    )
    for _ in range(
        10
    ):  # the kubelet writes the pod's status meanwhile: read-modify-replace, as clients do
        read = core.read_namespaced_pod("crud-p", "default")
        read.metadata.labels["replaced"] = "yes"
        try:
            replaced = core.replace_namespaced_pod("crud-p", "default", read)
            break
        except ApiException as err:
            assert err.status == 409
    assert replaced.metadata.labels["replaced"] == "yes"
    deleted = core.delete_namespaced_pod("crud-p", "default")
    assert isinstance(deleted, k8s.V1Pod) and deleted.metadata.name == "crud-p"

    svc = core.create_namespaced_service("default", service("crud-s"))
    assert isinstance(svc, k8s.V1Service) and svc.spec.cluster_ip
    core.patch_namespaced_service(
        "crud-s", "default", {"metadata": {"labels": {"x": "y"}}}
    )
    core.patch_namespaced_service(
        "crud-s",
        "default",
        [{"op": "replace", "path": "/spec/ports/0/port", "value": 8080}],
    )
    current = core.read_namespaced_service("crud-s", "default")
    assert current.metadata.labels == {"x": "y"} and current.spec.ports[0].port == 8080
    current.spec.ports[0].name = "web"
    assert (
        core.replace_namespaced_service("crud-s", "default", current).spec.ports[0].name
        == "web"
    )


def test_deleting_a_service_through_the_client_returns_the_service(
    core: k8s.CoreV1Api,
) -> None:
    core.create_namespaced_service("default", service("crud-gone"))
    deleted = core.delete_namespaced_service("crud-gone", "default")
    assert isinstance(deleted, k8s.V1Service) and deleted.metadata.name == "crud-gone"


def test_endpoints_scale_and_nodes_read_as_complete_typed_models(
    core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    apps.create_namespaced_deployment("default", deployment("typed", replicas=2))
    core.create_namespaced_service("default", service("typed"))
    running(core, "typed", 2)
    endpoints = eventually(
        lambda: (
            (e := core.read_namespaced_endpoints("typed", "default")).subsets
            and len(e.subsets[0].addresses) == 2
            and e
        ),
        what="2 endpoint addresses",
    )
    assert isinstance(endpoints, k8s.V1Endpoints)
    scale = apps.patch_namespaced_deployment_scale(
        "typed", "default", {"spec": {"replicas": 3}}
    )
    assert isinstance(scale, k8s.V1Scale) and scale.spec.replicas == 3
    read = eventually(
        lambda: (
            (
                s := apps.read_namespaced_deployment_scale("typed", "default")
            ).status.replicas
            == 3
            and s
        ),
        what="scale status 3",
    )
    assert read.status.selector == "app=typed"
    for node in core.list_node().items:
        info = node.status.node_info
        assert all([info.machine_id, info.system_uuid, info.boot_id, info.kernel_version, info.os_image,
                    info.container_runtime_version, info.kubelet_version, info.operating_system, info.architecture])  # fmt: skip
        assert node.status.capacity["pods"] == "110" and node.spec.pod_cidr.startswith(
            "10.244."
        )


def test_a_post_without_content_type_is_read_as_json_and_a_dict_body_is_accepted(
    cluster: EmbeddedCluster, apps: k8s.AppsV1Api
) -> None:
    body = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "no-ctype"},
            "data": {"k": "v"},
        }
    ).encode()
    code, _, created = raw(
        cluster, "POST", "/api/v1/namespaces/default/configmaps", body=body
    )
    assert code == 201 and created["data"] == {"k": "v"}
    made = apps.create_namespaced_deployment("default", deployment("from-dict"))
    assert (
        isinstance(made, k8s.V1Deployment)
        and made.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    )


# ---- items 20, 21, 22, 48: watches, versions, paging ---------------------------------------


def test_a_pod_watch_yields_typed_events_ends_at_its_timeout_and_resumes_without_duplicates(
    core: k8s.CoreV1Api,
) -> None:
    pod = {
        "metadata": {"name": "watched-1", "labels": {"w": "pods"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]},
    }
    core.create_namespaced_pod("default", pod)

    def later() -> None:
        time.sleep(0.5)
        core.create_namespaced_pod(
            "default",
            {**pod, "metadata": {"name": "watched-2", "labels": {"w": "pods"}}},
        )
        time.sleep(0.5)
        core.delete_namespaced_pod("watched-2", "default", grace_period_seconds=0)

    threading.Thread(target=later, daemon=True).start()
    w = watch.Watch()
    started = time.monotonic()
    events = list(
        w.stream(
            core.list_namespaced_pod,
            "default",
            label_selector="w=pods",
            timeout_seconds=3,
        )
    )
    assert 2.5 <= time.monotonic() - started < 8
    assert all(isinstance(e["object"], k8s.V1Pod) for e in events)
    kinds = [(e["type"], e["object"].metadata.name) for e in events]
    assert kinds[0] == ("ADDED", "watched-1")
    assert (
        ("ADDED", "watched-2") in kinds
        and ("MODIFIED", "watched-1") in kinds
        and kinds[-1] == ("DELETED", "watched-2")
    )
    assert w.resource_version

    # reconnect from the last version seen: later changes only, no ADDED replay
    core.patch_namespaced_pod(
        "watched-1", "default", {"metadata": {"labels": {"again": "yes"}}}
    )
    resumed = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_pod, "default", label_selector="w=pods", resource_version=w.resource_version, timeout_seconds=1)]  # fmt: skip
    assert resumed == [("MODIFIED", "watched-1")]


def test_a_pod_watch_honours_label_and_name_field_selectors(
    core: k8s.CoreV1Api,
) -> None:
    for name, team in (("sel-1", "a"), ("sel-2", "a"), ("sel-3", "b")):
        core.create_namespaced_pod(
            "default",
            {
                "metadata": {"name": name, "labels": {"team": team}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]},
            },
        )
    by_label = {
        e["object"].metadata.name
        for e in watch.Watch().stream(
            core.list_namespaced_pod,
            "default",
            label_selector="team=a",
            timeout_seconds=1,
        )
    }
    assert by_label == {"sel-1", "sel-2"}
    by_name = {
        e["object"].metadata.name
        for e in watch.Watch().stream(
            core.list_namespaced_pod,
            "default",
            field_selector="metadata.name=sel-3",
            timeout_seconds=1,
        )
    }
    assert by_name == {"sel-3"}


def test_resource_version_grows_on_every_write_including_status_writes(
    core: k8s.CoreV1Api,
) -> None:
    made = core.create_namespaced_config_map("default", {"metadata": {"name": "rv-cm"}})
    patched = core.patch_namespaced_config_map("rv-cm", "default", {"data": {"a": "1"}})
    assert int(patched.metadata.resource_version) > int(made.metadata.resource_version)
    pod = core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "rv-pod"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]},
        },
    )
    eventually(
        lambda: core.read_namespaced_pod("rv-pod", "default").status.phase == "Running",
        what="rv-pod Running",
    )
    before = core.read_namespaced_pod("rv-pod", "default")
    assert int(before.metadata.resource_version) > int(
        pod.metadata.resource_version
    )  # kubelet status writes
    status = core.patch_namespaced_pod_status(
        "rv-pod",
        "default",
        {"status": {"conditions": [{"type": "Custom", "status": "True"}]}},
    )
    assert int(status.metadata.resource_version) > int(before.metadata.resource_version)
    stale = core.read_namespaced_config_map("rv-cm", "default")
    core.patch_namespaced_config_map("rv-cm", "default", {"data": {"a": "2"}})
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("rv-cm", "default", stale)
    body = json.loads(err.value.body)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert (
        body["message"]
        == 'Operation cannot be fulfilled on configmaps "rv-cm": the object has been modified; please apply your changes to the latest version and try again'
    )


def test_lists_page_with_limit_and_continue_and_a_watch_list_ends_with_its_bookmark(
    cluster: EmbeddedCluster, core: k8s.CoreV1Api
) -> None:
    for i in range(5):
        core.create_namespaced_config_map(
            "default", {"metadata": {"name": f"pg-{i}", "labels": {"pg": "yes"}}}
        )
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map(
            "default", label_selector="pg=yes", limit=2, _continue=token
        )
        names += [c.metadata.name for c in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert (names, pages) == ([f"pg-{i}" for i in range(5)], 3)
    path = "/api/v1/namespaces/default/configmaps?watch=true&labelSelector=pg%3Dyes&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    host, port = cluster.url.removeprefix("https://").rsplit(":", 1)
    connection = http.client.HTTPSConnection(
        host, int(port), context=context, timeout=10
    )
    connection.request(
        "GET", path, headers={"Authorization": f"Bearer {cluster.token}"}
    )
    lines = [
        json.loads(line)
        for line in connection.getresponse().read().splitlines()
        if line.strip()
    ]
    connection.close()
    assert [e["type"] for e in lines[:5]] == ["ADDED"] * 5
    assert lines[5]["type"] == "BOOKMARK"
    assert lines[5]["object"]["metadata"]["annotations"] == {
        "k8s.io/initial-events-end": "true"
    }


# ---- items 23, 24, 25: pods, services and namespaces at the product's own timings --------


@pytest.fixture(scope="module")
def default_timed() -> Iterator[k8s.ApiClient]:
    with EmbeddedCluster(ClusterOptions(timings=Timings())) as running_cluster:
        config = k8s.Configuration(host=running_cluster.url)
        config.api_key = {"authorization": "Bearer " + running_cluster.token}
        config.ssl_ca_cert = str(running_cluster.ca_file)
        with k8s.ApiClient(config) as client:
            yield client


def test_replicaset_pods_run_with_node_cidr_ips_and_full_status_within_two_seconds(
    default_timed: k8s.ApiClient,
) -> None:
    core, apps = k8s.CoreV1Api(default_timed), k8s.AppsV1Api(default_timed)
    started = time.monotonic()
    apps.create_namespaced_deployment("default", deployment("quick", replicas=3))
    pods = eventually(lambda: (p := [x for x in core.list_namespaced_pod("default", label_selector="app=quick").items
                                     if any(c.type == "Ready" and c.status == "True" for c in x.status.conditions or [])]) and len(p) == 3 and p,
                      timeout=10, what="3 ready pods")  # fmt: skip
    assert time.monotonic() - started <= 2.0
    cidrs = {
        n.metadata.name: n.spec.pod_cidr.rsplit(".", 1)[0]
        for n in core.list_node().items
    }
    for pod in pods:
        assert pod.status.phase == "Running" and pod.status.host_ip
        assert pod.status.pod_ip.startswith(cidrs[pod.spec.node_name] + ".")
        (state,) = pod.status.container_statuses
        assert (
            state.ready
            and state.started
            and state.container_id.startswith("containerd://")
        )
        assert "@sha256:" in state.image_id and state.state.running.started_at


def test_a_service_gets_an_ip_and_endpoints_and_a_slice_list_only_ready_pods(
    default_timed: k8s.ApiClient, cluster: EmbeddedCluster
) -> None:
    core, apps = k8s.CoreV1Api(default_timed), k8s.AppsV1Api(default_timed)
    apps.create_namespaced_deployment("default", deployment("ready-svc", replicas=2))
    unready = deployment("ready-svc-extra", replicas=1)
    unready["spec"]["selector"]["matchLabels"] = unready["spec"]["template"][
        "metadata"
    ]["labels"] = {"app": "ready-svc", "extra": "yes"}
    unready["spec"]["template"]["metadata"]["annotations"] = {
        "kubecourse.io/readiness": "fail"
    }
    unready["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "httpGet": {"path": "/", "port": 80}
    }
    apps.create_namespaced_deployment("default", unready)
    svc = core.create_namespaced_service("default", service("ready-svc"))
    a, b, *_ = (int(x) for x in svc.spec.cluster_ip.split("."))
    assert (a, 96 <= b <= 111) == (10, True) and svc.spec.cluster_ip != "10.96.0.1"

    def addresses() -> tuple[int, int] | None:
        ep = core.read_namespaced_endpoints("ready-svc", "default")
        subset = (ep.subsets or [None])[0]
        if subset is None:
            return None
        return len(subset.addresses or []), len(subset.not_ready_addresses or [])

    assert eventually(
        lambda: addresses() == (2, 1) and addresses(),
        timeout=10,
        what="2 ready and 1 not-ready address",
    )
    slices = (
        k8s.DiscoveryV1Api(default_timed)
        .list_namespaced_endpoint_slice(
            "default", label_selector="kubernetes.io/service-name=ready-svc"
        )
        .items
    )
    (only,) = slices
    assert sorted(bool(e.conditions.ready) for e in only.endpoints) == [
        False,
        True,
        True,
    ]
    assert apps.read_namespaced_deployment(
        "ready-svc-extra", "default"
    ).status.available_replicas in (None, 0)


def test_default_namespaces_and_the_kubernetes_service_exist_and_other_namespaces_work(
    default_timed: k8s.ApiClient,
) -> None:
    core = k8s.CoreV1Api(default_timed)
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= {
        n.metadata.name for n in core.list_namespace().items
    }
    kubernetes = core.read_namespaced_service("kubernetes", "default")
    assert (
        kubernetes.spec.cluster_ip == "10.96.0.1"
        and kubernetes.spec.ports[0].port == 443
    )
    core.create_namespace({"metadata": {"name": "team-b"}})
    core.create_namespaced_config_map("team-b", {"metadata": {"name": "here"}})
    assert [
        c.metadata.name
        for c in core.list_namespaced_config_map("team-b").items
        if c.metadata.name == "here"
    ] == ["here"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-ns", {"metadata": {"name": "x"}})
    assert err.value.status == 404
